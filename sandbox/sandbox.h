// Sandbox: the agent's handle on the jail. It keeps the zygote alive (launching it from a
// dedicated thread, so the workers' parent-death signal follows the agent's lifetime rather
// than a request thread's) and turns a spawn call into a jailed, cgroup-limited worker.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "sandbox/cgroups.h"
#include "sandbox/child_process.h"
#include "sandbox/frame_channel.h"
#include "sandbox/jail_spec.h"

namespace exa::sandbox {

struct SandboxOptions {
  /// The binary to exec as `<exe> __zygote`: the agent itself in production.
  std::string zygote_exe = "/proc/self/exe";
  /// Agent-private dir (world-traversable); the jail root mountpoint lives here.
  std::string runtime_dir = "/run/executor-agent";
  /// Host uids handed to workers: base, base+1, ... (wrapping after `uid_count`).
  uid_t uid_base = 1u << 20;
  uint32_t uid_count = 1u << 16;
  /// Name of the cgroup subtree the agent creates under its own cgroup.
  std::string cgroup_name = "executor-agent";
  std::chrono::milliseconds zygote_start_timeout{10000};
  /// Pre-jailed workers kept ready (DESIGN.md §3): a cold start then pays only the handoff,
  /// import and constructor. 0 disables them.
  size_t spare_workers = 2;
  /// Limits a spare sits under until it is handed a policy.
  CgroupLimits spare_limits{.memory_bytes = 64ull << 20, .pids = 8, .cpu_percent = 100};
  /// Caps on the code tree copied into /policy.
  uint64_t code_max_bytes = 32ull << 20;
  uint32_t code_max_files = 2048;
};

/// Per-worker limits chosen by the caller.
struct WorkerLimits {
  CgroupLimits cgroup{.memory_bytes = 256ull << 20, .pids = 64, .cpu_percent = 100};
  uint64_t tmp_bytes = 16ull << 20;
  uint64_t tmp_inodes = 1024;
  uint64_t nofile = 256;
  /// The host's network instead of none; never from a spare (see JailSpec::host_network).
  bool host_network = false;
};

struct SpawnStats {
  uint64_t from_spare = 0;  ///< spawns served by a pre-jailed spare
  uint64_t cloned = 0;      ///< spawns that had to clone on the caller's time
};

/// A running jailed worker: its process, its end of the channel and its cgroup leaf.
struct WorkerProcess {
  UniqueFd channel;
  std::optional<WorkerCgroup> cgroup;
  ChildProcess process;  // last, so it is killed and reaped before its cgroup leaf is removed
  uid_t uid = 0;
};

class Sandbox {
 public:
  static Result<std::unique_ptr<Sandbox>> start(SandboxOptions options);
  ~Sandbox();

  /// A jailed worker with `code_dir` copied to /policy and `limits` applied: a pre-jailed spare
  /// when one is ready, else a fresh clone. Thread-safe. The worker has not imported anything
  /// yet: the caller speaks the worker protocol on `channel`.
  Result<WorkerProcess> spawn(const std::string& code_dir, const WorkerLimits& limits,
                              Deadline deadline);
  SpawnStats spawnStats() const;
  size_t sparesReady() const;

  /// "cgroup v1: memory, pids, cpu; rlimits; seccomp; namespaces: ..." for operators.
  std::string limitsInForce() const;
  const std::vector<std::string>& runtimePaths() const { return runtime_paths_; }
  const std::string& runtimeVersion() const { return runtime_version_; }
  /// How many times the zygote has been (re)started.
  int zygoteStarts() const { return zygote_starts_.load(); }
  /// The zygote is up and taking spawn requests (false while the keeper restarts it).
  bool zygoteReady() const;

 private:
  explicit Sandbox(SandboxOptions options);
  void keeperLoop();
  Status launchZygote();
  void spareLoop();
  /// Clones a pre-jailed worker waiting for its handoff (retrying once across a zygote restart).
  Result<WorkerProcess> cloneWorker(const CgroupLimits& limits, bool host_network = false);
  Result<WorkerProcess> cloneOnce(const CgroupLimits& limits, bool host_network);
  std::optional<WorkerProcess> takeSpare();
  Status handOff(WorkerProcess& worker, const std::string& code_dir, const WorkerLimits& limits,
                 Deadline deadline);
  JailSpec makeSpec(uid_t uid, bool host_network) const;
  JailLimits makeLimits(const WorkerLimits& limits) const;

  SandboxOptions options_;
  std::optional<CgroupTree> cgroups_;
  std::vector<std::string> runtime_paths_;
  std::string runtime_version_;
  std::atomic<uint64_t> next_worker_{0};
  std::atomic<int> zygote_starts_{0};

  mutable std::mutex mutex_;  // guards control_, zygote_pid_, ready_, stopping_, start_error_
  std::condition_variable changed_;
  UniqueFd control_;
  pid_t zygote_pid_ = -1;
  bool ready_ = false;
  bool stopping_ = false;
  std::optional<Error> start_error_;
  std::thread keeper_;

  mutable std::mutex spares_mutex_;  // guards spares_, stats_, stop_spares_
  std::condition_variable spares_wanted_;
  std::vector<WorkerProcess> spares_;
  SpawnStats stats_;
  bool stop_spares_ = false;
  std::thread spare_maker_;
};

}  // namespace exa::sandbox
