// The seed's executor infrastructure routes: POST /executor/<executor_id>/create-infra installs
// the executor on the Kubernetes cluster of the body's cluster_config (kubernetes/
// infra_manifests.h: its namespace, service account, narrow Role, Secret, agent Deployment and
// Service), DELETE /executor/<executor_id>/remove-infra removes exactly that, with the
// executor's jobs and functions. The executor record says where the executor is
// (executor_host_uri, executor_infra); the uploaded kubeconfig stays in ExecutorClusters.
#pragma once

#include <string>

#include "agent/http/router.h"
#include "agent/infra/executor_clusters.h"
#include "agent/registry/collection.h"
#include "kubernetes/pod_template.h"

namespace exa::agent {

/// What a create-infra request does not say.
struct InfraDefaults {
  std::string central_url;    ///< this agent as the executor's pod reaches it
  std::string central_token;  ///< what the executor sends to this agent ("" = none)
  kubernetes::PodSettings pods;  ///< image and resources of the executor's pod
  std::chrono::milliseconds remove_wait{std::chrono::seconds(120)};
};

void addInfraRoutes(Router& router, Collection& executors, ExecutorClusters& clusters,
                    InfraDefaults defaults);

}  // namespace exa::agent
