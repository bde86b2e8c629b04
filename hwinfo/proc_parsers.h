// Parsers for the text of /proc and /sys files the inventory reads. Pure: they take the text
// (or a record of texts) and never touch the filesystem, so fixtures can test them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "hwinfo/machine_facts.h"

namespace exa::hwinfo {

struct MemInfo {
  uint64_t mem_total_kb = 0;
  uint64_t swap_total_kb = 0;
};

/// /proc/meminfo. MemTotal is required; a missing SwapTotal counts as no swap.
Result<MemInfo> parseMeminfo(std::string_view text);

/// /proc/cpuinfo: model, vendor and flags of the first processor; threads = processor entries,
/// sockets = distinct "physical id", cores = distinct (physical id, core id). Fields the
/// architecture does not print (ARM has no physical id) stay 0 or empty. Caches stay empty.
CpuFacts parseCpuinfo(std::string_view text);

/// /etc/os-release: KEY=value lines, values unquoted and unescaped; comments skipped.
std::map<std::string, std::string> parseOsRelease(std::string_view text);
/// PRETTY_NAME, else NAME, else "Linux" (os-release(5)'s default).
std::string prettyOsName(const std::map<std::string, std::string>& os_release);

struct NodeMemInfo {
  int node = 0;
  uint64_t mem_total_kb = 0;
};

/// /sys/devices/system/node/nodeN/meminfo ("Node 0 MemTotal:  16318412 kB").
Result<NodeMemInfo> parseNodeMeminfo(std::string_view text);

/// A kernel cpu list ("0-3,8,10-11", as in nodeN/cpulist), ascending and without duplicates.
Result<std::vector<int>> parseCpuList(std::string_view text);

/// The raw texts of one /sys/block/<name> entry; an unreadable file is an empty text.
struct BlockDeviceRecord {
  std::string name;
  std::string size_sectors;  ///< size: always in 512-byte sectors, whatever the block size
  std::string removable;     ///< removable: "0" or "1"
  std::string rotational;    ///< queue/rotational: "0" or "1"
};

/// Names of block devices that are not disks: loop, ram, zram (memory or file backed), dm- and
/// md (views over other disks, which would count their space twice) and sr (optical drives).
bool isVirtualBlockDevice(std::string_view name);

/// The disk a record describes, or nullopt when it is virtual (see above) or has no medium
/// (size 0, e.g. an empty card reader).
std::optional<DiskFacts> parseBlockDevice(const BlockDeviceRecord& record);

/// The raw texts of one /sys/class/net/<name> entry; an unreadable file is an empty text.
struct NetDeviceRecord {
  std::string name;
  std::string address;  ///< address
  std::string speed;    ///< speed, Mbit/s; "-1" or unreadable (EINVAL) when the link is down
  std::string mtu;      ///< mtu
};

/// The interface a record describes, or nullopt for the loopback device "lo".
std::optional<InterfaceFacts> parseNetDevice(const NetDeviceRecord& record);

}  // namespace exa::hwinfo
