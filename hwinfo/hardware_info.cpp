// MachineFacts -> the seed's executor_hardware_info document.
#include "hwinfo/hardware_info.h"

#include <cstdint>

namespace exa::hwinfo {
namespace {

constexpr uint64_t kKiBPerMiB = 1024;
constexpr uint64_t kBytesPerMiB = 1024 * 1024;

uint64_t storageBytes(const MachineFacts& facts) {
  uint64_t total = 0;
  for (const DiskFacts& disk : facts.disks) total += disk.size_bytes;
  return total;
}

/// Links are full duplex, so one speed is both directions' capacity.
int64_t linkMbps(const MachineFacts& facts) {
  int64_t total = 0;
  for (const InterfaceFacts& interface : facts.interfaces) total += interface.speed_mbps;
  return total;
}

/// The seed's per-node and cluster-level fields, in the seed's order; with one machine the
/// cluster's totals are this same object.
void addSeedTotals(const MachineFacts& facts, Json& out) {
  out["vcpus"] = {{"count", facts.cpu.threads}};
  out["memory"] = facts.mem_total_kb / kKiBPerMiB;
  out["swap"] = facts.swap_total_kb / kKiBPerMiB;
  out["storage"] = {{"disks", facts.disks.size()},
                    {"size", storageBytes(facts) / kBytesPerMiB}};
  int64_t mbps = linkMbps(facts);
  out["network"] = {{"interfaces", facts.interfaces.size()},
                    {"txBandwidth", mbps},
                    {"rxBandwidth", mbps}};
}

Json cpuJson(const CpuFacts& cpu) {
  Json caches = Json::array();
  for (const CacheFacts& cache : cpu.caches)
    caches.push_back({{"level", cache.level},
                      {"type", cache.type},
                      {"size_kb", cache.size_kb},
                      {"count", cache.count}});
  return {{"model", cpu.model},     {"vendor", cpu.vendor}, {"flags", cpu.flags},
          {"sockets", cpu.sockets}, {"cores", cpu.cores},   {"threads", cpu.threads},
          {"caches", std::move(caches)}};
}

Json numaJson(const std::vector<NumaFacts>& nodes) {
  Json out = Json::array();
  for (const NumaFacts& node : nodes)
    out.push_back({{"id", node.id}, {"cpus", node.cpus}, {"memory", node.memory_kb / kKiBPerMiB}});
  return out;
}

Json gpusJson(const std::vector<GpuFacts>& gpus) {
  Json out = Json::array();
  for (const GpuFacts& gpu : gpus) {
    Json entry = {{"model", gpu.model}, {"vendor", gpu.vendor}};
    if (gpu.memory_kb) entry["memory"] = *gpu.memory_kb / kKiBPerMiB;
    entry["pci_bus_id"] = gpu.pci_bus_id;
    out.push_back(std::move(entry));
  }
  return out;
}

Json disksJson(const std::vector<DiskFacts>& disks) {
  Json out = Json::array();
  for (const DiskFacts& disk : disks)
    out.push_back({{"name", disk.name},
                   {"size", disk.size_bytes / kBytesPerMiB},
                   {"rotational", disk.rotational},
                   {"removable", disk.removable}});
  return out;
}

Json interfacesJson(const std::vector<InterfaceFacts>& interfaces) {
  Json out = Json::array();
  for (const InterfaceFacts& interface : interfaces)
    out.push_back({{"name", interface.name},
                   {"mac", interface.mac},
                   {"speed_mbps", interface.speed_mbps},
                   {"mtu", interface.mtu}});
  return out;
}

Json nodeJson(const MachineFacts& facts, const std::string& node_id) {
  Json node = Json::object();
  node["id"] = node_id;
  addSeedTotals(facts, node);
  node["cpu"] = cpuJson(facts.cpu);
  node["numa"] = numaJson(facts.numa);
  node["gpus"] = gpusJson(facts.gpus);
  node["os"] = {{"name", facts.os.name}, {"kernel", facts.os.kernel}, {"arch", facts.os.arch}};
  node["disks"] = disksJson(facts.disks);
  node["interfaces"] = interfacesJson(facts.interfaces);
  return node;
}

}  // namespace

Json buildHardwareInfo(const MachineFacts& facts, const std::string& node_id) {
  Json info = Json::object();
  info["nodes"] = {{"count", 1}, {"nodeData", Json::array({nodeJson(facts, node_id)})}};
  addSeedTotals(facts, info);
  info["id"] = node_id;
  return info;
}

Result<Json> collectHardwareInfo(const std::string& node_id) {
  if (node_id.empty())
    return makeError(ErrorCode::kInvalidArgument, "hardware info: empty node id");
  return buildHardwareInfo(collectMachineFacts(), node_id);
}

}  // namespace exa::hwinfo
