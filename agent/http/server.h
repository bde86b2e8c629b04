// HttpServer: Boost.Asio + Beast HTTP/1.1 with keep-alive (the Beast chat-multi shape): one
// acceptor, a strand per connection, a body limit and a timeout on every read, handlers run
// through the Router. Handlers may block (a policy call): the io_context runs on several threads.
// With a certificate and key it speaks HTTPS only (OpenSSL through Beast's ssl_stream).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/http/router.h"
#include "common/result.h"

namespace exa::agent {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 10000;  ///< 0: any free port (tests)
  size_t threads = 0;     ///< 0: one per core, at least 2
  size_t max_body_bytes = 16ull << 20;
  size_t max_header_bytes = 16 * 1024;
  std::chrono::seconds read_timeout{30};
  std::chrono::seconds write_timeout{30};
  /// On stop(), how long requests already being handled may take to finish.
  std::chrono::seconds drain_timeout{30};
  std::string tls_cert;  ///< PEM chain; with tls_key, HTTPS (TLS 1.2+)
  std::string tls_key;
  /// Told about every answered request: the route pattern, the request, the response and the
  /// handling time in seconds (metrics). Runs on the serving thread.
  std::function<void(const std::string& route, const HttpRequest&, const HttpResponse&, double)>
      on_request;
};

class HttpServer {
 public:
  HttpServer(const Router& router, ServerOptions options);
  ~HttpServer();

  /// Loads the TLS material if any, binds and listens; returns the bound port.
  Result<uint16_t> listen();
  /// Serves on the worker threads until stop(); returns when they have all finished.
  void run();
  /// Stops accepting, waits (up to drain_timeout) for the requests being handled to be answered,
  /// then stops the loop; run() returns. Blocks: call it from a thread that is not serving.
  void stop();
  int inFlight() const { return in_flight_.load(); }

 private:
  void accept();

  const Router& router_;
  ServerOptions options_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::optional<boost::asio::ssl::context> tls_;
  std::atomic<int> in_flight_{0};  ///< requests read and not yet answered
};

}  // namespace exa::agent
