#include "hwinfo/proc_parsers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace exa::hwinfo {
namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(EXA_SOURCE_DIR) + "/tests/fixtures/hwinfo/" + name);
  EXPECT_TRUE(in) << name;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool hasFlag(const CpuFacts& cpu, const std::string& flag) {
  return std::find(cpu.flags.begin(), cpu.flags.end(), flag) != cpu.flags.end();
}

TEST(ProcParsersTest, MeminfoWithSwap) {
  auto info = parseMeminfo(fixture("meminfo"));
  ASSERT_TRUE(info) << info.error().describe();
  EXPECT_EQ(info->mem_total_kb, 32773356u);
  EXPECT_EQ(info->swap_total_kb, 999420u);
}

TEST(ProcParsersTest, MeminfoWithoutSwap) {
  auto info = parseMeminfo(fixture("meminfo_noswap"));
  ASSERT_TRUE(info) << info.error().describe();
  EXPECT_EQ(info->mem_total_kb, 24684084u);
  EXPECT_EQ(info->swap_total_kb, 0u);
}

TEST(ProcParsersTest, MeminfoNeedsAValidMemTotal) {
  EXPECT_EQ(parseMeminfo("MemFree: 12 kB\nSwapTotal: 0 kB\n").error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_FALSE(parseMeminfo("MemTotal: lots kB\n"));
  EXPECT_FALSE(parseMeminfo("MemTotal: 12 MB\n"));
  auto no_swap_line = parseMeminfo("MemTotal:  2048 kB\n");
  ASSERT_TRUE(no_swap_line);
  EXPECT_EQ(no_swap_line->swap_total_kb, 0u);
}

TEST(ProcParsersTest, CpuinfoOfATwoSocketXeon) {
  CpuFacts cpu = parseCpuinfo(fixture("cpuinfo_x86_2socket"));
  EXPECT_EQ(cpu.model, "Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz");
  EXPECT_EQ(cpu.vendor, "GenuineIntel");
  EXPECT_EQ(cpu.threads, 8);
  EXPECT_EQ(cpu.sockets, 2);
  EXPECT_EQ(cpu.cores, 4);  // core ids repeat across sockets: the pair is what is distinct
  ASSERT_FALSE(cpu.flags.empty());
  EXPECT_EQ(cpu.flags.front(), "fpu");
  EXPECT_EQ(cpu.flags.back(), "arch_capabilities");
  EXPECT_TRUE(hasFlag(cpu, "avx512f"));
  EXPECT_FALSE(hasFlag(cpu, "cpu_meltdown"));  // a bug, not a flag
  EXPECT_TRUE(cpu.caches.empty());
}

TEST(ProcParsersTest, CpuinfoOfArm64LeavesTopologyToHwloc) {
  CpuFacts cpu = parseCpuinfo(fixture("cpuinfo_arm64"));
  EXPECT_EQ(cpu.threads, 4);
  EXPECT_EQ(cpu.sockets, 0);
  EXPECT_EQ(cpu.cores, 0);
  EXPECT_EQ(cpu.model, "");
  EXPECT_EQ(cpu.vendor, "0x41");
  EXPECT_TRUE(hasFlag(cpu, "asimd"));
}

TEST(ProcParsersTest, OsReleaseFixture) {
  auto fields = parseOsRelease(fixture("os-release"));
  EXPECT_EQ(fields["PRETTY_NAME"], "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(fields["VERSION_ID"], "12");
  EXPECT_EQ(fields["ID"], "debian");
  EXPECT_EQ(prettyOsName(fields), "Debian GNU/Linux 12 (bookworm)");
}

TEST(ProcParsersTest, OsReleaseQuotingAndFallbacks) {
  auto fields = parseOsRelease(
      "# comment\n\nNAME='Single Quoted'\nPRETTY_NAME=\"Say \\\"hi\\\" \\\\ \\$HOME\"\nBAD\n=x\n");
  EXPECT_EQ(fields["NAME"], "Single Quoted");
  EXPECT_EQ(fields["PRETTY_NAME"], "Say \"hi\" \\ $HOME");
  EXPECT_EQ(fields.size(), 2u);
  EXPECT_EQ(prettyOsName(parseOsRelease("NAME=Fedora\n")), "Fedora");
  EXPECT_EQ(prettyOsName(parseOsRelease("")), "Linux");
}

TEST(ProcParsersTest, NodeMeminfoOfTwoNodes) {
  auto node0 = parseNodeMeminfo(fixture("sys_node/node0/meminfo"));
  auto node1 = parseNodeMeminfo(fixture("sys_node/node1/meminfo"));
  ASSERT_TRUE(node0) << node0.error().describe();
  ASSERT_TRUE(node1) << node1.error().describe();
  EXPECT_EQ(node0->node, 0);
  EXPECT_EQ(node0->mem_total_kb, 16267812u);
  EXPECT_EQ(node1->node, 1);
  EXPECT_EQ(node1->mem_total_kb, 16505544u);
  // The fixtures describe one machine: the nodes add up to its /proc/meminfo.
  EXPECT_EQ(node0->mem_total_kb + node1->mem_total_kb,
            parseMeminfo(fixture("meminfo"))->mem_total_kb);
}

TEST(ProcParsersTest, NodeMeminfoRejectsOtherText) {
  EXPECT_FALSE(parseNodeMeminfo(fixture("meminfo")));
  EXPECT_FALSE(parseNodeMeminfo("Node x MemTotal: 12 kB\n"));
  EXPECT_FALSE(parseNodeMeminfo("Node 0 MemTotal: 12 MB\n"));
  EXPECT_FALSE(parseNodeMeminfo(""));
}

TEST(ProcParsersTest, CpuLists) {
  EXPECT_EQ(*parseCpuList("0-1,4-5\n"), (std::vector<int>{0, 1, 4, 5}));
  EXPECT_EQ(*parseCpuList("7"), (std::vector<int>{7}));
  EXPECT_EQ(*parseCpuList("3,1-2,2"), (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(parseCpuList("\n")->empty());  // a node with memory and no CPUs
  for (const char* bad : {"1-", "-1", "a", "5-3", "0-99999999", "1,,2", "1-2-3"})
    EXPECT_FALSE(parseCpuList(bad)) << bad;
}

TEST(ProcParsersTest, BlockDevices) {
  auto sda = parseBlockDevice({"sda", "1953525168\n", "0\n", "1\n"});
  ASSERT_TRUE(sda);
  EXPECT_EQ(sda->name, "sda");
  EXPECT_EQ(sda->size_bytes, 1953525168ull * 512);
  EXPECT_TRUE(sda->rotational);
  EXPECT_FALSE(sda->removable);
  auto stick = parseBlockDevice({"sdb", "60062500", "1", "0"});
  ASSERT_TRUE(stick);
  EXPECT_TRUE(stick->removable);
  EXPECT_FALSE(stick->rotational);
  EXPECT_FALSE(parseBlockDevice({"mmcblk0", "0", "1", "0"}));  // no card in the reader
  EXPECT_FALSE(parseBlockDevice({"vdb", "", "", ""}));        // size unreadable
  for (const char* name : {"loop0", "ram1", "zram0", "dm-0", "md127", "sr0"}) {
    EXPECT_TRUE(isVirtualBlockDevice(name)) << name;
    EXPECT_FALSE(parseBlockDevice({name, "2048", "0", "0"})) << name;
  }
  for (const char* name : {"sda", "vda", "xvda", "nvme0n1", "mmcblk0", "hda"})
    EXPECT_FALSE(isVirtualBlockDevice(name)) << name;
}

TEST(ProcParsersTest, NetDevices) {
  auto eno1 = parseNetDevice({"eno1", "3c:ec:ef:12:34:56\n", "10000\n", "1500\n"});
  ASSERT_TRUE(eno1);
  EXPECT_EQ(eno1->name, "eno1");
  EXPECT_EQ(eno1->mac, "3c:ec:ef:12:34:56");
  EXPECT_EQ(eno1->speed_mbps, 10000);
  EXPECT_EQ(eno1->mtu, 1500);
  EXPECT_EQ(parseNetDevice({"eth0", "aa:bb:cc:dd:ee:ff", "-1\n", "1500"})->speed_mbps, 0);
  EXPECT_EQ(parseNetDevice({"tun0", "", "", "1500"})->speed_mbps, 0);  // read() gave EINVAL
  EXPECT_FALSE(parseNetDevice({"lo", "00:00:00:00:00:00", "", "65536"}));
}

}  // namespace
}  // namespace exa::hwinfo
