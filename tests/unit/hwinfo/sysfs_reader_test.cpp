// The readers over fixture trees laid out as /sys is.
#include "hwinfo/sysfs_reader.h"

#include <gtest/gtest.h>

namespace exa::hwinfo {
namespace {

std::string fixturePath(const std::string& name) {
  return std::string(EXA_SOURCE_DIR) + "/tests/fixtures/hwinfo/" + name;
}

TEST(SysfsReaderTest, NumaNodesOfATwoSocketMachine) {
  auto nodes = readNumaNodes(fixturePath("sys_node"));
  ASSERT_TRUE(nodes) << nodes.error().describe();
  ASSERT_EQ(nodes->size(), 2u);  // "possible" and "online" are not nodes
  EXPECT_EQ((*nodes)[0].id, 0);
  EXPECT_EQ((*nodes)[0].cpus, (std::vector<int>{0, 1, 4, 5}));
  EXPECT_EQ((*nodes)[0].memory_kb, 16267812u);
  EXPECT_EQ((*nodes)[1].id, 1);
  EXPECT_EQ((*nodes)[1].cpus, (std::vector<int>{2, 3, 6, 7}));
  EXPECT_EQ((*nodes)[1].memory_kb, 16505544u);
}

TEST(SysfsReaderTest, DisksSkipVirtualAndEmptyDevices) {
  auto disks = readDisks(fixturePath("sys_block"));
  ASSERT_TRUE(disks) << disks.error().describe();
  ASSERT_EQ(disks->size(), 2u);  // not loop0, sr0, zram0, nor the empty mmcblk0
  EXPECT_EQ((*disks)[0].name, "nvme0n1");
  EXPECT_EQ((*disks)[0].size_bytes, 1000215216ull * 512);
  EXPECT_FALSE((*disks)[0].rotational);
  EXPECT_EQ((*disks)[1].name, "sda");
  EXPECT_EQ((*disks)[1].size_bytes, 1953525168ull * 512);
  EXPECT_TRUE((*disks)[1].rotational);
}

TEST(SysfsReaderTest, InterfacesAllButLoopback) {
  auto interfaces = readInterfaces(fixturePath("sys_net"));
  ASSERT_TRUE(interfaces) << interfaces.error().describe();
  ASSERT_EQ(interfaces->size(), 4u);
  EXPECT_EQ((*interfaces)[0].name, "docker0");
  EXPECT_EQ((*interfaces)[0].speed_mbps, 0);  // no speed file
  EXPECT_EQ((*interfaces)[1].name, "eno1");
  EXPECT_EQ((*interfaces)[1].mac, "3c:ec:ef:12:34:56");
  EXPECT_EQ((*interfaces)[1].speed_mbps, 10000);
  EXPECT_EQ((*interfaces)[2].name, "eno2");
  EXPECT_EQ((*interfaces)[2].speed_mbps, 25000);
  EXPECT_EQ((*interfaces)[2].mtu, 9000);
  EXPECT_EQ((*interfaces)[3].name, "wlp2s0");
  EXPECT_EQ((*interfaces)[3].speed_mbps, 0);  // "-1": link down
}

TEST(SysfsReaderTest, FilesAndMissingDirectories) {
  auto meminfo = readMeminfo(fixturePath("meminfo"));
  ASSERT_TRUE(meminfo) << meminfo.error().describe();
  EXPECT_EQ(meminfo->mem_total_kb, 32773356u);
  auto cpuinfo = readCpuinfo(fixturePath("cpuinfo_x86_2socket"));
  ASSERT_TRUE(cpuinfo);
  EXPECT_EQ(cpuinfo->threads, 8);

  auto missing = readDisks(fixturePath("no_such_dir"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().sys_errno, ENOENT);
  EXPECT_NE(missing.error().describe().find("no_such_dir"), std::string::npos);
  EXPECT_FALSE(readMeminfo(fixturePath("no_such_file")));
}

TEST(SysfsReaderTest, OsFactsOfThisMachine) {
  OsFacts os = readOsFacts();
  EXPECT_FALSE(os.name.empty());
  EXPECT_FALSE(os.kernel.empty());
  EXPECT_FALSE(os.arch.empty());
}

}  // namespace
}  // namespace exa::hwinfo
