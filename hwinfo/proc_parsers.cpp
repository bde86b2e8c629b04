// Text parsers for /proc/meminfo, /proc/cpuinfo, os-release and the /sys records we read.
#include "hwinfo/proc_parsers.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <utility>

namespace exa::hwinfo {
namespace {

// The kernel's NR_CPUS tops out at 8192; a list naming more is corrupt, and expanding a hostile
// "0-2000000000" would exhaust memory.
constexpr int kMaxCpuIndex = 65535;

std::string_view trim(std::string_view s) {
  size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  size_t end = s.find_last_not_of(" \t\r\n");
  return s.substr(begin, end - begin + 1);
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t pos; (pos = text.find(sep, start)) != std::string_view::npos; start = pos + 1)
    parts.push_back(text.substr(start, pos - start));
  parts.push_back(text.substr(start));
  return parts;
}

std::vector<std::string_view> words(std::string_view text) {
  std::vector<std::string_view> out;
  for (std::string_view part : split(text, ' '))
    if (auto word = trim(part); !word.empty()) out.push_back(word);
  return out;
}

template <typename Int>
std::optional<Int> parseInt(std::string_view s) {
  s = trim(s);
  Int value{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return value;
}

/// "Key:   value" -> (Key, value), both trimmed; nullopt for a line without a colon.
std::optional<std::pair<std::string_view, std::string_view>> keyValue(std::string_view line) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return std::pair{trim(line.substr(0, colon)), trim(line.substr(colon + 1))};
}

/// "24684084 kB" -> 24684084.
std::optional<uint64_t> kilobytes(std::string_view value) {
  auto parts = words(value);
  if (parts.empty() || (parts.size() == 2 && parts[1] != "kB") || parts.size() > 2)
    return std::nullopt;
  return parseInt<uint64_t>(parts[0]);
}

std::vector<std::string> splitFlags(std::string_view value) {
  std::vector<std::string> flags;
  for (std::string_view word : words(value)) flags.emplace_back(word);
  return flags;
}

bool isModelKey(std::string_view key) {
  // x86 "model name"; 32-bit ARM "Processor"; MIPS "cpu model"; POWER "cpu".
  return key == "model name" || key == "Processor" || key == "cpu model" || key == "cpu";
}

std::string unquote(std::string_view value) {
  if (value.size() < 2 || (value.front() != '"' && value.front() != '\'') ||
      value.back() != value.front())
    return std::string(value);
  bool escapes = value.front() == '"';
  value = value.substr(1, value.size() - 2);
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (escapes && value[i] == '\\' && i + 1 < value.size()) ++i;
    out += value[i];
  }
  return out;
}

bool isOne(std::string_view text) { return trim(text) == "1"; }

}  // namespace

Result<MemInfo> parseMeminfo(std::string_view text) {
  MemInfo info;
  bool have_total = false;
  for (std::string_view line : split(text, '\n')) {
    auto kv = keyValue(line);
    if (!kv || (kv->first != "MemTotal" && kv->first != "SwapTotal")) continue;
    auto kb = kilobytes(kv->second);
    if (!kb) return makeError(ErrorCode::kInvalidArgument, "meminfo: bad value in: " +
                                                               std::string(trim(line)));
    if (kv->first == "MemTotal") {
      info.mem_total_kb = *kb;
      have_total = true;
    } else {
      info.swap_total_kb = *kb;
    }
  }
  if (!have_total) return makeError(ErrorCode::kInvalidArgument, "meminfo: no MemTotal line");
  return info;
}

