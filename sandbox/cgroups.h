// Per-worker cgroup limits (memory, pids, cpu) on cgroup v2 or on v1 controllers, whichever the
// machine offers. The agent owns one CgroupTree; the spawner gives each worker a WorkerCgroup leaf.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "sandbox/cgroup_layout.h"

namespace exa::sandbox {

struct CgroupLimits {
  uint64_t memory_bytes = 0;  ///< 0 = unlimited; includes tmpfs pages the worker writes; no swap
  uint32_t pids = 0;          ///< 0 = unlimited; threads count
  uint32_t cpu_percent = 0;   ///< 0 = unlimited; 100 = one full core (cfs quota/period or cpu.max)
};

class WorkerCgroup;

/// The subtree the agent owns, <own cgroup>/<name>/ in each controller's hierarchy.
class CgroupTree {
 public:
  /// Detects the layout of this process and creates the subtree dir(s). On v2 it enables the
  /// controllers in subtree_control, first moving the processes of our own cgroup into
  /// <own>/supervisor when the kernel's no-internal-process rule requires it (Delegate=yes).
  /// kNone (not an error) when nothing is writable, e.g. rootless without delegation.
  static Result<CgroupTree> create(const std::string& name);
  /// As create(), over a layout the caller chose (tests; operators pinning a version).
  static Result<CgroupTree> createFromLayout(const CgroupLayout& layout, const std::string& name);

  CgroupVersion version() const { return version_; }
  /// e.g. "cgroup v1: memory, pids, cpu, cpuacct" or "none: limits by rlimit only (...)".
  std::string describe() const;
  /// Creates <subtree>/<leaf> in every controller and writes the limits.
  Result<WorkerCgroup> createLeaf(const std::string& leaf, const CgroupLimits& limits) const;

  ~CgroupTree();  ///< removes the subtree dirs (best effort; leaves must be gone already)
  CgroupTree(CgroupTree&& other) noexcept;
  CgroupTree& operator=(CgroupTree&& other) noexcept;
  CgroupTree(const CgroupTree&) = delete;
  CgroupTree& operator=(const CgroupTree&) = delete;

 private:
  CgroupTree() = default;
  Status setUpV1(const CgroupLayout& layout, const std::string& name);
  Status setUpV2(const CgroupLayout& layout, const std::string& name);
  void swap(CgroupTree& other) noexcept;

  CgroupVersion version_ = CgroupVersion::kNone;
  std::map<std::string, std::string> controller_dirs_;  ///< controller -> subtree dir
  std::vector<std::string> dirs_;                       ///< distinct subtree dirs we remove
  std::string note_;  ///< for describe(): why kNone, or which controllers were not writable
};

/// One worker's leaf in every controller. Destruction kills what is left in it and removes it.
class WorkerCgroup {
 public:
  /// Files to write a pid into (cgroup.procs of each controller's leaf) to move it in.
  const std::vector<std::string>& procsFiles() const { return procs_files_; }
  /// Moves `pid` (the whole thread group) into the leaf.
  Status attach(pid_t pid) const;
  /// Rewrites the limits, e.g. when a pre-jailed spare worker is handed a policy; 0 = unlimited.
  Status setLimits(const CgroupLimits& limits) const;
  /// True when the kernel OOM-killed a process of this leaf (v2 memory.events oom_kill; v1
  /// memory.oom_control oom_kill, else memory.failcnt > 0 with the peak usage at the limit).
  bool oomKilled() const;
  /// Current memory usage in bytes (memory.current / memory.usage_in_bytes), 0 when unknown.
  uint64_t memoryCurrent() const;
  /// Cumulative CPU time in microseconds (cpu.stat usage_usec / cpuacct.usage), 0 when unknown.
  uint64_t cpuUsageMicros() const;
  /// SIGKILLs every process in the leaf (v2 cgroup.kill when present; else kill what
  /// cgroup.procs lists until it is empty, bounded).
  void killAll() const;

  ~WorkerCgroup();  ///< killAll(), then rmdir each leaf dir (retrying briefly on EBUSY)
  WorkerCgroup(WorkerCgroup&& other) noexcept;
  WorkerCgroup& operator=(WorkerCgroup&& other) noexcept;
  WorkerCgroup(const WorkerCgroup&) = delete;
  WorkerCgroup& operator=(const WorkerCgroup&) = delete;

 private:
  friend class CgroupTree;
  WorkerCgroup() = default;
  Status writeLimits(const CgroupLimits& limits, bool fresh) const;
  void destroy();
  void swap(WorkerCgroup& other) noexcept;

  CgroupVersion version_ = CgroupVersion::kNone;
  std::vector<std::string> dirs_;  ///< distinct leaf dirs, one per hierarchy
  std::vector<std::string> procs_files_;
  std::string memory_dir_;  ///< leaf dir holding each controller's files, "" when absent
  /// memory.events (v2) or memory.oom_control (v1), kept open: checked after every call, so
  /// one pread instead of open/read/close.
  UniqueFd oom_events_;
  std::string pids_dir_;
  std::string cpu_dir_;
  std::string usage_dir_;  ///< v2 leaf (cpu.stat is core) or v1 cpuacct leaf
};

}  // namespace exa::sandbox
