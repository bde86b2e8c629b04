#include "hwinfo/hardware_info.h"

#include <net/if.h>
#include <stdlib.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "hwinfo/sysfs_reader.h"

namespace exa::hwinfo {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;

std::vector<std::string> keys(const Json& object) {
  std::vector<std::string> out;
  for (const auto& item : object.items()) out.push_back(item.key());
  return out;
}

/// The seed's registration payload; it carries a trailing comma the seed's parser tolerated.
Json seedHardwareInfo() {
  std::ifstream in(std::string(EXA_SOURCE_DIR) + "/tests/fixtures/seed_executor_payload.json");
  std::ostringstream text;
  text << in.rdbuf();
  std::string json = text.str();
  json.erase(json.rfind(','), 1);
  auto parsed = parseJson(json);
  EXPECT_TRUE(parsed) << parsed.error().describe();
  return parsed ? (*parsed)["executor_hardware_info"] : Json();
}

/// A two-socket, two-NUMA-node machine with a GPU, two disks and two interfaces.
MachineFacts twoSocketFacts() {
  MachineFacts facts;
  facts.cpu = {"Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz", "GenuineIntel", {"fpu", "avx512f"},
               2, 4, 8, {{1, "data", 32, 4}, {1, "instruction", 32, 4}, {2, "unified", 1024, 4},
                         {3, "unified", 22528, 2}}};
  facts.mem_total_kb = 32773356;  // 32005 MB, the seed's node
  facts.swap_total_kb = 999420;   // 975 MB
  facts.numa = {{0, {0, 1, 4, 5}, 16267812}, {1, {2, 3, 6, 7}, 16505544}};
  facts.gpus = {{"NVIDIA A100-PCIE-40GB", "NVIDIA Corporation", 40960ull * 1024, "0000:3b:00.0"},
                {"PCI 1a03:2000", "0x1a03", std::nullopt, "0000:02:00.0"}};
  facts.os = {"Debian GNU/Linux 12 (bookworm)", "6.1.0-18-amd64", "x86_64"};
  facts.disks = {{"nvme0n1", 1000215216ull * 512, false, false},
                 {"sda", 1953525168ull * 512, true, false}};
  facts.interfaces = {{"eno1", "3c:ec:ef:12:34:56", 10000, 1500},
                      {"eno2", "3c:ec:ef:12:34:57", 25000, 9000}};
  return facts;
}

TEST(HardwareInfoTest, SeedKeysInTheSeedsOrder) {
  Json seed = seedHardwareInfo();
  Json info = buildHardwareInfo(twoSocketFacts(), "node-001");
  EXPECT_EQ(keys(info), keys(seed));
  EXPECT_EQ(keys(info["nodes"]), keys(seed["nodes"]));
  const Json& node = info["nodes"]["nodeData"][0];
  const Json& seed_node = seed["nodes"]["nodeData"][0];
  std::vector<std::string> node_keys = keys(node);
  std::vector<std::string> seed_node_keys = keys(seed_node);
  ASSERT_GE(node_keys.size(), seed_node_keys.size());
  node_keys.resize(seed_node_keys.size());
  EXPECT_EQ(node_keys, seed_node_keys);  // the seed's keys first; ours follow
  for (const char* object : {"vcpus", "storage", "network"}) {
    EXPECT_EQ(keys(info[object]), keys(seed[object])) << object;
    EXPECT_EQ(keys(node[object]), keys(seed_node[object])) << object;
  }
  EXPECT_EQ(keys(node), (std::vector<std::string>{"id", "vcpus", "memory", "swap", "storage",
                                                  "network", "cpu", "numa", "gpus", "os",
                                                  "disks", "interfaces"}));
}

TEST(HardwareInfoTest, OneNodeWhoseTotalsAreTheClusters) {
  Json info = buildHardwareInfo(twoSocketFacts(), "node-001");
  EXPECT_EQ(info["nodes"]["count"], 1);
  ASSERT_EQ(info["nodes"]["nodeData"].size(), 1u);
  const Json& node = info["nodes"]["nodeData"][0];
  EXPECT_EQ(node["id"], "node-001");
  EXPECT_EQ(info["id"], "node-001");
  EXPECT_EQ(node["vcpus"]["count"], 8);
  EXPECT_EQ(node["memory"], 32005);
  EXPECT_EQ(node["swap"], 975);
  EXPECT_EQ(node["storage"]["disks"], 2);
  EXPECT_EQ(node["storage"]["size"], (1000215216ull + 1953525168ull) * 512 / kMiB);
  EXPECT_EQ(node["network"]["interfaces"], 2);
  EXPECT_EQ(node["network"]["txBandwidth"], 35000);
  EXPECT_EQ(node["network"]["rxBandwidth"], 35000);
  for (const char* key : {"vcpus", "memory", "swap", "storage", "network"})
    EXPECT_EQ(info[key], node[key]) << key;
}

TEST(HardwareInfoTest, PlacementDetail) {
  const Json node = buildHardwareInfo(twoSocketFacts(), "n")["nodes"]["nodeData"][0];
  EXPECT_EQ(keys(node["cpu"]), (std::vector<std::string>{"model", "vendor", "flags", "sockets",
                                                         "cores", "threads", "caches"}));
  EXPECT_EQ(node["cpu"]["sockets"], 2);
  EXPECT_EQ(node["cpu"]["cores"], 4);
  EXPECT_EQ(node["cpu"]["threads"], node["vcpus"]["count"]);
  EXPECT_EQ(node["cpu"]["flags"], Json::array({"fpu", "avx512f"}));
  EXPECT_EQ(node["cpu"]["caches"][3],
            Json::parse(R"({"level":3,"type":"unified","size_kb":22528,"count":2})"));
  EXPECT_EQ(node["os"], Json::parse(R"j({"name":"Debian GNU/Linux 12 (bookworm)",
                                          "kernel":"6.1.0-18-amd64","arch":"x86_64"})j"));
  EXPECT_EQ(node["disks"][1],
            Json::parse(R"({"name":"sda","size":953869,"rotational":true,"removable":false})"));
  EXPECT_EQ(node["interfaces"][1], Json::parse(R"({"name":"eno2","mac":"3c:ec:ef:12:34:57",
                                                   "speed_mbps":25000,"mtu":9000})"));
}

TEST(HardwareInfoTest, MultiNumaNodes) {
  const Json numa = buildHardwareInfo(twoSocketFacts(), "n")["nodes"]["nodeData"][0]["numa"];
  ASSERT_EQ(numa.size(), 2u);
  EXPECT_EQ(numa[0], Json::parse(R"({"id":0,"cpus":[0,1,4,5],"memory":15886})"));
  EXPECT_EQ(numa[1], Json::parse(R"({"id":1,"cpus":[2,3,6,7],"memory":16118})"));
}

TEST(HardwareInfoTest, GpuMemoryOnlyWhenKnown) {
  const Json gpus = buildHardwareInfo(twoSocketFacts(), "n")["nodes"]["nodeData"][0]["gpus"];
  ASSERT_EQ(gpus.size(), 2u);
  EXPECT_EQ(gpus[0]["memory"], 40960);
  EXPECT_EQ(gpus[0]["pci_bus_id"], "0000:3b:00.0");
  EXPECT_FALSE(gpus[1].contains("memory"));
  EXPECT_EQ(gpus[1]["vendor"], "0x1a03");
}

TEST(HardwareInfoTest, NoSwap) {
  MachineFacts facts = twoSocketFacts();
  facts.swap_total_kb = 0;
  Json info = buildHardwareInfo(facts, "n");
  EXPECT_EQ(info["swap"], 0);
  EXPECT_EQ(info["nodes"]["nodeData"][0]["swap"], 0);
  EXPECT_EQ(info["memory"], 32005);
}

TEST(HardwareInfoTest, EmptyFactsKeepTheShape) {
  Json info = buildHardwareInfo(MachineFacts{}, "n");
  EXPECT_EQ(keys(info), keys(seedHardwareInfo()));
  EXPECT_EQ(info["vcpus"]["count"], 0);
  EXPECT_EQ(info["storage"], Json::parse(R"({"disks":0,"size":0})"));
  EXPECT_EQ(info["network"], Json::parse(R"({"interfaces":0,"txBandwidth":0,"rxBandwidth":0})"));
  for (const char* list : {"numa", "gpus", "disks", "interfaces"})
    EXPECT_EQ(info["nodes"]["nodeData"][0][list], Json::array()) << list;
}

TEST(HardwareInfoTest, EmptyNodeIdIsRefused) {
  auto info = collectHardwareInfo("");
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code, ErrorCode::kInvalidArgument);
}

