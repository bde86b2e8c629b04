// AgentServer: the real `executor-agent serve` on 127.0.0.1:0 for integration tests; reads the
// port from its first stdout line, stops it with SIGTERM (SIGKILL on request) at the end.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace exa::testing {

/// `serve` flags for an agent that keeps everything in `dir`: its runtime and data dirs under it,
/// and `dir` as the file:// root, where zipPolicy leaves archives. `extra` comes after them.
std::vector<std::string> agentArgs(const TempDir& dir, std::vector<std::string> extra = {});

class AgentServer {
 public:
  /// Starts `executor-agent serve --listen 127.0.0.1:0 EXTRA...` and waits until it listens.
  explicit AgentServer(const std::vector<std::string>& extra_args);
  ~AgentServer();
  AgentServer(const AgentServer&) = delete;
  AgentServer& operator=(const AgentServer&) = delete;

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  /// Sends `sig` and waits for the exit; returns the wait status.
  int stop(int sig);

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace exa::testing
