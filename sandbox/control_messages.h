// Agent <-> zygote control messages: one SOCK_SEQPACKET datagram each, a JSON text plus at most
// one fd (SCM_RIGHTS): the worker's channel on a request, its pidfd on a reply.
#pragma once

#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace exa::sandbox {

inline constexpr size_t kMaxControlMessage = 256 * 1024;

struct ControlMessage {
  std::string text;
  UniqueFd fd;
};

Status sendControl(int socket_fd, const std::string& text, int fd_to_pass = -1);
/// kUnavailable on EOF (the peer exited).
Result<ControlMessage> receiveControl(int socket_fd);

}  // namespace exa::sandbox
