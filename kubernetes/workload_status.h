// What a function's workload looks like from its objects: the pods' figures and worst waiting
// reason, the Deployment's state (the rollout rule of `kubectl rollout status`, with pod
// failures named first) and the autoscaler's view. Pure readers of the JSON the API returns.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "common/json_util.h"

namespace exa::kubernetes {

/// Figures and the worst waiting reason over a workload's pods.
struct PodSummary {
  Json pods = Json::array();
  int64_t restarts = 0;
  std::string last_restart_reason;
  std::string pull_failure;   ///< "pod P: ImagePullBackOff: message"
  std::string crash_loop;     ///< "pod P: CrashLoopBackOff: ..."
  std::string start_failure;  ///< "pod P: CreateContainerConfigError: ..."
  std::string pending;        ///< the first other waiting or unschedulable reason
};

/// Summarises a PodList's `items`.
PodSummary summarizePods(const Json& items);

/// ("image_pull_failed" | "crash_looping" | "unavailable" | "available" | "progressing", why),
/// worst first: a pod that cannot pull or keeps crashing is named even while older pods serve.
std::pair<std::string, std::string> deploymentState(const Json& deployment,
                                                    const PodSummary& pods);

/// min/max/current/desired replicas of an autoscaling/v2 HPA, and why it is not scaling.
Json autoscalerStatus(const Json& hpa);

}  // namespace exa::kubernetes
