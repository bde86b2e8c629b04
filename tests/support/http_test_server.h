// HttpTestServer: a small real HTTP/1.1 server on 127.0.0.1:<ephemeral> for fetcher and registry
// tests. Each route answers with a canned Response: plain bytes, redirects, error statuses, slow
// or lying bodies. Every request is logged so tests can assert what was (not) sent.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/unique_fd.h"

namespace exa::testing {

struct Response {
  /// How the body's end is signalled. kCloseDelimited sends no length and closes the connection.
  enum class Framing { kContentLength, kChunked, kCloseDelimited };

  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers, sent as given
  Framing framing = Framing::kContentLength;
  std::optional<uint64_t> declared_length;   ///< Content-Length to send instead of body.size()
  size_t chunk_bytes = 0;                    ///< body written in pieces of this size; 0 = one write
  std::chrono::milliseconds chunk_delay{0};  ///< sleep before each piece (a slow body)

  static Response bytes(std::string body);
  static Response redirect(int status, std::string location);
  static Response error(int status);
};

struct LoggedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  ///< names lower-cased
};

class HttpTestServer {
 public:
  /// Binds and starts serving; aborts the test binary if 127.0.0.1 cannot be bound.
  HttpTestServer();
  ~HttpTestServer();
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  /// Serves `response` for GET/HEAD of `path` (the query string is part of the match). Unrouted
  /// paths answer 404.
  void route(const std::string& path, Response response);
  /// "http://127.0.0.1:<port><path>"
  std::string url(const std::string& path) const;
  uint16_t port() const { return port_; }

  std::vector<LoggedRequest> requests() const;
  /// How many requests named `path` arrived.
  size_t hits(const std::string& path) const;
  /// Connections accepted, including ones that never sent a complete request.
  size_t connections() const { return connections_.load(); }

 private:
  void acceptLoop();
  void serveConnection(UniqueFd conn);
  /// Writes all of `data`; false once the peer is gone or the server stops.
  bool sendAll(int fd, std::string_view data);
  bool sendResponse(int fd, const Response& response, bool head);
  /// Sleeps `delay` unless the server is stopping; false if it is.
  bool pause(std::chrono::milliseconds delay);

  UniqueFd listener_;
  UniqueFd stop_read_;
  UniqueFd stop_write_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> connections_{0};

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  std::map<std::string, Response> routes_;
  std::vector<LoggedRequest> log_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

}  // namespace exa::testing
