// ApiClient: the agent's REST client for one Kubernetes API server, on libcurl and Json (no
// generated SDK). One object per cluster; it holds that cluster's credentials and nothing is
// process-global, so two clusters (or two executors' clusters) never share configuration.
// Thread-safe: a call borrows a curl handle from the client's small pool, which keeps its
// connection to the API server open for the next call. stream() is the transport of watches
// (kubernetes/watch.h).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json_util.h"
#include "common/result.h"
#include "kubernetes/api_status.h"
#include "kubernetes/credentials.h"

namespace exa::kubernetes {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

struct ApiClientOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};  ///< per attempt
  int max_attempts = 4;                               ///< including the first; 1 = no retries
  std::chrono::milliseconds initial_backoff{250};     ///< doubles per retry, jittered
  std::chrono::milliseconds max_backoff{8000};
  std::chrono::milliseconds max_retry_after{30000};  ///< caps a server's Retry-After
  size_t max_response_bytes = 64u << 20;
  size_t max_stream_line_bytes = 16u << 20;  ///< stream(): one watch event (a whole object)
  /// call(): open connections kept for the next call, one idle curl handle each; 0 = a new
  /// connection (and TLS handshake) per call. Concurrent calls beyond it still run, each on a
  /// handle of its own that is closed afterwards.
  size_t max_idle_connections = 8;
  std::string user_agent = "executor-agent";
};

struct ApiRequest {
  std::string method = "GET";
  std::string path;         ///< "/apis/batch/v1/namespaces/x/jobs", no query string
  std::optional<Json> body;
  QueryParams query;        ///< values are percent-encoded here
  std::string content_type;  ///< "" = application/json, or merge-patch+json for PATCH
  /// More headers, for calls the API server relays (a service proxy); never Authorization.
  std::vector<std::pair<std::string, std::string>> headers;
  /// When it turns true the request ends within about 50 ms: a retrying call() stops retrying and
  /// returns kUnavailable "...: cancelled"; so does stream(). Must outlive the call.
  const std::atomic<bool>* cancel = nullptr;
  /// kTimeout when no byte of the reply arrives for this long; 0 = no limit. Meant for stream(),
  /// which has no overall timeout (call() also has request_timeout).
  std::chrono::milliseconds idle_timeout{0};
};

/// stream()'s consumer: one line without its "\n" (nor a "\r" before it); false ends the stream.
/// Runs inside curl's write callback: it must not throw, and should not block for long.
using LineHandler = std::function<bool(std::string_view line)>;

struct ApiResponse {
  long status = 0;
  std::string content_type;
  std::string body;
  std::vector<std::string> warnings;  ///< Warning headers (e.g. deprecated API, unknown field)
  int retry_after_seconds = -1;       ///< the Retry-After header (delay-seconds form), -1 if none
  int attempts = 0;
};

class ApiClient {
 public:
  explicit ApiClient(ClusterCredentials credentials, ApiClientOptions options = {});
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  /// Sends `request` with retries: 429 (after Retry-After when given), 5xx and transport
  /// failures, with jittered exponential backoff, never any other 4xx. Any final HTTP status is
  /// a response; an Error means no usable reply (kInvalidArgument for a bad path, kTimeout,
  /// kUnavailable, kPermissionDenied for a forbidden address, kResourceExhausted over the cap).
  /// POST/PUT/PATCH always carry fieldValidation=Strict (a caller's own value is replaced), so a
  /// misspelt field fails loudly instead of being dropped.
  Result<ApiResponse> call(const ApiRequest& request);

  /// `call` for JSON: a 2xx body parsed (null for an empty body), any other status an Error from
  /// apiStatusError(); `status_out`, when given, receives the server's Status for such replies so
  /// a caller can branch on reason (AlreadyExists, Conflict, Expired) and read details.causes.
  Result<Json> request(std::string_view method, std::string_view path,
                       const Json& body = nullptr, const QueryParams& query = {},
                       ApiStatus* status_out = nullptr);
  /// The same for a full ApiRequest (to pass `cancel` or `idle_timeout`).
  Result<Json> request(const ApiRequest& request, ApiStatus* status_out = nullptr);

  /// One attempt, no retries (a watcher owns reconnection) and no overall timeout: hands each
  /// complete '\n'-terminated line of a 2xx body to `on_line` as it arrives, until the server
  /// ends the reply or `on_line` returns false; either way the result is the HTTP status. A final
  /// line without '\n' is dropped: a stream cut inside an event must not yield half an object.
  /// A non-2xx reply is read whole and returned as apiStatusError() (its Status in `status_out`).
  /// Errors otherwise as call(), plus kResourceExhausted for a line over max_stream_line_bytes
  /// and kTimeout for request.idle_timeout. Same TLS, auth, address guard and headers as call().
  Result<long> stream(const ApiRequest& request, const LineHandler& on_line,
                      ApiStatus* status_out = nullptr);

  const ClusterCredentials& credentials() const { return credentials_; }
  const ApiClientOptions& options() const { return options_; }

 private:
  /// A curl easy handle with the multi handle it runs on; defined in the .cpp.
  struct Handle;
  using HandlePtr = std::unique_ptr<Handle>;

  /// An idle handle from the pool (its connection likely still open), else a new one.
  Result<HandlePtr> checkout();
  /// Resets `handle` and keeps it for the next call while the pool has room.
  void checkin(HandlePtr handle);
  Result<ApiResponse> performOnce(const ApiRequest& request, const std::string& url,
                                  const std::string& body);
  /// The URL of `request`, with fieldValidation=Strict forced on writes.
  Result<std::string> urlFor(const ApiRequest& request) const;
  std::chrono::milliseconds backoff(int retry);

  ClusterCredentials credentials_;
  ApiClientOptions options_;
  std::mutex rng_mu_;
  std::mt19937 rng_;
  std::mutex pool_mu_;
  std::vector<HandlePtr> idle_;  ///< under pool_mu_; the most recently used last
};

/// The full URL for `path` and `query`; validates the path (absolute, no query, fragment, dot
/// segments or control characters: names come from users, and must not re-route a request).
Result<std::string> buildApiUrl(const std::string& server, const std::string& path,
                                const QueryParams& query);

}  // namespace exa::kubernetes
