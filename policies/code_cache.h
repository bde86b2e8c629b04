// CodeCache: policy code, from a URL or a local archive to an unpacked tree on disk, keyed by the
// archive's sha256 (content-addressed). One download and one unpack per digest, shared by every
// policy that uses it; concurrent requests for the same URL or digest wait for the one in flight;
// a tree only becomes visible by an atomic rename once complete, so a crash mid-unpack never
// leaves a half tree that is later loaded.
//
//   <root>/objects/<sha256>/      complete trees (the archive's content)
//   <root>/staging/               unpacks in progress (emptied at start: leftovers of a crash)
//   <root>/downloads/             archives being fetched
#pragma once

#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/result.h"
#include "policies/archive_extractor.h"
#include "policies/code_fetcher.h"

namespace exa::policies {

/// Installs `code_dir`/requirements.txt into `deps_dir`; returns a note for the logs.
using InstallRequirements =
    std::function<Result<std::string>(const std::string& code_dir, const std::string& deps_dir)>;

struct CodeCacheOptions {
  std::string root;  ///< e.g. /var/lib/executor-agent/code
  FetchOptions fetch;
  UnpackLimits unpack;
  /// Runs before a tree is published, so a tree is never visible without its requirements.
  /// Unset: requirements.txt is refused (nothing would satisfy it).
  InstallRequirements install_requirements;
  /// URLs the owner can answer from disk (the agent's own assets): the file, or nothing.
  std::function<std::optional<std::string>(const std::string& url)> local_file;
};

struct CachedCode {
  std::string digest;    ///< sha256 of the archive
  std::string tree_dir;  ///< <root>/objects/<digest>
  std::string code_dir;  ///< the directory holding function.py (tree_dir or tree_dir/code)
};

struct CodeCacheStats {
  uint64_t downloads = 0;
  uint64_t unpacks = 0;
  uint64_t hits = 0;
};

class CodeCache {
 public:
  /// Creates the layout and clears what a crash left in staging/ and downloads/.
  static Result<std::unique_ptr<CodeCache>> open(CodeCacheOptions options);

  /// `source` is an http(s) or file URL, or a local archive path. With `expected_sha256` the
  /// content is pinned: a cached tree is used without any download, and a download that hashes
  /// differently is refused. Unpinned URLs are fetched once per CodeCache lifetime.
  Result<CachedCode> get(const std::string& source, std::string_view expected_sha256 = {});

  CodeCacheStats stats() const;

 private:
  explicit CodeCache(CodeCacheOptions options) : options_(std::move(options)) {}
  Result<std::string> digestOf(const std::string& source, std::string_view expected_sha256);
  Result<std::string> fetch(const std::string& url);
  Result<CachedCode> unpackOnce(const std::string& digest, const std::string& archive_path);
  Result<CachedCode> unpack(const std::string& digest, const std::string& archive_path);
  Result<CachedCode> lookup(const std::string& digest) const;
  Status installRequirements(const std::string& code_dir);

  CodeCacheOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_future<Result<std::string>>> fetches_;    // url -> digest
  std::map<std::string, std::shared_future<Result<CachedCode>>> unpacks_;    // digest -> tree
  std::map<std::string, std::string> archives_;  // digest -> downloaded archive path
  CodeCacheStats stats_;
};

}  // namespace exa::policies
