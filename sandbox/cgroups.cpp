// Cgroup subtree and per-worker leaves on a cgroup_layout.h layout: limit files, OOM/usage reads,
// kill. The agent creates the CgroupTree at startup; the spawner creates a WorkerCgroup per worker.
#include "sandbox/cgroups.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <memory>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>

#include "common/syscall.h"
#include "common/unique_fd.h"

namespace exa::sandbox {
namespace {

using cgroup_text::hasWord;
using cgroup_text::split;
using cgroup_text::trim;

// The kernel's default CFS period; v1 leaves start with it, and v2's cpu.max names it.
constexpr uint64_t kCfsPeriodUs = 100000;
// v2 forbids controllers in a non-root cgroup that holds processes, so under Delegate=yes our
// own processes move here first (what systemd's delegation doc asks of a delegated service).
constexpr const char* kSupervisorLeaf = "supervisor";
// Killed processes leave their cgroup asynchronously (freeing a big heap takes a while); bound
// how long a destructor waits on that so a stuck task cannot hang an agent thread.
constexpr auto kSettleBudget = std::chrono::milliseconds(1000);

bool isPermissionErrno(int err) { return err == EACCES || err == EPERM || err == EROFS; }

/// A failed syscall on a cgroup file, coded so that callers can tell "not ours" (no delegation)
/// and "out of resources" from a broken setup.
Error cgError(std::string what) {
  Error error = sysError(std::move(what), ErrorCode::kSandboxSetup);
  if (isPermissionErrno(error.sys_errno)) error.code = ErrorCode::kPermissionDenied;
  if (error.sys_errno == ENOMEM || error.sys_errno == ENOSPC || error.sys_errno == EAGAIN)
    error.code = ErrorCode::kResourceExhausted;
  return error;
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

Result<std::string> readFile(const std::string& path) {
  UniqueFd fd(retryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!fd) return cgError("open(" + path + ")");
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = retryEintr([&] { return ::read(fd.get(), buf, sizeof buf); });
    if (n < 0) return cgError("read(" + path + ")");
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
  }
}

Status writeFile(const std::string& path, std::string_view value) {
  UniqueFd fd(retryEintr([&] { return ::open(path.c_str(), O_WRONLY | O_CLOEXEC); }));
  if (!fd) return cgError("write(" + path + ")");
  // One write() per value: cgroup files parse each write as a whole, never a stream.
  ssize_t n = retryEintr([&] { return ::write(fd.get(), value.data(), value.size()); });
  if (n < 0) return cgError("write(" + path + ")");
  if (static_cast<size_t>(n) != value.size())
    return makeError(ErrorCode::kSandboxSetup, "write(" + path + "): short write");
  return {};
}

/// Creates `path`; false when it already existed.
Result<bool> makeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0) return true;
  if (errno == EEXIST) return false;
  return cgError("mkdir(" + path + ")");
}

std::optional<uint64_t> parseU64(std::string_view s) {
  s = trim(s);
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

/// The value of "key value" lines (memory.events, cpu.stat, memory.oom_control).
std::optional<uint64_t> keyedValue(std::string_view text, std::string_view key) {
  for (std::string_view line : split(text, '\n')) {
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ' ')
      return parseU64(line.substr(key.size() + 1));
  }
  return std::nullopt;
}

std::optional<uint64_t> readKeyed(const std::string& path, std::string_view key) {
  auto text = readFile(path);
  return text ? keyedValue(*text, key) : std::nullopt;
}

std::optional<uint64_t> readNumber(const std::string& path) {
  auto text = readFile(path);
  return text ? parseU64(*text) : std::nullopt;
}

std::vector<pid_t> listPids(const std::string& procs_file) {
  std::vector<pid_t> pids;
  auto text = readFile(procs_file);
  if (!text) return pids;
  for (std::string_view line : split(*text, '\n'))
    if (auto pid = parseU64(line); pid && *pid > 0) pids.push_back(static_cast<pid_t>(*pid));
  return pids;
}

/// Yields once, then sleeps a little longer each round: a killed task usually exits within a
/// reschedule, while a slow one (a big heap to free) costs few wake-ups. False once spent.
class Backoff {
 public:
  bool wait() {
    if (std::chrono::steady_clock::now() >= deadline_) return false;
    if (step_.count() == 0) {
      std::this_thread::yield();
      step_ = std::chrono::microseconds(20);
      return true;
    }
    std::this_thread::sleep_for(step_);
    step_ = std::min(step_ * 2, std::chrono::microseconds(5000));
    return true;
  }

