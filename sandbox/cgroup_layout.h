// Which cgroup hierarchies hold this process (v1 controllers, cgroup2, or both), parsed from /proc
// text with no I/O. CgroupTree::create (cgroups.cpp) calls it; tests feed it fixture text.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace exa::sandbox {

enum class CgroupVersion { kNone, kV1, kV2 };

/// The controllers whose limits we write, in the order CgroupTree::describe() lists them.
inline constexpr const char* kLimitControllers[] = {"memory", "pids", "cpu"};
/// As above plus cpuacct (v1 only), which carries no limit; it is there to measure CPU time.
inline constexpr const char* kAllControllers[] = {"memory", "pids", "cpu", "cpuacct"};

/// Where this process's own cgroups are mounted, from /proc/self/cgroup and /proc/self/mountinfo.
struct CgroupMounts {
  std::string unified_dir;  ///< own cgroup dir in the cgroup2 hierarchy, "" when unreachable
  std::map<std::string, std::string> v1_dirs;  ///< v1 controller -> own cgroup dir in its mount
};

/// The controllers we use and the own-cgroup dir that holds each one.
struct CgroupLayout {
  CgroupVersion version = CgroupVersion::kNone;
  /// Subset of "memory", "pids", "cpu", "cpuacct" (v1 only) -> own cgroup dir.
  std::map<std::string, std::string> controllers;
  std::string unified_dir;  ///< v2: own cgroup dir, set even when no controller is available
};

/// Pure parser (no I/O) so that v1, hybrid and pure-v2 layouts can be tested on any machine.
CgroupMounts findCgroupMounts(std::string_view proc_self_cgroup, std::string_view mountinfo);
/// Picks v2 or v1 by which offers more of memory/pids/cpu (v2 on a tie); `unified_controllers`
/// is the text of <unified_dir>/cgroup.controllers.
CgroupLayout chooseCgroupLayout(const CgroupMounts& mounts, std::string_view unified_controllers);

/// Text helpers for /proc and cgroup files, shared with cgroups.cpp.
namespace cgroup_text {
/// `s` without leading and trailing spaces, tabs and newlines.
std::string_view trim(std::string_view s);
/// Every field between `sep`s, empty ones included ("a,,b" -> "a", "", "b").
std::vector<std::string_view> split(std::string_view s, char sep);
/// For one-line word lists: cgroup.controllers, cgroup.subtree_control.
bool hasWord(std::string_view text, std::string_view word);
}  // namespace cgroup_text

}  // namespace exa::sandbox
