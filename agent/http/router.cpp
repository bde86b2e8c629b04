// Segment matching for the route table.
#include "agent/http/router.h"

#include <sys/socket.h>

#include "common/log.h"

namespace exa::agent {
namespace {

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> segments;
  size_t start = path.empty() || path[0] != '/' ? 0 : 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    segments.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return segments;
}

bool isParam(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '<' && segment.back() == '>';
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The address as a Cidr-comparable (family, bytes); a v4-mapped v6 address counts as v4.
std::pair<int, std::array<uint8_t, 16>> addressBytes(const boost::asio::ip::address& address) {
  std::array<uint8_t, 16> bytes{};
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    auto v4 = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6()).to_bytes();
    std::copy(v4.begin(), v4.end(), bytes.begin());
    return {AF_INET, bytes};
  }
  if (address.is_v4()) {
    auto v4 = address.to_v4().to_bytes();
    std::copy(v4.begin(), v4.end(), bytes.begin());
    return {AF_INET, bytes};
  }
  auto v6 = address.to_v6().to_bytes();
  std::copy(v6.begin(), v6.end(), bytes.begin());
  return {AF_INET6, bytes};
}

bool inBlock(int family, const std::array<uint8_t, 16>& bytes, const Cidr& block) {
  if (family != block.family) return false;
  int bits = block.prefix_length;
  for (size_t i = 0; bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((bytes[i] & mask) != (block.bytes[i] & mask)) return false;
  }
  return true;
}

}  // namespace

bool percentDecode(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = hexValue(in[i + 1]), lo = hexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

void Router::add(http::verb method, const std::string& pattern, Handler handler, Access access) {
  routes_.push_back({method, pattern, splitPath(pattern), std::move(handler), access});
}

void Router::requireToken(std::string token, bool protect_reads) {
  token_ = std::move(token);
  protect_reads_ = protect_reads;
}

void Router::trustPeers(std::vector<Cidr> peers) { trusted_peers_ = std::move(peers); }

bool Router::trusted(const boost::asio::ip::address& peer) const {
  if (trusted_peers_.empty() || peer.is_unspecified()) return false;
  auto [family, bytes] = addressBytes(peer);
  for (const auto& block : trusted_peers_)
    if (inBlock(family, bytes, block)) return true;
  return false;
}

namespace {

// Constant time over the token: the comparison must not tell how much of a guess was right.
bool sameToken(std::string_view given, const std::string& token) {
  if (given.size() != token.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < token.size(); ++i)
    diff |= static_cast<unsigned char>(given[i] ^ token[i]);
  return diff == 0;
}

}  // namespace

bool Router::authorized(const HttpRequest& request, const boost::asio::ip::address& peer,
                        Access access) const {
  if (token_.empty() || access == Access::kOpen) return true;
  if (access == Access::kRead && !protect_reads_) return true;
  if (trusted(peer)) return true;
  // The API server's service proxy strips Authorization (it is the credential for the API
  // server itself), so a call relayed through it carries the token in kProxiedTokenHeader.
  auto proxied = request[kProxiedTokenHeader];
  if (!proxied.empty()) return sameToken(proxied, token_);
  auto header = request[http::field::authorization];
  constexpr std::string_view kBearer = "Bearer ";
  return header.starts_with(kBearer) && sameToken(header.substr(kBearer.size()), token_);
}

HttpResponse Router::dispatch(const HttpRequest& request, const boost::asio::ip::address& peer,
                              std::string* route_pattern) const {
  if (route_pattern != nullptr) *route_pattern = "unmatched";
  std::string_view target = request.target();
  std::string_view path = target.substr(0, target.find('?'));
  std::vector<std::string> segments = splitPath(path);
  bool path_known = false;
  for (const auto& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    PathParams params;
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      if (isParam(route.segments[i])) {
        std::string value;
        match = !segments[i].empty() && percentDecode(segments[i], value);
        params[route.segments[i].substr(1, route.segments[i].size() - 2)] = value;
      } else {
        match = route.segments[i] == segments[i];
      }
    }
    if (!match) continue;
    path_known = true;
    if (route.method != request.method()) continue;
    if (route_pattern != nullptr) *route_pattern = route.pattern;
    if (!authorized(request, peer, route.access))
      return errorReply(http::status::unauthorized, "unauthorized", "unauthorized");
    try {
      return route.handler(request, params);
    } catch (const std::exception& e) {
      LOG_E("{} {}: {}", std::string(request.method_string()), std::string(path), e.what());
      return errorReply(http::status::internal_server_error, "internal", "internal error");
    }
  }
  if (path_known)
    return errorReply(http::status::method_not_allowed, "method_not_allowed",
                      std::string(request.method_string()) + " is not allowed on " +
                          std::string(path));
  return errorReply(http::status::not_found, "not_found", "no route for " + std::string(path));
}

}  // namespace exa::agent
