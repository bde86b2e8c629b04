#include "kubernetes/infra_manifests.h"

#include <initializer_list>
#include <utility>

#include "kubernetes/base64.h"
#include "kubernetes/object_names.h"

namespace exa::kubernetes {
namespace {

constexpr const char* kPortName = "http";
// The Secret's keys; the Deployment reads them through secretKeyRef, so nothing secret is in
// the Deployment itself (a `get deployments` or `describe pod` shows no token).
constexpr const char* kExecutorTokenKey = "executor_token";
constexpr const char* kCentralTokenKey = "central_token";
constexpr const char* kAllVerbs[] = {"create", "get", "list", "watch", "update", "patch", "delete"};

Json objectMetadata(const ExecutorInfraSpec& spec, const std::string& name, bool namespaced) {
  Json owned = ownershipMetadata(spec.executor_id, "executor", spec.executor_id);
  Json metadata = {{"name", name}};
  if (namespaced) metadata["namespace"] = spec.namespace_name;
  metadata["labels"] = owned["labels"];
  metadata["annotations"] = owned["annotations"];
  return metadata;
}

// The executor pod's labels without managed-by: the Deployment's selector (immutable once
// created) and the Service's. Executor and kind keep it apart from the executor's own Job and
// function pods, which share the executor label but not the kind.
Json podSelector(const ExecutorInfraSpec& spec) {
  const Json labels = ownershipMetadata(spec.executor_id, "executor", spec.executor_id)["labels"];
  Json selector = Json::object();
  for (const auto& [key, value] : labels.items())
    if (key != "app.kubernetes.io/managed-by") selector[key] = value;
  return selector;
}

Json rule(const char* group, const char* resource, std::initializer_list<const char*> verbs) {
  Json list = Json::array();
  for (const char* verb : verbs) list.push_back(verb);
  return Json{{"apiGroups", {group}}, {"resources", {resource}}, {"verbs", list}};
}

Json allVerbs(const char* group, const char* resource) {
  Json list = Json::array();
  for (const char* verb : kAllVerbs) list.push_back(verb);
  return Json{{"apiGroups", {group}}, {"resources", {resource}}, {"verbs", list}};
}

Json envValue(const char* name, const std::string& value) {
  return Json{{"name", name}, {"value", value}};
}

Json envSecret(const char* name, const std::string& secret, const char* key) {
  return Json{{"name", name},
              {"valueFrom", {{"secretKeyRef", {{"name", secret}, {"key", key}}}}}};
}

std::string agentUrl(const ExecutorInfraSpec& spec) {
  if (!spec.pods.agent_url.empty()) return spec.pods.agent_url;
  // The cluster-local name of the executor's Service: its Job and function pods read policies
  // and code from it. "<svc>.<ns>.svc" resolves through the pods' search path whatever the
  // cluster domain is (not always cluster.local).
  return "http://" + executorObjectName(spec.executor_id) + "." + spec.namespace_name +
         ".svc:" + std::to_string(kExecutorPort);
}

// The agent's configuration as EXECUTOR_AGENT_<SECTION>_<KEY> (agent/agent_config.cpp), so the
// pod needs no config file: an executor whose jobs and functions run on this same cluster,
// in this namespace, with the service account's credentials.
Json agentEnv(const ExecutorInfraSpec& spec) {
  const std::string secret = executorObjectName(spec.executor_id);
  Json env = Json::array();
  env.push_back(
      envValue("EXECUTOR_AGENT_SERVER_LISTEN", "0.0.0.0:" + std::to_string(kExecutorPort)));
  if (!spec.host_uri.empty())
    env.push_back(envValue("EXECUTOR_AGENT_SERVER_ADVERTISE_URL", spec.host_uri));
  env.push_back(envValue("EXECUTOR_AGENT_EXECUTOR_ID", spec.executor_id));
  env.push_back(envValue("EXECUTOR_AGENT_KUBERNETES_KUBECONFIG", "in-cluster"));
  env.push_back(envValue("EXECUTOR_AGENT_KUBERNETES_NAMESPACE", spec.namespace_name));
  env.push_back(envValue("EXECUTOR_AGENT_KUBERNETES_IMAGE", spec.pods.image));
  env.push_back(envValue("EXECUTOR_AGENT_KUBERNETES_AGENT_URL", agentUrl(spec)));
  // Inside the cluster the Service's DNS name is reachable; the API server's proxy is for
  // callers outside it (and would need services/proxy on every call).
  env.push_back(envValue("EXECUTOR_AGENT_KUBERNETES_FUNCTION_CALLS", "service"));
  // The executor's own Job and function pods get the resources the caller gave this pod.
  env.push_back(envValue("EXECUTOR_AGENT_KUBERNETES_POD_CPU_REQUEST", spec.pods.cpu_request));
  env.push_back(envValue("EXECUTOR_AGENT_KUBERNETES_POD_CPU_LIMIT", spec.pods.cpu_limit));
  env.push_back(envValue("EXECUTOR_AGENT_KUBERNETES_POD_MEMORY_REQUEST", spec.pods.memory_request));
  env.push_back(envValue("EXECUTOR_AGENT_KUBERNETES_POD_MEMORY_LIMIT", spec.pods.memory_limit));
  // ... and the same securityContext: a user-namespaced executor makes user-namespaced pods.
  env.push_back(envValue("EXECUTOR_AGENT_KUBERNETES_POD_SECURITY",
                         std::string(podSecurityName(spec.pods.security))));
  if (!spec.central_url.empty())
    env.push_back(envValue("EXECUTOR_AGENT_REGISTRY_CENTRAL_URL", spec.central_url));
  env.push_back(envSecret("EXECUTOR_AGENT_AUTH_TOKEN", secret, kExecutorTokenKey));
  if (!spec.central_token.empty())
    env.push_back(envSecret("EXECUTOR_AGENT_REGISTRY_CENTRAL_TOKEN", secret, kCentralTokenKey));
  return env;
}

Json namespaceObject(const ExecutorInfraSpec& spec) {
  Json metadata = objectMetadata(spec, spec.namespace_name, false);
  // The agent's pods are outside the baseline Pod Security Standard in both modes
  // (docs/kubernetes.md "Pods"): privileged: true, or in a user namespace seccomp and AppArmor
  // Unconfined, which baseline forbids whatever hostUsers says (it relaxes procMount: Unmasked
  // for hostUsers: false from policy version 1.35, and allows adding SETUID/SETGID anyway). A
  // cluster whose Pod Security admission enforces baseline or restricted by default would
  // accept the Deployment and then never create its pod; saying so on the namespace we own
  // makes the install work there, and states plainly what the namespace allows.
  metadata["labels"]["pod-security.kubernetes.io/enforce"] = "privileged";
  return Json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", metadata}};
}

Json serviceAccount(const ExecutorInfraSpec& spec) {
  return Json{{"apiVersion", "v1"},
              {"kind", "ServiceAccount"},
              {"metadata", objectMetadata(spec, executorObjectName(spec.executor_id), true)},
              // No pod gets this account's token unless it asks (the executor's pod does):
              // a pod that names the account by mistake stays without credentials.
              {"automountServiceAccountToken", false}};
}

Json role(const ExecutorInfraSpec& spec) {
  return Json{{"apiVersion", "rbac.authorization.k8s.io/v1"},
              {"kind", "Role"},
              {"metadata", objectMetadata(spec, executorObjectName(spec.executor_id), true)},
              {"rules", adapterRoleRules()}};
}

Json roleBinding(const ExecutorInfraSpec& spec) {
  const std::string name = executorObjectName(spec.executor_id);
  return Json{{"apiVersion", "rbac.authorization.k8s.io/v1"},
              {"kind", "RoleBinding"},
              {"metadata", objectMetadata(spec, name, true)},
              {"roleRef",
               {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", name}}},
              {"subjects",
               Json::array({{{"kind", "ServiceAccount"},
                             {"name", name},
                             {"namespace", spec.namespace_name}}})}};
}

// Nodes are cluster-scoped: the executor reports them as its hardware (node_inventory.h), which
// a namespaced Role cannot allow. Read-only, and Nodes only.
Json nodeReaderRole(const ExecutorInfraSpec& spec) {
  return Json{{"apiVersion", "rbac.authorization.k8s.io/v1"},
              {"kind", "ClusterRole"},
              {"metadata", objectMetadata(spec, executorNodeReaderName(spec.executor_id), false)},
              {"rules", Json::array({rule("", "nodes", {"get", "list", "watch"})})}};
}

Json nodeReaderBinding(const ExecutorInfraSpec& spec) {
  const std::string name = executorNodeReaderName(spec.executor_id);
  return Json{{"apiVersion", "rbac.authorization.k8s.io/v1"},
              {"kind", "ClusterRoleBinding"},
              {"metadata", objectMetadata(spec, name, false)},
              {"roleRef",
               {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", name}}},
              {"subjects",
               Json::array({{{"kind", "ServiceAccount"},
                             {"name", executorObjectName(spec.executor_id)},
                             {"namespace", spec.namespace_name}}})}};
}

Json secret(const ExecutorInfraSpec& spec) {
  Json data = {{kExecutorTokenKey, base64Encode(spec.executor_token)}};
  if (!spec.central_token.empty()) data[kCentralTokenKey] = base64Encode(spec.central_token);
  return Json{{"apiVersion", "v1"},
              {"kind", "Secret"},
              {"metadata", objectMetadata(spec, executorObjectName(spec.executor_id), true)},
              {"type", "Opaque"},
              {"data", data}};
}

Json deployment(const ExecutorInfraSpec& spec) {
  const std::string name = executorObjectName(spec.executor_id);
  PodSettings pods = spec.pods;
  pods.service_account = name;
  Json container = agentContainer(pods, Json::array({"serve"}), agentEnv(spec));
  container["ports"] = Json::array(
      {{{"name", kPortName}, {"containerPort", kExecutorPort}, {"protocol", "TCP"}}});
  container["readinessProbe"] = {{"httpGet", {{"path", "/health"}, {"port", kPortName}}},
                                 {"periodSeconds", 5},
                                 {"failureThreshold", 3}};
  Json pod_spec = agentPodSpec(pods, std::move(container), "Always");
  // Unlike Job and function pods, this one talks to the API server: it is the adapter.
  pod_spec["automountServiceAccountToken"] = true;
  Json metadata = objectMetadata(spec, name, true);
  Json template_metadata = {{"labels", metadata["labels"]},
                            {"annotations", metadata["annotations"]}};
  return Json{{"apiVersion", "apps/v1"},
              {"kind", "Deployment"},
              {"metadata", metadata},
              {"spec",
               {{"replicas", 1},
                // One agent per executor id, ever: a rolling update would run the old and the
                // new pod side by side, both registering and heartbeating as the same executor.
                {"strategy", {{"type", "Recreate"}}},
                {"selector", {{"matchLabels", podSelector(spec)}}},
                {"template", {{"metadata", template_metadata}, {"spec", pod_spec}}}}}};
}

Json service(const ExecutorInfraSpec& spec) {
  // No nodePort, ever: the cluster allocates one for NodePort / LoadBalancer types, so two
  // executors on one cluster cannot collide (the original fixed 30900/30901, §10).
  return Json{{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata", objectMetadata(spec, executorObjectName(spec.executor_id), true)},
              {"spec",
               {{"type", spec.service_type},
                {"selector", podSelector(spec)},
                {"ports", Json::array({{{"name", kPortName},
                                        {"port", kExecutorPort},
                                        {"targetPort", kPortName},
                                        {"protocol", "TCP"}}})}}}};
}

}  // namespace

std::string executorNamespace(std::string_view executor_id) {
  return dns1123Name("exa-" + std::string(executor_id), 63);
}

std::string executorObjectName(std::string_view executor_id) {
  // The "exa-executor-" prefix makes it a DNS-1035 label (a letter first), as Service names
  // must be, and keeps it apart from "exa-job-…" and "fn-…" in a namespace shared by executors.
  return dns1123Name("exa-executor-" + std::string(executor_id), 63);
}

// What the executor's agent does with the API, as the Job backend
// (agent/backends/kubernetes_job_backend.cpp) and the function backend
// (agent/backends/kubernetes_function_backend.cpp) do it; nothing else, and only in its own
// namespace (a Role, not a ClusterRole: the original bound cluster-admin, §10).
//
// | resource (group)          | verbs                     | why
// | jobs (batch)              | create get list watch     | a Job per job; get to adopt it on 409;
// |                           | delete                    | waitFor lists and watches one Job;
// |                           |                           | delete past the deadline
// | pods                      | get list watch            | list a Job's pods for the result log;
// |                           |                           | a function's pods for status and logs
// | pods/log                  | get                       | the result line; a function's logs
// | deployments (apps)        | create get list watch     | a function's Deployment: create, adopt
// |                           | update patch delete       | (get), redeploy (PUT), status, removal
// | deployments/scale (apps)  | get update patch          | fixed replicas set without an HPA
// | services                  | as deployments            | a function's Service, same lifetime
// | horizontalpodautoscalers  | as deployments            | a function's HPA under autoscaling,
// |   (autoscaling)           |                           | deleted when autoscaling stops
// | services/proxy            | get create                | function calls through the API
// |                           |                           | server (function_calls = "proxy")
//
// list/watch/patch and deployments/scale are the function backend's contract; today it uses
// create, get, update and delete. No secrets, configmaps, namespaces or RBAC: the executor never
// reads its own Secret (the kubelet injects it) and cannot widen its own rights.
Json adapterRoleRules() {
  return Json::array({
      rule("batch", "jobs", {"create", "get", "list", "watch", "delete"}),
      rule("", "pods", {"get", "list", "watch"}),
      rule("", "pods/log", {"get"}),
      allVerbs("apps", "deployments"),
      rule("apps", "deployments/scale", {"get", "update", "patch"}),
      allVerbs("", "services"),
      allVerbs("autoscaling", "horizontalpodautoscalers"),
      rule("", "services/proxy", {"get", "create"}),
  });
}

std::vector<Json> executorInfraObjects(const ExecutorInfraSpec& given) {
  ExecutorInfraSpec spec = given;
  if (spec.namespace_name.empty()) spec.namespace_name = executorNamespace(spec.executor_id);
  // Creation order: the namespace holds everything; the account, its rights and the Secret
  // exist before the pod that needs them (a pod naming a missing account or Secret is not
  // started); the Service last, once it has something to select.
  return {namespaceObject(spec), serviceAccount(spec),    role(spec),
          roleBinding(spec),     nodeReaderRole(spec),    nodeReaderBinding(spec),
          secret(spec),          deployment(spec),        service(spec)};
}

std::string executorNodeReaderName(std::string_view executor_id) {
  // Cluster-scoped, so the executor id alone must keep it apart from other executors'.
  return executorObjectName(executor_id) + "-node-reader";
}

std::string serviceProxyUri(std::string_view server, std::string_view namespace_name,
                            std::string_view service_name) {
  std::string base(server);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/api/v1/namespaces/" + std::string(namespace_name) + "/services/" +
         std::string(service_name) + ":" + kPortName + "/proxy";
}

}  // namespace exa::kubernetes
