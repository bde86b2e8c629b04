#include "common/random_token.h"

#include <sys/random.h>

#include <cerrno>
#include <vector>

namespace exa {

Result<std::string> randomHexToken(size_t bytes) {
  std::vector<unsigned char> buffer(bytes);
  size_t filled = 0;
  while (filled < bytes) {
    ssize_t n = ::getrandom(buffer.data() + filled, bytes - filled, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sysError("getrandom", ErrorCode::kInternal);
    filled += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  token.reserve(2 * bytes);
  for (unsigned char b : buffer) {
    token += kHex[b >> 4];
    token += kHex[b & 15];
  }
  return token;
}

}  // namespace exa
