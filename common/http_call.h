// httpCall: one outbound HTTP request with a small body each way (forwarding an execution to
// another executor, the central registry's API). libcurl underneath; redirects are not followed,
// environment proxies are ignored and every address passes the address guard, because the URL
// comes from a registry record that anyone with write access could have pointed anywhere.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace exa {

struct HttpCallOptions {
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds total_timeout{30000};
  size_t max_response_bytes = 16u << 20;
  std::string ca_bundle;  ///< "" = the system's; verification is always on
};

struct HttpCallRequest {
  std::string method = "GET";
  std::string url;  ///< http or https only
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpCallResponse {
  long status = 0;
  std::string content_type;
  std::string body;
};

/// Any HTTP status is a response (the caller decides); an Error means no usable response:
/// kInvalidArgument (bad URL or scheme), kPermissionDenied (forbidden address), kTimeout,
/// kUnavailable (DNS, refused, reset, TLS), kResourceExhausted (reply over the cap). Messages
/// name the URL without its password.
Result<HttpCallResponse> httpCall(const HttpCallRequest& request, const HttpCallOptions& options);

}  // namespace exa
