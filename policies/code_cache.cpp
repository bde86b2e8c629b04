// Content-addressed code cache with single-flight fetches and unpacks, and atomic publication.
#include "policies/code_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>

#include "common/log.h"
#include "policies/requirements.h"
#include "policies/sha256.h"

namespace exa::policies {
namespace {

namespace fs = std::filesystem;

bool isUrl(const std::string& source) { return source.find("://") != std::string::npos; }

bool isSha256Hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// Unique within this process and across processes sharing the cache root.
std::string uniqueSuffix() {
  static std::atomic<uint64_t> counter{0};
  return std::to_string(::getpid()) + "." + std::to_string(counter++);
}

Status makeDir(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return makeError(ErrorCode::kInternal, "mkdir(" + path + "): " + ec.message());
  ::chmod(path.c_str(), 0755);
  return {};
}

void removeTree(const std::string& path) {
  std::error_code ignored;
  fs::remove_all(path, ignored);
}

// Runs `work` once per key among concurrent callers; the others wait for its result.
template <typename T, typename Work>
Result<T> singleFlight(std::mutex& mutex, std::map<std::string, std::shared_future<Result<T>>>& flights,
                       const std::string& key, bool keep, Work&& work) {
  std::promise<Result<T>> promise;
  std::shared_future<Result<T>> future;
  bool leader = false;
  {
    std::lock_guard lock(mutex);
    auto it = flights.find(key);
    if (it != flights.end()) {
      future = it->second;
    } else {
      future = promise.get_future().share();
      flights.emplace(key, future);
      leader = true;
    }
  }
  if (leader) {
    Result<T> result = work();
    {
      std::lock_guard lock(mutex);
      // Failures are never remembered: the next caller tries again.
      if (!keep || !result) flights.erase(key);
    }
    promise.set_value(std::move(result));
  }
  return future.get();
}

}  // namespace

Result<std::unique_ptr<CodeCache>> CodeCache::open(CodeCacheOptions options) {
  for (const char* sub : {"/objects", "/staging", "/downloads"})
    EXA_TRY(makeDir(options.root + sub));
  // Whatever is in staging/ or downloads/ now was left by a process that died mid-way.
  for (const char* sub : {"/staging", "/downloads"}) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(options.root + sub, ec)) removeTree(entry.path());
  }
  return std::unique_ptr<CodeCache>(new CodeCache(std::move(options)));
}

Result<CachedCode> CodeCache::get(const std::string& source, std::string_view expected_sha256) {
  if (!expected_sha256.empty()) {
    if (!isSha256Hex(expected_sha256))
      return makeError(ErrorCode::kInvalidArgument,
                       "code_sha256 must be 64 lowercase hex digits, got \"" +
                           std::string(expected_sha256) + "\"");
    if (auto hit = lookup(std::string(expected_sha256))) {
      std::lock_guard lock(mutex_);
      ++stats_.hits;
      return hit;
    }
  }
  EXA_ASSIGN_OR_RETURN(std::string digest, digestOf(source, expected_sha256));
  if (auto hit = lookup(digest)) {
    std::lock_guard lock(mutex_);
    ++stats_.hits;
    return hit;
  }
  std::string archive;
  {
    std::lock_guard lock(mutex_);
    auto it = archives_.find(digest);
    archive = it != archives_.end() ? it->second : source;
  }
  return unpackOnce(digest, archive);
}

Result<std::string> CodeCache::digestOf(const std::string& source,
                                        std::string_view expected_sha256) {
  std::string digest;
  std::optional<std::string> local = options_.local_file ? options_.local_file(source) : std::nullopt;
  if (local) {
    EXA_ASSIGN_OR_RETURN(digest, sha256File(*local));
    std::lock_guard lock(mutex_);
    archives_.try_emplace(digest, *local);
  } else if (isUrl(source)) {
    EXA_ASSIGN_OR_RETURN(digest, singleFlight<std::string>(mutex_, fetches_, source, /*keep=*/true,
                                                           [&] { return fetch(source); }));
  } else {
    EXA_ASSIGN_OR_RETURN(digest, sha256File(source));
  }
  if (!expected_sha256.empty() && digest != expected_sha256)
    return makeError(ErrorCode::kInvalidArgument, "code " + source + " has sha256 " + digest +
                                                      ", but the policy pins " +
                                                      std::string(expected_sha256));
  return digest;
}