 private:
  std::chrono::steady_clock::time_point deadline_ =
      std::chrono::steady_clock::now() + kSettleBudget;
  std::chrono::microseconds step_{0};
};

/// rmdir that waits out EBUSY: a cgroup stays populated until its killed tasks finish exiting.
bool removeDirRetrying(const std::string& dir) {
  Backoff backoff;
  while (::rmdir(dir.c_str()) != 0) {
    if (errno == ENOENT) return true;
    if (errno != EBUSY || !backoff.wait()) return false;
  }
  return true;
}

void killProcsIn(const std::vector<std::string>& dirs, CgroupVersion version) {
  if (dirs.empty()) return;
  // cgroup.kill (5.14+) kills atomically, including tasks forked while it runs.
  if (version == CgroupVersion::kV2 && writeFile(dirs.front() + "/cgroup.kill", "1")) return;
  // Every task is in the first hierarchy's leaf (attach writes it first; forks inherit all
  // hierarchies), so its cgroup.procs alone lists them. A forking worker can add tasks between
  // our read and our kills: loop until the leaf is empty; the pids limit bounds each round.
  const std::string procs = dirs.front() + "/cgroup.procs";
  Backoff backoff;
  do {
    std::vector<pid_t> pids = listPids(procs);
    if (pids.empty()) return;
    for (pid_t pid : pids) ::kill(pid, SIGKILL);
  } while (backoff.wait());
}

/// Leaves of a previous agent that had our name (a crash, then pid reuse): kill and remove.
void removeStaleLeaves(const std::string& subtree, CgroupVersion version) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(subtree.c_str()), ::closedir);
  if (!dir) return;
  std::vector<std::string> stale;
  while (dirent* entry = ::readdir(dir.get())) {
    std::string_view name = entry->d_name;
    if (entry->d_type == DT_DIR && name != "." && name != "..")
      stale.push_back(subtree + "/" + entry->d_name);
  }
  for (const std::string& leaf : stale) {
    killProcsIn({leaf}, version);
    removeDirRetrying(leaf);
  }
}

bool validName(const std::string& name) {
  return !name.empty() && name.size() < 200 && name != "." && name != ".." &&
         name.find_first_of("/\n") == std::string::npos;
}

/// Moves every process of `dir` into `dir`/supervisor so that `dir` may enable controllers.
Status moveProcessesToSupervisor(const std::string& dir) {
  const std::string leaf = dir + "/" + kSupervisorLeaf;
  EXA_TRY(makeDir(leaf));
  // A few rounds: a process may fork while we move the others.
  for (int round = 0; round < 8; ++round) {
    std::vector<pid_t> pids = listPids(dir + "/cgroup.procs");
    if (pids.empty()) return {};
    for (pid_t pid : pids) {
      Status moved = writeFile(leaf + "/cgroup.procs", std::to_string(pid));
      if (!moved && moved.error().sys_errno != ESRCH) return moved;
    }
  }
  return makeError(ErrorCode::kSandboxSetup, "cgroup " + dir + ": processes keep appearing");
}

/// Makes `controllers` available to the children of `dir` (v2 cgroup.subtree_control).
Status enableControllers(const std::string& dir, const std::vector<std::string>& controllers,
                         bool may_move_own_processes) {
  const std::string control = dir + "/cgroup.subtree_control";
  EXA_ASSIGN_OR_RETURN(std::string current, readFile(control));
  std::string add;
  for (const std::string& c : controllers)
    if (!hasWord(current, c)) add += (add.empty() ? "+" : " +") + c;
  if (add.empty()) return {};
  Status status = writeFile(control, add);
  if (!status && status.error().sys_errno == EBUSY && may_move_own_processes) {
    EXA_TRY(moveProcessesToSupervisor(dir));
    status = writeFile(control, add);
  }
  return status;
}

/// For files that only some kernels or configurations have (swap accounting, oom.group).
Status writeIfPresent(const std::string& path, std::string_view value) {
  Status status = writeFile(path, value);
  if (!status && status.error().sys_errno == ENOENT) return {};
  return status;
}

Status writeMemoryV2(const std::string& dir, uint64_t bytes, bool fresh) {
  if (bytes == 0 && fresh) return {};
  EXA_TRY(writeFile(dir + "/memory.max", bytes ? std::to_string(bytes) : "max"));
  // swap.max exists only with swap accounting; 0 keeps a worker from paging out past its limit.
  EXA_TRY(writeIfPresent(dir + "/memory.swap.max", bytes ? "0" : "max"));
  // One OOM kill takes the whole worker, helpers included: it is replaced anyway, and a
  // half-killed worker would keep serving in a broken state.
  if (fresh) EXA_TRY(writeIfPresent(dir + "/memory.oom.group", "1"));
  return {};
}

