// Cgroup layout detection: parses /proc/self/cgroup and /proc/self/mountinfo into the own-cgroup
// dirs and picks v1 or v2. Called by CgroupTree::create (cgroups.cpp); pure, so tests use fixtures.
#include "sandbox/cgroup_layout.h"

#include <optional>
#include <utility>

namespace exa::sandbox {

namespace cgroup_text {

std::string_view trim(std::string_view s) {
  const size_t first = s.find_first_not_of(" \t\n");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\n") - first + 1);
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  while (true) {
    size_t at = s.find(sep);
    parts.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return parts;
    s.remove_prefix(at + 1);
  }
}

bool hasWord(std::string_view text, std::string_view word) {
  for (std::string_view w : split(trim(text), ' '))
    if (w == word) return true;
  return false;
}

}  // namespace cgroup_text

namespace {

using cgroup_text::hasWord;
using cgroup_text::split;
using cgroup_text::trim;

/// Undoes the \040-style octal escapes of /proc/self/mountinfo paths.
std::string unescapeOctal(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto octal = [&](size_t j) { return j < s.size() && s[j] >= '0' && s[j] <= '7'; };
    if (s[i] == '\\' && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

struct CgroupMount {
  std::string root;   ///< the hierarchy path mounted (not "/" in containers without cgroupns)
  std::string point;  ///< where it is mounted
  bool unified = false;
  std::vector<std::string> options;  ///< super options: v1 controller names are among them
};

/// "36 25 0:31 / /sys/fs/cgroup/memory rw,relatime shared:14 - cgroup cgroup rw,memory"
std::optional<CgroupMount> parseMountLine(std::string_view line) {
  std::vector<std::string_view> fields;
  for (std::string_view f : split(line, ' '))
    if (!f.empty()) fields.push_back(f);
  size_t dash = 6;  // optional fields (shared:N ...) run until a lone "-"
  while (dash < fields.size() && fields[dash] != "-") ++dash;
  if (dash + 3 >= fields.size()) return std::nullopt;
  std::string_view fstype = fields[dash + 1];
  if (fstype != "cgroup" && fstype != "cgroup2") return std::nullopt;
  CgroupMount mount{unescapeOctal(fields[3]), unescapeOctal(fields[4]), fstype == "cgroup2", {}};
  for (std::string_view option : split(fields[dash + 3], ',')) mount.options.emplace_back(option);
  return mount;
}

/// Our cgroup `own_path` as a directory under `mount`; nullopt when the mount does not reach it
/// (a container's mount whose root is beside or below our cgroup).
std::optional<std::string> dirUnder(const CgroupMount& mount, std::string_view own_path) {
  std::string_view rel;
  if (mount.root == "/") {
    rel = own_path;
  } else if (own_path == mount.root) {
    rel = "/";
  } else if (own_path.starts_with(mount.root) && own_path[mount.root.size()] == '/') {
    rel = own_path.substr(mount.root.size());
  } else {
    return std::nullopt;
  }
  return rel == "/" ? mount.point : mount.point + std::string(rel);
}

/// Keeps the first mount that reaches our cgroup, except that a later mount on the same
/// mountpoint replaces it: that one hides the earlier.
void consider(std::map<std::string, std::pair<std::string, std::string>>& found,
              const std::string& key, const CgroupMount& mount, std::optional<std::string> dir) {
  if (!dir) return;
  auto it = found.find(key);
  if (it == found.end() || it->second.second == mount.point) found[key] = {*dir, mount.point};
}

}  // namespace

CgroupMounts findCgroupMounts(std::string_view proc_self_cgroup, std::string_view mountinfo) {
  std::optional<std::string> unified_path;
  std::map<std::string, std::string> v1_paths;  // controller -> our path in its hierarchy
  for (std::string_view line : split(proc_self_cgroup, '\n')) {
    size_t first = line.find(':');
    size_t second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    std::string_view id = line.substr(0, first);
    std::string_view controllers = line.substr(first + 1, second - first - 1);
    std::string path(trim(line.substr(second + 1)));
    if (id == "0" && controllers.empty()) {
      unified_path = path;
      continue;
    }
    for (std::string_view c : split(controllers, ','))
      if (!c.empty()) v1_paths[std::string(c)] = path;
  }

  std::map<std::string, std::pair<std::string, std::string>> found;  // key -> {dir, mountpoint}
  const std::string kUnifiedKey;  // "" never names a v1 controller
  for (std::string_view line : split(mountinfo, '\n')) {
    std::optional<CgroupMount> mount = parseMountLine(line);
    if (!mount) continue;
    if (mount->unified) {
      if (unified_path) consider(found, kUnifiedKey, *mount, dirUnder(*mount, *unified_path));
      continue;
    }
    for (const std::string& option : mount->options) {
      auto path = v1_paths.find(option);
      if (path != v1_paths.end()) consider(found, option, *mount, dirUnder(*mount, path->second));
    }
  }
  CgroupMounts mounts;
  for (auto& [key, dir_and_point] : found) {
    if (key == kUnifiedKey)
      mounts.unified_dir = dir_and_point.first;
    else
      mounts.v1_dirs[key] = dir_and_point.first;
  }
  return mounts;
}

CgroupLayout chooseCgroupLayout(const CgroupMounts& mounts, std::string_view unified_controllers) {
  std::vector<std::string> v2;
  size_t v1_count = 0;
  for (const char* c : kLimitControllers) {
    if (!mounts.unified_dir.empty() && hasWord(unified_controllers, c)) v2.emplace_back(c);
    if (mounts.v1_dirs.count(c) != 0) ++v1_count;
  }
  CgroupLayout layout;
  if (v2.empty() && v1_count == 0) return layout;
  // A controller lives in one hierarchy only, so on a hybrid machine they may be split; take
  // the version holding more of them (v2 on a tie, it is the future) and let rlimits cover
  // the rest.
  if (v2.size() >= v1_count) {
    layout.version = CgroupVersion::kV2;
    layout.unified_dir = mounts.unified_dir;
    for (const std::string& c : v2) layout.controllers[c] = mounts.unified_dir;
    return layout;
  }
  layout.version = CgroupVersion::kV1;
  for (const char* c : kAllControllers)
    if (auto it = mounts.v1_dirs.find(c); it != mounts.v1_dirs.end())
      layout.controllers[c] = it->second;
  return layout;
}

}  // namespace exa::sandbox
