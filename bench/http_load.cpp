#include "bench/http_load.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "bench/bench_support.h"

namespace exa::bench {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

LoadResult httpLoad(uint16_t port, http::verb method, const std::string& target,
                    const std::string& body, int connections, double seconds,
                    const LoadRequest& extra) {
  std::atomic<bool> stop{false};
  std::vector<std::vector<double>> latencies(connections);
  std::vector<size_t> failures(connections, 0);
  std::vector<std::thread> threads;
  auto start = Clock::now();
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      net::io_context io;
      beast::tcp_stream stream(io);
      http::request<http::string_body> request{method, target, 11};
      request.set(http::field::host, "127.0.0.1");
      request.set(http::field::content_type, "application/json");
      for (const auto& [name, value] : extra.headers) request.set(name, value);
      request.keep_alive(extra.keep_alive);
      request.body() = body;
      request.prepare_payload();
      beast::flat_buffer buffer;
      bool connected = false;
      while (!stop.load(std::memory_order_relaxed)) {
        auto t0 = Clock::now();
        beast::error_code ec;
        // A server that closes after each response (Flask's dev server speaks HTTP/1.0) costs a
        // reconnect, inside the measured time: that is what its clients pay.
        if (!connected) {
          stream.socket().close(ec);
          stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
          if (ec) return;
          buffer.clear();
          connected = true;
        }
        http::write(stream, request, ec);
        http::response<http::string_body> response;
        if (!ec) http::read(stream, buffer, response, ec);
        if (ec) {
          connected = false;
          continue;
        }
        if (!response.keep_alive()) connected = false;
        if (response.result() != http::status::ok) ++failures[c];
        latencies[c].push_back(usSince(t0));
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  LoadResult r;
  for (int c = 0; c < connections; ++c) {
    all.insert(all.end(), latencies[c].begin(), latencies[c].end());
    r.failures += failures[c];
  }
  r.requests_per_second = all.size() / elapsed;
  r.p50_us = percentile(all, 0.50);
  r.p99_us = percentile(all, 0.99);
  return r;
}

}  // namespace exa::bench
