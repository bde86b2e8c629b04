// Frame I/O with poll() deadlines; no allocation beyond the payload itself.
#include "sandbox/frame_channel.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

#include "common/syscall.h"

namespace exa::sandbox {
namespace {

Status waitFor(int fd, short events, Deadline deadline) {
  if (!deadline) return {};
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now());
  if (left.count() < 0) return makeError(ErrorCode::kTimeout, "deadline passed");
  struct pollfd p{fd, events, 0};
  // Round up so that a sub-millisecond remainder still waits instead of spinning.
  int rc = retryEintr([&] { return ::poll(&p, 1, static_cast<int>(left.count()) + 1); });
  if (rc < 0) return sysError("poll(channel)");
  if (rc == 0) return makeError(ErrorCode::kTimeout, "deadline passed");
  return {};
}

Status writeAll(int fd, const char* data, size_t size, Deadline deadline) {
  while (size > 0) {
    EXA_TRY(waitFor(fd, POLLOUT, deadline));
    ssize_t n = retryEintr([&] { return ::send(fd, data, size, MSG_NOSIGNAL); });
    if (n < 0) {
      if (errno == EAGAIN) continue;
      if (errno == EPIPE || errno == ECONNRESET)
        return sysError("send(channel)", ErrorCode::kUnavailable);
      return sysError("send(channel)");
    }
    data += n;
    size -= n;
  }
  return {};
}

Status readAll(int fd, char* data, size_t size, Deadline deadline) {
  while (size > 0) {
    EXA_TRY(waitFor(fd, POLLIN, deadline));
    ssize_t n = retryEintr([&] { return ::recv(fd, data, size, 0); });
    if (n < 0) {
      if (errno == EAGAIN) continue;
      if (errno == ECONNRESET) return sysError("recv(channel)", ErrorCode::kUnavailable);
      return sysError("recv(channel)");
    }
    if (n == 0) return makeError(ErrorCode::kUnavailable, "channel closed by peer");
    data += n;
    size -= n;
  }
  return {};
}

}  // namespace

Status writeFrame(int fd, std::string_view payload, Deadline deadline) {
  if (payload.size() > UINT32_MAX)
    return makeError(ErrorCode::kResourceExhausted, "frame larger than 4 GiB");
  uint32_t n = static_cast<uint32_t>(payload.size());
  unsigned char header[4] = {static_cast<unsigned char>(n >> 24), static_cast<unsigned char>(n >> 16),
                             static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
  EXA_TRY(writeAll(fd, reinterpret_cast<const char*>(header), 4, deadline));
  return writeAll(fd, payload.data(), payload.size(), deadline);
}

Result<std::string> readFrame(int fd, size_t max_bytes, Deadline deadline) {
  unsigned char header[4];
  EXA_TRY(readAll(fd, reinterpret_cast<char*>(header), 4, deadline));
  size_t n = (size_t{header[0]} << 24) | (size_t{header[1]} << 16) | (size_t{header[2]} << 8) |
             size_t{header[3]};
  if (n > max_bytes)
    return makeError(ErrorCode::kResourceExhausted,
                     "frame of " + std::to_string(n) + " bytes exceeds the cap of " +
                         std::to_string(max_bytes));
  std::string payload(n, '\0');
  EXA_TRY(readAll(fd, payload.data(), n, deadline));
  return payload;
}

}  // namespace exa::sandbox
