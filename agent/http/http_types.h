// The HTTP message types every handler sees (Beast's string-bodied request and response), and
// the JSON reply helpers that give every route the same envelope (DESIGN.md §8):
// {"success": true, "data": ...} or {"success": false, "message": ..., "error": {...}}.
#pragma once

#include <boost/beast/http.hpp>

#include <string>

#include "common/json_util.h"

namespace exa::agent {

namespace http = boost::beast::http;
using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

/// Every request gets one (the caller's, if it sent a plain one); replies and logs carry it.
inline constexpr const char* kRequestIdHeader = "X-Request-Id";

/// 2xx with {"success": true, "data": data}.
HttpResponse jsonReply(http::status status, const Json& data);
/// An error with {"success": false, "message": message, "error": {"type": type}}.
HttpResponse errorReply(http::status status, const std::string& type, const std::string& message);

}  // namespace exa::agent
