// hwloc on this machine, against what /proc and /sys say independently.
#include "hwinfo/hwloc_topology.h"

#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "hwinfo/sysfs_reader.h"

namespace exa::hwinfo {
namespace {

TEST(HwlocTopologyTest, CountsAgreeWithProc) {
  auto topology = HwlocTopology::load();
  ASSERT_TRUE(topology) << topology.error().describe();
  EXPECT_EQ(topology->pus(), ::sysconf(_SC_NPROCESSORS_ONLN));
  EXPECT_GE(topology->packages(), 1);
  EXPECT_GE(topology->cores(), topology->packages());
  EXPECT_LE(topology->cores(), topology->pus());
  auto cpuinfo = readCpuinfo();
  ASSERT_TRUE(cpuinfo) << cpuinfo.error().describe();
  if (cpuinfo->sockets > 0) {  // x86 prints physical ids; ARM does not
    EXPECT_EQ(topology->packages(), cpuinfo->sockets);
  }
}

TEST(HwlocTopologyTest, NumaNodesAgreeWithSysfs) {
  auto topology = HwlocTopology::load();
  ASSERT_TRUE(topology) << topology.error().describe();
  auto hwloc_nodes = topology->numaNodes();
  auto sysfs_nodes = readNumaNodes();
  if (!sysfs_nodes) {  // a kernel without CONFIG_NUMA: hwloc models one node
    EXPECT_EQ(hwloc_nodes.size(), 1u);
    return;
  }
  ASSERT_EQ(hwloc_nodes.size(), sysfs_nodes->size());
  for (size_t i = 0; i < hwloc_nodes.size(); ++i) {
    EXPECT_EQ(hwloc_nodes[i].id, (*sysfs_nodes)[i].id);
    EXPECT_EQ(hwloc_nodes[i].cpus, (*sysfs_nodes)[i].cpus);
    EXPECT_EQ(hwloc_nodes[i].memory_kb, (*sysfs_nodes)[i].memory_kb);
  }
}

TEST(HwlocTopologyTest, CachesAreGroupedAndOrdered) {
  auto topology = HwlocTopology::load();
  ASSERT_TRUE(topology) << topology.error().describe();
  auto caches = topology->caches();
  for (size_t i = 0; i < caches.size(); ++i) {
    EXPECT_GT(caches[i].count, 0);
    EXPECT_TRUE(caches[i].type == "data" || caches[i].type == "instruction" ||
                caches[i].type == "unified")
        << caches[i].type;
    if (i > 0) {
      EXPECT_LE(caches[i - 1].level, caches[i].level);
    }
  }
}

TEST(HwlocTopologyTest, LoadFailureIsAnError) {
  // hwloc reads HWLOC_XMLFILE at load: an XML file that is no topology makes the load fail.
  std::string broken = std::string(EXA_SOURCE_DIR) + "/tests/fixtures/hwinfo/hwloc_broken.xml";
  ASSERT_EQ(::setenv("HWLOC_XMLFILE", broken.c_str(), 1), 0);
  auto topology = HwlocTopology::load();
  ::unsetenv("HWLOC_XMLFILE");
  ASSERT_FALSE(topology);
  EXPECT_EQ(topology.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(topology.error().describe().find("topology_load"), std::string::npos);
}

TEST(HwlocTopologyTest, MovesOwnership) {
  auto topology = HwlocTopology::load();
  ASSERT_TRUE(topology) << topology.error().describe();
  HwlocTopology moved = std::move(*topology);
  EXPECT_EQ(moved.pus(), ::sysconf(_SC_NPROCESSORS_ONLN));
  auto other = HwlocTopology::load();
  ASSERT_TRUE(other);
  moved = std::move(*other);  // the first topology is destroyed with `other`, once
  EXPECT_EQ(moved.pus(), ::sysconf(_SC_NPROCESSORS_ONLN));
}

}  // namespace
}  // namespace exa::hwinfo
