// ChildProcess: owns a worker's pid and pidfd. The agent is the worker's parent (the zygote
// clones with CLONE_PARENT), so it can both signal and reap through the pidfd. The destructor
// kills and reaps: no failing path leaks a running worker or a zombie.
#pragma once

#include <sys/types.h>

#include <optional>

#include "common/result.h"
#include "common/unique_fd.h"

namespace exa::sandbox {

/// How a process ended, from waitid().
struct ExitStatus {
  bool signaled = false;
  int code = 0;  ///< exit code, or the signal number when `signaled`
};

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
  ~ChildProcess();
  ChildProcess(ChildProcess&&) noexcept = default;
  ChildProcess& operator=(ChildProcess&& other) noexcept;

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }
  bool running() const { return pidfd_.valid() && !status_; }

  /// SIGKILL through the pidfd (never a recycled pid).
  void kill() const;
  /// Blocks until the process has exited and reaps it; returns how it ended.
  ExitStatus wait();
  /// Non-blocking: the exit status when the process has already exited.
  std::optional<ExitStatus> poll();

 private:
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  std::optional<ExitStatus> status_;
};

}  // namespace exa::sandbox
