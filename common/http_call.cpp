#include "common/http_call.h"

#include "common/address_guard.h"
#include "common/curl_support.h"

namespace exa {
namespace {

struct Transfer {
  HttpCallResponse response;
  CappedBody sink;
  std::string refused;  ///< an address the socket guard refused
};

// Checks the scheme and the literal host, and gives back the URL without a password.
Result<std::string> checkUrl(const std::string& url) {
  CurlUrlPtr parsed(curl_url());
  if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
    return makeError(ErrorCode::kInvalidArgument, "malformed URL " + url.substr(0, 200));
  auto part = [&](CURLUPart which) {
    char* text = nullptr;
    std::string value;
    if (curl_url_get(parsed.get(), which, &text, 0) == CURLUE_OK && text != nullptr) value = text;
    curl_free(text);
    return value;
  };
  curl_url_set(parsed.get(), CURLUPART_PASSWORD, nullptr, 0);
  std::string redacted = part(CURLUPART_URL);
  std::string scheme = part(CURLUPART_SCHEME);
  if (scheme != "http" && scheme != "https")
    return makeError(ErrorCode::kInvalidArgument, redacted + ": only http and https URLs");
  if (std::string bad = forbiddenLiteral(part(CURLUPART_HOST)); !bad.empty())
    return makeError(ErrorCode::kPermissionDenied,
                     redacted + ": refused: " + bad + " " + kForbiddenAddressWhy);
  return redacted;
}

Error transferError(CURLcode rc, const Transfer& t, const char* errbuf, const std::string& url,
                    const HttpCallOptions& options) {
  if (!t.refused.empty())
    return makeError(ErrorCode::kPermissionDenied,
                     url + ": refused: " + t.refused + " " + kForbiddenAddressWhy);
  if (t.sink.too_large)
    return makeError(ErrorCode::kResourceExhausted,
                     url + ": reply over " + std::to_string(options.max_response_bytes) + " bytes");
  std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
  ErrorCode code = rc == CURLE_OPERATION_TIMEDOUT ? ErrorCode::kTimeout : ErrorCode::kUnavailable;
  return makeError(code, url + ": " + detail);
}

}  // namespace

Result<HttpCallResponse> httpCall(const HttpCallRequest& request, const HttpCallOptions& options) {
  if (std::string why; !curlGlobalInitOnce(&why)) return makeError(ErrorCode::kInternal, why);
  EXA_ASSIGN_OR_RETURN(std::string redacted, checkUrl(request.url));
  CurlEasyPtr easy(curl_easy_init());
  if (!easy) return makeError(ErrorCode::kInternal, "curl_easy_init failed");
  CurlListPtr headers;
  for (const auto& [name, value] : request.headers)
    headers.reset(curl_slist_append(headers.release(), (name + ": " + value).c_str()));
  // An empty Expect: curl would otherwise wait for "100 Continue" before sending a larger body.
  headers.reset(curl_slist_append(headers.release(), "Expect:"));

  Transfer t;
  t.sink = CappedBody{&t.response.body, options.max_response_bytes};
  char errbuf[CURL_ERROR_SIZE] = {};
  CURL* e = easy.get();
  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method == "HEAD") curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);  // multithreaded caller: no SIGALRM DNS timeouts
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_PROXY, "");  // the address guard must see the target, not a proxy
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options.ca_bundle.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options.ca_bundle.c_str());
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options.total_timeout.count()));
  curl_easy_setopt(e, CURLOPT_USERAGENT, "executor-agent");
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &curlOpenSocketGuard);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, static_cast<void*>(&t.refused));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &appendCappedBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, static_cast<void*>(&t.sink));

  CURLcode rc = curl_easy_perform(e);
  if (rc != CURLE_OK) return transferError(rc, t, errbuf, redacted, options);
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &t.response.status);
  char* type = nullptr;
  if (curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type != nullptr)
    t.response.content_type = type;
  return std::move(t.response);
}

}  // namespace exa
