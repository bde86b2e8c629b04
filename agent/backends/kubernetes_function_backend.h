// Functions (type 4) on Kubernetes: each function is a Deployment of pod agents hosting it
// (`serve --host-function`), a ClusterIP Service and, with autoscaling, an autoscaling/v2 HPA
// (kubernetes/function_manifests.h). Calls and management go to the pod agents' own routes,
// through the API server's service proxy (from outside the cluster) or the Service's cluster DNS
// name (from inside), with the bearer token the Deployment gives its pods (one per function);
// status and logs come from the Deployment and its pods. The cluster objects outlive this agent:
// stopAll leaves them, and the next start adopts them.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "agent/backends/execution_backend.h"
#include "kubernetes/api_client.h"
#include "kubernetes/pod_template.h"

namespace exa::agent {

/// How calls reach a function's pods.
enum class FunctionCallMode {
  kProxy,    ///< /api/v1/namespaces/<ns>/services/<svc>:http/proxy/<path>: the agent is outside
  kService,  ///< http://<svc>.<ns>.svc.cluster.local:8080/<path>: the agent runs in the cluster
};

/// "proxy" or "service" (the configuration's spelling).
Result<FunctionCallMode> parseFunctionCallMode(std::string_view text);

struct KubernetesFunctionOptions {
  FunctionCallMode call_mode = FunctionCallMode::kProxy;
  /// kService: the base URL of Service `service` in `namespace_name`; the default is the cluster
  /// DNS name on port 8080. Tests point it at a loopback agent, as no cluster DNS exists there.
  std::function<std::string(const std::string& service, const std::string& namespace_name)>
      service_url;
  /// One call, management command or pod-agent request, end to end (the policy's own deadline
  /// applies inside the pod; this only bounds the wait here).
  std::chrono::milliseconds call_timeout{300000};
  /// get_logs reads at most this many pods' logs.
  size_t max_log_pods = 20;
  /// Checks the policy and parameters at deploy time (serve wires ExecuteService::prepare), so
  /// a bad deployment is refused here rather than crash-looping in its pods; unset: no check.
  std::function<Status(const std::string& uri, const Json& parameters)> check_policy;
};

class KubernetesFunctionBackend : public FunctionBackend {
 public:
  /// `pod.agent_url` must be set: the pods fetch the function's policy from this agent.
  KubernetesFunctionBackend(kubernetes::ApiClient& api, std::string namespace_name,
                            std::string executor_id, kubernetes::PodSettings pod,
                            KubernetesFunctionOptions options = {});
  const char* name() const override { return "kubernetes"; }
  /// Creates the Deployment, Service and HPA (or deletes a stale HPA when autoscaling is off);
  /// an existing object is adopted when this executor made it for this function (updated to
  /// the record), refused otherwise. Returns once the objects are written, not once pods are
  /// ready: status() tells. On failure the objects this call created are deleted again.
  Status deploy(const std::string& function, const Json& record) override;
  /// Deletes exactly the Deployment, Service and HPA (Background propagation: the pods follow),
  /// and only those this executor made.
  void remove(const std::string& function) override;
  /// Its Deployment exists and is ours (remembered once deployed or seen, with its pods' token).
  bool runs(const std::string& function) override;
  policies::CallResult call(const std::string& function, const Json& input,
                            bool check_input) override;
  /// Reaches ONE pod (whichever the Service picks), not every replica as the local backend
  /// does; the command is not replayed to pods started later. One entry per replica reached.
  Json manage(const std::string& function, const std::string& action, const Json& data) override;
  /// The last `tail` lines of each pod's container log (at most max_log_pods pods), each under a
  /// "==> pod <name> <==" header: the pod agent's lines and the policy's output.
  std::string logs(const std::string& function, size_t tail) override;
  /// From the Deployment, its pods and the HPA: replicas, ready, available, restarts, and
  /// state "available" | "progressing" | "crash_looping" | "image_pull_failed" | "unavailable"
  /// with the reason (the waiting reason and pod, or the Deployment condition).
  Json status(const std::string& function) override;
  /// Leaves the cluster objects running: they belong to the cluster, and the next start's
  /// FunctionService::start deploys the stored functions again, which adopts them.
  void stopAll() override;

 private:
  struct PodReply {
    long status = 0;
    std::string body;
  };
  /// POSTs `body` to `path` on one of the function's pod agents by the configured mode. An
  /// Error means no pod answered (no ready replicas, Service gone, not allowed, transport),
  /// already worded for the caller; any reply of a pod agent is a PodReply.
  Result<PodReply> postToPod(const std::string& function, const std::string& path,
                             const Json& body);
  Result<Json> getOwned(const std::string& item_path, const std::string& function);
  std::string deploymentPath(const std::string& function) const;
  std::string servicePath(const std::string& function) const;
  std::string autoscalerPath(const std::string& function) const;
  /// The bearer token of the function's pods, remembered or read from its Deployment (which
  /// must exist and be ours): the proof that the function runs on this backend.
  Result<std::string> podToken(const std::string& function);
  void remember(const std::string& function, std::string token);
  void forget(const std::string& function);

  kubernetes::ApiClient& api_;
  /// The proxy path's own client: one attempt (a function call is not idempotent, and the
  /// shared client retries 5xx) and the call timeout.
  std::unique_ptr<kubernetes::ApiClient> proxy_api_;
  std::string namespace_;
  std::string executor_id_;
  kubernetes::PodSettings pod_;
  KubernetesFunctionOptions options_;
  std::mutex mutex_;
  /// Functions whose Deployment this backend made, adopted or found: their pods' token.
  std::map<std::string, std::string> running_;
};

}  // namespace exa::agent
