// Status mapping for errors and typed call errors.
#include "agent/http/error_status.h"

#include <map>

namespace exa::agent {

HttpResponse errorReply(const Error& error) {
  http::status status = http::status::internal_server_error;
  switch (error.code) {
    case ErrorCode::kInvalidArgument: status = http::status::bad_request; break;
    case ErrorCode::kNotFound: status = http::status::not_found; break;
    case ErrorCode::kAlreadyExists: status = http::status::conflict; break;
    case ErrorCode::kResourceExhausted: status = http::status::payload_too_large; break;
    case ErrorCode::kTimeout: status = http::status::gateway_timeout; break;
    case ErrorCode::kUnavailable: status = http::status::service_unavailable; break;
    default: break;
  }
  return errorReply(status, toString(error.code), error.describe());
}

HttpResponse errorReply(const policies::CallError& error) {
  static const std::map<std::string, http::status> kStatuses = {
      {"invalid_input", http::status::bad_request},
      {"invalid_settings", http::status::bad_request},
      {"invalid_parameters", http::status::bad_request},
      {"invalid_management", http::status::bad_request},
      {"invalid_output", http::status::bad_gateway},
      {"not_found", http::status::not_found},
      {"unavailable", http::status::service_unavailable},
      {"policy_error", http::status::unprocessable_entity},
      {"timeout", http::status::gateway_timeout},
      {"memory_exceeded", http::status::insufficient_storage},
      {"crashed", http::status::bad_gateway},
      {"sandbox_violation", http::status::bad_gateway},
      {"output_too_large", http::status::bad_gateway},
      {"sandbox_setup", http::status::service_unavailable},
      {"busy", http::status::too_many_requests},
  };
  auto it = kStatuses.find(error.type);
  http::status status = it != kStatuses.end() ? it->second : http::status::internal_server_error;
  HttpResponse response = errorReply(status, error.type, error.message);
  Json body = *parseJson(response.body());
  body["error"] = error.toJson();
  response.body() = dumpJson(body);
  response.prepare_payload();
  return response;
}

Result<Json> requestJson(const HttpRequest& request) {
  if (request.body().empty()) return makeError(ErrorCode::kInvalidArgument, "empty request body");
  auto parsed = parseJson(request.body());
  if (!parsed) return makeError(ErrorCode::kInvalidArgument, "request body: " + parsed.error().message);
  return parsed;
}

}  // namespace exa::agent
