// What every libcurl user here shares: RAII owners for curl's handles, the once-per-process
// global init, and a reply sink with a size cap. The clients (common/http_call, the code
// fetcher, the Kubernetes client) differ in policy; these pieces are the same.
#pragma once

#include <memory>
#include <string>

#include <curl/curl.h>

namespace exa {

struct CurlEasyFree {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct CurlListFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
struct CurlUrlFree {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct CurlStringFree {
  void operator()(char* text) const { curl_free(text); }
};
using CurlEasyPtr = std::unique_ptr<CURL, CurlEasyFree>;
using CurlListPtr = std::unique_ptr<curl_slist, CurlListFree>;
using CurlUrlPtr = std::unique_ptr<CURLU, CurlUrlFree>;
using CurlString = std::unique_ptr<char, CurlStringFree>;

/// curl_global_init exactly once per process; later calls return the first outcome.
bool curlGlobalInitOnce(std::string* error);

/// A CURLOPT_WRITEDATA target: appends to `body` until `max_bytes`, then aborts the transfer
/// and sets `too_large` (the caller turns that into its own error).
struct CappedBody {
  std::string* body = nullptr;
  size_t max_bytes = 0;
  bool too_large = false;
};
/// The CURLOPT_WRITEFUNCTION for a CappedBody.
size_t appendCappedBody(char* data, size_t size, size_t count, void* capped_body);

}  // namespace exa