Status writeMemoryV1(const std::string& dir, uint64_t bytes, bool fresh) {
  if (bytes != 0 || !fresh) {
    const std::string limit = bytes ? std::to_string(bytes) : "-1";
    const std::string limit_file = dir + "/memory.limit_in_bytes";
    const std::string memsw_file = dir + "/memory.memsw.limit_in_bytes";
    const bool has_memsw = exists(memsw_file);
    // The kernel keeps memsw (memory+swap) >= the memory limit, so a growing limit needs memsw
    // raised first (EINVAL otherwise); a shrinking one needs the opposite order.
    Status status = writeFile(limit_file, limit);
    if (!status && status.error().sys_errno == EINVAL && has_memsw) {
      EXA_TRY(writeFile(memsw_file, limit));
      EXA_TRY(writeFile(limit_file, limit));
    } else {
      EXA_TRY(status);
      // memsw = limit: no swap beyond the memory limit.
      if (has_memsw) EXA_TRY(writeFile(memsw_file, limit));
    }
    // Without swap accounting the limit only covers RAM; swappiness 0 keeps the worker's anon
    // pages out of swap, so it cannot grow past its limit there.
    if (!has_memsw && bytes != 0) EXA_TRY(writeFile(dir + "/memory.swappiness", "0"));
  }
  // A leaf can inherit oom_kill_disable=1; then a worker at its limit would hang, not die.
  if (fresh) EXA_TRY(writeFile(dir + "/memory.oom_control", "0"));
  return {};
}

}  // namespace

// --- CgroupTree --------------------------------------------------------------------------------

Result<CgroupTree> CgroupTree::create(const std::string& name) {
  // Unreadable /proc files leave empty text, hence kNone: a kernel without cgroups is no error.
  auto self_cgroup = readFile("/proc/self/cgroup");
  auto mountinfo = readFile("/proc/self/mountinfo");
  CgroupMounts mounts = findCgroupMounts(self_cgroup ? *self_cgroup : std::string(),
                                         mountinfo ? *mountinfo : std::string());
  std::string controllers;
  if (!mounts.unified_dir.empty()) {
    if (auto text = readFile(mounts.unified_dir + "/cgroup.controllers")) controllers = *text;
  }
  return createFromLayout(chooseCgroupLayout(mounts, controllers), name);
}

Result<CgroupTree> CgroupTree::createFromLayout(const CgroupLayout& layout,
                                                const std::string& name) {
  if (!validName(name))
    return makeError(ErrorCode::kInvalidArgument, "cgroup subtree name '" + name + "'");
  CgroupTree tree;
  if (layout.version == CgroupVersion::kNone) {
    tree.note_ = "no memory, pids or cpu cgroup controller mounted";
  } else if (layout.version == CgroupVersion::kV2) {
    EXA_TRY(tree.setUpV2(layout, name));
  } else {
    EXA_TRY(tree.setUpV1(layout, name));
  }
  return tree;
}

Status CgroupTree::setUpV2(const CgroupLayout& layout, const std::string& name) {
  // Not ours to write (rootless without delegation, a read-only /sys/fs/cgroup): kNone.
  auto unusable = [this](Error error) -> Status {
    if (!isPermissionErrno(error.sys_errno)) return error;
    note_ = error.describe();
    return {};
  };
  std::vector<std::string> wanted;
  for (const auto& entry : layout.controllers) wanted.push_back(entry.first);
  const std::string subtree = layout.unified_dir + "/" + name;
  if (Status s = enableControllers(layout.unified_dir, wanted, true); !s)
    return unusable(std::move(s).error());
  Result<bool> made = makeDir(subtree);
  if (!made) return unusable(std::move(made).error());
  dirs_.push_back(subtree);
  EXA_TRY(enableControllers(subtree, wanted, false));
  if (!*made) removeStaleLeaves(subtree, CgroupVersion::kV2);
  for (const std::string& c : wanted) controller_dirs_[c] = subtree;
  version_ = CgroupVersion::kV2;
  return {};
}

