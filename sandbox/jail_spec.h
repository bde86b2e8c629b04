// JailSpec: everything one worker's jail needs, as plain data. The agent fills it, the zygote
// receives it as JSON with each spawn request, and the child applies it in enterJail().
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
  std::string code_dir;                    ///< host dir, read by the zygote, copied to /policy
  uint64_t code_max_bytes = 32ull << 20;   ///< refuse larger code trees
  uint32_t code_max_files = 2048;
  uint64_t tmp_bytes = 16ull << 20;        ///< /tmp tmpfs size (charged to the memory cgroup)
  uint64_t tmp_inodes = 1024;
  uint64_t rlimit_nofile = 256;
  uint64_t rlimit_nproc = 64;              ///< per outside uid: each worker has its own uid
  uint64_t rlimit_fsize = 16ull << 20;
  uint64_t rlimit_as = 0;                  ///< 0: none (the memory cgroup is the limit)
  std::string hostname = "policy-sandbox";
};

std::string toJson(const JailSpec& spec);
Result<JailSpec> jailSpecFromJson(std::string_view text);

}  // namespace exa::sandbox