CpuFacts parseCpuinfo(std::string_view text) {
  CpuFacts cpu;
  std::set<std::string> packages;
  std::set<std::pair<std::string, std::string>> cores;
  std::string package;
  for (std::string_view line : split(text, '\n')) {
    auto kv = keyValue(line);
    if (!kv) continue;
    auto [key, value] = *kv;
    if (key == "processor" && parseInt<int>(value)) ++cpu.threads;
    else if (key == "physical id") packages.insert(package = std::string(value));
    else if (key == "core id") cores.emplace(package, value);
    else if (isModelKey(key) && cpu.model.empty()) cpu.model = value;
    else if ((key == "vendor_id" || key == "CPU implementer") && cpu.vendor.empty())
      cpu.vendor = value;
    else if ((key == "flags" || key == "Features") && cpu.flags.empty())
      cpu.flags = splitFlags(value);
  }
  cpu.sockets = static_cast<int>(packages.size());
  cpu.cores = static_cast<int>(cores.size());
  return cpu;
}

std::map<std::string, std::string> parseOsRelease(std::string_view text) {
  std::map<std::string, std::string> fields;
  for (std::string_view line : split(text, '\n')) {
    line = trim(line);
    size_t eq = line.find('=');
    if (line.empty() || line.front() == '#' || eq == std::string_view::npos || eq == 0) continue;
    fields[std::string(line.substr(0, eq))] = unquote(trim(line.substr(eq + 1)));
  }
  return fields;
}

std::string prettyOsName(const std::map<std::string, std::string>& os_release) {
  for (const char* key : {"PRETTY_NAME", "NAME"})
    if (auto it = os_release.find(key); it != os_release.end() && !it->second.empty())
      return it->second;
  return "Linux";
}

Result<NodeMemInfo> parseNodeMeminfo(std::string_view text) {
  for (std::string_view line : split(text, '\n')) {
    auto parts = words(line);
    if (parts.size() < 4 || parts[0] != "Node" || parts[2] != "MemTotal:") continue;
    auto node = parseInt<int>(parts[1]);
    auto kb = parseInt<uint64_t>(parts[3]);
    if (!node || !kb || (parts.size() == 5 && parts[4] != "kB") || parts.size() > 5) break;
    return NodeMemInfo{*node, *kb};
  }
  return makeError(ErrorCode::kInvalidArgument, "node meminfo: no valid \"Node N MemTotal\" line");
}

Result<std::vector<int>> parseCpuList(std::string_view text) {
  std::set<int> cpus;
  text = trim(text);
  if (text.empty()) return std::vector<int>{};  // a memory-only node has no CPUs
  for (std::string_view item : split(text, ',')) {
    auto bounds = split(item, '-');
    auto first = parseInt<int>(bounds[0]);
    auto last = bounds.size() == 2 ? parseInt<int>(bounds[1]) : first;
    if (bounds.size() > 2 || !first || !last || *first < 0 || *last < *first ||
        *last > kMaxCpuIndex)
      return makeError(ErrorCode::kInvalidArgument,
                       "cpu list: bad item \"" + std::string(item) + "\"");
    for (int cpu = *first; cpu <= *last; ++cpu) cpus.insert(cpu);
  }
  return std::vector<int>(cpus.begin(), cpus.end());
}

bool isVirtualBlockDevice(std::string_view name) {
  for (std::string_view prefix : {"loop", "ram", "zram", "dm-", "md", "sr"})
    if (name.substr(0, prefix.size()) == prefix) return true;
  return false;
}

std::optional<DiskFacts> parseBlockDevice(const BlockDeviceRecord& record) {
  if (isVirtualBlockDevice(record.name)) return std::nullopt;
  uint64_t sectors = parseInt<uint64_t>(record.size_sectors).value_or(0);
  if (sectors == 0) return std::nullopt;
  return DiskFacts{record.name, sectors * 512, isOne(record.rotational), isOne(record.removable)};
}

std::optional<InterfaceFacts> parseNetDevice(const NetDeviceRecord& record) {
  if (record.name == "lo") return std::nullopt;
  int64_t speed = parseInt<int64_t>(record.speed).value_or(0);
  return InterfaceFacts{record.name, std::string(trim(record.address)), std::max<int64_t>(speed, 0),
                        parseInt<int>(record.mtu).value_or(0)};
}

}  // namespace exa::hwinfo
