// One table from our error codes and typed call errors to HTTP statuses (DESIGN.md §8).
#pragma once

#include "agent/http/http_types.h"
#include "common/result.h"
#include "policies/call_result.h"

namespace exa::agent {

/// kInvalidArgument 400, kNotFound 404, kAlreadyExists 409, kResourceExhausted 413,
/// kTimeout 504, kUnavailable 503, anything else 500.
HttpResponse errorReply(const Error& error);

/// invalid_* 400 (invalid_output 502), not_found 404, policy_error 422, timeout 504,
/// memory_exceeded 507, crashed / sandbox_violation / output_too_large 502,
/// sandbox_setup 503. The body keeps the error's type, exception and traceback.
HttpResponse errorReply(const policies::CallError& error);

/// Parses a request body as JSON; the error is a ready 400 naming the position.
Result<Json> requestJson(const HttpRequest& request);

}  // namespace exa::agent
