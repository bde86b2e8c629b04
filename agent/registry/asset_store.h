// AssetStore: the bundled registry's assets (the seed's POST /upload_asset). Bytes are kept
// content-addressed under <data-dir>/assets/<sha256>, the record in the "assets" collection; the
// URL handed back is this agent's GET /assets/<sha256>, which a policy's `code` can name. Code
// URLs that point back here are read from disk, not fetched over HTTP from ourselves.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "agent/registry/document_store.h"
#include "common/json_util.h"

namespace exa::agent {

class AssetStore {
 public:
  AssetStore(DocumentStore& store, std::string dir) : store_(store), dir_(std::move(dir)) {}

  /// Where this agent is reachable, for the URLs it hands out ("http://127.0.0.1:10000").
  void setBaseUrl(std::string base_url);

  /// Stores `bytes` (idempotent: the same content returns the existing record). `metadata` is
  /// the seed's asset_metadata object (asset_name, asset_version, asset_metadata, asset_tags).
  Result<Json> upload(std::string_view bytes, const std::string& filename, const Json& metadata);
  /// The file of an asset id (its sha256), kNotFound when unknown.
  Result<std::string> path(const std::string& asset_id) const;
  /// For a URL of ours (<base>/assets/<sha256>), the file; otherwise nothing.
  std::optional<std::string> localPathForUrl(const std::string& url) const;

 private:
  DocumentStore& store_;
  std::string dir_;
  mutable std::mutex mutex_;  // guards base_url_
  std::string base_url_;
};

}  // namespace exa::agent
