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

CallResult failure(std::string type, std::string message) {
  CallResult result;
  result.error = CallError{std::move(type), std::move(message), {}, {}};
  return result;
}

}  // namespace exa::policies
