// The zygote (DESIGN.md §1): a single-threaded process, exec'd fresh by the agent, that holds a
// ready Python interpreter and forks one jailed worker per spawn request. It never runs policy
// code itself. The interpreter is set up by the caller (policies/), so this stays Python-free.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "sandbox/seccomp_filter.h"

namespace exa::sandbox {

/// fd on which the agent hands the zygote its control socket.
inline constexpr int kZygoteControlFd = 3;
/// Exit codes of a worker that never reached its serve loop (minijail's named exit codes).
inline constexpr int kExitJailSetup = 125;
inline constexpr int kExitParentGone = 124;

struct ZygoteHooks {
  /// Runs in each new worker right after the fork (e.g. PyOS_AfterFork_Child).
  std::function<void()> after_fork;
  /// The worker's body, run after the jail is in place; returns the exit code.
  std::function<int(int channel_fd)> run_worker;
  /// Read-only runtime directories the workers need (reported to the agent at start).
  std::vector<std::string> runtime_paths;
  std::string runtime_version;
};

/// Serves spawn requests on `control_fd` until the agent closes it; returns the exit code.
int runZygote(int control_fd, const ZygoteHooks& hooks, const SeccompProgram& seccomp);

}  // namespace exa::sandbox
