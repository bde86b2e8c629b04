#include "kubernetes/api_client.h"

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <memory>
#include <thread>

#include <curl/curl.h>

#include "common/address_guard.h"
#include "common/curl_support.h"
#include "common/log.h"

namespace exa::kubernetes {
namespace {

using Clock = std::chrono::steady_clock;

// How long one wait for socket activity may last when the caller can cancel: the bound on how
// late a stop() is noticed on an idle watch. curl_easy_perform would look only about once a second.
constexpr std::chrono::milliseconds kCancelPoll{50};

// One exchange on one easy handle: what call() and stream() share. The handle points into it
// (header list, error buffer, callback data), so it must outlive the handle's use.
struct Transfer {
  ApiResponse response;
  CappedBody sink;      ///< call(): the body; stream(): the body of a non-2xx reply
  std::string refused;  ///< an address the socket guard refused
  CurlListPtr headers;
  char errbuf[CURL_ERROR_SIZE] = {};
  CURL* easy = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  Clock::time_point last_byte = Clock::now();
  // stream() only:
  const LineHandler* on_line = nullptr;
  size_t max_line = 0;
  std::string partial;          ///< the start of a line whose '\n' has not arrived yet
  bool consumer_done = false;   ///< on_line returned false
  bool line_too_long = false;
  std::string handler_failure;  ///< on_line threw: the text of the exception
};

// Why runTransfer() cut a transfer short.
enum class Cut { kNone, kCancelled, kIdle, kMulti };

bool isCancelled(const std::atomic<bool>* cancel) { return cancel != nullptr && cancel->load(); }

size_t onHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  t->last_byte = Clock::now();
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

size_t onBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  t->last_byte = Clock::now();
  return appendCappedBody(data, size, count, &t->sink);
}

// Hands one complete line to the consumer; false ends the transfer.
bool deliverLine(Transfer* t, std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  try {
    if (!(*t->on_line)(line)) t->consumer_done = true;
  } catch (const std::exception& e) {
    // Never let an exception unwind through libcurl's C frames.
    t->handler_failure = e.what();
  } catch (...) {
    t->handler_failure = "unknown exception";
  }
  return !t->consumer_done && t->handler_failure.empty();
}

// stream()'s write callback: splits the body into lines, keeping a partial one for the next call.
size_t onStreamData(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  t->last_byte = Clock::now();
  long& status = t->response.status;
  if (status == 0) curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) return appendCappedBody(data, size, count, &t->sink);
  if (isCancelled(t->cancel)) return 0;  // a busy stream: do not wait for the next poll
  std::string_view chunk(data, n);
  while (!chunk.empty()) {
    size_t newline = chunk.find('\n');
    size_t piece = newline == std::string_view::npos ? chunk.size() : newline;
    if (t->partial.size() + piece > t->max_line) {
      t->line_too_long = true;
      return 0;
    }
    if (newline == std::string_view::npos) {
      t->partial.append(chunk);
      break;
    }
    bool more;
    if (t->partial.empty()) {
      more = deliverLine(t, chunk.substr(0, newline));  // the common case: no copy
    } else {
      t->partial.append(chunk.substr(0, newline));
      more = deliverLine(t, t->partial);
      t->partial.clear();
    }
    chunk.remove_prefix(newline + 1);
    if (!more) return 0;
  }
  return n;
}

struct CurlMultiFree {
  void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};

// Runs `e` to completion on `multi` (the handle's own, with no other transfer on it), waking at
// least every kCancelPoll to look at the cancel flag and the idle limit. Returns the transfer's
// own result unless `cut` says why it was stopped first. `e` leaves `multi` either way, so the
// pair can be cleaned up or reused.
CURLcode runTransfer(CURLM* multi, CURL* e, Transfer& t, std::chrono::milliseconds idle_timeout,
                     Cut* cut) {
  *cut = Cut::kNone;
  if (curl_multi_add_handle(multi, e) != CURLM_OK) {
    *cut = Cut::kMulti;
    return CURLE_FAILED_INIT;
  }
  // Removing the easy handle hands its connection back to the multi's cache (or closes it, if
  // the transfer was cut short).
  struct Attached {
    CURLM* multi;
    CURL* easy;
    ~Attached() { curl_multi_remove_handle(multi, easy); }
  } attached{multi, e};
  bool watchful = t.cancel != nullptr || idle_timeout.count() > 0;
  int wait_ms = watchful ? static_cast<int>(kCancelPoll.count()) : 1000;
  t.last_byte = Clock::now();
  for (int running = 1;;) {
    if (curl_multi_perform(multi, &running) != CURLM_OK) {
      *cut = Cut::kMulti;
      return CURLE_FAILED_INIT;
    }
    if (running == 0) break;
    if (isCancelled(t.cancel)) {
      *cut = Cut::kCancelled;
      return CURLE_ABORTED_BY_CALLBACK;
    }
    if (idle_timeout.count() > 0 && Clock::now() - t.last_byte > idle_timeout) {
      *cut = Cut::kIdle;
      return CURLE_OPERATION_TIMEDOUT;
    }
    // curl shortens the wait itself when one of its own timers (connect, request) is due sooner.
    curl_multi_poll(multi, nullptr, 0, wait_ms, nullptr);
  }
  CURLcode rc = CURLE_GOT_NOTHING;
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &queued))
    if (msg->msg == CURLMSG_DONE && msg->easy_handle == e) rc = msg->data.result;
  return rc;
}

