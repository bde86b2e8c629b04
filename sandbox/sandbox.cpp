// Sandbox: zygote keeper thread, spawn requests, per-worker uid and cgroup leaf.
#include "sandbox/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/json_util.h"
#include "common/log.h"
#include "common/syscall.h"
#include "sandbox/code_tree.h"
#include "sandbox/control_messages.h"
#include "sandbox/handoff.h"
#include "sandbox/zygote.h"

namespace exa::sandbox {
namespace {

Status makeTraversableDir(const std::string& path) {
  for (size_t pos = 1; pos != std::string::npos;) {
    pos = path.find('/', pos + 1);
    std::string prefix = path.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) == 0) {
      // Workers resolve the jail root mountpoint after switching to their unprivileged uid, so
      // every directory we create on the way must be traversable whatever the umask (the
      // packaged unit runs with UMask=0077).
      if (::chmod(prefix.c_str(), 0755) != 0) return sysError("chmod(" + prefix + ")");
    } else if (errno != EEXIST) {
      return sysError("mkdir(" + prefix + ")");
    }
  }
  if (::chmod(path.c_str(), 0755) != 0) return sysError("chmod(" + path + ")");
  return {};
}

Status waitReadable(int fd, std::chrono::milliseconds timeout) {
  struct pollfd p{fd, POLLIN, 0};
  int rc = retryEintr([&] { return ::poll(&p, 1, static_cast<int>(timeout.count())); });
  if (rc < 0) return sysError("poll(zygote control)");
  if (rc == 0) return makeError(ErrorCode::kTimeout, "zygote did not report ready in time");
  return {};
}

}  // namespace

Sandbox::Sandbox(SandboxOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<Sandbox>> Sandbox::start(SandboxOptions options) {
  std::unique_ptr<Sandbox> sandbox(new Sandbox(std::move(options)));
  EXA_TRY(makeTraversableDir(sandbox->options_.runtime_dir + "/root"));
  auto tree = CgroupTree::create(sandbox->options_.cgroup_name + "-" + std::to_string(::getpid()));
  if (tree) {
    sandbox->cgroups_.emplace(std::move(tree).value());
  } else {
    LOG_W("cgroup limits unavailable: {}", tree.error().describe());
  }
  sandbox->keeper_ = std::thread([s = sandbox.get()] { s->keeperLoop(); });
  std::unique_lock lock(sandbox->mutex_);
  bool done = sandbox->changed_.wait_for(lock, sandbox->options_.zygote_start_timeout, [&] {
    return sandbox->ready_ || sandbox->start_error_.has_value();
  });
  if (!done) return makeError(ErrorCode::kUnavailable, "zygote did not start in time");
  if (!sandbox->ready_) return *sandbox->start_error_;
  lock.unlock();
  if (sandbox->options_.spare_workers > 0)
    sandbox->spare_maker_ = std::thread([s = sandbox.get()] { s->spareLoop(); });
  return sandbox;
}

Sandbox::~Sandbox() {
  {
    std::lock_guard lock(spares_mutex_);
    stop_spares_ = true;
  }
  spares_wanted_.notify_all();
  if (spare_maker_.joinable()) spare_maker_.join();
  spares_.clear();  // kills and reaps the spares while the zygote keeper still runs
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    // The zygote exits on EOF of its control socket; the keeper then reaps it and returns.
    if (control_) ::shutdown(control_.get(), SHUT_RDWR);
    if (zygote_pid_ > 0) ::kill(zygote_pid_, SIGKILL);
  }
  if (keeper_.joinable()) keeper_.join();
}

void Sandbox::keeperLoop() {
  auto backoff = std::chrono::milliseconds(50);
  for (;;) {
    Status launched = launchZygote();
    pid_t pid;
    {
      std::lock_guard lock(mutex_);
      if (!launched) {
        start_error_ = launched.error();
        LOG_E("zygote start failed: {}", launched.error().describe());
        if (zygote_pid_ > 0) ::kill(zygote_pid_, SIGKILL);
      }
      changed_.notify_all();
      pid = zygote_pid_;
      if (stopping_ && pid > 0) ::kill(pid, SIGKILL);
    }
    if (pid > 0) {
      int status = 0;
      retryEintr([&] { return ::waitpid(pid, &status, 0); });
    }
    std::lock_guard lock(mutex_);
    ready_ = false;
    control_.reset();
    zygote_pid_ = -1;
    if (stopping_) return;
    LOG_W("zygote exited; restarting in {} ms", backoff.count());
    std::this_thread::sleep_for(backoff);  // the lock is held: spawns wait for the restart
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
  }
}

