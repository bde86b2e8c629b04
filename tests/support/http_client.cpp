#include "tests/support/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace exa::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {

HttpResult toResult(const http::response<http::string_body>& response) {
  HttpResult result{static_cast<int>(response.result_int()), response.body(), Json(), {}};
  if (auto parsed = parseJson(result.body)) result.json = *parsed;
  for (const auto& field : response) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    result.headers[name] = std::string(field.value());
  }
  return result;
}

}  // namespace

HttpResult httpRequest(uint16_t port, const std::string& method, const std::string& target,
                       const std::string& body, const std::string& bearer_token,
                       const std::string& content_type,
                       const std::map<std::string, std::string>& extra_headers) {
  net::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, "127.0.0.1");
  if (!body.empty()) request.set(http::field::content_type, content_type);
  if (!bearer_token.empty()) request.set(http::field::authorization, "Bearer " + bearer_token);
  for (const auto& [name, value] : extra_headers) request.set(name, value);
  request.body() = body;
  request.prepare_payload();
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  beast::error_code ignored;
  stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  return toResult(response);
}

HttpResult httpRawRequest(uint16_t port, const std::string& raw) {
  net::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  net::write(stream, net::buffer(raw));
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  return toResult(response);
}

}  // namespace exa::testing
