// Executor records: the seed's five fields type-checked, defaults filled, other keys kept.
#include "agent/registry/executor_registry.h"

#include <set>

namespace exa::agent {
namespace {

const std::set<std::string> kStatuses = {"healthy", "unreachable", "busy"};

Result<std::pair<std::string, Json>> normalizeExecutor(const Json& doc) {
  std::string errors;
  auto fail = [&](const std::string& field, const std::string& why) {
    errors += (errors.empty() ? "" : "\n") + field + ": " + why;
  };
  const Json& id = doc.contains("executor_id") ? doc["executor_id"] : Json();
  if (!id.is_string() || id.get<std::string>().empty()) {
    fail("executor_id", "required non-empty string");
  } else if (id.get<std::string>().find_first_of("/ \t\r\n") != std::string::npos) {
    fail("executor_id", "must not contain '/' or whitespace (it is a URL path segment)");
  }
  for (const char* field : {"executor_host_uri", "executor_status"}) {
    if (doc.contains(field) && !doc[field].is_null() && !doc[field].is_string())
      fail(field, "must be a string");
  }
  for (const char* field : {"executor_metadata", "executor_hardware_info"}) {
    if (doc.contains(field) && !doc[field].is_null() && !doc[field].is_object())
      fail(field, "must be an object");
  }
  std::string status = doc.value("executor_status", Json("healthy")).is_string()
                           ? doc.value("executor_status", std::string("healthy"))
                           : "healthy";
  if (!kStatuses.count(status)) fail("executor_status", "one of healthy, unreachable, busy");
  for (const auto& [key, value] : doc.items()) {
    if (!key.empty() && key[0] == '$') fail(key, "update operators belong in PUT /executor/<id>");
  }
  if (!errors.empty()) return makeError(ErrorCode::kInvalidArgument, errors);

  auto field = [&](const char* key, Json fallback) {
    return doc.contains(key) && !doc[key].is_null() ? doc[key] : fallback;
  };
  Json out = {{"executor_id", id},
              {"executor_host_uri", field("executor_host_uri", "")},
              {"executor_metadata", field("executor_metadata", Json::object())},
              {"executor_hardware_info", field("executor_hardware_info", Json::object())},
              {"executor_status", status}};
  for (const auto& [key, value] : doc.items())
    if (!out.contains(key)) out[key] = value;
  return std::make_pair(id.get<std::string>(), std::move(out));
}

}  // namespace

CollectionSpec executorCollection() { return {"executors", normalizeExecutor, {}}; }

}  // namespace exa::agent
