// Zygote serve loop and the fork of one worker: clone into new namespaces, parent-side setup
// (id maps, cgroup), then "go"; the child jails itself and runs the worker body.
#include "sandbox/zygote.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "common/json_util.h"
#include "common/syscall.h"
#include "sandbox/control_messages.h"
#include "sandbox/frame_channel.h"
#include "sandbox/handoff.h"
#include "sandbox/jail.h"
#include "sandbox/jail_spec.h"
#include "sandbox/namespaces.h"

namespace exa::sandbox {
namespace {

struct SpawnRequest {
  JailSpec spec;
  std::vector<std::string> cgroup_procs;
};

Result<SpawnRequest> parseSpawnRequest(const std::string& text) {
  EXA_ASSIGN_OR_RETURN(Json j, parseJson(text));
  if (!j.contains("spec") || !j["spec"].is_object())
    return makeError(ErrorCode::kInvalidArgument, "spawn request without a spec");
  SpawnRequest request;
  EXA_ASSIGN_OR_RETURN(request.spec, jailSpecFromJson(j["spec"].dump()));
  if (j.contains("cgroup_procs")) {
    for (const auto& path : j["cgroup_procs"]) request.cgroup_procs.push_back(path.get<std::string>());
  }
  return request;
}

Status writeFile(const std::string& path, const std::string& content) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return sysError("open(" + path + ")", ErrorCode::kSandboxSetup);
  if (::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()))
    return sysError("write(" + path + ")", ErrorCode::kSandboxSetup);
  return {};
}

void reportJailFailure(const Error& error) {
  Json report = {{"ok", false},
                 {"error", {{"type", "sandbox_setup"},
                            {"message", error.describe()},
                            {"errno", error.sys_errno}}}};
  (void)writeFrame(kWorkerChannelFd, dumpJson(report));
  ::_exit(kExitJailSetup);
}

// Child side: wait for "go", jail what does not depend on the policy, wait (pre-jailed) for the
// handoff, finish the jail, serve. Never returns.
[[noreturn]] void runChild(const SpawnRequest& request, const ZygoteHooks& hooks,
                           const SeccompProgram& seccomp, int go_fd, int channel_fd) {
  // The channel takes fd 3, which also closes this child's copy of the zygote control socket:
  // a worker must never be able to ask for spawns.
  if (::dup2(channel_fd, kWorkerChannelFd) < 0) ::_exit(kExitJailSetup);
  char go = 0;
  if (retryEintr([&] { return ::read(go_fd, &go, 1); }) != 1) ::_exit(kExitParentGone);
  if (hooks.after_fork) hooks.after_fork();
  Status prepared = prepareJail(request.spec, kWorkerChannelFd);
  if (!prepared) reportJailFailure(prepared.error());
  auto handoff = receiveHandoff(kWorkerChannelFd, request.spec.code_max_bytes,
                                request.spec.code_max_files);
  if (!handoff) {
    // EOF: a spare the agent discarded, nothing to report.
    if (handoff.error().code == ErrorCode::kUnavailable) ::_exit(0);
    reportJailFailure(handoff.error());
  }
  Status finished = finishJail(handoff->code, handoff->limits, seccomp);
  if (!finished) reportJailFailure(finished.error());
  handoff->code.entries.clear();
  ::_exit(hooks.run_worker(kWorkerChannelFd));
}

struct Spawned {
  pid_t pid = -1;
  UniqueFd pidfd;
  Status setup;  ///< a failed parent-side step; the child is then already killed
};

// Parent side of one spawn. The worker becomes the agent's child (CLONE_PARENT): the agent
// reaps it through the pidfd we hand back, and the zygote never accumulates zombies.
Result<Spawned> spawnWorker(const SpawnRequest& request, int channel_fd, const ZygoteHooks& hooks,
                            const SeccompProgram& seccomp) {
  EXA_ASSIGN_OR_RETURN(FdPair go, makePipe());
  int pidfd = -1;
  struct clone_args args{};
  args.flags = kWorkerCloneFlags | CLONE_PARENT | CLONE_PIDFD;
  if (request.spec.host_network) args.flags &= ~static_cast<uint64_t>(CLONE_NEWNET);
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = 0;  // ignored with CLONE_PARENT: the zygote's own (SIGCHLD) is used
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) return sysError("clone3(worker namespaces)", ErrorCode::kSandboxSetup);
  if (pid == 0) {
    go.second.reset();
    runChild(request, hooks, seccomp, go.first.get(), channel_fd);
  }
  Spawned spawned{static_cast<pid_t>(pid), UniqueFd(pidfd)};
  go.first.reset();
  auto setup = [&]() -> Status {
    EXA_TRY(writeIdMapsFromParent(spawned.pid, request.spec.outside_uid, request.spec.outside_gid));
    for (const auto& procs : request.cgroup_procs)
      EXA_TRY(writeFile(procs, std::to_string(spawned.pid)));
    if (::write(go.second.get(), "g", 1) != 1) return sysError("write(go)", ErrorCode::kSandboxSetup);
    return {};
  }();
  if (!setup) {
    // The agent still reaps it through the pidfd sent with the error.
    ::syscall(SYS_pidfd_send_signal, spawned.pidfd.get(), SIGKILL, nullptr, 0);
    spawned.setup = std::move(setup);
  }
  return spawned;
}

void replyError(int control_fd, const Error& error, int pidfd = -1) {
  Json reply = {{"error", error.describe()}};
  (void)sendControl(control_fd, dumpJson(reply), pidfd);
}

}  // namespace

int runZygote(int control_fd, const ZygoteHooks& hooks, const SeccompProgram& seccomp) {
  // Workers inherit our supplementary groups and cannot drop them (setgroups is denied in their
  // namespace), so drop them here.
  if (::getuid() == 0 && ::setgroups(0, nullptr) != 0) return 1;
  // The control socket's EOF is how we learn the agent is gone; this is the backstop.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  Json ready = {{"ready", true},
                {"runtime_paths", hooks.runtime_paths},
                {"runtime_version", hooks.runtime_version}};
  if (!sendControl(control_fd, dumpJson(ready))) return 1;
  for (;;) {
    auto message = receiveControl(control_fd);
    if (!message) return message.error().code == ErrorCode::kUnavailable ? 0 : 1;
    if (!message->fd) {
      replyError(control_fd, makeError(ErrorCode::kProtocol, "spawn request without a channel fd"));
      continue;
    }
    auto request = parseSpawnRequest(message->text);
    if (!request) {
      replyError(control_fd, request.error());
      continue;
    }
    auto spawned = spawnWorker(*request, message->fd.get(), hooks, seccomp);
    if (!spawned) {
      replyError(control_fd, spawned.error());
      continue;
    }
    if (!spawned->setup) {
      replyError(control_fd, spawned->setup.error(), spawned->pidfd.get());
      continue;
    }
    Json reply = {{"pid", spawned->pid}};
    (void)sendControl(control_fd, dumpJson(reply), spawned->pidfd.get());
  }
}

}  // namespace exa::sandbox
