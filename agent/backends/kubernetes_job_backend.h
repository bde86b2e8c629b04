// The Kubernetes backend for jobs (type 3): one batch/v1 Job per submitted job
// (kubernetes/job_manifest.h), watched (kubernetes::waitFor) until a Complete or Failed
// condition is True, its outcome read back from the last line of the pod's log. The Job's name
// follows from the job id, so an agent that restarts mid-job re-attaches to it (create answers
// 409 AlreadyExists, the object is ours by label: adopt it) instead of running the policy twice.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

#include "agent/backends/execution_backend.h"
#include "kubernetes/api_client.h"
#include "kubernetes/pod_template.h"

namespace exa::agent {

struct KubernetesJobOptions {
  std::string namespace_name;
  std::string executor_id;
  kubernetes::PodSettings pods;
  int backoff_limit = 0;
  int ttl_seconds_after_finished = 3600;
  /// Used only when the server refuses to watch (RBAC without list/watch).
  std::chrono::milliseconds poll_interval{1000};
  /// How long past the job's own deadline we wait for the cluster to say it ended before the
  /// Job is deleted and the job reported as timed out (a cluster that never runs the pod).
  std::chrono::seconds grace{60};
};

class KubernetesJobBackend : public JobBackend {
 public:
  KubernetesJobBackend(kubernetes::ApiClient& client, KubernetesJobOptions options);
  const char* name() const override { return "kubernetes"; }
  bool reattaches() const override { return true; }
  policies::CallResult run(const Json& job, const OneShot& shot) override;
  void detachAll() override;

 private:
  Result<Json> createOrAdopt(const Json& manifest);
  /// The Job once a Complete or Failed condition is True; nullopt when detached or past
  /// `deadline`.
  Result<std::optional<Json>> waitForEnd(const std::string& name,
                                         std::chrono::steady_clock::time_point deadline);
  policies::CallResult outcome(const Json& job_object, const std::string& job_id);
  /// The CallResult printed by the newest pod of the job in `phase` (Succeeded or Failed).
  std::optional<policies::CallResult> podResult(const std::string& job_id, const std::string& phase);
  std::string jobsPath() const;

  kubernetes::ApiClient& client_;
  KubernetesJobOptions options_;
  std::atomic<bool> detached_{false};
};

}  // namespace exa::agent
