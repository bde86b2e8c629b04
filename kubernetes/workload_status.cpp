#include "kubernetes/workload_status.h"

namespace exa::kubernetes {
namespace {

bool isPullFailure(const std::string& reason) {
  return reason == "ErrImagePull" || reason == "ImagePullBackOff" ||
         reason == "InvalidImageName" || reason == "ErrImageNeverPull" ||
         reason == "RegistryUnavailable";
}

bool isStartFailure(const std::string& reason) {
  return reason == "CreateContainerConfigError" || reason == "CreateContainerError" ||
         reason == "RunContainerError";
}

// A condition of `object`'s status by type, or null.
const Json& condition(const Json& object, const char* type) {
  static const Json kNull;
  const Json& conditions = jsonAt(object, {"status", "conditions"});
  if (!conditions.is_array()) return kNull;
  for (const Json& c : conditions)
    if (stringAt(c, {"type"}) == type) return c;
  return kNull;
}

}  // namespace

PodSummary summarizePods(const Json& items) {
  PodSummary s;
  for (const Json& pod : items.is_array() ? items : Json::array()) {
    std::string name = stringAt(pod, {"metadata", "name"});
    Json entry = {{"name", name}, {"phase", stringAt(pod, {"status", "phase"})}};
    bool ready = stringAt(condition(pod, "Ready"), {"status"}) == "True";
    int64_t restarts = 0;
    std::string waiting;
    const Json& statuses = jsonAt(pod, {"status", "containerStatuses"});
    for (const Json& c : statuses.is_array() ? statuses : Json::array()) {
      restarts += intAt(c, {"restartCount"});
      std::string reason = stringAt(c, {"state", "waiting", "reason"});
      std::string message = stringAt(c, {"state", "waiting", "message"});
      std::string last = stringAt(c, {"lastState", "terminated", "reason"});
      if (!last.empty()) {
        int64_t code = intAt(c, {"lastState", "terminated", "exitCode"});
        s.last_restart_reason = last + " (exit code " + std::to_string(code) + ")";
      }
      if (reason.empty()) continue;
      waiting = reason;
      std::string text = "pod " + name + ": " + reason + (message.empty() ? "" : ": " + message);
      if (isPullFailure(reason) && s.pull_failure.empty()) s.pull_failure = text;
      else if (reason == "CrashLoopBackOff" && s.crash_loop.empty()) s.crash_loop = text;
      else if (isStartFailure(reason) && s.start_failure.empty()) s.start_failure = text;
      else if (s.pending.empty()) s.pending = text;
    }
    const Json& scheduled = condition(pod, "PodScheduled");
    if (stringAt(scheduled, {"status"}) == "False" && s.pending.empty())
      s.pending = "pod " + name + ": " + stringAt(scheduled, {"reason"}) + ": " +
                  stringAt(scheduled, {"message"});
    entry["ready"] = ready;
    entry["restarts"] = restarts;
    if (!waiting.empty()) entry["waiting_reason"] = waiting;
    s.restarts += restarts;
    s.pods.push_back(std::move(entry));
  }
  return s;
}

// The state and its reason, worst first: a pod that cannot pull or keeps crashing is named even
// while older pods still serve (a stuck rollout), then the rollout rule of `kubectl rollout
// status`, then the Deployment's own conditions.
std::pair<std::string, std::string> deploymentState(const Json& deployment,
                                                    const PodSummary& pods) {
  if (!pods.pull_failure.empty()) return {"image_pull_failed", pods.pull_failure};
  if (!pods.crash_loop.empty()) {
    std::string reason = pods.crash_loop;
    if (!pods.last_restart_reason.empty())
      reason += " (last exit: " + pods.last_restart_reason + ")";
    return {"crash_looping", reason};
  }
  if (!pods.start_failure.empty()) return {"unavailable", pods.start_failure};
  int64_t desired = intAt(deployment, {"spec", "replicas"}, 1);
  int64_t updated = intAt(deployment, {"status", "updatedReplicas"});
  int64_t replicas = intAt(deployment, {"status", "replicas"});
  int64_t available = intAt(deployment, {"status", "availableReplicas"});
  bool observed = intAt(deployment, {"status", "observedGeneration"}) >=
                  intAt(deployment, {"metadata", "generation"});
  if (observed && updated == desired && replicas == updated && available == updated)
    return {"available", ""};
  const Json& progressing = condition(deployment, "Progressing");
  if (stringAt(progressing, {"reason"}) == "ProgressDeadlineExceeded")
    return {"unavailable", "ProgressDeadlineExceeded: " + stringAt(progressing, {"message"})};
  if (!pods.pending.empty()) return {"progressing", pods.pending};
  const Json& available_condition = condition(deployment, "Available");
  return {"progressing", stringAt(available_condition, {"message"})};
}

Json autoscalerStatus(const Json& hpa) {
  Json out = {{"min_replicas", intAt(hpa, {"spec", "minReplicas"}, 1)},
              {"max_replicas", intAt(hpa, {"spec", "maxReplicas"})},
              {"current_replicas", intAt(hpa, {"status", "currentReplicas"})},
              {"desired_replicas", intAt(hpa, {"status", "desiredReplicas"})}};
  // A cluster that cannot read the pods' CPU says so here (no metrics-server, no requests).
  const Json& active = condition(hpa, "ScalingActive");
  if (stringAt(active, {"status"}) == "False")
    out["not_scaling"] = stringAt(active, {"reason"}) + ": " + stringAt(active, {"message"});
  return out;
}

}  // namespace exa::kubernetes
