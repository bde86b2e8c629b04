// UniqueFd and the CLOEXEC pair factories.
#include "common/unique_fd.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace exa {

void UniqueFd::reset(int fd) {
  // close() is not retried on EINTR: on Linux the fd is released even when it reports EINTR.
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<FdPair> makeSocketPair(int type) {
  int fds[2];
  if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds) != 0) return sysError("socketpair");
  return FdPair{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Result<FdPair> makePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return sysError("pipe2");
  return FdPair{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace exa
