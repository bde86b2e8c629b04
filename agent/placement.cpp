#include "agent/placement.h"

namespace exa::agent {

Result<Json> Placement::candidates() {
  EXA_ASSIGN_OR_RETURN(auto registered, executors_.query(Json::object()));
  Json all = Json::array();
  bool self_listed = false;
  for (auto& e : registered) {
    self_listed = self_listed || e["executor_id"] == own_id_;
    all.push_back(std::move(e));
  }
  // This agent is always a candidate, with its own live figures.
  if (!self_listed) {
    Json self = self_ ? self_() : Json::object();
    self["executor_id"] = own_id_;
    all.push_back(std::move(self));
  }
  return all;
}

Result<std::string> Placement::place(const PlacementRequest& request,
                                     const std::string& executor_id) {
  if (executor_id == own_id_) return executor_id;
  if (!executor_id.empty()) {
    EXA_TRY(executors_.get(executor_id));
    return executor_id;
  }
  Json work = {{"name", request.name}, {"policy_rule_uri", request.policy_rule_uri},
               {"node_selector", request.node_selector}};
  EXA_ASSIGN_OR_RETURN(Json executors, candidates());
  auto chosen =
      execute_.execute(allocator_uri_, Json{{"job", work}, {"executors", executors}}, Json());
  if (!chosen.ok())
    return makeError(ErrorCode::kUnavailable,
                     "allocator " + allocator_uri_ + ": " + chosen.error->message);
  const Json& id = chosen.output.is_object() ? chosen.output["executor_id"] : Json();
  if (!id.is_string() || id.get<std::string>().empty()) {
    std::string why = chosen.output.is_object() && chosen.output["reason"].is_string()
                          ? chosen.output["reason"].get<std::string>()
                          : "it returned no executor_id";
    return makeError(ErrorCode::kUnavailable, "no executor for " + request.name + ": " + why);
  }
  return id.get<std::string>();
}

}  // namespace exa::agent
