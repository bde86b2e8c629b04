#include "kubernetes/api_status.h"

namespace exa::kubernetes {
namespace {

const char* defaultReason(long code) {
  switch (code) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return "Unknown";
  }
}

ErrorCode errorCodeFor(int code) {
  switch (code) {
    case 404:
    case 410: return ErrorCode::kNotFound;
    case 409: return ErrorCode::kAlreadyExists;
    case 401:
    case 403: return ErrorCode::kPermissionDenied;
    case 400:
    case 422: return ErrorCode::kInvalidArgument;
    case 413:
    case 429: return ErrorCode::kResourceExhausted;
    case 504: return ErrorCode::kTimeout;
    default: return code >= 500 && code < 600 ? ErrorCode::kUnavailable : ErrorCode::kProtocol;
  }
}

}  // namespace

ApiStatus parseApiStatus(long http_status, const std::string& body) {
  ApiStatus status;
  status.code = static_cast<int>(http_status);
  auto parsed = parseJson(body);
  if (parsed && parsed->is_object() && stringAt(*parsed, {"kind"}) == "Status") {
    const Json& s = *parsed;
    status.reason = stringAt(s, {"reason"});
    status.message = stringAt(s, {"message"});
    // The reply's status line wins over the body's `code`: it is what actually happened.
    auto details = s.find("details");
    if (details != s.end() && details->is_object()) {
      status.name = stringAt(*details, {"name"});
      status.group = stringAt(*details, {"group"});
      status.kind = stringAt(*details, {"kind"});
      auto retry = details->find("retryAfterSeconds");
      if (retry != details->end() && retry->is_number_integer())
        status.retry_after_seconds = retry->get<int>();
      auto causes = details->find("causes");
      if (causes != details->end() && causes->is_array()) {
        for (const Json& c : *causes) {
          if (!c.is_object()) continue;
          status.causes.push_back({stringAt(c, {"reason"}), stringAt(c, {"message"}),
                                   stringAt(c, {"field"})});
        }
      }
    }
  } else {
    status.message = body.substr(0, 300);
  }
  if (status.reason.empty()) status.reason = defaultReason(http_status);
  return status;
}

Error apiStatusError(const std::string& what, const ApiStatus& status) {
  std::string message = what + ": " + std::to_string(status.code) + " " + status.reason;
  if (!status.message.empty()) message += ": " + status.message;
  if (!status.causes.empty()) {
    message += " [";
    for (size_t i = 0; i < status.causes.size(); ++i) {
      const StatusCause& c = status.causes[i];
      if (i > 0) message += "; ";
      message += (c.field.empty() ? std::string() : c.field + ": ") + c.message;
      if (!c.reason.empty()) message += " (" + c.reason + ")";
    }
    message += "]";
  }
  return makeError(errorCodeFor(status.code), std::move(message));
}

}  // namespace exa::kubernetes
