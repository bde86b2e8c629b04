// Tests for sandbox/cgroups: name checks and the kNone tree, then real kernel limits (OOM kill,
// pids, cpu quota, kill, cleanup) where a cgroup is writable. Parser tests: cgroup_layout_test.
#include "sandbox/cgroups.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "common/unique_fd.h"

namespace exa::sandbox {
namespace {

TEST(CgroupsTest, NoneLayoutRefusesLeaves) {
  auto tree = CgroupTree::createFromLayout(CgroupLayout{}, "exa-none");
  ASSERT_TRUE(tree) << tree.error().describe();
  EXPECT_EQ(tree->version(), CgroupVersion::kNone);
  EXPECT_EQ(tree->describe().rfind("none: limits by rlimit only", 0), 0u) << tree->describe();
  auto leaf = tree->createLeaf("w1", CgroupLimits{});
  ASSERT_FALSE(leaf);
  EXPECT_EQ(leaf.error().code, ErrorCode::kUnavailable);
}

TEST(CgroupsTest, RejectsBadNames) {
  EXPECT_FALSE(CgroupTree::createFromLayout(CgroupLayout{}, "../escape"));
  EXPECT_FALSE(CgroupTree::createFromLayout(CgroupLayout{}, ""));
}

// --- Real kernel tests -------------------------------------------------------------------------

std::optional<std::string> readText(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

bool dirExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string dirOf(const std::string& path) { return path.substr(0, path.rfind('/')); }

/// A file of the leaf, from whichever controller's leaf dir holds it.
std::optional<std::string> leafFile(const WorkerCgroup& leaf, const std::string& name) {
  for (const std::string& procs : leaf.procsFiles())
    if (auto text = readText(dirOf(procs) + "/" + name)) return text;
  return std::nullopt;
}

std::string uniqueName() {
  static int counter = 0;
  return "exa-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

/// A forked child that runs `body` once the parent says go (after attaching it), and exits
/// with its return value. Killed and reaped on destruction if still there.
class TestChild {
 public:
  explicit TestChild(const std::function<int()>& body) {
    auto pipe = makePipe();
    if (!pipe) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      pipe->second.reset();
      char go = 0;
      if (::read(pipe->first.get(), &go, 1) != 1) ::_exit(120);
      ::_exit(body());
    }
    go_ = std::move(pipe->second);
  }
  ~TestChild() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }
  void go() { ASSERT_EQ(::write(go_.get(), "g", 1), 1); }
  /// The wait status, or nullopt if the child is still running after `seconds`.
  std::optional<int> wait(int seconds = 30) {
    for (int i = 0; i < seconds * 100; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      ::usleep(10000);
    }
    return std::nullopt;
  }

 private:
  pid_t pid_ = -1;
  UniqueFd go_;
};

bool inLeaf(pid_t pid, const std::string& leaf_name) {
  auto text = readText("/proc/" + std::to_string(pid) + "/cgroup");
  return text && text->find("/" + leaf_name) != std::string::npos;
}

/// The real tree, or a skip reason: these tests need root and a writable controller.
std::optional<std::string> skipReason(const Result<CgroupTree>& tree) {
  if (::geteuid() != 0) return "needs root to create cgroups";
  if (!tree) return std::nullopt;  // a real error: let the test fail on it
  if (tree->version() == CgroupVersion::kNone) return "no writable cgroup: " + tree->describe();
  return std::nullopt;
}

#define EXA_REAL_TREE(tree)                              \
  auto tree = CgroupTree::create(uniqueName());          \
  if (auto why = skipReason(tree)) GTEST_SKIP() << *why; \
  ASSERT_TRUE(tree) << tree.error().describe()

constexpr uint64_t kMiB = 1ull << 20;

/// Touches `bytes` of fresh anonymous memory, one write per page.
int touchMemory(uint64_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 3;
  auto* bytes_ptr = static_cast<volatile char*>(p);
  for (uint64_t i = 0; i < bytes; i += 4096) bytes_ptr[i] = 1;
  return 0;
}

TEST(CgroupsTest, WritesLimitFiles) {
  EXA_REAL_TREE(tree);
  auto leaf = tree->createLeaf("limits", {64 * kMiB, 8, 50});
  ASSERT_TRUE(leaf) << leaf.error().describe();
  if (tree->version() == CgroupVersion::kV1) {
    EXPECT_EQ(leafFile(*leaf, "memory.limit_in_bytes"), std::to_string(64 * kMiB));
    if (auto memsw = leafFile(*leaf, "memory.memsw.limit_in_bytes"))
      EXPECT_EQ(*memsw, std::to_string(64 * kMiB));
    else
      EXPECT_EQ(leafFile(*leaf, "memory.swappiness"), "0");
    EXPECT_NE(leafFile(*leaf, "memory.oom_control").value_or("").find("oom_kill_disable 0"),
              std::string::npos);
    EXPECT_EQ(leafFile(*leaf, "cpu.cfs_quota_us"), "50000");
  } else {
    EXPECT_EQ(leafFile(*leaf, "memory.max"), std::to_string(64 * kMiB));
    EXPECT_EQ(leafFile(*leaf, "memory.swap.max").value_or("0"), "0");
    EXPECT_EQ(leafFile(*leaf, "cpu.max"), "50000 100000");
  }
  EXPECT_EQ(leafFile(*leaf, "pids.max"), "8");
}

TEST(CgroupsTest, SetLimitsRewritesAndLifts) {
  EXA_REAL_TREE(tree);
  auto leaf = tree->createLeaf("relimit", {64 * kMiB, 8, 50});
  ASSERT_TRUE(leaf) << leaf.error().describe();
  // Growing the memory limit exercises the memsw-first order on v1.
  ASSERT_TRUE(leaf->setLimits({128 * kMiB, 16, 0}));
  const bool v1 = tree->version() == CgroupVersion::kV1;
  EXPECT_EQ(leafFile(*leaf, v1 ? "memory.limit_in_bytes" : "memory.max"),
            std::to_string(128 * kMiB));
  EXPECT_EQ(leafFile(*leaf, "pids.max"), "16");
  EXPECT_EQ(leafFile(*leaf, v1 ? "cpu.cfs_quota_us" : "cpu.max"), v1 ? "-1" : "max 100000");
  ASSERT_TRUE(leaf->setLimits({32 * kMiB, 0, 0}));
  EXPECT_EQ(leafFile(*leaf, v1 ? "memory.limit_in_bytes" : "memory.max"),
            std::to_string(32 * kMiB));
  EXPECT_EQ(leafFile(*leaf, "pids.max"), "max");
}

TEST(CgroupsTest, MemoryLimitOomKillsChild) {
  EXA_REAL_TREE(tree);
  auto leaf = tree->createLeaf("oom", {64 * kMiB, 0, 0});
  ASSERT_TRUE(leaf) << leaf.error().describe();
  TestChild child([] { return touchMemory(256 * kMiB); });
  ASSERT_GT(child.pid(), 0);
  ASSERT_TRUE(leaf->attach(child.pid())) << "attach";
  ASSERT_TRUE(inLeaf(child.pid(), "oom"));
  EXPECT_FALSE(leaf->oomKilled());
  child.go();
  auto status = child.wait();
  ASSERT_TRUE(status) << "child still running";
  // Exiting normally would mean the 256 MiB fit: the limit was not in force.
  ASSERT_TRUE(WIFSIGNALED(*status)) << "child exited with " << WEXITSTATUS(*status);
  EXPECT_EQ(WTERMSIG(*status), SIGKILL);
  EXPECT_TRUE(leaf->oomKilled());
}

TEST(CgroupsTest, PidsLimitFailsForkWithEagain) {
  EXA_REAL_TREE(tree);
  auto leaf = tree->createLeaf("pids", {0, 8, 0});
  ASSERT_TRUE(leaf) << leaf.error().describe();
  // The child is task 1 of 8, so 7 forks succeed and the next fails; exit code = forks made.
  TestChild child([] {
    pid_t kids[32];
    int made = 0;
    int err = 0;
    while (made < 20) {
      pid_t kid = ::fork();
      if (kid == 0) {
        ::pause();
        ::_exit(0);
      }
      if (kid < 0) {
        err = errno;
        break;
      }
      kids[made++] = kid;
    }
    for (int i = 0; i < made; ++i) {
      ::kill(kids[i], SIGKILL);
      ::waitpid(kids[i], nullptr, 0);
    }
    return err == EAGAIN ? made : 100 + made;
  });
  ASSERT_TRUE(leaf->attach(child.pid()));
  child.go();
  auto status = child.wait();
  ASSERT_TRUE(status && WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 7) << "100+ means no fork failed with EAGAIN";
}

TEST(CgroupsTest, CpuLimitThrottlesChild) {
  EXA_REAL_TREE(tree);
  if (tree->describe().find("cpuacct") == std::string::npos &&
      tree->version() == CgroupVersion::kV1)
    GTEST_SKIP() << "no cpuacct to measure with: " << tree->describe();
  auto leaf = tree->createLeaf("cpu", {0, 0, 20});
  ASSERT_TRUE(leaf) << leaf.error().describe();
  // Spin for 600 ms of wall time: unlimited that is ~600 ms of CPU, at 20% ~120 ms.
  TestChild child([] {
    timespec start{}, now{};
    ::clock_gettime(CLOCK_MONOTONIC, &start);
    do {
      ::clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < 600);
    return 0;
  });
  ASSERT_TRUE(leaf->attach(child.pid()));
  child.go();
  auto status = child.wait();
  ASSERT_TRUE(status && WIFEXITED(*status));
  const uint64_t used = leaf->cpuUsageMicros();
  EXPECT_GT(used, 40000u);
  EXPECT_LT(used, 300000u);
}

TEST(CgroupsTest, ReportsMemoryCurrent) {
  EXA_REAL_TREE(tree);
  auto leaf = tree->createLeaf("current", {128 * kMiB, 0, 0});
  ASSERT_TRUE(leaf) << leaf.error().describe();
  auto ready = makePipe();
  ASSERT_TRUE(ready);
  int ready_fd = ready->second.get();
  TestChild child([ready_fd] {
    if (touchMemory(32 * kMiB) != 0) return 3;
    if (::write(ready_fd, "r", 1) != 1) return 4;
    ::pause();
    return 0;
  });
  ready->second.reset();
  ASSERT_TRUE(leaf->attach(child.pid()));
  child.go();
  char byte = 0;
  ASSERT_EQ(::read(ready->first.get(), &byte, 1), 1);
  EXPECT_GE(leaf->memoryCurrent(), 32 * kMiB);
  EXPECT_LT(leaf->memoryCurrent(), 128 * kMiB);
  EXPECT_FALSE(leaf->oomKilled());
}

TEST(CgroupsTest, KillAllKillsAttachedChild) {
  EXA_REAL_TREE(tree);
  auto leaf = tree->createLeaf("kill", {});
  ASSERT_TRUE(leaf) << leaf.error().describe();
  TestChild child([] {
    ::pause();
    return 0;
  });
  ASSERT_TRUE(leaf->attach(child.pid()));
  leaf->killAll();
  auto status = child.wait(5);
  ASSERT_TRUE(status) << "killAll left the child running";
  ASSERT_TRUE(WIFSIGNALED(*status));
  EXPECT_EQ(WTERMSIG(*status), SIGKILL);
}

TEST(CgroupsTest, DestructionRemovesDirs) {
  std::vector<std::string> leaf_dirs;
  std::vector<std::string> tree_dirs;
  {
    EXA_REAL_TREE(tree);
    // A running child must not keep the leaf alive: destruction kills it first.
    TestChild child([] {
      ::pause();
      return 0;
    });
    {
      auto leaf = tree->createLeaf("gone", {64 * kMiB, 8, 50});
      ASSERT_TRUE(leaf) << leaf.error().describe();
      ASSERT_TRUE(leaf->attach(child.pid()));
      for (const std::string& procs : leaf->procsFiles()) {
        leaf_dirs.push_back(dirOf(procs));
        tree_dirs.push_back(dirOf(dirOf(procs)));
        ASSERT_TRUE(dirExists(leaf_dirs.back()));
      }
      WorkerCgroup moved = std::move(*leaf);  // ownership moves; the moved-from leaf owns nothing
    }
    for (const std::string& dir : leaf_dirs) EXPECT_FALSE(dirExists(dir)) << dir;
    auto status = child.wait(5);
    ASSERT_TRUE(status && WIFSIGNALED(*status));
    for (const std::string& dir : tree_dirs) EXPECT_TRUE(dirExists(dir)) << dir;
  }
  ASSERT_FALSE(tree_dirs.empty());
  for (const std::string& dir : tree_dirs) EXPECT_FALSE(dirExists(dir)) << dir;
}

TEST(CgroupsTest, RefusesDuplicateLeafAndRemovesStaleOnes) {
  const std::string name = uniqueName();
  auto tree = CgroupTree::create(name);
  if (auto why = skipReason(tree)) GTEST_SKIP() << *why;
  ASSERT_TRUE(tree) << tree.error().describe();
  auto leaf = tree->createLeaf("dup", {});
  ASSERT_TRUE(leaf);
  auto again = tree->createLeaf("dup", {});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidArgument);
  // A second tree of the same name (an agent restarted with the same pid) clears stale leaves.
  const std::string stale_dir = dirOf(leaf->procsFiles().front());
  auto second = CgroupTree::create(name);
  ASSERT_TRUE(second) << second.error().describe();
  EXPECT_FALSE(dirExists(stale_dir));
}

// cgroup v2 code paths (cgroup.kill, cpu.stat, the subtree dirs) on a real cgroup2 mount, with
// no controllers: runs on hybrid machines like this one, where memory/pids/cpu sit in v1.
TEST(CgroupsTest, V2CoreFilesWorkOnUnifiedHierarchy) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";
  auto self = readText("/proc/self/cgroup");
  auto mountinfo = readText("/proc/self/mountinfo");
  ASSERT_TRUE(self && mountinfo);
  CgroupMounts mounts = findCgroupMounts(*self, *mountinfo);
  if (mounts.unified_dir.empty()) GTEST_SKIP() << "no cgroup2 mount reaches our cgroup";
  CgroupLayout layout;
  layout.version = CgroupVersion::kV2;
  layout.unified_dir = mounts.unified_dir;
  auto tree = CgroupTree::createFromLayout(layout, uniqueName());
  ASSERT_TRUE(tree) << tree.error().describe();
  if (tree->version() == CgroupVersion::kNone) GTEST_SKIP() << tree->describe();
  auto leaf = tree->createLeaf("v2", {});
  ASSERT_TRUE(leaf) << leaf.error().describe();
  TestChild child([] {
    volatile uint64_t sink = 0;
    for (uint64_t i = 0; i < 50000000; ++i) sink = sink + i;
    ::pause();
    return 0;
  });
  ASSERT_TRUE(leaf->attach(child.pid()));
  ASSERT_TRUE(inLeaf(child.pid(), "v2"));
  child.go();
  for (int i = 0; i < 500 && leaf->cpuUsageMicros() < 10000; ++i) ::usleep(2000);
  EXPECT_GE(leaf->cpuUsageMicros(), 10000u);
  leaf->killAll();
  auto status = child.wait(5);
  ASSERT_TRUE(status && WIFSIGNALED(*status));
  EXPECT_EQ(WTERMSIG(*status), SIGKILL);
}

