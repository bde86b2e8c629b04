// Gathering MachineFacts: hwloc for the topology (sockets, cores, PUs, caches, NUMA, GPUs),
// /proc for memory and the CPU's identity, /sys for disks and interfaces. One unreadable
// source costs its own fields only.
#include "hwinfo/machine_facts.h"

#include <unistd.h>

#include <numeric>
#include <utility>

#include "common/log.h"
#include "hwinfo/hwloc_topology.h"
#include "hwinfo/sysfs_reader.h"

namespace exa::hwinfo {
namespace {

void applyTopology(const HwlocTopology& topology, MachineFacts& facts) {
  facts.cpu.sockets = topology.packages();
  facts.cpu.cores = topology.cores();
  facts.cpu.threads = topology.pus();
  facts.cpu.caches = topology.caches();
  facts.numa = topology.numaNodes();
  facts.gpus = topology.gpus();
  // ARM's /proc/cpuinfo names neither; hwloc reads them from the device tree or MIDR.
  if (facts.cpu.model.empty()) facts.cpu.model = topology.cpuModel();
  if (facts.cpu.vendor.empty()) facts.cpu.vendor = topology.cpuVendor();
}

/// Without hwloc: NUMA from sysfs, and a machine without NUMA directories is one node holding
/// every CPU and all memory, which is what it is.
void applySysfsTopology(MachineFacts& facts) {
  auto nodes = readNumaNodes();
  if (nodes && !nodes->empty()) {
    facts.numa = std::move(*nodes);
    return;
  }
  if (!nodes) LOG_W("hwinfo: NUMA nodes unreadable: {}", nodes.error().describe());
  NumaFacts node{0, std::vector<int>(static_cast<size_t>(facts.cpu.threads)),
                 facts.mem_total_kb};
  std::iota(node.cpus.begin(), node.cpus.end(), 0);
  facts.numa = {std::move(node)};
}

void readCpuIdentity(MachineFacts& facts) {
  auto cpuinfo = readCpuinfo();
  if (!cpuinfo) {
    LOG_W("hwinfo: CPU model and flags unknown: {}", cpuinfo.error().describe());
    return;
  }
  // Counts too: they stand when hwloc is unavailable and are replaced when it is.
  facts.cpu = std::move(*cpuinfo);
}

void readMemory(MachineFacts& facts) {
  auto meminfo = readMeminfo();
  if (!meminfo) {
    LOG_W("hwinfo: memory and swap reported as 0: {}", meminfo.error().describe());
    return;
  }
  facts.mem_total_kb = meminfo->mem_total_kb;
  facts.swap_total_kb = meminfo->swap_total_kb;
}

void readTopology(MachineFacts& facts) {
  auto topology = HwlocTopology::load();
  if (topology) {
    applyTopology(*topology, facts);
  } else {
    LOG_W("hwinfo: no hwloc topology, using /proc/cpuinfo and sysfs: {}",
          topology.error().describe());
  }
  if (facts.cpu.threads <= 0) {
    long online = ::sysconf(_SC_NPROCESSORS_ONLN);
    facts.cpu.threads = online > 0 ? static_cast<int>(online) : 0;
  }
  if (!topology) applySysfsTopology(facts);
}

void readDevices(MachineFacts& facts) {
  if (auto disks = readDisks()) facts.disks = std::move(*disks);
  else LOG_W("hwinfo: disks unknown: {}", disks.error().describe());
  if (auto interfaces = readInterfaces()) facts.interfaces = std::move(*interfaces);
  else LOG_W("hwinfo: network interfaces unknown: {}", interfaces.error().describe());
}

}  // namespace

MachineFacts collectMachineFacts() {
  MachineFacts facts;
  readMemory(facts);
  readCpuIdentity(facts);
  readTopology(facts);
  facts.os = readOsFacts();
  readDevices(facts);
  return facts;
}

}  // namespace exa::hwinfo
