// Small IO around the pure parsers: one read per file, no parsing here.
#include "hwinfo/sysfs_reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <memory>

#include "common/log.h"
#include "common/syscall.h"
#include "common/unique_fd.h"

namespace exa::hwinfo {
namespace {

struct DirCloser {
  void operator()(DIR* dir) const { ::closedir(dir); }
};

/// Entry names of `dir` (no "." or ".."), sorted so that the inventory's order is stable.
Result<std::vector<std::string>> listDir(const std::string& dir) {
  std::unique_ptr<DIR, DirCloser> handle(::opendir(dir.c_str()));
  if (!handle) return sysError("opendir(" + dir + ")", ErrorCode::kNotFound);
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(handle.get())) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  return names;
}

/// The file's text, or "" when it cannot be read: several sysfs attributes legitimately fail
/// (speed of a link that is down answers EINVAL).
std::string readOrEmpty(const std::string& path) {
  auto text = readTextFile(path);
  return text ? std::move(*text) : std::string();
}

/// "node12" -> 12; nullopt for the other entries of the node directory (possible, online...).
std::optional<int> nodeNumber(const std::string& name) {
  if (name.size() <= 4 || name.compare(0, 4, "node") != 0) return std::nullopt;
  int id = 0;
  auto [end, ec] = std::from_chars(name.data() + 4, name.data() + name.size(), id);
  if (ec != std::errc() || end != name.data() + name.size() || id < 0) return std::nullopt;
  return id;
}

Result<NumaFacts> readNumaNode(const std::string& dir, int id) {
  EXA_ASSIGN_OR_RETURN(std::string meminfo, readTextFile(dir + "/meminfo"));
  EXA_ASSIGN_OR_RETURN(NodeMemInfo mem, parseNodeMeminfo(meminfo));
  EXA_ASSIGN_OR_RETURN(std::string cpulist, readTextFile(dir + "/cpulist"));
  EXA_ASSIGN_OR_RETURN(std::vector<int> cpus, parseCpuList(cpulist));
  if (mem.node != id)
    return makeError(ErrorCode::kInvalidArgument, dir + "/meminfo describes node " +
                                                      std::to_string(mem.node));
  return NumaFacts{id, std::move(cpus), mem.mem_total_kb};
}

}  // namespace

Result<std::string> readTextFile(const std::string& path) {
  UniqueFd fd(retryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!fd) return sysError("open(" + path + ")", ErrorCode::kNotFound);
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = retryEintr([&] { return ::read(fd.get(), buf, sizeof buf); });
    if (n < 0) return sysError("read(" + path + ")");
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
  }
}

Result<MemInfo> readMeminfo(const std::string& path) {
  EXA_ASSIGN_OR_RETURN(std::string text, readTextFile(path));
  return parseMeminfo(text);
}

Result<CpuFacts> readCpuinfo(const std::string& path) {
  EXA_ASSIGN_OR_RETURN(std::string text, readTextFile(path));
  return parseCpuinfo(text);
}

OsFacts readOsFacts() {
  OsFacts os;
  auto text = readTextFile("/etc/os-release");
  if (!text) text = readTextFile("/usr/lib/os-release");
  if (!text) LOG_W("hwinfo: no os-release: {}", text.error().describe());
  os.name = prettyOsName(parseOsRelease(text ? *text : std::string()));
  utsname uts{};
  if (::uname(&uts) == 0) {
    os.kernel = uts.release;
    os.arch = uts.machine;
  } else {
    LOG_W("hwinfo: {}", sysError("uname").describe());
  }
  return os;
}

Result<std::vector<DiskFacts>> readDisks(const std::string& sys_block) {
  EXA_ASSIGN_OR_RETURN(std::vector<std::string> names, listDir(sys_block));
  std::vector<DiskFacts> disks;
  for (const std::string& name : names) {
    if (isVirtualBlockDevice(name)) continue;
    std::string dir = sys_block + "/" + name;
    BlockDeviceRecord record{name, "", readOrEmpty(dir + "/removable"),
                             readOrEmpty(dir + "/queue/rotational")};
    if (auto size = readTextFile(dir + "/size")) record.size_sectors = std::move(*size);
    else LOG_W("hwinfo: disk {} skipped: {}", name, size.error().describe());
    if (auto disk = parseBlockDevice(record)) disks.push_back(std::move(*disk));
  }
  return disks;
}

Result<std::vector<InterfaceFacts>> readInterfaces(const std::string& sys_net) {
  EXA_ASSIGN_OR_RETURN(std::vector<std::string> names, listDir(sys_net));
  std::vector<InterfaceFacts> interfaces;
  for (const std::string& name : names) {
    std::string dir = sys_net + "/" + name;
    NetDeviceRecord record{name, readOrEmpty(dir + "/address"), readOrEmpty(dir + "/speed"),
                           readOrEmpty(dir + "/mtu")};
    if (auto interface = parseNetDevice(record)) interfaces.push_back(std::move(*interface));
  }
  return interfaces;
}

Result<std::vector<NumaFacts>> readNumaNodes(const std::string& node_dir) {
  EXA_ASSIGN_OR_RETURN(std::vector<std::string> names, listDir(node_dir));
  std::vector<NumaFacts> nodes;
  for (const std::string& name : names) {
    auto id = nodeNumber(name);
    if (!id) continue;
    EXA_ASSIGN_OR_RETURN(NumaFacts node, readNumaNode(node_dir + "/" + name, *id));
    nodes.push_back(std::move(node));
  }
  // Listing order is by name, so node10 would precede node2.
  std::sort(nodes.begin(), nodes.end(), [](auto& a, auto& b) { return a.id < b.id; });
  return nodes;
}

}  // namespace exa::hwinfo
