// The in-tree HTTP load generator the daemon benchmarks share: N threads, each one keep-alive
// connection to 127.0.0.1, sending the same request for a while; req/s and latency percentiles.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <boost/beast/http/verb.hpp>

namespace exa::bench {

struct LoadResult {
  double requests_per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
  size_t failures = 0;  ///< answers other than 200
};

/// What a series sends besides the body: extra headers (a token), and whether to keep the
/// connection (false: `Connection: close`, a new connection per request, as a client with one
/// curl handle per call pays).
struct LoadRequest {
  std::vector<std::pair<std::string, std::string>> headers;
  bool keep_alive = true;
};

/// A server that closes after each response (Flask's dev server speaks HTTP/1.0) costs a
/// reconnect, inside the measured time: that is what its clients pay.
LoadResult httpLoad(uint16_t port, boost::beast::http::verb method, const std::string& target,
                    const std::string& body, int connections, double seconds,
                    const LoadRequest& extra = {});

}  // namespace exa::bench
