// Frame I/O with poll() deadlines; no allocation beyond the payload itself.
#include "sandbox/frame_channel.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdint>

#include "common/syscall.h"

namespace exa::sandbox {
namespace {

Status waitFor(int fd, short events, Deadline deadline) {
  int timeout_ms = -1;  // no deadline: wait as long as it takes
  if (deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now());
    if (left.count() < 0) return makeError(ErrorCode::kTimeout, "deadline passed");
    // Round up so that a sub-millisecond remainder still waits instead of spinning.
    timeout_ms = static_cast<int>(left.count()) + 1;
  }
  struct pollfd p{fd, events, 0};
  int rc = retryEintr([&] { return ::poll(&p, 1, timeout_ms); });
  if (rc < 0) return sysError("poll(channel)");
  if (rc == 0) return makeError(ErrorCode::kTimeout, "deadline passed");
  return {};
}

// With a deadline, each loop tries the syscall without blocking and polls only when it would
// block: on the warm path the peer's reply is usually already there, and a poll per read would
// double the syscalls. Without one (the worker's side) the call simply blocks.
int ioFlags(Deadline deadline) { return deadline ? MSG_DONTWAIT : 0; }
Status writeAll(int fd, struct iovec* iov, int iovcnt, Deadline deadline) {
  while (iovcnt > 0) {
    struct msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = iovcnt;
    ssize_t n = retryEintr([&] { return ::sendmsg(fd, &msg, MSG_NOSIGNAL | ioFlags(deadline)); });
    if (n < 0) {
      if (errno == EAGAIN) {
        EXA_TRY(waitFor(fd, POLLOUT, deadline));
        continue;
      }
      if (errno == EPIPE || errno == ECONNRESET)
        return sysError("send(channel)", ErrorCode::kUnavailable);
      return sysError("send(channel)");
    }
    size_t sent = static_cast<size_t>(n);
    for (; iovcnt > 0 && sent >= iov->iov_len; ++iov, --iovcnt) sent -= iov->iov_len;
    if (iovcnt > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + sent;
      iov->iov_len -= sent;
    }
  }
  return {};
}

Status readAll(int fd, char* data, size_t size, Deadline deadline) {
  while (size > 0) {
    ssize_t n = retryEintr([&] { return ::recv(fd, data, size, ioFlags(deadline)); });
    if (n < 0) {
      if (errno == EAGAIN) {
        EXA_TRY(waitFor(fd, POLLIN, deadline));
        continue;
      }
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
  // Header and payload in one sendmsg: one syscall, and the reader wakes once.
  struct iovec iov[2] = {{header, 4}, {const_cast<char*>(payload.data()), payload.size()}};
  return writeAll(fd, iov, payload.empty() ? 1 : 2, deadline);
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
