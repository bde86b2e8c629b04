// The cluster's hardware as the seed's executor_hardware_info: an executor whose jobs and
// functions run on Kubernetes reports the cluster's Nodes, not the machine the agent runs on.
// One nodeData entry per Node (the seed's own example is a two-node cluster), keeping the seed's
// keys so readers of the local document (the default allocator, Mongo-style executor queries)
// work unchanged, and adding capacity vs allocatable, GPUs from extended resources, placement
// labels, readiness and taints. Fields and units: docs/kubernetes.md "Cluster hardware".
#pragma once

#include <mutex>
#include <string>

#include "common/json_util.h"
#include "common/result.h"
#include "kubernetes/api_client.h"

namespace exa::kubernetes {

/// One nodeData entry for a v1 Node: memory and storage in MB (MiB, rounded down), CPUs in cores
/// (a whole number when whole, else a decimal: allocatable is often "3920m"). A quantity that
/// does not parse counts 0 and is named in the entry's "invalid" list.
Json nodeHardware(const Json& node);

/// executor_hardware_info for a v1 NodeList (anything with "items"): nodes.count and nodeData
/// cover every Node; the seed's cluster-level vcpus/memory/swap/storage are what our pods can
/// use: allocatable of Ready, uncordoned Nodes without NoSchedule/NoExecute taints (the pods
/// tolerate none). "totals" has capacity and allocatable of all Nodes and that "available" part.
Json hardwareFromNodeList(const Json& node_list, const std::string& cluster_id = "");

/// GET /api/v1/nodes in pages of `page_size` (limit/continue; 0 = one request), shaped by
/// hardwareFromNodeList. A continue token the server has expired (410) restarts the list once,
/// as client-go does. Errors are the client's (403 when the agent may not list Nodes).
Result<Json> clusterHardwareInfo(ApiClient& client, const std::string& cluster_id = "",
                                 int page_size = 500);

/// The inventory for callers that must always have an answer: the registration's heartbeat and
/// what a job sees of its node. Thread-safe.
class ClusterHardware {
 public:
  /// Makes its own client on `client`'s credentials, with short timeouts and one retry: it runs
  /// on the registration thread, and a heartbeat must not wait minutes for an API server that is
  /// down (the backends' client retries far longer).
  ClusterHardware(const ApiClient& client, std::string cluster_id);
  ClusterHardware(const ClusterHardware&) = delete;
  ClusterHardware& operator=(const ClusterHardware&) = delete;

  /// Lists the Nodes now. On failure keeps the last good document (the Nodes did not vanish
  /// because the API server is unreachable) or, before any success, a cluster of no nodes whose
  /// "error" says why; logs a warning when a failure starts and a line when it ends.
  Json refresh();
  /// What refresh() last returned; never calls the API server.
  Json current() const;
  /// The last refresh's failure, OK after a success (or before any refresh).
  Status lastStatus() const;

 private:
  ApiClient client_;
  std::string cluster_id_;
  mutable std::mutex mutex_;
  Json last_good_;  ///< null until a refresh succeeds
  Json current_;
  Status last_status_;
};

}  // namespace exa::kubernetes
