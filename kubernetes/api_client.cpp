#include "kubernetes/api_client.h"

#include <algorithm>
#include <cctype>
#include <memory>
#include <thread>

#include <curl/curl.h>

#include "common/address_guard.h"
#include "common/curl_support.h"
#include "common/log.h"

namespace exa::kubernetes {
namespace {

struct Transfer {
  ApiResponse response;
  CappedBody sink;
  std::string refused;  ///< an address the socket guard refused
};

size_t onHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  std::string line(data, n);
  size_t colon = line.find(':');
  if (colon == std::string::npos) return n;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  std::string value = line.substr(colon + 1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front())))
    value.erase(0, 1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back())))
    value.pop_back();
  if (name == "warning") t->response.warnings.push_back(value);
  // Only the delay-seconds form: an HTTP-date would need the server's clock to agree with ours.
  if (name == "retry-after" && !value.empty() &&
      std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); }))
    t->response.retry_after_seconds = std::stoi(value.substr(0, 6));
  return n;
}

std::string percentEncode(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

bool isWrite(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

bool retryableStatus(long status) { return status == 429 || (status >= 500 && status < 600); }

void setBlob(CURL* e, CURLoption option, const std::string& pem) {
  curl_blob blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
  curl_easy_setopt(e, option, &blob);
}

}  // namespace

Result<std::string> buildApiUrl(const std::string& server, const std::string& path,
                                const QueryParams& query) {
  auto bad = [&](const char* why) {
    return makeError(ErrorCode::kInvalidArgument,
                     "Kubernetes API path " + path.substr(0, 200) + ": " + why);
  };
  if (path.empty() || path[0] != '/') return bad("must start with /");
  for (unsigned char c : path)
    if (c <= ' ' || c == 0x7f || c == '?' || c == '#' || c == '%' || c == '\\')
      return bad("contains a character that is not allowed");
  std::string padded = path + "/";
  if (padded.find("/../") != std::string::npos || padded.find("/./") != std::string::npos ||
      padded.find("//") != std::string::npos)
    return bad("contains an empty or dot segment");
  std::string url = server + path;
  char separator = '?';
  for (const auto& [name, value] : query) {
    url += separator + percentEncode(name) + "=" + percentEncode(value);
    separator = '&';
  }
  return url;
}

ApiClient::ApiClient(ClusterCredentials credentials, ApiClientOptions options)
    : credentials_(std::move(credentials)), options_(std::move(options)),
      rng_(std::random_device{}()) {
  if (options_.max_attempts < 1) options_.max_attempts = 1;
  if (credentials_.token && credentials_.server.rfind("http://", 0) == 0)
    LOG_W("Kubernetes API {} is plain http: the bearer token travels unencrypted",
          credentials_.server);
}

std::chrono::milliseconds ApiClient::backoff(int retry) {
  // Full doubling with jitter in [half, whole]: many agents retrying against one overloaded API
  // server must not come back in lockstep.
  long long base = options_.initial_backoff.count();
  for (int i = 1; i < retry && base < options_.max_backoff.count(); ++i) base *= 2;
  base = std::min<long long>(base, options_.max_backoff.count());
  std::lock_guard<std::mutex> lock(rng_mu_);
  std::uniform_int_distribution<long long> pick(base / 2, std::max<long long>(base, 0));
  return std::chrono::milliseconds(pick(rng_));
}

Result<ApiResponse> ApiClient::call(const ApiRequest& request) {
  QueryParams query;
  for (const auto& param : request.query)
    if (!isWrite(request.method) || param.first != "fieldValidation") query.push_back(param);
  if (isWrite(request.method)) query.emplace_back("fieldValidation", "Strict");
  EXA_ASSIGN_OR_RETURN(std::string url, buildApiUrl(credentials_.server, request.path, query));
  std::string body = request.body ? dumpJson(*request.body) : std::string();

  for (int attempt = 1;; ++attempt) {
    auto reply = performOnce(request, url, body);
    bool last = attempt >= options_.max_attempts;
    if (!reply) {
      ErrorCode code = reply.error().code;
      bool transient = code == ErrorCode::kUnavailable || code == ErrorCode::kTimeout;
      if (!transient || last) {
        Error error = std::move(reply).error();
        if (attempt > 1) error.message += " (after " + std::to_string(attempt) + " attempts)";
        return error;
      }
      auto delay = backoff(attempt);
      LOG_W("{} {}: {}; retry {} in {} ms", request.method, request.path,
            reply.error().message, attempt, delay.count());
      std::this_thread::sleep_for(delay);
      continue;
    }
    reply->attempts = attempt;
    if (!retryableStatus(reply->status) || last) return reply;
    std::chrono::milliseconds delay = backoff(attempt);
    if (reply->status == 429 || reply->status == 503) {
      // The server knows when it will have room again; its hint beats our guess.
      int seconds = reply->retry_after_seconds;
      if (seconds < 0) seconds = parseApiStatus(reply->status, reply->body).retry_after_seconds;
      if (seconds > 0)
        delay = std::min<std::chrono::milliseconds>(std::chrono::seconds(seconds),
                                                    options_.max_retry_after);
    }
    LOG_W("{} {}: HTTP {}; retry {} in {} ms", request.method, request.path, reply->status,
          attempt, delay.count());
    std::this_thread::sleep_for(delay);
  }
}

Result<ApiResponse> ApiClient::performOnce(const ApiRequest& request, const std::string& url,
                                           const std::string& body) {
  if (std::string why; !curlGlobalInitOnce(&why)) return makeError(ErrorCode::kInternal, why);
  CurlEasyPtr easy(curl_easy_init());
  if (!easy) return makeError(ErrorCode::kInternal, "curl_easy_init failed");
  std::string content_type = request.content_type;
  if (content_type.empty())
    content_type = request.method == "PATCH" ? "application/merge-patch+json" : "application/json";
  CurlListPtr headers;
  auto add = [&](const std::string& line) {
    headers.reset(curl_slist_append(headers.release(), line.c_str()));
  };
  add("Accept: application/json");
  if (request.body) add("Content-Type: " + content_type);
  // An empty Expect: curl would otherwise wait for "100 Continue" before sending a larger body.
  add("Expect:");
  // Read per attempt so that a token rotated during retries is picked up.
  if (std::string token = credentials_.currentToken(); !token.empty())
    add("Authorization: Bearer " + token);

  Transfer t;
  t.sink = CappedBody{&t.response.body, options_.max_response_bytes};
  char errbuf[CURL_ERROR_SIZE] = {};
  CURL* e = easy.get();
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.body) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);  // multithreaded caller: no SIGALRM DNS timeouts
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_PROXY, "");  // the address guard must see the target, not a proxy
  if (credentials_.insecure_skip_tls_verify) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  } else {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  }
  if (!credentials_.ca_pem.empty()) {
    // The cluster CA alone: a public CA must not be able to vouch for this API server.
    setBlob(e, CURLOPT_CAINFO_BLOB, credentials_.ca_pem);
    curl_easy_setopt(e, CURLOPT_CAPATH, nullptr);
  }
  if (!credentials_.client_cert_pem.empty()) {
    setBlob(e, CURLOPT_SSLCERT_BLOB, credentials_.client_cert_pem);
    curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
    setBlob(e, CURLOPT_SSLKEY_BLOB, credentials_.client_key_pem);
    curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
  }
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
  curl_easy_setopt(e, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &curlOpenSocketGuard);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, static_cast<void*>(&t.refused));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &appendCappedBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, static_cast<void*>(&t.sink));
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &onHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, static_cast<void*>(&t));

  std::string what = request.method + " " + credentials_.server + request.path;
  CURLcode rc = curl_easy_perform(e);
  if (rc != CURLE_OK) {
    if (!t.refused.empty())
      return makeError(ErrorCode::kPermissionDenied,
                       what + ": refused: " + t.refused + " " + kForbiddenAddressWhy);
    if (t.sink.too_large)
      return makeError(ErrorCode::kResourceExhausted,
                       what + ": reply over " + std::to_string(t.sink.max_bytes) + " bytes");
    std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    ErrorCode code = rc == CURLE_OPERATION_TIMEDOUT ? ErrorCode::kTimeout : ErrorCode::kUnavailable;
    return makeError(code, what + ": " + detail);
  }
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &t.response.status);
  char* type = nullptr;
  if (curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type != nullptr)
    t.response.content_type = type;
  return std::move(t.response);
}

Result<Json> ApiClient::request(std::string_view method, std::string_view path, const Json& body,
                                const QueryParams& query, ApiStatus* status_out) {
  ApiRequest req;
  req.method = std::string(method);
  req.path = std::string(path);
  if (!body.is_null()) req.body = body;
  req.query = query;
  EXA_ASSIGN_OR_RETURN(ApiResponse reply, call(req));
  std::string what = req.method + " " + req.path;
  if (reply.status < 200 || reply.status >= 300) {
    ApiStatus status = parseApiStatus(reply.status, reply.body);
    Error error = apiStatusError(what, status);
    if (reply.attempts > 1)
      error.message += " (after " + std::to_string(reply.attempts) + " attempts)";
    if (status_out != nullptr) *status_out = std::move(status);
    return error;
  }
  if (reply.body.empty()) return Json(nullptr);
  auto parsed = parseJson(reply.body);
  if (!parsed)
    return makeError(ErrorCode::kProtocol, what + ": reply is not JSON: " + parsed.error().message);
  return std::move(*parsed);
}

}  // namespace exa::kubernetes
