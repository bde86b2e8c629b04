// MachineFacts: what one machine is made of, in raw units (kB, bytes, Mbit/s), gathered from
// hwloc, /proc and /sys. The registration JSON (hardware_info.h) is shaped from these alone, so
// the shaping can be tested on made-up machines.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace exa::hwinfo {

struct CacheFacts {
  int level = 0;       ///< 1 for L1, 2 for L2...
  std::string type;    ///< "data", "instruction" or "unified"
  uint64_t size_kb = 0;  ///< one instance's size, KiB
  int count = 0;       ///< instances of this level/type/size on the machine
};

struct CpuFacts {
  std::string model;   ///< "Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz"; empty when unknown
  std::string vendor;  ///< "GenuineIntel", "AuthenticAMD"; empty when unknown
  std::vector<std::string> flags;
  int sockets = 0;  ///< 0 = unknown
  int cores = 0;    ///< physical cores over all sockets; 0 = unknown
  int threads = 0;  ///< online logical CPUs (PUs), the seed's vcpus
  std::vector<CacheFacts> caches;
};

struct NumaFacts {
  int id = 0;             ///< the kernel's node number (nodeN)
  std::vector<int> cpus;  ///< OS indexes of the node's online logical CPUs
  uint64_t memory_kb = 0;  ///< the node's local memory
};

struct GpuFacts {
  std::string model;   ///< driver-reported name, else "PCI vvvv:dddd"
  std::string vendor;  ///< driver-reported name, else one known from the PCI vendor id
  std::optional<uint64_t> memory_kb;  ///< only when a GPU backend of hwloc reported it
  std::string pci_bus_id;  ///< "0000:3b:00.0"; empty for a device without PCI locality
};

struct OsFacts {
  std::string name;    ///< PRETTY_NAME of os-release
  std::string kernel;  ///< uname release
  std::string arch;    ///< uname machine
};

struct DiskFacts {
  std::string name;  ///< /sys/block entry, e.g. "nvme0n1"
  uint64_t size_bytes = 0;
  bool rotational = false;
  bool removable = false;
};

struct InterfaceFacts {
  std::string name;
  std::string mac;      ///< "aa:bb:cc:dd:ee:ff"; empty when the device has none
  int64_t speed_mbps = 0;  ///< link speed; 0 when down, virtual or unreported
  int mtu = 0;
};

struct MachineFacts {
  CpuFacts cpu;
  uint64_t mem_total_kb = 0;   ///< /proc/meminfo MemTotal
  uint64_t swap_total_kb = 0;  ///< /proc/meminfo SwapTotal
  std::vector<NumaFacts> numa;
  std::vector<GpuFacts> gpus;
  OsFacts os;
  std::vector<DiskFacts> disks;
  std::vector<InterfaceFacts> interfaces;
};

/// Reads this machine. Never fails: a source that cannot be read is logged and left at zero or
/// empty, and hwloc's absence falls back to /proc/cpuinfo and /sys/devices/system/node.
MachineFacts collectMachineFacts();

}  // namespace exa::hwinfo