Status CgroupTree::setUpV1(const CgroupLayout& layout, const std::string& name) {
  // Co-mounted controllers (cpu,cpuacct) share one hierarchy, hence one subtree dir.
  std::map<std::string, std::optional<std::string>> subtree_of;  // own dir -> subtree, if ours
  for (const char* c : kAllControllers) {
    auto own = layout.controllers.find(c);
    if (own == layout.controllers.end()) continue;
    auto known = subtree_of.find(own->second);
    if (known == subtree_of.end()) {
      std::string subtree = own->second + "/" + name;
      Result<bool> made = makeDir(subtree);
      if (!made && !isPermissionErrno(made.error().sys_errno)) return std::move(made).error();
      if (made) {
        dirs_.push_back(subtree);
        if (!*made) removeStaleLeaves(subtree, CgroupVersion::kV1);
      } else {
        note_ += (note_.empty() ? "" : "; ") + made.error().describe();
      }
      known = subtree_of.emplace(own->second, made ? std::optional(subtree) : std::nullopt).first;
    }
    if (known->second) controller_dirs_[c] = *known->second;
  }
  for (const char* c : kLimitControllers)
    if (controller_dirs_.count(c) != 0) version_ = CgroupVersion::kV1;
  return {};
}

std::string CgroupTree::describe() const {
  std::string text;
  if (version_ == CgroupVersion::kNone) {
    text = "none: limits by rlimit only";
  } else {
    text = version_ == CgroupVersion::kV1 ? "cgroup v1:" : "cgroup v2:";
    const char* sep = " ";
    for (const char* c : kAllControllers) {
      if (controller_dirs_.count(c) == 0) continue;
      text += sep + std::string(c);
      sep = ", ";
    }
    if (controller_dirs_.empty()) text += " no controllers";
  }
  if (!note_.empty()) text += " (" + note_ + ")";
  return text;
}

Result<WorkerCgroup> CgroupTree::createLeaf(const std::string& leaf,
                                            const CgroupLimits& limits) const {
  if (!validName(leaf) || leaf == kSupervisorLeaf)
    return makeError(ErrorCode::kInvalidArgument, "cgroup leaf name '" + leaf + "'");
  if (version_ == CgroupVersion::kNone)
    return makeError(ErrorCode::kUnavailable, "no cgroup for leaf " + leaf + ": " + describe());
  WorkerCgroup worker;  // owns each dir as soon as it exists, so an error below removes them
  worker.version_ = version_;
  for (const std::string& subtree : dirs_) {
    const std::string dir = subtree + "/" + leaf;
    Result<bool> made = makeDir(dir);
    if (!made) return std::move(made).error();
    // Two owners of one leaf would kill each other's workers: names must be unique.
    if (!*made) return makeError(ErrorCode::kInvalidArgument, "cgroup leaf exists: " + dir);
    worker.dirs_.push_back(dir);
    worker.procs_files_.push_back(dir + "/cgroup.procs");
  }
  auto leafOf = [&](const char* controller) {
    auto it = controller_dirs_.find(controller);
    return it == controller_dirs_.end() ? std::string() : it->second + "/" + leaf;
  };
  worker.memory_dir_ = leafOf("memory");
  if (!worker.memory_dir_.empty()) {
    const char* events = version_ == CgroupVersion::kV2 ? "/memory.events" : "/memory.oom_control";
    worker.oom_events_.reset(::open((worker.memory_dir_ + events).c_str(), O_RDONLY | O_CLOEXEC));
  }
  worker.pids_dir_ = leafOf("pids");
  worker.cpu_dir_ = leafOf("cpu");
  // v2's cpu.stat is a core file, there even without the cpu controller.
  worker.usage_dir_ = version_ == CgroupVersion::kV2 ? worker.dirs_.front() : leafOf("cpuacct");
  EXA_TRY(worker.writeLimits(limits, /*fresh=*/true));
  return worker;
}

void CgroupTree::swap(CgroupTree& other) noexcept {
  std::swap(version_, other.version_);
  controller_dirs_.swap(other.controller_dirs_);
  dirs_.swap(other.dirs_);
  note_.swap(other.note_);
}

CgroupTree::CgroupTree(CgroupTree&& other) noexcept { swap(other); }

CgroupTree& CgroupTree::operator=(CgroupTree&& other) noexcept {
  CgroupTree taken(std::move(other));
  swap(taken);  // our old subtree goes with `taken`
  return *this;
}

CgroupTree::~CgroupTree() {
  // Best effort and a single try: leaves are gone by now, and EBUSY would mean a leaf outlived
  // its tree, which waiting will not fix.
  for (const std::string& dir : dirs_) ::rmdir(dir.c_str());
}

// --- WorkerCgroup ------------------------------------------------------------------------------

Status WorkerCgroup::attach(pid_t pid) const {
  const std::string value = std::to_string(pid);
  for (const std::string& file : procs_files_) EXA_TRY(writeFile(file, value));
  return {};
}