// The Error of a transfer that did not complete.
Error transferError(CURLcode rc, const Transfer& t, Cut cut, const std::string& what,
                    std::chrono::milliseconds idle_timeout) {
  switch (cut) {
    case Cut::kCancelled: return makeError(ErrorCode::kUnavailable, what + ": cancelled");
    case Cut::kIdle:
      return makeError(ErrorCode::kTimeout, what + ": nothing received for " +
                                                std::to_string(idle_timeout.count()) + " ms");
    case Cut::kMulti: return makeError(ErrorCode::kInternal, what + ": curl multi handle failed");
    case Cut::kNone: break;
  }
  if (!t.refused.empty())
    return makeError(ErrorCode::kPermissionDenied,
                     what + ": refused: " + t.refused + " " + kForbiddenAddressWhy);
  if (t.sink.too_large)
    return makeError(ErrorCode::kResourceExhausted,
                     what + ": reply over " + std::to_string(t.sink.max_bytes) + " bytes");
  if (t.line_too_long)
    return makeError(ErrorCode::kResourceExhausted,
                     what + ": a line over " + std::to_string(t.max_line) + " bytes");
  if (!t.handler_failure.empty())
    return makeError(ErrorCode::kInternal, what + ": line handler threw: " + t.handler_failure);
  std::string detail = t.errbuf[0] != '\0' ? t.errbuf : curl_easy_strerror(rc);
  ErrorCode code = rc == CURLE_OPERATION_TIMEDOUT ? ErrorCode::kTimeout : ErrorCode::kUnavailable;
  return makeError(code, what + ": " + detail);
}

// Sleeps `delay`, in slices so that a cancel cuts it short; false when cancelled.
bool sleepUnlessCancelled(std::chrono::milliseconds delay, const std::atomic<bool>* cancel) {
  if (cancel == nullptr) {
    std::this_thread::sleep_for(delay);
    return true;
  }
  auto until = Clock::now() + delay;
  while (!isCancelled(cancel)) {
    auto left = until - Clock::now();
    if (left <= Clock::duration::zero()) return true;
    std::this_thread::sleep_for(std::min<Clock::duration>(left, kCancelPoll));
  }
  return false;
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

// Configures `e`, a new or curl_easy_reset handle, as call() and stream() both need it: method,
// body, headers (the token read now, so a rotation is picked up per attempt), TLS material, no
// proxy or redirects, the address guard, header parsing. Every option is set here on every
// request, so nothing of the previous request on a pooled handle carries over. The caller adds
// its write callback and timeouts.
Status configureHandle(CURL* e, const ClusterCredentials& credentials,
                       const ApiClientOptions& options, const ApiRequest& request,
                       const std::string& url, const std::string& body, Transfer& t) {
  std::string content_type = request.content_type;
  if (content_type.empty())
    content_type = request.method == "PATCH" ? "application/merge-patch+json" : "application/json";
  auto add = [&](const std::string& line) {
    t.headers.reset(curl_slist_append(t.headers.release(), line.c_str()));
  };
  add("Accept: application/json");
  if (request.body) add("Content-Type: " + content_type);
  // An empty Expect: curl would otherwise wait for "100 Continue" before sending a larger body.
  add("Expect:");
  for (const auto& [name, value] : request.headers) {
    // A header is one line; a CR or LF would smuggle a second one (or a second request).
    if (name.find_first_of("\r\n:") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos ||
        strcasecmp(name.c_str(), "Authorization") == 0)
      return makeError(ErrorCode::kInvalidArgument, "header " + name + ": not allowed");
    add(name + ": " + value);
  }
  if (std::string token = credentials.currentToken(); !token.empty())
    add("Authorization: Bearer " + token);

  t.easy = e;
  t.cancel = request.cancel;
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.body) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers.get());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);  // multithreaded caller: no SIGALRM DNS timeouts
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_PROXY, "");  // the address guard must see the target, not a proxy
  if (credentials.insecure_skip_tls_verify) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  } else {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  }
  if (!credentials.ca_pem.empty()) {
    // The cluster CA alone: a public CA must not be able to vouch for this API server.
    setBlob(e, CURLOPT_CAINFO_BLOB, credentials.ca_pem);
    curl_easy_setopt(e, CURLOPT_CAPATH, nullptr);
  }
  if (!credentials.client_cert_pem.empty()) {
    setBlob(e, CURLOPT_SSLCERT_BLOB, credentials.client_cert_pem);
    curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
    setBlob(e, CURLOPT_SSLKEY_BLOB, credentials.client_key_pem);
    curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
  }
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_USERAGENT, options.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.errbuf);
  // Only a new connection opens a socket, so only a new one passes the guard; a reused one
  // passed it when it was opened, and curl reuses a connection only for the same host and port.
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &curlOpenSocketGuard);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, static_cast<void*>(&t.refused));
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &onHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, static_cast<void*>(&t));
  return {};
}

}  // namespace