// Runs on the keeper thread, which lives as long as the Sandbox: the zygote's and workers'
// parent-death signal fires when this thread ends, i.e. when the agent shuts down or dies.
Status Sandbox::launchZygote() {
  EXA_ASSIGN_OR_RETURN(FdPair control, makeSocketPair(SOCK_SEQPACKET));
  // Everything the child needs is built before fork: after it only async-signal-safe calls.
  std::string exe = options_.zygote_exe;
  char arg0[] = "executor-agent";
  char arg1[] = "__zygote";
  char* argv[] = {arg0, arg1, nullptr};
  char env0[] = "LANG=C.UTF-8";
  char* envp[] = {env0, nullptr};
  int child_fd = control.second.get();
  sigset_t empty;
  sigemptyset(&empty);
  pid_t pid = ::fork();
  if (pid < 0) return sysError("fork(zygote)");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    ::sigprocmask(SIG_SETMASK, &empty, nullptr);
    if (child_fd == kZygoteControlFd) {
      ::fcntl(child_fd, F_SETFD, 0);
    } else if (::dup2(child_fd, kZygoteControlFd) < 0) {
      ::_exit(127);
    }
    ::syscall(SYS_close_range, kZygoteControlFd + 1, ~0U, 0);
    ::execve(exe.c_str(), argv, envp);
    ::_exit(127);
  }
  control.second.reset();
  {
    std::lock_guard lock(mutex_);
    zygote_pid_ = pid;
  }
  EXA_TRY(waitReadable(control.first.get(), options_.zygote_start_timeout));
  EXA_ASSIGN_OR_RETURN(ControlMessage hello, receiveControl(control.first.get()));
  EXA_ASSIGN_OR_RETURN(Json ready, parseJson(hello.text));
  if (!ready.value("ready", false))
    return makeError(ErrorCode::kProtocol, "zygote sent no ready message: " + hello.text);
  std::lock_guard lock(mutex_);
  runtime_paths_ = ready.value("runtime_paths", std::vector<std::string>{});
  runtime_version_ = ready.value("runtime_version", std::string{});
  control_ = std::move(control.first);
  ready_ = true;
  start_error_.reset();
  zygote_starts_++;
  LOG_I("zygote {} ready (python {})", pid, runtime_version_);
  return {};
}

JailSpec Sandbox::makeSpec(uid_t uid, bool host_network) const {
  JailSpec spec;
  spec.host_network = host_network;
  spec.outside_uid = uid;
  spec.outside_gid = uid;
  spec.root_mountpoint = options_.runtime_dir + "/root";
  spec.runtime_paths = runtime_paths_;
  spec.code_max_bytes = options_.code_max_bytes;
  spec.code_max_files = options_.code_max_files;
  return spec;
}

JailLimits Sandbox::makeLimits(const WorkerLimits& limits) const {
  JailLimits jail;
  jail.tmp_bytes = limits.tmp_bytes;
  jail.tmp_inodes = limits.tmp_inodes;
  jail.rlimit_nofile = limits.nofile;
  jail.rlimit_nproc = limits.cgroup.pids == 0 ? 256 : limits.cgroup.pids;
  jail.rlimit_fsize = limits.tmp_bytes;
  bool cgroup_memory = cgroups_ && cgroups_->version() != CgroupVersion::kNone;
  // Without a memory cgroup the address-space rlimit is the only memory bound left; it
  // over-counts (mappings, thread stacks), hence the headroom.
  if (!cgroup_memory && limits.cgroup.memory_bytes != 0)
    jail.rlimit_as = limits.cgroup.memory_bytes + (512ull << 20);
  return jail;
}

Result<WorkerProcess> Sandbox::spawn(const std::string& code_dir, const WorkerLimits& limits,
                                     Deadline deadline) {
  std::optional<WorkerProcess> worker;
  if (!limits.host_network) worker = takeSpare();
  if (!worker) {
    EXA_ASSIGN_OR_RETURN(WorkerProcess cloned, cloneWorker(limits.cgroup, limits.host_network));
    worker.emplace(std::move(cloned));
  }
  EXA_TRY(handOff(*worker, code_dir, limits, deadline));
  return std::move(*worker);
}

std::optional<WorkerProcess> Sandbox::takeSpare() {
  std::lock_guard lock(spares_mutex_);
  while (!spares_.empty()) {
    WorkerProcess spare = std::move(spares_.back());
    spares_.pop_back();
    spares_wanted_.notify_one();
    // A spare that died waiting (its jail failed, or someone killed it) is dropped.
    if (spare.process.poll()) continue;
    ++stats_.from_spare;
    return spare;
  }
  ++stats_.cloned;
  return std::nullopt;
}

