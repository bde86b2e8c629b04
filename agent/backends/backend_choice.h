// Where this agent's jobs and functions run: in the jail on this machine (the default), or on
// the Kubernetes cluster named by [kubernetes] kubeconfig. Chosen once at start; the services and
// routes only see the JobBackend / FunctionBackend interfaces, so the seed's requests do not
// change with the choice.
#pragma once

#include <memory>
#include <string>

#include "agent/agent_config.h"
#include "agent/backends/execution_backend.h"
#include "agent/context_store.h"
#include "kubernetes/api_client.h"
#include "kubernetes/pod_template.h"
#include "sandbox/sandbox.h"

namespace exa::agent {

struct Backends {
  std::unique_ptr<kubernetes::ApiClient> cluster;  ///< null for the local backend
  std::string cluster_namespace;
  std::unique_ptr<JobBackend> jobs;
  std::unique_ptr<FunctionBackend> functions;
};

struct BackendContext {
  ExecuteService& execute;
  sandbox::Sandbox& sandbox;
  ContextStore& contexts;
  size_t max_in_flight_per_function;
  std::string executor_id;
  std::string agent_url;  ///< this agent as pods reach it (kubernetes.agent_url or advertised)
};

/// The pods' settings from [kubernetes] (image, resources, pod_security), reading policies
/// from `agent_url`.
kubernetes::PodSettings podSettings(const AgentConfig::Kubernetes& k, const std::string& agent_url);

/// The backends `config` asks for; a cluster that cannot be configured (unreadable kubeconfig,
/// exec plugin, no in-cluster service account) is an error naming why.
Result<Backends> chooseBackends(const AgentConfig& config, const BackendContext& context);

}  // namespace exa::agent
