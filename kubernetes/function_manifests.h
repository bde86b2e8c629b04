// The three objects of a function (type 4) on Kubernetes, as JSON: an apps/v1 Deployment of
// pod agents that each host the function (`executor-agent serve --host-function`), a ClusterIP
// Service in front of them, and an autoscaling/v2 HorizontalPodAutoscaler when the request asks
// for autoscaling. Pure builders: KubernetesFunctionBackend sends them (docs/kubernetes.md
// "Functions").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/json_util.h"
#include "kubernetes/pod_template.h"

namespace exa::kubernetes {

/// The pod label naming the function's objects (its value is functionObjectName()).
inline constexpr const char* kFunctionLabel = "executor-agent.io/function";
/// The pod agent's port, named "http" in the container and the Service.
inline constexpr int kFunctionPort = 8080;
inline constexpr const char* kFunctionPortName = "http";
/// The pod agent's bearer token (auth.token), in the container's environment.
inline constexpr const char* kFunctionTokenEnv = "EXECUTOR_AGENT_AUTH_TOKEN";

/// What one function's objects are built from (the backend fills it from the stored record).
struct FunctionManifest {
  std::string name;         ///< the user's function name; kept in an annotation
  std::string namespace_name;
  std::string executor_id;  ///< the creating executor: ownership labels
  std::string host_spec;    ///< the pod agent's --host-function JSON (hosted_function.h)
  std::string pod_token;    ///< the pod agent's bearer token: calls to it must carry it
  size_t replicas = 1;      ///< fixed replicas, or the initial count under autoscaling
  bool autoscaling = false;
  size_t min_replicas = 1;
  size_t max_replicas = 1;
  double target_cpu_utilization_percent = 80;  ///< of the container's CPU request
};

/// The name of all three objects: "fn-" + the DNS-1123 mapping of `function` (object_names.h).
/// The prefix makes it a DNS-1035 label as Service names must be (a letter first) and keeps
/// functions apart from the adapter's other objects in a shared namespace.
std::string functionObjectName(std::string_view function);

/// The Deployment's selector (matchLabels), also the pod list's: executor, kind and function.
Json functionSelector(std::string_view executor_id, std::string_view function);

/// `match_labels` as a labelSelector query value: "k1=v1,k2=v2".
std::string labelSelectorText(const Json& match_labels);

/// The pod token a Deployment made by functionDeployment carries ("" when none).
std::string functionPodToken(const Json& deployment);

/// The Deployment: `replicas` pods of the agent image hosting the function, ready when
/// GET /health on port "http" answers 200, requiring `pod_token` on their writing routes.
Json functionDeployment(const FunctionManifest& function, const PodSettings& pod);

/// The ClusterIP Service: port 8080 "http" onto the pods' "http" port.
Json functionService(const FunctionManifest& function);

/// The HPA over the Deployment (min, max, CPU utilization); null when autoscaling is off.
Json functionAutoscaler(const FunctionManifest& function);

}  // namespace exa::kubernetes
