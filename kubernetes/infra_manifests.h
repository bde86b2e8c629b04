// What create-infra installs on a cluster for one executor (the seed's
// POST /executor/<id>/create-infra): its own namespace, a ServiceAccount bound by a namespaced
// Role to exactly the verbs the adapter uses and by a ClusterRole to reading Nodes (no
// cluster-admin, unlike the original's §10), a
// Secret with the executor's tokens, a Deployment of the agent configured as that executor
// (in-cluster credentials, jobs and functions on the same cluster), and a Service with no fixed
// node port (two executors on one cluster must work). Pure JSON builders; the installer
// (infra_installer.h) applies them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/json_util.h"
#include "kubernetes/pod_template.h"

namespace exa::kubernetes {

struct ExecutorInfraSpec {
  std::string executor_id;
  std::string namespace_name;   ///< executorNamespace(executor_id) unless the caller names one
  std::string central_url;      ///< the central as the executor's pod reaches it
  std::string central_token;    ///< what the executor sends to the central ("" = none)
  std::string executor_token;   ///< what the executor requires of its callers
  std::string host_uri;         ///< the executor_host_uri it registers (its advertise_url)
  std::string service_type = "ClusterIP";  ///< or NodePort / LoadBalancer (ports allocated)
  PodSettings pods;             ///< image, resources; agent_url is the executor's own Service
};

/// "exa-<id>" as a DNS-1123 label: where the executor's objects live.
std::string executorNamespace(std::string_view executor_id);
/// The name of the executor's Deployment, Service, ServiceAccount, Role, RoleBinding, Secret.
std::string executorObjectName(std::string_view executor_id);
/// The ClusterRole and ClusterRoleBinding that let the executor read Nodes (its hardware).
std::string executorNodeReaderName(std::string_view executor_id);
/// The port (name "http") the executor's Service and container serve the agent's API on.
inline constexpr int kExecutorPort = 8080;

/// The objects in creation order: Namespace, ServiceAccount, Role, RoleBinding, ClusterRole and
/// ClusterRoleBinding (read Nodes, nothing else), Secret, Deployment, Service. Each carries ownershipMetadata(executor_id, "executor", executor_id).
std::vector<Json> executorInfraObjects(const ExecutorInfraSpec& spec);

/// The Role's rules: the verbs the Job and function backends use, nothing more.
Json adapterRoleRules();

/// "<server>/api/v1/namespaces/<ns>/services/<name>:http/proxy": the executor's API through the
/// API server's service proxy, its executor_host_uri by default.
std::string serviceProxyUri(std::string_view server, std::string_view namespace_name,
                            std::string_view service_name);

}  // namespace exa::kubernetes
