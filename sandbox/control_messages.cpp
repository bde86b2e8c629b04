// sendmsg/recvmsg with SCM_RIGHTS for the zygote control socket.
#include "sandbox/control_messages.h"

#include <sys/socket.h>

#include <cstring>

#include "common/syscall.h"

namespace exa::sandbox {

Status sendControl(int socket_fd, const std::string& text, int fd_to_pass) {
  struct iovec iov{const_cast<char*>(text.data()), text.size()};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (fd_to_pass >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &fd_to_pass, sizeof(int));
  }
  if (retryEintr([&] { return ::sendmsg(socket_fd, &msg, MSG_NOSIGNAL); }) < 0)
    return sysError("sendmsg(zygote control)", ErrorCode::kUnavailable);
  return {};
}

Result<ControlMessage> receiveControl(int socket_fd) {
  ControlMessage out;
  out.text.resize(kMaxControlMessage);
  struct iovec iov{out.text.data(), out.text.size()};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = retryEintr([&] { return ::recvmsg(socket_fd, &msg, MSG_CMSG_CLOEXEC); });
  if (n < 0) return sysError("recvmsg(zygote control)", ErrorCode::kUnavailable);
  if (n == 0) return makeError(ErrorCode::kUnavailable, "zygote control socket closed");
  out.text.resize(n);
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
      out.fd.reset(fd);
    }
  }
  if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
    return makeError(ErrorCode::kProtocol, "zygote control message truncated");
  return out;
}

}  // namespace exa::sandbox
