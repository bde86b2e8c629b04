#include "common/address_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace exa {
namespace {

bool isForbiddenV4(uint32_t host_order) {
  if ((host_order >> 16) == 0xA9FE) return true;  // 169.254.0.0/16, incl. 169.254.169.254
  return host_order == 0x646464C8;                // 100.100.100.200, Alibaba Cloud metadata
}

bool isForbiddenV6(const in6_addr& addr) {
  const uint8_t* b = addr.s6_addr;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;  // fe80::/10
  static const uint8_t kAwsMetadata[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0,    0,
                                           0,    0,    0,    0,    0, 0, 0x02, 0x54};
  if (std::memcmp(b, kAwsMetadata, 16) == 0) return true;  // fd00:ec2::254, AWS IMDS over IPv6
  // IPv4 embedded in IPv6 reaches the IPv4 address: mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96.
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static const uint8_t kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(b, kMapped, 12) == 0 || std::memcmp(b, kNat64, 12) == 0) {
    uint32_t v4 =
        (uint32_t{b[12]} << 24) | (uint32_t{b[13]} << 16) | (uint32_t{b[14]} << 8) | b[15];
    return isForbiddenV4(v4);
  }
  return false;
}

}  // namespace

std::string forbiddenLiteral(const std::string& host) {
  std::string bare = host;
  if (bare.size() >= 2 && bare.front() == '[' && bare.back() == ']')
    bare = bare.substr(1, bare.size() - 2);
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, bare.c_str(), &v4) == 1 && isForbiddenV4(ntohl(v4.s_addr))) return host;
  if (inet_pton(AF_INET6, bare.c_str(), &v6) == 1 && isForbiddenV6(v6)) return host;
  return {};
}

std::string forbiddenSockaddr(const sockaddr* sa, size_t len) {
  char text[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    sockaddr_in in{};
    std::memcpy(&in, sa, sizeof in);
    if (!isForbiddenV4(ntohl(in.sin_addr.s_addr))) return {};
    inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    return text;
  }
  if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, sa, sizeof in6);
    if (!isForbiddenV6(in6.sin6_addr)) return {};
    inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
    return text;
  }
  return {};
}

curl_socket_t curlOpenSocketGuard(void* clientp, curlsocktype purpose, curl_sockaddr* address) {
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  std::string bad = forbiddenSockaddr(&address->addr, address->addrlen);
  if (!bad.empty()) {
    *static_cast<std::string*>(clientp) = bad;
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

}  // namespace exa
