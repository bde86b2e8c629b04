#include "kubernetes/function_manifests.h"

#include <algorithm>
#include <cmath>

#include "kubernetes/object_names.h"

namespace exa::kubernetes {
namespace {

// metadata for one of the function's objects: ownership labels plus the function label, and the
// original name in the annotation.
Json objectMetadata(const FunctionManifest& f) {
  Json owned = ownershipMetadata(f.executor_id, "function", f.name);
  owned["labels"][kFunctionLabel] = functionObjectName(f.name);
  return Json{{"name", functionObjectName(f.name)},
              {"namespace", f.namespace_name},
              {"labels", owned["labels"]},
              {"annotations", owned["annotations"]}};
}

Json podEnv(const PodSettings& pod, const std::string& token) {
  Json env = Json::array();
  // Listening on the pod network needs a token. Plain in the Deployment rather than in a Secret:
  // the function is exactly these three objects, and whoever reads Deployments in the namespace
  // can read (or exec into) its pods anyway. It opens this one function's pods and nothing else.
  env.push_back({{"name", kFunctionTokenEnv}, {"value", token}});
  // The pod agent takes policies (and their code, when it is an asset) from the creating agent,
  // as an executor takes them from its central registry (registry.central_url).
  env.push_back({{"name", "EXECUTOR_AGENT_REGISTRY_CENTRAL_URL"}, {"value", pod.agent_url}});
  // Its executor id is the pod's name, so that its log lines say which pod wrote them.
  env.push_back({{"name", "EXECUTOR_AGENT_EXECUTOR_ID"},
                 {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.name"}}}}}});
  return env;
}

}  // namespace

std::string functionObjectName(std::string_view function) {
  return "fn-" + dns1123Name(function, 60);
}

Json functionSelector(std::string_view executor_id, std::string_view function) {
  Json labels = ownershipMetadata(executor_id, "function", function)["labels"];
  Json selector = Json::object();
  for (const auto& [key, value] : labels.items())
    if (key != "app.kubernetes.io/managed-by") selector[key] = value;
  selector[kFunctionLabel] = functionObjectName(function);
  return selector;
}

std::string functionPodToken(const Json& deployment) {
  const Json* containers = &deployment;
  for (const char* key : {"spec", "template", "spec", "containers"}) {
    if (!containers->is_object() || !containers->contains(key)) return {};
    containers = &(*containers)[key];
  }
  if (!containers->is_array()) return {};
  for (const Json& container : *containers) {
    if (!container.is_object() || !container.contains("env") || !container["env"].is_array())
      continue;
    for (const Json& env : container["env"]) {
      if (env.is_object() && env.contains("name") && env["name"] == kFunctionTokenEnv &&
          env.contains("value") && env["value"].is_string())
        return env["value"].get<std::string>();
    }
  }
  return {};
}

std::string labelSelectorText(const Json& match_labels) {
  std::string text;
  for (const auto& [key, value] : match_labels.items())
    text += (text.empty() ? "" : ",") + key + "=" + value.get<std::string>();
  return text;
}

Json functionDeployment(const FunctionManifest& f, const PodSettings& pod) {
  Json metadata = objectMetadata(f);
  Json args = Json::array({"serve", "--listen", "0.0.0.0:" + std::to_string(kFunctionPort),
                           "--host-function", f.host_spec});
  Json container = agentContainer(pod, args, podEnv(pod, f.pod_token));
  container["ports"] = Json::array(
      {{{"name", kFunctionPortName}, {"containerPort", kFunctionPort}, {"protocol", "TCP"}}});
  // Ready once the agent serves: the hosted function is deployed before the agent listens, and
  // a function that cannot be deployed makes the agent exit (CrashLoopBackOff, named in status).
  container["readinessProbe"] = {{"httpGet", {{"path", "/health"}, {"port", kFunctionPortName}}},
                                 {"periodSeconds", 5},
                                 {"failureThreshold", 3}};
  Json template_metadata = {{"labels", metadata["labels"]},
                            {"annotations", metadata["annotations"]}};
  return Json{
      {"apiVersion", "apps/v1"},
      {"kind", "Deployment"},
      {"metadata", metadata},
      {"spec",
       {{"replicas", f.replicas},
        {"selector", {{"matchLabels", functionSelector(f.executor_id, f.name)}}},
        {"template",
         {{"metadata", template_metadata},
          {"spec", agentPodSpec(pod, std::move(container), "Always")}}}}}};
}

Json functionService(const FunctionManifest& f) {
  return Json{{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata", objectMetadata(f)},
              {"spec",
               {{"type", "ClusterIP"},
                {"selector", functionSelector(f.executor_id, f.name)},
                {"ports", Json::array({{{"name", kFunctionPortName},
                                        {"port", kFunctionPort},
                                        {"targetPort", kFunctionPortName},
                                        {"protocol", "TCP"}}})}}}};
}

Json functionAutoscaler(const FunctionManifest& f) {
  if (!f.autoscaling) return nullptr;
  // The HPA's Utilization is a percent of the pods' CPU *request* (PodSettings.cpu_request), an
  // integer of at least 1.
  int utilization = std::max(1, static_cast<int>(std::lround(f.target_cpu_utilization_percent)));
  Json metric = {{"type", "Resource"},
                 {"resource",
                  {{"name", "cpu"},
                   {"target", {{"type", "Utilization"}, {"averageUtilization", utilization}}}}}};
  return Json{{"apiVersion", "autoscaling/v2"},
              {"kind", "HorizontalPodAutoscaler"},
              {"metadata", objectMetadata(f)},
              {"spec",
               {{"scaleTargetRef",
                 {{"apiVersion", "apps/v1"},
                  {"kind", "Deployment"},
                  {"name", functionObjectName(f.name)}}},
                {"minReplicas", f.min_replicas},
                {"maxReplicas", std::max(f.min_replicas, f.max_replicas)},
                {"metrics", Json::array({metric})}}}};
}

}  // namespace exa::kubernetes
