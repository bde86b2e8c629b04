#include "agent/backends/backend_choice.h"

#include "agent/backends/kubernetes_function_backend.h"
#include "agent/backends/kubernetes_job_backend.h"
#include "agent/backends/local_backend.h"
#include "common/log.h"
#include "kubernetes/kubeconfig.h"

namespace exa::agent {
namespace {

Result<kubernetes::ClusterCredentials> clusterCredentials(const AgentConfig::Kubernetes& k) {
  if (k.kubeconfig == "in-cluster") return kubernetes::inClusterCredentials();
  return kubernetes::loadKubeconfigFile(k.kubeconfig, k.context);
}

}  // namespace

kubernetes::PodSettings podSettings(const AgentConfig::Kubernetes& k, const std::string& agent_url) {
  kubernetes::PodSettings pods;
  pods.image = k.image;
  pods.agent_url = agent_url;
  pods.cpu_request = k.pod_cpu_request;
  pods.cpu_limit = k.pod_cpu_limit;
  pods.memory_request = k.pod_memory_request;
  pods.memory_limit = k.pod_memory_limit;
  // Validated: "privileged" or "user-namespace". The worker uids of a user-namespaced pod stay
  // PodSettings' own (inside the pod's 65536 ids), not this agent's executor.worker_uid_*.
  pods.security = k.pod_security == "user-namespace" ? kubernetes::PodSecurity::kUserNamespace
                                                     : kubernetes::PodSecurity::kPrivileged;
  return pods;
}

Result<Backends> chooseBackends(const AgentConfig& config, const BackendContext& context) {
  Backends backends;
  const AgentConfig::Kubernetes& k = config.kubernetes;
  if (!k.enabled()) {
    backends.jobs = std::make_unique<LocalJobBackend>(context.execute);
    backends.functions = std::make_unique<LocalFunctionBackend>(
        context.execute, context.sandbox, context.contexts, context.max_in_flight_per_function);
    return backends;
  }
  auto credentials = clusterCredentials(k);
  if (!credentials)
    return makeError(credentials.error().code,
                     "kubernetes.kubeconfig " + k.kubeconfig + ": " + credentials.error().message);
  backends.cluster_namespace = k.namespace_name.empty() ? credentials->default_namespace
                                                        : k.namespace_name;
  LOG_I("jobs and functions run on the cluster at {} in namespace {}", credentials->server,
        backends.cluster_namespace);
  backends.cluster = std::make_unique<kubernetes::ApiClient>(std::move(credentials).value());
  KubernetesJobOptions jobs;
  jobs.namespace_name = backends.cluster_namespace;
  jobs.executor_id = context.executor_id;
  jobs.pods = podSettings(k, context.agent_url);
  jobs.backoff_limit = static_cast<int>(k.job_backoff_limit);
  jobs.ttl_seconds_after_finished = static_cast<int>(k.job_ttl_seconds);
  backends.jobs = std::make_unique<KubernetesJobBackend>(*backends.cluster, std::move(jobs));
  auto calls = parseFunctionCallMode(k.function_calls);  // validated: "proxy" or "service"
  if (!calls) return calls.error();
  KubernetesFunctionOptions functions;
  functions.call_mode = *calls;
  // A bad policy or parameters is refused at deploy time (400), not crash-looping in the pods.
  functions.check_policy = [&execute = context.execute](const std::string& uri,
                                                        const Json& parameters) -> Status {
    auto prepared = execute.prepare(uri, parameters);
    if (auto* error = std::get_if<policies::CallError>(&prepared))
      return makeError(error->type == "not_found" ? ErrorCode::kNotFound
                                                  : ErrorCode::kInvalidArgument,
                       "policy " + uri + ": " + error->message);
    return {};
  };
  backends.functions = std::make_unique<KubernetesFunctionBackend>(
      *backends.cluster, backends.cluster_namespace, context.executor_id,
      podSettings(k, context.agent_url), std::move(functions));
  return backends;
}

}  // namespace exa::agent
