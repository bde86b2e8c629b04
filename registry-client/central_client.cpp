#include "registry-client/central_client.h"

#include "common/http_call.h"

namespace exa::registry_client {
namespace {

ErrorCode codeForStatus(long status) {
  switch (status) {
    case 400: return ErrorCode::kInvalidArgument;
    case 401:
    case 403: return ErrorCode::kPermissionDenied;
    case 404: return ErrorCode::kNotFound;
    case 409: return ErrorCode::kAlreadyExists;
    case 504: return ErrorCode::kTimeout;
    default: return ErrorCode::kUnavailable;
  }
}

}  // namespace

std::string encodePathSegment(const std::string& segment) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : segment) {
    bool plain = std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':';
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

CentralClient::CentralClient(CentralOptions options) : options_(std::move(options)) {
  while (!options_.url.empty() && options_.url.back() == '/') options_.url.pop_back();
}

Result<Json> CentralClient::call(const std::string& method, const std::string& path,
                                 const Json& body) {
  HttpCallRequest request{method, options_.url + path, {{"Accept", "application/json"}}, {}};
  if (!body.is_null()) {
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = dumpJson(body);
  }
  if (!options_.token.empty())
    request.headers.emplace_back("Authorization", "Bearer " + options_.token);
  HttpCallOptions call_options;
  call_options.total_timeout = options_.timeout;
  call_options.connect_timeout = std::min(options_.timeout, std::chrono::milliseconds(3000));
  call_options.ca_bundle = options_.ca_bundle;
  const std::string what = "central " + method + " " + path + ": ";
  auto reply = httpCall(request, call_options);
  if (!reply) return Error{reply.error().code, 0, what + reply.error().message};
  auto parsed = parseJson(reply->body);
  std::string message;
  if (parsed && parsed->is_object() && (*parsed)["message"].is_string())
    message = (*parsed)["message"].get<std::string>();
  if (reply->status / 100 != 2)
    return makeError(codeForStatus(reply->status),
                     what + "HTTP " + std::to_string(reply->status) + " " + message);
  if (!parsed || !parsed->is_object())
    return makeError(ErrorCode::kProtocol, what + "reply is not a JSON object");
  // The original central answers some failures with 200 and success false (e.g. a missing
  // policy): the envelope, not the status, is the truth there.
  if ((*parsed)["success"] != true)
    return makeError(message.find("not found") != std::string::npos ? ErrorCode::kNotFound
                                                                    : ErrorCode::kUnavailable,
                     what + (message.empty() ? "success is not true" : message));
  return parsed->contains("data") ? (*parsed)["data"] : Json();
}

Status CentralClient::createExecutor(const Json& record) {
  EXA_TRY(call("POST", "/executor", record));
  return {};
}

Status CentralClient::updateExecutor(const std::string& executor_id, const Json& fields) {
  EXA_TRY(call("PUT", "/executor/" + encodePathSegment(executor_id), Json{{"$set", fields}}));
  return {};
}

Result<Json> CentralClient::getPolicy(const std::string& uri) {
  EXA_ASSIGN_OR_RETURN(Json policy, call("GET", "/policy/" + encodePathSegment(uri), Json()));
  if (!policy.is_object())
    return makeError(ErrorCode::kProtocol, "central GET /policy/" + uri + ": data is not an object");
  return policy;
}

}  // namespace exa::registry_client
