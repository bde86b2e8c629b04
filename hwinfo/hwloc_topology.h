// HwlocTopology: the one owner of a loaded hwloc topology of this machine. hwloc stays behind
// this header (forward-declared), and its failures come back as Errors.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "hwinfo/machine_facts.h"

struct hwloc_topology;

namespace exa::hwinfo {

class HwlocTopology {
 public:
  /// Discovers this machine, important I/O devices included (GPUs, co-processors). CPUs and
  /// nodes outside this process's cpuset/cgroup count too: the inventory is of the machine.
  static Result<HwlocTopology> load();

  ~HwlocTopology();
  HwlocTopology(HwlocTopology&& other) noexcept;
  HwlocTopology& operator=(HwlocTopology&& other) noexcept;
  HwlocTopology(const HwlocTopology&) = delete;
  HwlocTopology& operator=(const HwlocTopology&) = delete;

  int packages() const;  ///< sockets
  int cores() const;
  int pus() const;  ///< online logical CPUs
  /// Grouped by (level, type, size), ordered by level then type.
  std::vector<CacheFacts> caches() const;
  /// Ordered by node id; cpus are OS indexes, memory the node's local memory.
  std::vector<NumaFacts> numaNodes() const;
  /// One entry per display-class PCI device (0x03xx) with what its OS devices add (model,
  /// vendor, memory from the CUDA/NVML/RSMI/OpenCL/LevelZero backends when built in), then
  /// GPU or co-processor OS devices hwloc could not attach to such a PCI device.
  std::vector<GpuFacts> gpus() const;
  /// The first package's CPUModel / CPUVendor infos; empty when hwloc has none.
  std::string cpuModel() const;
  std::string cpuVendor() const;

 private:
  explicit HwlocTopology(hwloc_topology* topology) : topology_(topology) {}

  hwloc_topology* topology_ = nullptr;
};

}  // namespace exa::hwinfo
