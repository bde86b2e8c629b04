// The API server's `Status` body (meta/v1) as a typed value, and its mapping onto exa::Error.
// Backends decide on `reason` (AlreadyExists → adopt or refuse, Expired/Gone → resync), so the
// reason and causes are kept as data, not only folded into a message.
#pragma once

#include <string>
#include <vector>

#include "common/json_util.h"
#include "common/result.h"

namespace exa::kubernetes {

struct StatusCause {
  std::string reason;  ///< "FieldValueRequired", "FieldValueInvalid", …
  std::string message;
  std::string field;  ///< "spec.template.spec.containers[0].name"
};

struct ApiStatus {
  int code = 0;          ///< HTTP status (the body's `code`, else the reply's)
  std::string reason;    ///< "NotFound", "AlreadyExists", "Conflict", "Invalid", "Expired", …
  std::string message;
  std::string name;      ///< details.name
  std::string group;     ///< details.group ("" for the core group)
  /// details.kind: the resource ("jobs") for NotFound/AlreadyExists, the Kind ("Job") for Invalid
  std::string kind;
  std::vector<StatusCause> causes;
  int retry_after_seconds = 0;  ///< details.retryAfterSeconds
};

/// Builds the status of a non-2xx reply: from a `kind: Status` JSON body when there is one,
/// else from the HTTP code with a short excerpt of the body as the message.
ApiStatus parseApiStatus(long http_status, const std::string& body);

/// kNotFound (404, 410), kAlreadyExists (409), kPermissionDenied (401, 403), kInvalidArgument
/// (400, 422), kResourceExhausted (413, 429), kTimeout (504), kUnavailable (other 5xx),
/// kProtocol otherwise. The message reads "POST /apis/…: 422 Invalid: <message> [causes]".
Error apiStatusError(const std::string& what, const ApiStatus& status);

}  // namespace exa::kubernetes
