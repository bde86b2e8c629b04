// pidfd-based kill and reap of a worker.
#include "sandbox/child_process.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/syscall.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace exa::sandbox {
namespace {

std::optional<ExitStatus> waitPidfd(int pidfd, int options) {
  siginfo_t info{};
  int rc = retryEintr([&] { return ::waitid(static_cast<idtype_t>(P_PIDFD), pidfd, &info, WEXITED | options); });
  if (rc != 0 || info.si_pid == 0) return std::nullopt;
  if (info.si_code == CLD_EXITED) return ExitStatus{false, info.si_status};
  return ExitStatus{true, info.si_status};
}

}  // namespace

ChildProcess::~ChildProcess() {
  if (running()) {
    kill();
    wait();
  }
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (running()) {
      kill();
      wait();
    }
    pid_ = other.pid_;
    pidfd_ = std::move(other.pidfd_);
    status_ = std::move(other.status_);
  }
  return *this;
}

void ChildProcess::kill() const {
  if (pidfd_.valid()) ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
}

ExitStatus ChildProcess::wait() {
  if (!status_) {
    auto status = waitPidfd(pidfd_.get(), 0);
    // ECHILD means someone else reaped it; report a kill rather than block forever.
    status_ = status ? *status : ExitStatus{true, SIGKILL};
  }
  return *status_;
}

std::optional<ExitStatus> ChildProcess::poll() {
  if (!status_) status_ = waitPidfd(pidfd_.get(), WNOHANG);
  return status_;
}

}  // namespace exa::sandbox
