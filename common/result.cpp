// Names for error codes and the human-readable form of an Error.
#include "common/result.h"

namespace exa {

const char* toString(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kAlreadyExists: return "already_exists";
    case ErrorCode::kPermissionDenied: return "permission_denied";
    case ErrorCode::kResourceExhausted: return "resource_exhausted";
    case ErrorCode::kTimeout: return "timeout";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kSandboxSetup: return "sandbox_setup";
    case ErrorCode::kPolicyFailed: return "policy_failed";
    case ErrorCode::kProtocol: return "protocol";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

std::string Error::describe() const {
  if (sys_errno == 0) return message;
  return message + ": " + std::strerror(sys_errno);
}

}  // namespace exa
