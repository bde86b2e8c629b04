// Tests for sandbox/cgroup_layout: the pure parser and chooser on fixture /proc text (v1, hybrid,
// pure v2, containers); no cgroup is touched, so they run anywhere.
#include "sandbox/cgroup_layout.h"

#include <gtest/gtest.h>

namespace exa::sandbox {
namespace {

// This machine: v1 controllers each on its own mount (cpu apart from cpuacct), our memory cgroup
// nested, and a hybrid cgroup2 at /sys/fs/cgroup/unified holding no controller.
constexpr const char* kHybridCgroup =
    "9:name=systemd:/\n8:pids:/\n7:blkio:/\n4:memory:/process_api/94d6\n"
    "2:cpuacct:/\n1:cpu:/\n0::/\n";
constexpr const char* kHybridMountinfo =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

// systemd v1 (Debian 10, Ubuntu 18.04): cpu and cpuacct co-mounted, shared:N optional fields.
constexpr const char* kCoMountedCgroup =
    "11:pids:/system.slice/agent.service\n"
    "5:cpu,cpuacct:/system.slice/agent.service\n"
    "3:memory:/system.slice/agent.service\n"
    "1:name=systemd:/system.slice/agent.service\n";
constexpr const char* kCoMountedMountinfo =
    "27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid shared:9 - cgroup cgroup rw,xattr,name=systemd\n"
    "30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:12 - cgroup cgroup rw,cpu,cpuacct\n"
    "31 25 0:28 / /sys/fs/cgroup/memory rw,nosuid shared:13 - cgroup cgroup rw,memory\n"
    "36 25 0:33 / /sys/fs/cgroup/pids rw,nosuid shared:18 - cgroup cgroup rw,pids\n";

// Pure v2 (Debian 11+, Fedora, Ubuntu 21.10+) under systemd with Delegate=yes.
constexpr const char* kPureV2Cgroup = "0::/system.slice/executor-agent.service\n";
constexpr const char* kPureV2Mountinfo =
    "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";
constexpr const char* kPureV2Controllers = "cpuset cpu io memory hugetlb pids rdma misc\n";

TEST(CgroupLayoutTest, FindsV1ControllersOnHybridLayout) {
  CgroupMounts mounts = findCgroupMounts(kHybridCgroup, kHybridMountinfo);
  EXPECT_EQ(mounts.v1_dirs["memory"], "/sys/fs/cgroup/memory/process_api/94d6");
  EXPECT_EQ(mounts.v1_dirs["pids"], "/sys/fs/cgroup/pids");
  EXPECT_EQ(mounts.v1_dirs["cpu"], "/sys/fs/cgroup/cpu");
  EXPECT_EQ(mounts.v1_dirs["cpuacct"], "/sys/fs/cgroup/cpuacct");
  EXPECT_EQ(mounts.unified_dir, "/sys/fs/cgroup/unified");

  CgroupLayout layout = chooseCgroupLayout(mounts, "hugetlb\n");
  EXPECT_EQ(layout.version, CgroupVersion::kV1);
  EXPECT_EQ(layout.controllers.size(), 4u);
  EXPECT_EQ(layout.controllers["memory"], "/sys/fs/cgroup/memory/process_api/94d6");
}

TEST(CgroupLayoutTest, FindsCoMountedCpuAndCpuacct) {
  CgroupMounts mounts = findCgroupMounts(kCoMountedCgroup, kCoMountedMountinfo);
  EXPECT_EQ(mounts.v1_dirs["cpu"], "/sys/fs/cgroup/cpu,cpuacct/system.slice/agent.service");
  EXPECT_EQ(mounts.v1_dirs["cpuacct"], mounts.v1_dirs["cpu"]);
  EXPECT_EQ(mounts.v1_dirs["pids"], "/sys/fs/cgroup/pids/system.slice/agent.service");
  EXPECT_TRUE(mounts.unified_dir.empty());
  EXPECT_EQ(chooseCgroupLayout(mounts, "").version, CgroupVersion::kV1);
}

TEST(CgroupLayoutTest, FindsPureV2Layout) {
  CgroupMounts mounts = findCgroupMounts(kPureV2Cgroup, kPureV2Mountinfo);
  EXPECT_EQ(mounts.unified_dir, "/sys/fs/cgroup/system.slice/executor-agent.service");
  EXPECT_TRUE(mounts.v1_dirs.empty());
  CgroupLayout layout = chooseCgroupLayout(mounts, kPureV2Controllers);
  EXPECT_EQ(layout.version, CgroupVersion::kV2);
  EXPECT_EQ(layout.unified_dir, mounts.unified_dir);
  ASSERT_EQ(layout.controllers.size(), 3u);  // memory, pids, cpu; v2 has no cpuacct
  EXPECT_EQ(layout.controllers["cpu"], mounts.unified_dir);
}

TEST(CgroupLayoutTest, KeepsV2WithPartialDelegation) {
  // systemd's user manager delegates memory and pids but not always cpu.
  CgroupMounts mounts = findCgroupMounts(kPureV2Cgroup, kPureV2Mountinfo);
  CgroupLayout layout = chooseCgroupLayout(mounts, "memory pids\n");
  EXPECT_EQ(layout.version, CgroupVersion::kV2);
  EXPECT_EQ(layout.controllers.count("memory"), 1u);
  EXPECT_EQ(layout.controllers.count("cpu"), 0u);
  EXPECT_EQ(chooseCgroupLayout(mounts, "").version, CgroupVersion::kNone);
}

TEST(CgroupLayoutTest, ChoosesHierarchyHoldingMoreControllers) {
  // Hybrid with pids moved to v2 but memory and cpu still on v1.
  CgroupMounts mounts = findCgroupMounts(kHybridCgroup, kHybridMountinfo);
  mounts.v1_dirs.erase("pids");
  EXPECT_EQ(chooseCgroupLayout(mounts, "pids").version, CgroupVersion::kV1);
  EXPECT_EQ(chooseCgroupLayout(mounts, "pids memory cpu").version, CgroupVersion::kV2);
  EXPECT_EQ(chooseCgroupLayout(CgroupMounts{}, "").version, CgroupVersion::kNone);
}

TEST(CgroupLayoutTest, ResolvesContainerMountRoot) {
  // Docker without a cgroup namespace: the mount's root is the container's own cgroup.
  CgroupMounts v1 = findCgroupMounts(
      "4:memory:/docker/abc/worker\n",
      "50 40 0:32 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n");
  EXPECT_EQ(v1.v1_dirs["memory"], "/sys/fs/cgroup/memory/worker");
  // With a cgroup namespace both sides read "/".
  CgroupMounts v2 = findCgroupMounts(
      "0::/\n", "60 50 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
  EXPECT_EQ(v2.unified_dir, "/sys/fs/cgroup");
}

TEST(CgroupLayoutTest, IgnoresMountsThatDoNotReachOurCgroup) {
  CgroupMounts mounts = findCgroupMounts(
      "0::/other\n4:memory:/docker/abcdef\n",
      "60 50 0:26 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
      "61 50 0:32 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
  EXPECT_TRUE(mounts.unified_dir.empty());
  EXPECT_TRUE(mounts.v1_dirs.empty());  // "/docker/abc" is not a parent of "/docker/abcdef"
}

TEST(CgroupLayoutTest, LaterMountOnSameMountpointWins) {
  CgroupMounts mounts =
      findCgroupMounts("4:memory:/a\n",
                       "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
                       "90 35 0:32 /a /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
                       "91 31 0:32 / /mnt/memory rw - cgroup cgroup rw,memory\n");
  EXPECT_EQ(mounts.v1_dirs["memory"], "/sys/fs/cgroup/memory");
}

TEST(CgroupLayoutTest, DecodesEscapedMountPoints) {
  CgroupMounts mounts = findCgroupMounts(
      "0::/job\n", "70 1 0:26 / /run/my\\040cgroups rw - cgroup2 none rw\nnot a mount line\n");
  EXPECT_EQ(mounts.unified_dir, "/run/my cgroups/job");
}

}  // namespace
}  // namespace exa::sandbox
