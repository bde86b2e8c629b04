// The clusters of executors made by create-infra. What the uploader sent (the kubeconfig, which
// holds credentials) and the executor's token are kept in <data_dir>/clusters, a 0700 directory
// with one 0600 file per executor, never in the executor record, so no GET returns them; each
// executor's cluster gets its own ApiClient (one client object per cluster, nothing shared).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/json_util.h"
#include "common/result.h"
#include "kubernetes/api_client.h"

namespace exa::agent {

struct ExecutorCluster {
  Json kubeconfig;               ///< as uploaded (cluster_config)
  std::string context;           ///< "" = its current-context
  std::string namespace_name;    ///< where the executor's objects are
  std::string service_name;      ///< its Service
  std::string executor_token;    ///< what the executor requires of callers
  std::string host_uri;          ///< its executor_host_uri
  bool through_proxy = true;     ///< host_uri is the API server's service proxy
  bool namespace_ours = true;    ///< create-infra made the namespace (removal deletes it)

  Json toJson() const;
  static Result<ExecutorCluster> fromJson(const Json& doc);
};

class ExecutorClusters {
 public:
  /// Creates `dir` (0700) if needed.
  static Result<std::unique_ptr<ExecutorClusters>> open(const std::string& dir);

  /// Written to a 0600 temporary file and renamed over the old one: never half a file.
  Status save(const std::string& executor_id, const ExecutorCluster& cluster);
  /// kNotFound when the executor has no cluster here.
  Result<ExecutorCluster> load(const std::string& executor_id) const;
  Status forget(const std::string& executor_id);

  /// The client relaying calls to the executor through its cluster (no retries: the executor's
  /// replies are answers), made on first use and kept until save/forget.
  Result<std::shared_ptr<kubernetes::ApiClient>> client(const std::string& executor_id);

 private:
  explicit ExecutorClusters(std::string dir) : dir_(std::move(dir)) {}
  std::string pathOf(const std::string& executor_id) const;

  std::string dir_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<kubernetes::ApiClient>> clients_;
  /// What load() read or save()/forget() wrote, absent executors included (nullopt).
  mutable std::map<std::string, std::optional<ExecutorCluster>> known_;
};

}  // namespace exa::agent