// An easy handle and the multi handle it runs on. The pair is what gets pooled because the
// connection cache belongs to the multi handle: an easy handle run on a multi made per transfer
// lost its connection at curl_multi_cleanup, however long the easy handle lived. (A CURLSH
// share of the connection cache would span handles, but curl 7.88 documents it as unsafe
// across threads, known bug 11.11.)
struct ApiClient::Handle {
  std::unique_ptr<CURLM, CurlMultiFree> multi;  // declared first: cleaned up after `easy`
  CurlEasyPtr easy;

  static Result<HandlePtr> make() {
    if (std::string why; !curlGlobalInitOnce(&why)) return makeError(ErrorCode::kInternal, why);
    auto handle = std::make_unique<Handle>();
    handle->multi.reset(curl_multi_init());
    handle->easy.reset(curl_easy_init());
    if (!handle->multi || !handle->easy)
      return makeError(ErrorCode::kInternal, "curl_multi_init or curl_easy_init failed");
    // One transfer at a time runs here, so one connection is all the cache needs to keep.
    curl_multi_setopt(handle->multi.get(), CURLMOPT_MAXCONNECTS, 1L);
    return handle;
  }
};

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

ApiClient::~ApiClient() = default;  // here, where Handle is complete

Result<ApiClient::HandlePtr> ApiClient::checkout() {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!idle_.empty()) {
      // The most recently used: the least likely to have been closed by the server meanwhile.
      HandlePtr handle = std::move(idle_.back());
      idle_.pop_back();
      return handle;
    }
  }
  return Handle::make();
}

void ApiClient::checkin(HandlePtr handle) {
  // Reset now rather than at the next checkout: until then the handle would point into a
  // finished Transfer (header list, error buffer, callback data). The connection survives the
  // reset: it is in the multi handle's cache.
  curl_easy_reset(handle->easy.get());
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (idle_.size() < options_.max_idle_connections) {
      idle_.push_back(std::move(handle));
      return;
    }
  }
  // The pool is full: `handle` closes its connection as it goes, outside the lock.
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

Result<std::string> ApiClient::urlFor(const ApiRequest& request) const {
  QueryParams query;
  for (const auto& param : request.query)
    if (!isWrite(request.method) || param.first != "fieldValidation") query.push_back(param);
  if (isWrite(request.method)) query.emplace_back("fieldValidation", "Strict");
  return buildApiUrl(credentials_.server, request.path, query);
}

