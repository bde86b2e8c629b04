// CodeTree: a policy's code read into memory by the zygote (as root, before the fork) and
// written into the jail's /policy by the worker (as its own uid, after the fork). The worker
// therefore never needs access to the host path, which may sit under a 0700 home directory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace exa::sandbox {

struct CodeEntry {
  std::string path;  ///< relative, '/'-separated, never ".." or absolute
  bool is_dir = false;
  std::string content;
};

struct CodeTree {
  std::vector<CodeEntry> entries;  ///< parents before children
};

/// Reads regular files and directories under `dir`; symlinks and special files are skipped, so
/// nothing in the copy can point back at the host. kResourceExhausted past either cap.
Result<CodeTree> readCodeTree(const std::string& dir, uint64_t max_bytes, uint32_t max_entries);

/// Writes the tree under `target` (an existing directory), files read-only.
Status writeCodeTree(const CodeTree& tree, const std::string& target);

}  // namespace exa::sandbox
