// Listener and per-connection session.
#include "agent/http/server.h"

#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <optional>
#include <random>

#include "common/log.h"

namespace exa::agent {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// A caller's own id is kept when it is short and plain (it is echoed into logs and headers);
// otherwise ours: a per-process random prefix and a counter, unique without a lock.
std::string requestIdFor(const HttpRequest& request) {
  std::string_view given = request[kRequestIdHeader];
  bool plain = !given.empty() && given.size() <= 64 &&
               given.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                       "0123456789-_.:") == std::string_view::npos;
  if (plain) return std::string(given);
  static const std::string prefix = fmt::format("{:08x}", std::random_device{}());
  static std::atomic<uint64_t> counter{0};
  return fmt::format("{}-{:x}", prefix, ++counter);
}

// One connection: read a request (limits and timeout set per message), dispatch, write, and
// loop while the client keeps the connection alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, const Router& router, const ServerOptions& options,
          std::atomic<int>& in_flight)
      : stream_(std::move(socket)), router_(router), options_(options), in_flight_(in_flight) {}

  void start() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::read, shared_from_this()));
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(options_.max_header_bytes));
    stream_.expires_after(options_.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::onRead, shared_from_this()));
  }

  void onRead(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return close();
    if (ec == http::error::body_limit || ec == http::error::header_limit) {
      return write(errorReply(http::status::payload_too_large, "payload_too_large",
                              "request exceeds the size limit"), false);
    }
    if (ec) return;  // timeout or reset: nothing to answer
    ++in_flight_;  // until the answer is written: shutdown waits for it
    HttpRequest request = parser_->release();
    std::string request_id = requestIdFor(request);
    request.set(kRequestIdHeader, request_id);
    HttpResponse response;
    {
      log::RequestScope scope(request_id);
      auto started = std::chrono::steady_clock::now();
      response = router_.dispatch(request);
      LOG_D("{} {} -> {} ({} us)", std::string_view(request.method_string()),
            std::string_view(request.target()), response.result_int(),
            std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::steady_clock::now() - started).count());
    }
    response.set(kRequestIdHeader, request_id);
    write(std::move(response), request.keep_alive(), /*counted=*/true);
  }

  void write(HttpResponse response, bool keep_alive, bool counted = false) {
    response.keep_alive(keep_alive);
    auto shared = std::make_shared<HttpResponse>(std::move(response));
    http::async_write(stream_, *shared,
                      [self = shared_from_this(), shared, keep_alive, counted](beast::error_code ec,
                                                                               std::size_t) {
                        if (counted) --self->in_flight_;
                        if (ec) return;
                        if (!keep_alive) return self->close();
                        self->read();
                      });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const Router& router_;
  const ServerOptions& options_;
  std::atomic<int>& in_flight_;
};

}  // namespace

HttpServer::HttpServer(const Router& router, ServerOptions options)
    : router_(router), options_(std::move(options)), acceptor_(net::make_strand(io_)) {}

HttpServer::~HttpServer() { stop(); }

Result<uint16_t> HttpServer::listen() {
  beast::error_code ec;
  auto address = net::ip::make_address(options_.host, ec);
  if (ec) return makeError(ErrorCode::kInvalidArgument, "listen address " + options_.host + ": " + ec.message());
  tcp::endpoint endpoint{address, options_.port};
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return makeError(ErrorCode::kUnavailable, "listen on " + options_.host + ":" +
                                                  std::to_string(options_.port) + ": " + ec.message());
  accept();
  return acceptor_.local_endpoint().port();
}

void HttpServer::accept() {
  acceptor_.async_accept(net::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec != net::error::operation_aborted) LOG_W("accept: {}", ec.message());
      if (!acceptor_.is_open()) return;
    } else {
      std::make_shared<Session>(std::move(socket), router_, options_, in_flight_)->start();
    }
    accept();
  });
}

void HttpServer::run() {
  size_t threads = options_.threads != 0 ? options_.threads
                                          : std::max<size_t>(2, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (size_t i = 1; i < threads; ++i) pool.emplace_back([this] { io_.run(); });
  io_.run();
  for (auto& t : pool) t.join();
}

void HttpServer::stop() {
  if (io_.stopped()) return;
  net::post(acceptor_.get_executor(), [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
  });
  // Requests already read get their answers; idle keep-alive connections are not waited for.
  auto deadline = std::chrono::steady_clock::now() + options_.drain_timeout;
  while (in_flight_.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (in_flight_.load() > 0) LOG_W("stopping with {} requests unanswered", in_flight_.load());
  io_.stop();
}

}  // namespace exa::agent