// ---- this machine, against independent sources ----

uint64_t memTotalKb() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  while (in >> key >> kb && key != "MemTotal:") in.ignore(256, '\n');
  return kb;
}

struct LsblkDisks {
  size_t count = 0;
  uint64_t bytes = 0;
};

/// lsblk's whole disks, skipping the memory/file-backed ones and empty drives as we do.
std::optional<LsblkDisks> lsblkDisks() {
  FILE* pipe = ::popen("lsblk -b -d -n -o NAME,SIZE,TYPE 2>/dev/null", "r");
  if (!pipe) return std::nullopt;
  LsblkDisks disks;
  std::string output;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  if (::pclose(pipe) != 0) return std::nullopt;
  std::istringstream lines(output);
  std::string name, type;
  uint64_t size = 0;
  while (lines >> name >> size >> type) {
    bool virtual_disk = name.rfind("loop", 0) == 0 || name.rfind("ram", 0) == 0 ||
                        name.rfind("zram", 0) == 0;
    if (type != "disk" || virtual_disk || size == 0) continue;
    ++disks.count;
    disks.bytes += size;
  }
  return disks;
}

class ThisMachineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto info = collectHardwareInfo("host-under-test");
    ASSERT_TRUE(info) << info.error().describe();
    info_ = std::move(*info);
    node_ = info_["nodes"]["nodeData"][0];
  }
  Json info_;
  Json node_;
};

