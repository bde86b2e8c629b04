// Unpacks a policy's code archive (zip, tar, tar.gz, tar.xz) with libarchive into a fresh
// directory, refusing anything that could escape it or exhaust the disk. Called by the code
// fetcher before a policy's tree enters the cache; the fuzz target drives it from memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/result.h"

namespace exa::policies {

struct UnpackLimits {
  uint32_t max_entries = 4096;
  uint64_t max_total_bytes = 256ull << 20;  ///< expanded bytes, counted while writing (headers lie)
  uint64_t max_file_bytes = 64ull << 20;
  uint32_t max_path_depth = 32;
};

struct UnpackReport {
  uint32_t files = 0;
  uint32_t dirs = 0;  ///< directories created, explicit entries and implied parents alike
  uint64_t bytes = 0;
  std::string format;  ///< "zip", "tar", "tar.gz" or "tar.xz"
};

/// Unpacks a zip, tar.gz or tar.xz (sniffed by content, not by name; plain tar too) into
/// `dest_dir` (an existing empty directory). Only regular files and directories are created.
/// Refused, with an error naming the entry: absolute paths, any ".." segment, names with control
/// characters, over-deep paths, every symlink and hardlink (policy code never needs one, and an
/// in-tree link would still be followed later by whoever copies or imports the tree), devices,
/// FIFOs, sockets, encrypted or sparse entries, a file over max_file_bytes, a total over
/// max_total_bytes, more than max_entries entries, and a second entry for an existing file.
/// Modes, owners, times and xattrs of the archive are ignored: files are 0644 (the x bit is
/// dropped; Python imports policy code, nothing executes it) and directories 0755, so setuid,
/// setgid and sticky bits are stripped rather than refused (archives made from a setgid checkout
/// carry g+s on every directory, and it can never take effect here).
/// Every file is created with openat(O_CREAT|O_EXCL|O_NOFOLLOW) under directory fds opened with
/// O_NOFOLLOW, never through a path. On error the tree may be partly written, always inside
/// `dest_dir`; the caller deletes it.
Result<UnpackReport> unpackArchive(const std::string& archive_path, const std::string& dest_dir,
                                   const UnpackLimits& limits);

/// Same, from memory (the fuzz target uses it).
Result<UnpackReport> unpackArchiveMemory(const void* data, size_t size, const std::string& dest_dir,
                                         const UnpackLimits& limits);

/// The seed's layout keeps the policy in code/function.py; a bare function.py at the root is
/// accepted too (code/ wins when both exist). Returns the directory holding function.py, or an
/// error listing what the archive's top level (and code/, when present) held instead.
Result<std::string> findPolicyRoot(const std::string& unpacked_dir);

}  // namespace exa::policies
