// The pod every object of the adapter runs: the agent's own image, in a run mode (a Job's
// `executor-agent run`, a function's `executor-agent serve --host-function`), with the
// securityContext the jail needs and nothing more (docs/kubernetes.md "Pods"). Job and function
// manifests both start from here, so the jail's requirements are stated once.
#pragma once

#include <string>

#include "common/json_util.h"

namespace exa::kubernetes {

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
};

/// The container named "agent" running `executor-agent <args...>` with `env` (a list of
/// {name, value}), the securityContext the jail needs and resources from `settings`.
Json agentContainer(const PodSettings& settings, const Json& args, const Json& env = Json::array());

/// A pod spec around `container`: `restart_policy` ("Never" for Jobs, "Always" for
/// Deployments), no service-account token mounted (the policy needs none), scratch volumes
/// for the agent's writable paths (the root filesystem stays read-only), `node_selector`.
Json agentPodSpec(const PodSettings& settings, Json container, const std::string& restart_policy,
                  const Json& node_selector = Json::object());

}  // namespace exa::kubernetes