TEST_F(ThisMachineTest, CpusAndMemory) {
  EXPECT_EQ(node_["id"], "host-under-test");
  EXPECT_EQ(info_["vcpus"]["count"], ::sysconf(_SC_NPROCESSORS_ONLN));
  EXPECT_EQ(info_["memory"], memTotalKb() / 1024);
  EXPECT_GE(node_["cpu"]["sockets"].get<int>(), 1);
  EXPECT_GE(node_["cpu"]["cores"].get<int>(), node_["cpu"]["sockets"].get<int>());
  EXPECT_LE(node_["cpu"]["cores"].get<int>(), node_["cpu"]["threads"].get<int>());
  EXPECT_FALSE(node_["cpu"]["model"].get<std::string>().empty());
  EXPECT_FALSE(node_["cpu"]["caches"].empty());
}

TEST_F(ThisMachineTest, DisksMatchLsblk) {
  auto expected = lsblkDisks();
  if (!expected) GTEST_SKIP() << "lsblk unavailable";
  EXPECT_EQ(info_["storage"]["disks"], expected->count);
  EXPECT_EQ(info_["storage"]["size"], expected->bytes / kMiB);
}

TEST_F(ThisMachineTest, InterfacesMatchIfNameindex) {
  std::set<std::string> names;
  if (struct if_nameindex* list = ::if_nameindex()) {
    for (struct if_nameindex* entry = list; entry->if_index != 0; ++entry)
      if (std::string(entry->if_name) != "lo") names.insert(entry->if_name);
    ::if_freenameindex(list);
  }
  EXPECT_EQ(info_["network"]["interfaces"], names.size());
  for (const Json& interface : node_["interfaces"])
    EXPECT_TRUE(names.count(interface["name"].get<std::string>())) << interface.dump();
}

TEST_F(ThisMachineTest, NumaNodesCoverEveryCpu) {
  std::set<int> cpus;
  for (const Json& node : node_["numa"])
    for (const Json& cpu : node["cpus"]) cpus.insert(cpu.get<int>());
  EXPECT_EQ(cpus.size(), static_cast<size_t>(::sysconf(_SC_NPROCESSORS_ONLN)));
  ASSERT_FALSE(node_["numa"].empty());
  EXPECT_GT(node_["numa"][0]["memory"].get<uint64_t>(), 0u);
}

TEST_F(ThisMachineTest, OsIsUname) {
  utsname uts{};
  ASSERT_EQ(::uname(&uts), 0);
  EXPECT_EQ(node_["os"]["kernel"], uts.release);
  EXPECT_EQ(node_["os"]["arch"], uts.machine);
}

TEST(ThisMachineFallbackTest, WithoutHwlocProcAndSysfsStillAnswer) {
  // hwloc reads HWLOC_XMLFILE at load: an XML file that is no topology makes the load fail.
  std::string broken = std::string(EXA_SOURCE_DIR) + "/tests/fixtures/hwinfo/hwloc_broken.xml";
  ASSERT_EQ(::setenv("HWLOC_XMLFILE", broken.c_str(), 1), 0);
  auto info = collectHardwareInfo("no-hwloc");
  ::unsetenv("HWLOC_XMLFILE");
  ASSERT_TRUE(info) << info.error().describe();
  const Json& node = (*info)["nodes"]["nodeData"][0];
  EXPECT_EQ(node["vcpus"]["count"], ::sysconf(_SC_NPROCESSORS_ONLN));
  EXPECT_EQ(node["memory"], memTotalKb() / 1024);
  EXPECT_TRUE(node["cpu"]["caches"].empty());  // only hwloc knows them
  auto sysfs_nodes = readNumaNodes();
  ASSERT_TRUE(sysfs_nodes);
  ASSERT_EQ(node["numa"].size(), sysfs_nodes->size());
  EXPECT_EQ(node["numa"][0]["cpus"], Json((*sysfs_nodes)[0].cpus));
}

}  // namespace
}  // namespace exa::hwinfo
