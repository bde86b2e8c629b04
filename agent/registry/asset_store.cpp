// Content-addressed asset files with their registry records.
#include "agent/registry/asset_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "policies/sha256.h"

namespace exa::agent {
namespace {

constexpr std::string_view kAssets = "assets";

bool isSha256Hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

void AssetStore::setBaseUrl(std::string base_url) {
  std::lock_guard lock(mutex_);
  base_url_ = std::move(base_url);
}

Result<Json> AssetStore::upload(std::string_view bytes, const std::string& filename,
                                const Json& metadata) {
  if (bytes.empty()) return makeError(ErrorCode::kInvalidArgument, "asset: empty file");
  if (!metadata.is_object())
    return makeError(ErrorCode::kInvalidArgument, "asset_metadata: must be a JSON object");
  std::string digest = policies::sha256Hex(bytes);
  if (auto existing = store_.get(kAssets, digest)) return existing;
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  // Written under a temporary name and renamed: a reader never sees half an asset.
  static std::atomic<uint64_t> counter{0};
  std::string tmp = dir_ + "/." + digest + "." + std::to_string(::getpid()) + "." +
                    std::to_string(counter++);
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) return makeError(ErrorCode::kInternal, "asset: cannot write " + tmp);
  }
  if (::rename(tmp.c_str(), (dir_ + "/" + digest).c_str()) != 0) {
    ::unlink(tmp.c_str());
    return sysError("rename(" + tmp + ")");
  }
  std::string base;
  {
    std::lock_guard lock(mutex_);
    base = base_url_;
  }
  Json record = {{"asset_id", digest},
                 {"asset_name", metadata.value("asset_name", filename)},
                 {"asset_version", metadata.value("asset_version", Json::object())},
                 {"asset_metadata", metadata.value("asset_metadata", Json::object())},
                 {"asset_tags", metadata.value("asset_tags", Json::array())},
                 {"filename", filename},
                 {"size", bytes.size()},
                 {"sha256", digest},
                 {"url", base + "/assets/" + digest}};
  Status stored = store_.insert(kAssets, digest, record);
  if (!stored && stored.error().code != ErrorCode::kAlreadyExists) return std::move(stored).error();
  return store_.get(kAssets, digest);
}

Result<std::string> AssetStore::path(const std::string& asset_id) const {
  if (!isSha256Hex(asset_id)) return makeError(ErrorCode::kNotFound, "no asset " + asset_id);
  std::string file = dir_ + "/" + asset_id;
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return makeError(ErrorCode::kNotFound, "no asset " + asset_id);
  return file;
}

std::optional<std::string> AssetStore::localPathForUrl(const std::string& url) const {
  std::string prefix;
  {
    std::lock_guard lock(mutex_);
    prefix = base_url_ + "/assets/";
  }
  if (url.rfind(prefix, 0) != 0) return std::nullopt;
  auto file = path(url.substr(prefix.size()));
  if (!file) return std::nullopt;
  return *file;
}

}  // namespace exa::agent
