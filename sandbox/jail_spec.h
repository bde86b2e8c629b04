// What one worker's jail needs, as plain data, in two parts (DESIGN.md §3, pre-jailed spares):
// JailSpec is fixed when the worker is cloned (the agent sends it to the zygote as JSON);
// JailLimits and the code arrive later, in the handoff, when the worker is given a policy.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace exa::sandbox {

struct JailSpec {
  uid_t outside_uid = 0;  ///< unprivileged host uid the worker's root maps to; one per worker
  gid_t outside_gid = 0;
  std::string root_mountpoint;             ///< empty host dir; the new root tmpfs mounts on it
  std::vector<std::string> runtime_paths;  ///< read-only binds, same path inside (Python, libs)
  uint64_t code_max_bytes = 32ull << 20;   ///< size of the /policy tmpfs
  uint32_t code_max_files = 2048;
  std::string hostname = "policy-sandbox";
  /// Share the host's network namespace instead of an empty one. Only for the requirements
  /// downloader, which runs Debian's pip and never policy code (docs/policies.md).
  bool host_network = false;
};

struct JailLimits {
  uint64_t tmp_bytes = 16ull << 20;  ///< /tmp tmpfs size (charged to the memory cgroup)
  uint64_t tmp_inodes = 1024;
  uint64_t rlimit_nofile = 256;
  uint64_t rlimit_nproc = 64;        ///< per outside uid: each worker has its own uid
  uint64_t rlimit_fsize = 16ull << 20;
  uint64_t rlimit_as = 0;            ///< 0: none (the memory cgroup is the limit)
};

std::string toJson(const JailSpec& spec);
Result<JailSpec> jailSpecFromJson(std::string_view text);
std::string toJson(const JailLimits& limits);
Result<JailLimits> jailLimitsFromJson(std::string_view text);

}  // namespace exa::sandbox
