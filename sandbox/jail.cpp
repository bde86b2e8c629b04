// The jail, as a runbook: one step per line, privileged steps first, seccomp last.
#include "sandbox/jail.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>

#include "sandbox/capabilities.h"
#include "sandbox/mounts.h"
#include "sandbox/rlimits.h"

namespace exa::sandbox {
namespace {

// The parent has already moved us into our cgroup leaf, so the new namespace's root is that
// leaf: /proc/self/cgroup shows "/" and the host hierarchy stays hidden.
Status enterCgroupNamespace() {
  if (::unshare(CLONE_NEWCGROUP) != 0)
    return sysError("unshare(CLONE_NEWCGROUP)", ErrorCode::kSandboxSetup);
  return {};
}

// We still carry the zygote's host uid 0 until we switch to the mapped root, which is the
// worker's unprivileged host uid: from here on, host files see an ordinary user.
Status becomeMappedRoot() {
  if (::setresgid(0, 0, 0) != 0) return sysError("setresgid(0)", ErrorCode::kSandboxSetup);
  if (::setresuid(0, 0, 0) != 0) return sysError("setresuid(0)", ErrorCode::kSandboxSetup);
  return {};
}

Status setHostname(const JailSpec& spec) {
  if (::sethostname(spec.hostname.data(), spec.hostname.size()) != 0)
    return sysError("sethostname", ErrorCode::kSandboxSetup);
  return {};
}

// stdin/stdout/stderr are /dev/null (Python output is captured per call through the channel);
// the channel moves to fd 3 and every other inherited fd is closed.
Status setupFds(int channel_fd) {
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) return sysError("open(/dev/null)", ErrorCode::kSandboxSetup);
  if (channel_fd != kWorkerChannelFd && ::dup2(channel_fd, kWorkerChannelFd) < 0)
    return sysError("dup2(channel)", ErrorCode::kSandboxSetup);
  for (int fd = 0; fd <= 2; ++fd) {
    if (::dup2(null_fd, fd) < 0) return sysError("dup2(/dev/null)", ErrorCode::kSandboxSetup);
  }
  if (::syscall(SYS_close_range, kWorkerChannelFd + 1, ~0U, 0) != 0)
    return sysError("close_range", ErrorCode::kSandboxSetup);
  // fd 3 stays CLOEXEC-free only because nothing can exec; keep it anyway for children.
  return {};
}

Status newSession() {
  if (::setsid() < 0) return sysError("setsid", ErrorCode::kSandboxSetup);
  return {};
}

// Set after the uid change, which clears it. The parent is the agent (CLONE_PARENT), so a
// crashed agent takes every worker with it.
Status dieWithAgent() {
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
    return sysError("prctl(PR_SET_PDEATHSIG)", ErrorCode::kSandboxSetup);
  return {};
}

Status clearEnvironment() {
  if (::clearenv() != 0) return sysError("clearenv", ErrorCode::kSandboxSetup);
  return {};
}

}  // namespace

Status prepareJail(const JailSpec& spec, int channel_fd) {
  EXA_TRY(enterCgroupNamespace());
  EXA_TRY(becomeMappedRoot());
  EXA_TRY(dieWithAgent());
  // Mounts need CAP_SYS_ADMIN in our user namespace: before the privilege drop.
  EXA_TRY(prepareMounts(spec));
  EXA_TRY(setHostname(spec));
  EXA_TRY(setupFds(channel_fd));
  EXA_TRY(newSession());
  return clearEnvironment();
}

Status finishJail(const CodeTree& code, const JailLimits& limits, const SeccompProgram& seccomp) {
  // Remounting /policy read-only and resizing /tmp still need CAP_SYS_ADMIN.
  EXA_TRY(finalizeMounts(code, limits));
  EXA_TRY(applyRlimits(limits));
  // As non-root from here: no capabilities, no way back, no new privileges.
  EXA_TRY(dropPrivileges());
  // Last: every earlier step needs syscalls the worker itself is never allowed.
  return loadSeccompProgram(seccomp);
}

}  // namespace exa::sandbox
