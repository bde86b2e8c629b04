// Listener and per-connection session.
#include "agent/http/server.h"

#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

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

// One connection: (TLS handshake,) read a request (limits and timeout set per message),
// dispatch, write, and loop while the client keeps the connection alive. `Stream` is
// beast::tcp_stream or beast::ssl_stream over one.
template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <typename... StreamArgs>
  Session(const Router& router, const ServerOptions& options, std::atomic<int>& in_flight,
          tcp::socket&& socket, StreamArgs&&... stream_args)
      : stream_(std::move(socket), std::forward<StreamArgs>(stream_args)...),
        router_(router),
        options_(options),
        in_flight_(in_flight) {
    beast::error_code ec;
    peer_ = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec).address();
  }

  void start() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        beast::get_lowest_layer(self->stream_).expires_after(self->options_.read_timeout);
        self->stream_.async_handshake(net::ssl::stream_base::server,
                                      [self](beast::error_code ec) {
                                        if (!ec) self->read();
                                      });
      } else {
        self->read();
      }
    });
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  void read() {
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(options_.max_header_bytes));
    beast::get_lowest_layer(stream_).expires_after(options_.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::onRead, this->shared_from_this()));
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
    HttpResponse response = handle(request);
    write(std::move(response), request.keep_alive(), /*counted=*/true);
  }

  HttpResponse handle(HttpRequest& request) {
    std::string request_id = requestIdFor(request);
    request.set(kRequestIdHeader, request_id);
    log::RequestScope scope(request_id);
    auto started = std::chrono::steady_clock::now();
    std::string route;
    HttpResponse response = router_.dispatch(request, peer_, &route);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    LOG_D("{} {} -> {} ({:.0f} us)", std::string_view(request.method_string()),
          std::string_view(request.target()), response.result_int(), seconds * 1e6);
    if (options_.on_request) options_.on_request(route, request, response, seconds);
    response.set(kRequestIdHeader, request_id);
    return response;
  }

  void write(HttpResponse response, bool keep_alive, bool counted = false) {
    response.keep_alive(keep_alive);
    // The read's expiry may have passed while a long policy call ran: the write gets its own.
    beast::get_lowest_layer(stream_).expires_after(options_.write_timeout);
    auto shared = std::make_shared<HttpResponse>(std::move(response));
    http::async_write(stream_, *shared,
                      [self = this->shared_from_this(), shared, keep_alive, counted](
                          beast::error_code ec, std::size_t) {
                        if (counted) --self->in_flight_;
                        if (ec) return;
                        if (!keep_alive) return self->close();
                        self->read();
                      });
  }

  void close() {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
    } else {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const Router& router_;
  const ServerOptions& options_;
  std::atomic<int>& in_flight_;
  net::ip::address peer_;
};

Result<net::ssl::context> tlsContext(const ServerOptions& options) {
  net::ssl::context tls(net::ssl::context::tls_server);
  // TLS 1.2 and newer only; compression off (CRIME).
  tls.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                  net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                  net::ssl::context::no_tlsv1_1 | net::ssl::context::no_compression);
  beast::error_code ec;
  tls.use_certificate_chain_file(options.tls_cert, ec);
  if (ec)
    return makeError(ErrorCode::kInvalidArgument,
                     "server.tls_cert " + options.tls_cert + ": " + ec.message());
  tls.use_private_key_file(options.tls_key, net::ssl::context::pem, ec);
  if (ec)
    return makeError(ErrorCode::kInvalidArgument,
                     "server.tls_key " + options.tls_key + ": " + ec.message());
  return tls;
}

}  // namespace

HttpServer::HttpServer(const Router& router, ServerOptions options)
    : router_(router), options_(std::move(options)), acceptor_(net::make_strand(io_)) {}

HttpServer::~HttpServer() { stop(); }

Result<uint16_t> HttpServer::listen() {
  if (!options_.tls_cert.empty() || !options_.tls_key.empty()) {
    EXA_ASSIGN_OR_RETURN(auto tls, tlsContext(options_));
    tls_.emplace(std::move(tls));
  }
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
      if (tls_)
        std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
            router_, options_, in_flight_, std::move(socket), *tls_)
            ->start();
      else
        std::make_shared<Session<beast::tcp_stream>>(router_, options_, in_flight_,
                                                     std::move(socket))
            ->start();
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
