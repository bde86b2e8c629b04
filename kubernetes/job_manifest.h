// The batch/v1 Job that runs one submitted job (type 3) on a cluster: the agent's own image in
// its run-once mode (`executor-agent run --registry <agent> --json-line <policy uri>`), which
// jails the policy exactly as the local backend does and prints the outcome as the last line of
// the pod's log, where the agent reads it back through the API (docs/kubernetes.md "Jobs").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/json_util.h"
#include "kubernetes/pod_template.h"

namespace exa::kubernetes {

struct JobSpec {
  std::string executor_id;
  std::string job_id;
  std::string policy_rule_uri;
  Json parameters = Json::object();
  Json inputs = Json::object();
  Json context = Json::object();  ///< what the policy sees as context (node, job)
  Json node_selector = Json::object();
  int timeout_seconds = 600;      ///< the policy's deadline, and the Job's activeDeadlineSeconds
  int backoff_limit = 0;          ///< retries after a failed pod; 0 = run once, as locally
  int ttl_seconds_after_finished = 3600;
};

/// The Job's object name for `job_id`: deterministic, so an agent restarted mid-job finds it.
std::string jobObjectName(std::string_view job_id);

/// The label every object of the job carries (the Job, and through its template its pods).
inline constexpr std::string_view kJobIdLabel = "executor-agent.io/job-id";

/// The Job manifest (apiVersion, kind, metadata, spec).
Json jobManifest(const PodSettings& pods, const JobSpec& job);

/// How a Job ended: only a Complete or Failed condition with status "True" is an end (a
/// `failed` count above 0 is not: the Job may still retry; SuccessCriteriaMet and FailureTarget
/// come before the end, not at it).
struct JobEnd {
  bool complete = false;  ///< else failed
  std::string reason;     ///< BackoffLimitExceeded, DeadlineExceeded, CompletionsReached, ...
  std::string message;
};
std::optional<JobEnd> jobEnd(const Json& job);

}  // namespace exa::kubernetes