Result<std::string> CodeCache::fetch(const std::string& url) {
  std::string path = options_.root + "/downloads/" + uniqueSuffix();
  EXA_ASSIGN_OR_RETURN(FetchResult fetched, fetchToFile(url, path, options_.fetch));
  std::lock_guard lock(mutex_);
  ++stats_.downloads;
  // Kept until its tree is published; a second download of the same digest replaces it.
  auto [it, inserted] = archives_.try_emplace(fetched.sha256, path);
  if (!inserted) {
    ::unlink(it->second.c_str());
    it->second = path;
  }
  return fetched.sha256;
}

Result<CachedCode> CodeCache::unpackOnce(const std::string& digest, const std::string& archive) {
  auto result = singleFlight<CachedCode>(mutex_, unpacks_, digest, /*keep=*/false,
                                         [&] { return unpack(digest, archive); });
  std::lock_guard lock(mutex_);
  auto it = archives_.find(digest);
  if (it != archives_.end()) {
    // Only our own downloads are deleted, never a file we were pointed at.
    if (it->second.rfind(options_.root + "/downloads/", 0) == 0) ::unlink(it->second.c_str());
    archives_.erase(it);
  }
  return result;
}

Result<CachedCode> CodeCache::unpack(const std::string& digest, const std::string& archive) {
  if (auto hit = lookup(digest)) return hit;  // published while we waited to lead
  std::string staging = options_.root + "/staging/" + digest + "." + uniqueSuffix();
  EXA_TRY(makeDir(staging));
  auto unpacked = unpackArchive(archive, staging, options_.unpack);
  Result<std::string> root = unpacked ? findPolicyRoot(staging) : Result<std::string>(unpacked.error());
  if (root) {
    Status installed = installRequirements(*root);
    if (!installed) root = std::move(installed).error();
  }
  if (!root) {
    removeTree(staging);
    return std::move(root).error();
  }
  std::string target = options_.root + "/objects/" + digest;
  // The tree appears whole or not at all. Losing the race to another process is fine: its tree
  // has the same content.
  if (::rename(staging.c_str(), target.c_str()) != 0) {
    removeTree(staging);
    if (errno != EEXIST && errno != ENOTEMPTY)
      return sysError("rename(" + staging + ", " + target + ")");
  }
  {
    std::lock_guard lock(mutex_);
    ++stats_.unpacks;
  }
  LOG_I("code {} unpacked ({} files, {} bytes)", digest.substr(0, 12), unpacked->files,
        unpacked->bytes);
  return lookup(digest);
}

Status CodeCache::installRequirements(const std::string& code_dir) {
  struct stat st {};
  if (::stat((code_dir + "/requirements.txt").c_str(), &st) != 0) return {};
  if (!options_.install_requirements)
    return makeError(ErrorCode::kInvalidArgument,
                     "the policy has a requirements.txt but this cache installs none");
  EXA_ASSIGN_OR_RETURN(std::string note,
                       options_.install_requirements(code_dir, code_dir + "/" + kDepsDirName));
  LOG_I("requirements: {}", note);
  return {};
}

Result<CachedCode> CodeCache::lookup(const std::string& digest) const {
  std::string tree = options_.root + "/objects/" + digest;
  struct stat st {};
  if (::stat(tree.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return makeError(ErrorCode::kNotFound, "code " + digest + " is not cached");
  EXA_ASSIGN_OR_RETURN(std::string code_dir, findPolicyRoot(tree));
  return CachedCode{digest, tree, code_dir};
}

CodeCacheStats CodeCache::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace exa::policies