Result<ApiResponse> ApiClient::call(const ApiRequest& request) {
  EXA_ASSIGN_OR_RETURN(std::string url, urlFor(request));
  std::string body = request.body ? dumpJson(*request.body) : std::string();
  auto cancelled = [&] {
    return makeError(ErrorCode::kUnavailable, request.method + " " + credentials_.server +
                                                  request.path + ": cancelled");
  };

  for (int attempt = 1;; ++attempt) {
    if (isCancelled(request.cancel)) return cancelled();
    auto reply = performOnce(request, url, body);
    bool last = attempt >= options_.max_attempts;
    if (!reply) {
      ErrorCode code = reply.error().code;
      bool transient = code == ErrorCode::kUnavailable || code == ErrorCode::kTimeout;
      if (!transient || last || isCancelled(request.cancel)) {
        Error error = std::move(reply).error();
        if (attempt > 1) error.message += " (after " + std::to_string(attempt) + " attempts)";
        return error;
      }
      auto delay = backoff(attempt);
      LOG_W("{} {}: {}; retry {} in {} ms", request.method, request.path,
            reply.error().message, attempt, delay.count());
      if (!sleepUnlessCancelled(delay, request.cancel)) return cancelled();
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
    if (!sleepUnlessCancelled(delay, request.cancel)) return cancelled();
  }
}

Result<ApiResponse> ApiClient::performOnce(const ApiRequest& request, const std::string& url,
                                           const std::string& body) {
  Transfer t;  // declared first: the handle points into it until checkin() or its cleanup
  t.sink = CappedBody{&t.response.body, options_.max_response_bytes};
  EXA_ASSIGN_OR_RETURN(HandlePtr handle, checkout());
  CURL* e = handle->easy.get();
  if (Status configured = configureHandle(e, credentials_, options_, request, url, body, t);
      !configured) {
    checkin(std::move(handle));  // nothing was sent: its connection is as good as before
    return std::move(configured).error();
  }
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &onBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, static_cast<void*>(&t));

  Cut cut = Cut::kNone;
  CURLcode rc = runTransfer(handle->multi.get(), e, t, request.idle_timeout, &cut);
  // A failed transfer's handle is dropped rather than pooled, and its connection with it: the
  // connection may be in the middle of a reply (cancelled, idle, over the cap).
  if (rc != CURLE_OK)
    return transferError(rc, t, cut, request.method + " " + credentials_.server + request.path,
                         request.idle_timeout);
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &t.response.status);
  char* type = nullptr;
  if (curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type != nullptr)
    t.response.content_type = type;  // a copy: `type` belongs to the handle, reset below
  // curl has already decided whether the connection stays open (the server's Connection:
  // close, HTTP/1.0); either way the handle can serve the next call.
  checkin(std::move(handle));
  return std::move(t.response);
}

Result<long> ApiClient::stream(const ApiRequest& request, const LineHandler& on_line,
                               ApiStatus* status_out) {
  EXA_ASSIGN_OR_RETURN(std::string url, urlFor(request));
  std::string body = request.body ? dumpJson(*request.body) : std::string();
  Transfer t;
  t.sink = CappedBody{&t.response.body, options_.max_response_bytes};
  t.on_line = &on_line;
  t.max_line = options_.max_stream_line_bytes;
  // A handle of its own, not the pool's: a watch holds its connection for minutes, and a pooled
  // one would leave call() a connection short meanwhile.
  EXA_ASSIGN_OR_RETURN(HandlePtr handle, Handle::make());
  CURL* e = handle->easy.get();
  EXA_TRY(configureHandle(e, credentials_, options_, request, url, body, t));
  // No CURLOPT_TIMEOUT: a watch lasts as long as the server keeps it open. A dead peer is found
  // by TCP keepalive and request.idle_timeout; the caller ends it early through request.cancel.
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &onStreamData);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, static_cast<void*>(&t));

  Cut cut = Cut::kNone;
  CURLcode rc = runTransfer(handle->multi.get(), e, t, request.idle_timeout, &cut);
  std::string what = request.method + " " + credentials_.server + request.path;
  if (rc == CURLE_WRITE_ERROR && isCancelled(request.cancel))
    cut = Cut::kCancelled;  // seen by onStreamData rather than by runTransfer
  else if (rc == CURLE_WRITE_ERROR && t.consumer_done)
    rc = CURLE_OK;  // the consumer said it had enough: a normal end
  if (rc != CURLE_OK) return transferError(rc, t, cut, what, request.idle_timeout);
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) {
    ApiStatus api_status = parseApiStatus(status, t.response.body);
    Error error = apiStatusError(request.method + " " + request.path, api_status);  // as request()
    if (status_out != nullptr) *status_out = std::move(api_status);
    return error;
  }
  if (!t.partial.empty() && !t.consumer_done)
    LOG_D("{}: the stream ended inside a line; {} bytes dropped", what, t.partial.size());
  return status;
}

Result<Json> ApiClient::request(std::string_view method, std::string_view path, const Json& body,
                                const QueryParams& query, ApiStatus* status_out) {
  ApiRequest req;
  req.method = std::string(method);
  req.path = std::string(path);
  if (!body.is_null()) req.body = body;
  req.query = query;
  return request(req, status_out);
}

Result<Json> ApiClient::request(const ApiRequest& req, ApiStatus* status_out) {
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