/// Undoes the test's changes to the real unified hierarchy, however the test ends.
struct UnifiedCleanup {
  std::string root;
  std::string own;
  bool disable_hugetlb = false;
  ~UnifiedCleanup() {
    ::rmdir((own + "/supervisor").c_str());
    ::rmdir(own.c_str());
    if (disable_hugetlb) std::ofstream(root + "/cgroup.subtree_control") << "-hugetlb";
  }
};

// The Delegate=yes path: our own v2 cgroup holds a process, so enabling a controller for the
// subtree needs that process moved into <own>/supervisor first (no-internal-process rule).
// hugetlb stands in for memory/pids/cpu, which sit in v1 here. Hybrid machines only: the test
// touches the unified root's subtree_control, which a pure-v2 host is using.
TEST(CgroupsTest, V2MovesOwnProcessesBeforeEnablingControllers) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";
  auto self = readText("/proc/self/cgroup");
  auto mountinfo = readText("/proc/self/mountinfo");
  ASSERT_TRUE(self && mountinfo);
  CgroupMounts mounts = findCgroupMounts(*self, *mountinfo);
  const std::string root = mounts.unified_dir;
  const std::string offered = readText(root + "/cgroup.controllers").value_or("");
  const bool in_root = ("\n" + *self + "\n").find("\n0::/\n") != std::string::npos;
  if (root.empty() || !in_root || offered.find("hugetlb") == std::string::npos ||
      offered.find("memory") != std::string::npos)
    GTEST_SKIP() << "needs a hybrid layout whose cgroup2 root offers hugetlb but not memory";

  // Two runs at once (several checkouts on one machine) would race on the root's hugetlb.
  UniqueFd lock(::open("/tmp/exa-cgroups-test-unified.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  ASSERT_TRUE(lock && ::flock(lock.get(), LOCK_EX) == 0);
  UnifiedCleanup cleanup{root, root + "/" + uniqueName()};
  const std::string enabled = readText(root + "/cgroup.subtree_control").value_or("");
  if (enabled.find("hugetlb") == std::string::npos) {
    std::ofstream(root + "/cgroup.subtree_control") << "+hugetlb";
    cleanup.disable_hugetlb = true;
  }
  ASSERT_EQ(::mkdir(cleanup.own.c_str(), 0755), 0);
  TestChild resident([] {
    ::pause();
    return 0;
  });
  std::ofstream(cleanup.own + "/cgroup.procs") << resident.pid();
  ASSERT_TRUE(inLeaf(resident.pid(), cleanup.own.substr(root.size() + 1)));

  CgroupLayout layout;
  layout.version = CgroupVersion::kV2;
  layout.unified_dir = cleanup.own;
  layout.controllers["hugetlb"] = cleanup.own;
  {
    auto tree = CgroupTree::createFromLayout(layout, "agent-tree");
    ASSERT_TRUE(tree) << tree.error().describe();
    EXPECT_EQ(tree->version(), CgroupVersion::kV2);
    EXPECT_TRUE(inLeaf(resident.pid(), "supervisor"));
    EXPECT_NE(readText(cleanup.own + "/cgroup.subtree_control").value_or("").find("hugetlb"),
              std::string::npos);
    EXPECT_NE(
        readText(cleanup.own + "/agent-tree/cgroup.subtree_control").value_or("").find("hugetlb"),
        std::string::npos);
    auto leaf = tree->createLeaf("w", {});
    ASSERT_TRUE(leaf) << leaf.error().describe();
    EXPECT_TRUE(dirExists(cleanup.own + "/agent-tree/w"));
  }
  EXPECT_FALSE(dirExists(cleanup.own + "/agent-tree"));
  ::kill(resident.pid(), SIGKILL);
  ASSERT_TRUE(resident.wait(5));
}

}  // namespace
}  // namespace exa::sandbox