Status WorkerCgroup::setLimits(const CgroupLimits& limits) const {
  return writeLimits(limits, /*fresh=*/false);
}

Status WorkerCgroup::writeLimits(const CgroupLimits& limits, bool fresh) const {
  // A fresh leaf starts unlimited, so only the limits that are set cost a write. A limit whose
  // controller the tree lacks is skipped: describe() tells operators, and rlimits still hold.
  const bool v2 = version_ == CgroupVersion::kV2;
  if (!memory_dir_.empty()) {
    EXA_TRY(v2 ? writeMemoryV2(memory_dir_, limits.memory_bytes, fresh)
               : writeMemoryV1(memory_dir_, limits.memory_bytes, fresh));
  }
  if (!pids_dir_.empty() && (limits.pids != 0 || !fresh)) {
    EXA_TRY(
        writeFile(pids_dir_ + "/pids.max", limits.pids != 0 ? std::to_string(limits.pids) : "max"));
  }
  if (!cpu_dir_.empty() && (limits.cpu_percent != 0 || !fresh)) {
    // Over the default period (which a v1 leaf starts with): 100% = one core.
    const uint64_t quota = uint64_t{limits.cpu_percent} * kCfsPeriodUs / 100;
    if (v2) {
      EXA_TRY(writeFile(cpu_dir_ + "/cpu.max", (quota != 0 ? std::to_string(quota) : "max") + " " +
                                                   std::to_string(kCfsPeriodUs)));
    } else {
      EXA_TRY(writeFile(cpu_dir_ + "/cpu.cfs_quota_us", quota != 0 ? std::to_string(quota) : "-1"));
    }
  }
  return {};
}

bool WorkerCgroup::oomKilled() const {
  if (memory_dir_.empty()) return false;
  if (oom_events_) {
    char buf[512];
    ssize_t n = ::pread(oom_events_.get(), buf, sizeof buf - 1, 0);
    if (n > 0) {
      if (auto kills = keyedValue(std::string_view(buf, n), "oom_kill")) return *kills > 0;
    }
  }
  // Kernels before 4.13 do not count kills. A failed charge with the peak at the limit is the
  // closest sign (it can also mean reclaim coped, so this errs towards reporting an OOM).
  const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  auto failcnt = readNumber(memory_dir_ + "/memory.failcnt");
  auto peak = readNumber(memory_dir_ + "/memory.max_usage_in_bytes");
  auto limit = readNumber(memory_dir_ + "/memory.limit_in_bytes");
  return failcnt && *failcnt > 0 && peak && limit && *peak + page >= *limit;
}

uint64_t WorkerCgroup::memoryCurrent() const {
  if (memory_dir_.empty()) return 0;
  const char* file = version_ == CgroupVersion::kV2 ? "/memory.current" : "/memory.usage_in_bytes";
  return readNumber(memory_dir_ + file).value_or(0);
}

uint64_t WorkerCgroup::cpuUsageMicros() const {
  if (usage_dir_.empty()) return 0;
  if (version_ == CgroupVersion::kV2)
    return readKeyed(usage_dir_ + "/cpu.stat", "usage_usec").value_or(0);
  return readNumber(usage_dir_ + "/cpuacct.usage").value_or(0) / 1000;  // ns
}

void WorkerCgroup::killAll() const { killProcsIn(dirs_, version_); }

void WorkerCgroup::destroy() {
  if (dirs_.empty()) return;
  killAll();
  for (const std::string& dir : dirs_) removeDirRetrying(dir);
  dirs_.clear();
  procs_files_.clear();
}

void WorkerCgroup::swap(WorkerCgroup& other) noexcept {
  std::swap(version_, other.version_);
  dirs_.swap(other.dirs_);
  procs_files_.swap(other.procs_files_);
  memory_dir_.swap(other.memory_dir_);
  std::swap(oom_events_, other.oom_events_);
  pids_dir_.swap(other.pids_dir_);
  cpu_dir_.swap(other.cpu_dir_);
  usage_dir_.swap(other.usage_dir_);
}

WorkerCgroup::WorkerCgroup(WorkerCgroup&& other) noexcept { swap(other); }

WorkerCgroup& WorkerCgroup::operator=(WorkerCgroup&& other) noexcept {
  WorkerCgroup taken(std::move(other));
  swap(taken);  // our old leaf is destroyed with `taken`
  return *this;
}

WorkerCgroup::~WorkerCgroup() { destroy(); }

}  // namespace exa::sandbox
