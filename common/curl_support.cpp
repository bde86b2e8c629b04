#include "common/curl_support.h"

#include <mutex>

namespace exa {

bool curlGlobalInitOnce(std::string* error) {
  static std::once_flag once;
  static CURLcode init_rc = CURLE_OK;
  std::call_once(once, [] { init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (init_rc != CURLE_OK && error != nullptr)
    *error = std::string("curl_global_init: ") + curl_easy_strerror(init_rc);
  return init_rc == CURLE_OK;
}

size_t appendCappedBody(char* data, size_t size, size_t count, void* capped_body) {
  auto* sink = static_cast<CappedBody*>(capped_body);
  size_t n = size * count;
  if (sink->body->size() + n > sink->max_bytes) {
    sink->too_large = true;
    return 0;  // aborts the transfer
  }
  sink->body->append(data, n);
  return n;
}

}  // namespace exa
