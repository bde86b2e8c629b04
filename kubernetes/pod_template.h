// The pod every object of the adapter runs: the agent's own image, in a run mode (a Job's
// `executor-agent run`, a function's `executor-agent serve --host-function`), with the
// securityContext the jail needs and nothing more (docs/kubernetes.md "Pods"). Job and function
// manifests both start from here, so the jail's requirements are stated once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/json_util.h"

namespace exa::kubernetes {

/// How a pod gets what the jail needs from its container (docs/kubernetes.md "Pods").
enum class PodSecurity {
  kPrivileged,     ///< privileged: true in the node's user namespace; any node runs it
  kUserNamespace,  ///< hostUsers: false, SETUID+SETGID, /proc unmasked, seccomp Unconfined
};

/// The worker uids of a pod in its own user namespace: inside the 65536 ids it maps (0..65535),
/// clear of the image's system accounts (< 1000) and of nobody (65534). The pod's agent gets
/// them as EXECUTOR_AGENT_EXECUTOR_WORKER_UID_BASE/_COUNT.
inline constexpr uint32_t kPodWorkerUidBase = 1000;
inline constexpr uint32_t kPodWorkerUidCount = 64000;

/// The agent's variables for executor.worker_uid_base/_count (agent/agent_config.cpp).
inline constexpr std::string_view kWorkerUidBaseEnv = "EXECUTOR_AGENT_EXECUTOR_WORKER_UID_BASE";
inline constexpr std::string_view kWorkerUidCountEnv = "EXECUTOR_AGENT_EXECUTOR_WORKER_UID_COUNT";

/// What the operator configures for the pods ([kubernetes] in the agent's config).
struct PodSettings {
  std::string image;                             ///< the agent's OCI image
  std::string image_pull_policy = "IfNotPresent";
  std::string service_account;                   ///< "" = the namespace's default
  std::string agent_url;       ///< this agent as the pods reach it: policies and code come from it
  std::string cpu_request = "250m";  ///< requests make CPU autoscaling possible at all
  std::string cpu_limit = "1";
  std::string memory_request = "256Mi";
  std::string memory_limit = "1Gi";
  PodSecurity security = PodSecurity::kPrivileged;
  /// The workers' uids inside a user-namespaced pod (unused when privileged: the pod's agent
  /// keeps its default range, which the node's user namespace holds).
  uint32_t worker_uid_base = kPodWorkerUidBase;
  uint32_t worker_uid_count = kPodWorkerUidCount;
};

/// "privileged" or "user-namespace" (kubernetes.pod_security).
std::string_view podSecurityName(PodSecurity security);

/// The container named "agent" running `executor-agent <args...>` with `env` (a list of
/// {name, value}), the securityContext the jail needs under `settings.security` (plus the worker
/// uid variables in a user namespace) and resources from `settings`.
Json agentContainer(const PodSettings& settings, const Json& args, const Json& env = Json::array());

/// A pod spec around `container`: `restart_policy` ("Never" for Jobs, "Always" for
/// Deployments), no service-account token mounted (the policy needs none), scratch volumes
/// for the agent's writable paths (the root filesystem stays read-only), `node_selector`, and
/// hostUsers: false under PodSecurity::kUserNamespace.
Json agentPodSpec(const PodSettings& settings, Json container, const std::string& restart_policy,
                  const Json& node_selector = Json::object());

}  // namespace exa::kubernetes
