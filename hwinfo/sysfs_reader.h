// Reads /proc, /sys and os-release into the proc_parsers.h parsers. The directory arguments
// exist so that a test or a container with a relocated /sys can point elsewhere.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "hwinfo/machine_facts.h"
#include "hwinfo/proc_parsers.h"

namespace exa::hwinfo {

/// The whole file; the error names the path and keeps errno.
Result<std::string> readTextFile(const std::string& path);

Result<MemInfo> readMeminfo(const std::string& path = "/proc/meminfo");
Result<CpuFacts> readCpuinfo(const std::string& path = "/proc/cpuinfo");

/// os-release (/etc, else /usr/lib) and uname(2). Never fails; an unreadable os-release is
/// logged and named "Linux".
OsFacts readOsFacts();

/// Whole disks under /sys/block (partitions live below their disk, not there), sorted by name,
/// virtual and empty devices skipped (isVirtualBlockDevice, parseBlockDevice).
Result<std::vector<DiskFacts>> readDisks(const std::string& sys_block = "/sys/block");

/// Every interface of /sys/class/net but "lo", sorted by name.
Result<std::vector<InterfaceFacts>> readInterfaces(const std::string& sys_net = "/sys/class/net");

/// The nodeN directories: id, cpulist and "Node N MemTotal", sorted by id.
Result<std::vector<NumaFacts>> readNumaNodes(
    const std::string& node_dir = "/sys/devices/system/node");

}  // namespace exa::hwinfo
