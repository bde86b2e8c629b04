// A blocking HTTP/1.1 client for tests (Boost.Beast), one request per call on a fresh connection
// unless a keep-alive Connection is reused.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/json_util.h"

namespace exa::testing {

struct HttpResult {
  int status = 0;
  std::string body;
  Json json;  ///< body parsed, or null
  std::map<std::string, std::string> headers;  ///< names lower-cased
};

HttpResult httpRequest(uint16_t port, const std::string& method, const std::string& target,
                       const std::string& body = {}, const std::string& bearer_token = {},
                       const std::string& content_type = "application/json",
                       const std::map<std::string, std::string>& extra_headers = {});

/// Sends `raw` bytes as they are and reads one response (for requests a client library would
/// refuse to build, such as a Content-Length the body never delivers).
HttpResult httpRawRequest(uint16_t port, const std::string& raw);

}  // namespace exa::testing
