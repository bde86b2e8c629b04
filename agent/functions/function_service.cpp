#include "agent/functions/function_service.h"

#include "agent/jobs/job_record.h"
#include "common/log.h"

namespace exa::agent {
namespace {

Result<std::pair<std::string, Json>> normalizeFunction(const Json& doc) {
  if (!doc.contains("function_id") || !doc["function_id"].is_string() ||
      doc["function_id"].get<std::string>().empty())
    return makeError(ErrorCode::kInvalidArgument, "function_id: required non-empty string");
  return std::make_pair(doc["function_id"].get<std::string>(), doc);
}

size_t sizeField(const Json& body, const char* field, size_t fallback, std::string& errors) {
  if (!body.contains(field) || body[field].is_null()) return fallback;
  if (!body[field].is_number_integer() || body[field].get<int64_t>() < 1 ||
      body[field].get<int64_t>() > 64) {
    errors += std::string(errors.empty() ? "" : "; ") + field + ": an integer from 1 to 64";
    return fallback;
  }
  return body[field].get<size_t>();
}

Json recordFor(const FunctionRequest& r, const Json& policy, const std::string& executor_id,
               const std::string& executor_uri) {
  return Json{{"function_id", r.name},
              {"function_executor_id", executor_id},
              {"function_executor_uri", executor_uri},
              {"function_metadata", r.function_metadata},
              {"function_tags", r.function_tags},
              {"function_policy_rule_uri", r.policy_rule_uri},
              {"function_policy_data", policy},
              {"function_policy_parameters", r.policy_rule_parameters},
              {"replicas", r.replicas},
              {"autoscaling", r.autoscaling_json},
              {"created_at", utcNow()}};
}

}  // namespace

CollectionSpec functionCollection() { return {"functions", normalizeFunction, {}}; }

Result<FunctionRequest> parseFunctionRequest(const Json& body) {
  if (!body.is_object())
    return makeError(ErrorCode::kInvalidArgument, "a deployment must be a JSON object");
  std::string errors;
  auto fail = [&](const std::string& what) { errors += (errors.empty() ? "" : "; ") + what; };
  FunctionRequest r;
  for (auto [field, target] : {std::pair{"name", &r.name}, {"policy_rule_uri", &r.policy_rule_uri}}) {
    if (!body.contains(field) || !body[field].is_string() || body[field].get<std::string>().empty())
      fail(std::string(field) + ": required non-empty string");
    else
      *target = body[field].get<std::string>();
  }
  if (r.name.find_first_of("/ \t\r\n") != std::string::npos)
    fail("name: must not contain '/' or whitespace (it is a URL path segment)");
  for (auto [field, target] : {std::pair{"policy_rule_parameters", &r.policy_rule_parameters},
                               {"function_metadata", &r.function_metadata},
                               {"node_selector", &r.node_selector}}) {
    if (!body.contains(field) || body[field].is_null()) continue;
    if (!body[field].is_object()) fail(std::string(field) + ": must be an object");
    else *target = body[field];
  }
  if (body.contains("function_tags") && !body["function_tags"].is_null()) {
    bool strings = body["function_tags"].is_array();
    for (const auto& tag : strings ? body["function_tags"] : Json::array()) strings = strings && tag.is_string();
    if (!strings) fail("function_tags: must be a list of strings");
    else r.function_tags = body["function_tags"];
  }
  r.replicas = sizeField(body, "replicas", 1, errors);
  if (body.contains("autoscaling") && !body["autoscaling"].is_null()) {
    const Json& a = body["autoscaling"];
    if (!a.is_object()) {
      fail("autoscaling: must be an object");
    } else {
      r.autoscaling_json = a;
      r.autoscaling.enabled = a.value("enabled", true) == true;
      r.autoscaling.min_replicas = sizeField(a, "min_replicas", 1, errors);
      r.autoscaling.max_replicas = sizeField(a, "max_replicas", r.replicas, errors);
      const Json& target = a.contains("target_cpu_utilization_percentage")
                               ? a["target_cpu_utilization_percentage"] : Json(80);
      if (!target.is_number() || target.get<double>() <= 0 || target.get<double>() > 100)
        fail("autoscaling.target_cpu_utilization_percentage: a number in (0, 100]");
      else
        r.autoscaling.target_utilization_percent = target.get<double>();
      if (r.autoscaling.min_replicas > r.autoscaling.max_replicas)
        fail("autoscaling: min_replicas is above max_replicas");
    }
  }
  if (!errors.empty()) return makeError(ErrorCode::kInvalidArgument, errors);
  if (r.autoscaling.enabled)
    r.replicas = std::clamp(r.replicas, r.autoscaling.min_replicas, r.autoscaling.max_replicas);
  return r;
}

FunctionService::FunctionService(Collection& functions, const Collection& policies,
                                 FunctionBackend& backend, ContextStore& contexts,
                                 std::string executor_id)
    : functions_(functions),
      policies_(policies),
      backend_(backend),
      contexts_(contexts),
      executor_id_(std::move(executor_id)) {}

Status FunctionService::start() {
  EXA_ASSIGN_OR_RETURN(auto stored, functions_.query(Json{{"function_executor_id", executor_id_}}));
  for (const auto& record : stored) {
    std::string name = record["function_id"];
    if (Status started = backend_.deploy(name, record); !started)
      LOG_E("function {} not restarted: {}", name, started.error().describe());
  }
  return {};
}

Result<Json> FunctionService::deploy(const FunctionRequest& request) {
  EXA_ASSIGN_OR_RETURN(Json policy, policies_.get(request.policy_rule_uri));
  Json record = recordFor(request, policy, executor_id_, "");
  EXA_ASSIGN_OR_RETURN(Json stored, functions_.create(record));
  if (Status started = backend_.deploy(request.name, stored); !started) {
    (void)functions_.remove(request.name);  // nothing half-deployed stays behind
    return started.error();
  }
  return stored;
}

Result<Json> FunctionService::recordRemote(const FunctionRequest& request, const Json& executor) {
  auto policy = policies_.get(request.policy_rule_uri);
  return functions_.create(recordFor(request, policy ? *policy : Json::object(),
                                     executor.value("executor_id", ""),
                                     executor.value("executor_host_uri", "")));
}

Status FunctionService::remove(const std::string& name, const std::vector<std::string>& graphs_using) {
  EXA_TRY(functions_.get(name));
  if (!graphs_using.empty()) {
    std::string names;
    for (const auto& g : graphs_using) names += (names.empty() ? "" : ", ") + g;
    return makeError(ErrorCode::kAlreadyExists,
                     "function " + name + " is used by graph(s) " + names + "; remove those first");
  }
  backend_.remove(name);
  contexts_.erase("function:" + name);
  return functions_.remove(name);
}

Result<Json> FunctionService::get(const std::string& name) {
  EXA_ASSIGN_OR_RETURN(Json record, functions_.get(name));
  if (backend_.runs(name)) record["function_status"] = backend_.status(name);
  return record;
}

}  // namespace exa::agent