Status Sandbox::handOff(WorkerProcess& worker, const std::string& code_dir,
                        const WorkerLimits& limits, Deadline deadline) {
  if (worker.cgroup) EXA_TRY(worker.cgroup->setLimits(limits.cgroup));
  // The agent reads the code (as root: it may sit under a 0700 directory); the worker writes it
  // into its own /policy as its own uid.
  EXA_ASSIGN_OR_RETURN(CodeTree code,
                       readCodeTree(code_dir, options_.code_max_bytes, options_.code_max_files));
  Status sent = sendHandoff(worker.channel.get(), makeLimits(limits), code, deadline);
  if (sent) return {};
  // The worker is gone; its jail error, if it got to write one, says why.
  auto report = readFrame(worker.channel.get(), 64 * 1024, Clock::now() + std::chrono::milliseconds(100));
  if (report) {
    auto parsed = parseJson(*report);
    if (parsed && parsed->contains("error"))
      return makeError(ErrorCode::kSandboxSetup, (*parsed)["error"].value("message", *report));
  }
  return makeError(ErrorCode::kSandboxSetup, "worker died before its handoff: " + sent.error().describe());
}

void Sandbox::spareLoop() {
  std::unique_lock lock(spares_mutex_);
  while (!stop_spares_) {
    if (spares_.size() >= options_.spare_workers) {
      spares_wanted_.wait(lock);
      continue;
    }
    lock.unlock();
    auto spare = cloneWorker(options_.spare_limits);
    lock.lock();
    if (spare) {
      spares_.push_back(std::move(spare).value());
    } else {
      // The zygote is restarting or the machine is short of something: back off, don't spin.
      LOG_W("spare worker: {}", spare.error().describe());
      spares_wanted_.wait_for(lock, std::chrono::milliseconds(500));
    }
  }
}

bool Sandbox::zygoteReady() const {
  std::lock_guard lock(mutex_);
  return ready_ && !stopping_;
}

size_t Sandbox::sparesReady() const {
  std::lock_guard lock(spares_mutex_);
  return spares_.size();
}

SpawnStats Sandbox::spawnStats() const {
  std::lock_guard lock(spares_mutex_);
  return stats_;
}

Result<WorkerProcess> Sandbox::cloneWorker(const CgroupLimits& limits, bool host_network) {
  auto worker = cloneOnce(limits, host_network);
  if (worker || worker.error().code != ErrorCode::kUnavailable) return worker;
  // The zygote died between spawns: wait for the keeper to restart it, then try once more.
  {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, options_.zygote_start_timeout, [&] { return ready_ || stopping_; });
  }
  return cloneOnce(limits, host_network);
}

Result<WorkerProcess> Sandbox::cloneOnce(const CgroupLimits& limits, bool host_network) {
  uint64_t seq = next_worker_++;
  WorkerProcess worker;
  worker.uid = options_.uid_base + static_cast<uid_t>(seq % options_.uid_count);
  Json request = {{"spec", Json::parse(toJson(makeSpec(worker.uid, host_network)))}};
  if (cgroups_ && cgroups_->version() != CgroupVersion::kNone) {
    EXA_ASSIGN_OR_RETURN(WorkerCgroup leaf, cgroups_->createLeaf("w" + std::to_string(seq), limits));
    request["cgroup_procs"] = leaf.procsFiles();
    worker.cgroup.emplace(std::move(leaf));
  }
  EXA_ASSIGN_OR_RETURN(FdPair channel, makeSocketPair(SOCK_STREAM));
  ControlMessage reply;
  {
    std::lock_guard lock(mutex_);
    if (!ready_) return makeError(ErrorCode::kUnavailable, "zygote is not running");
    EXA_TRY(sendControl(control_.get(), dumpJson(request), channel.second.get()));
    EXA_ASSIGN_OR_RETURN(reply, receiveControl(control_.get()));
  }
  EXA_ASSIGN_OR_RETURN(Json answer, parseJson(reply.text));
  if (answer.contains("error")) {
    // A half-started worker comes back with its pidfd so that we reap it here.
    if (reply.fd) ChildProcess(-1, std::move(reply.fd)).kill();
    return makeError(ErrorCode::kSandboxSetup, "zygote: " + answer["error"].get<std::string>());
  }
  if (!reply.fd) return makeError(ErrorCode::kProtocol, "zygote reply without a pidfd");
  worker.process = ChildProcess(answer.value("pid", -1), std::move(reply.fd));
  worker.channel = std::move(channel.first);
  return worker;
}

std::string Sandbox::limitsInForce() const {
  std::string cgroup = cgroups_ ? cgroups_->describe() : "cgroups: none";
  return cgroup +
         "; rlimits: nofile, nproc, fsize, core=0, memlock=0" +
         (cgroups_ && cgroups_->version() != CgroupVersion::kNone ? "" : ", as") +
         "; namespaces: user, pid, mount, net, ipc, uts, cgroup; capabilities: none; "
         "no_new_privs; seccomp allowlist";
}

}  // namespace exa::sandbox
