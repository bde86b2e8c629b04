// JSON views of call outcomes, for the CLI and (later) the HTTP replies.
#include "policies/call_result.h"

namespace exa::policies {

Json CallError::toJson() const {
  Json j = {{"type", type}, {"message", message}};
  if (!exception.empty()) j["exception"] = exception;
  if (!traceback.empty()) j["traceback"] = traceback;
  return j;
}

Json CallResult::toJson() const {
  Json j = {{"ok", ok()}};
  if (ok()) {
    j["output"] = output;
  } else {
    j["error"] = error->toJson();
  }
  if (!logs.empty()) j["logs"] = logs;
  return j;
}

std::optional<CallResult> callResultFromJson(const Json& j) {
  if (!j.is_object() || !j.contains("ok") || !j["ok"].is_boolean()) return std::nullopt;
  CallResult result;
  if (j.contains("logs") && j["logs"].is_string()) result.logs = j["logs"];
  if (j["ok"].get<bool>()) {
    result.output = j.value("output", Json());
    return result;
  }
  const Json& e = j.contains("error") && j["error"].is_object() ? j["error"] : Json::object();
  auto text = [&e](const char* key) {
    return e.contains(key) && e[key].is_string() ? e[key].get<std::string>() : std::string();
  };
  result.error = CallError{text("type"), text("message"), text("exception"), text("traceback")};
  if (result.error->type.empty()) result.error->type = "policy_error";
  return result;
}

CallResult failure(std::string type, std::string message) {
  CallResult result;
  result.error = CallError{std::move(type), std::move(message), {}, {}};
  return result;
}

}  // namespace exa::policies
