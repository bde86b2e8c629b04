#include "agent/backends/kubernetes_job_backend.h"

#include <algorithm>
#include <sstream>

#include "common/log.h"
#include "kubernetes/job_manifest.h"
#include "kubernetes/object_names.h"
#include "kubernetes/watch.h"

namespace exa::agent {
namespace {

using policies::CallResult;
using policies::failure;

// The last line of `log` that is a CallResult document: what `executor-agent run --json-line`
// printed after everything the agent and the policy wrote before it.
std::optional<CallResult> lastResultLine(const std::string& log) {
  std::vector<std::string> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (it->empty() || it->front() != '{') continue;
    auto doc = parseJson(*it);
    if (!doc) continue;
    if (auto result = policies::callResultFromJson(*doc)) return result;
  }
  return std::nullopt;
}

std::string creationTime(const Json& object) {
  return object.value("metadata", Json::object()).value("creationTimestamp", "");
}

}  // namespace

KubernetesJobBackend::KubernetesJobBackend(kubernetes::ApiClient& client,
                                           KubernetesJobOptions options)
    : client_(client), options_(std::move(options)) {}

std::string KubernetesJobBackend::jobsPath() const {
  return "/apis/batch/v1/namespaces/" + options_.namespace_name + "/jobs";
}

CallResult KubernetesJobBackend::run(const Json& job, const OneShot& shot) {
  const std::string job_id = job.value("job_id", "");
  kubernetes::JobSpec spec;
  spec.executor_id = options_.executor_id;
  spec.job_id = job_id;
  spec.policy_rule_uri = job.value("policy_rule_uri", "");
  spec.parameters = job.value("policy_rule_parameters", Json::object());
  spec.inputs = job.value("inputs", Json::object());
  spec.context = shot.context;
  spec.node_selector = job.value("node_selector", Json::object());
  auto seconds = std::chrono::ceil<std::chrono::seconds>(shot.timeout).count();
  spec.timeout_seconds = static_cast<int>(std::max<long long>(1, seconds));
  spec.backoff_limit = options_.backoff_limit;
  spec.ttl_seconds_after_finished = options_.ttl_seconds_after_finished;

  auto created = createOrAdopt(kubernetes::jobManifest(options_.pods, spec));
  if (!created) return failure("unavailable", "job " + job_id + ": " + created.error().describe());
  const std::string name = kubernetes::jobObjectName(job_id);
  // Every attempt may run the whole deadline, and each waits for a pod to start.
  auto budget = std::chrono::seconds(spec.timeout_seconds) * (spec.backoff_limit + 1) +
                options_.grace;
  auto ended = waitForEnd(name, std::chrono::steady_clock::now() + budget);
  if (!ended) return failure("unavailable", "job " + job_id + ": " + ended.error().describe());
  if (!*ended) {
    if (detached_) return failure("detached", "the agent stopped waiting; the Job runs on");
    // The cluster never ended it (no node, no image): stop it rather than leave it pending.
    auto deleted = client_.request("DELETE", jobsPath() + "/" + name, nullptr,
                                   {{"propagationPolicy", "Background"}});
    if (!deleted) LOG_W("job {}: deleting Job {} failed: {}", job_id, name, deleted.error().describe());
    return failure("timeout", "job " + job_id + ": the cluster did not finish Job " + name +
                                  " within " + std::to_string(budget.count()) + " s");
  }
  return outcome(**ended, job_id);
}

void KubernetesJobBackend::detachAll() { detached_ = true; }

Result<Json> KubernetesJobBackend::createOrAdopt(const Json& manifest) {
  kubernetes::ApiStatus status;
  auto created = client_.request("POST", jobsPath(), manifest, {}, &status);
  if (created || status.reason != "AlreadyExists") return created;
  const std::string name = manifest["metadata"]["name"];
  EXA_ASSIGN_OR_RETURN(Json existing, client_.request("GET", jobsPath() + "/" + name));
  std::string ours = manifest["metadata"]["labels"][std::string(kubernetes::kJobIdLabel)];
  if (!kubernetes::ownedBy(existing, options_.executor_id) ||
      existing["metadata"].value("labels", Json::object()).value(
          std::string(kubernetes::kJobIdLabel), "") != ours)
    return makeError(ErrorCode::kAlreadyExists,
                     "a Job named " + name + " exists in namespace " + options_.namespace_name +
                         " and was not made by executor " + options_.executor_id);
  LOG_I("Job {} exists already and is ours: re-attached", name);
  return existing;
}

Result<std::optional<Json>> KubernetesJobBackend::waitForEnd(
    const std::string& name, std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  bool deleted = false;
  auto ended = kubernetes::waitFor(
      client_, jobsPath(), name,
      [&deleted](const Json& job) {
        // Deleted under us (by an operator, or by its TTL while this agent was down).
        deleted = job.is_null();
        return deleted || kubernetes::jobEnd(job).has_value();
      },
      std::max(left, std::chrono::milliseconds(1)), options_.poll_interval, &detached_);
  if (ended) {
    if (deleted) return makeError(ErrorCode::kNotFound, "Job " + name + " was deleted before it ended");
    return std::optional<Json>(std::move(ended).value());
  }
  if (detached_ || ended.error().code == ErrorCode::kTimeout) return std::optional<Json>();
  return ended.error();
}

CallResult KubernetesJobBackend::outcome(const Json& job_object, const std::string& job_id) {
  kubernetes::JobEnd end = *kubernetes::jobEnd(job_object);
  const std::string name = job_object["metadata"].value("name", "");
  if (end.complete) {
    if (auto result = podResult(job_id, "Succeeded")) return *result;
    return failure("job_result_missing",
                   "Job " + name + " completed but its pod's log holds no result line");
  }
  if (end.reason == "DeadlineExceeded")
    return failure("timeout", "Job " + name + ": " + end.message);
  // A failed attempt printed why (policy_error with the traceback, memory_exceeded, ...).
  if (auto result = podResult(job_id, "Failed"); result && !result->ok()) {
    int failed = job_object.value("status", Json::object()).value("failed", 0);
    result->error->message += " (Job " + name + ", " + std::to_string(failed) + " failed pods)";
    return *result;
  }
  return failure("job_failed", "Job " + name + ": " + end.reason + ": " + end.message);
}

std::optional<CallResult> KubernetesJobBackend::podResult(const std::string& job_id,
                                                           const std::string& phase) {
  const std::string pods = "/api/v1/namespaces/" + options_.namespace_name + "/pods";
  auto list = client_.request(
      "GET", pods, nullptr,
      {{"labelSelector", std::string(kubernetes::kJobIdLabel) + "=" +
                             kubernetes::labelValue(job_id)}});
  if (!list) {
    LOG_W("job {}: listing its pods failed: {}", job_id, list.error().describe());
    return std::nullopt;
  }
  const Json* newest = nullptr;
  for (const Json& pod : (*list)["items"]) {
    if (pod.value("status", Json::object()).value("phase", "") != phase) continue;
    if (!newest || creationTime(pod) >= creationTime(*newest)) newest = &pod;
  }
  if (!newest) return std::nullopt;
  kubernetes::ApiRequest request;
  request.path = pods + "/" + (*newest)["metadata"].value("name", "") + "/log";
  request.query = {{"tailLines", "100"}};
  auto log = client_.call(request);
  if (!log || log->status != 200) {
    LOG_W("job {}: reading the pod log failed: {}", job_id,
          log ? std::to_string(log->status) + " " + log->body : log.error().describe());
    return std::nullopt;
  }
  return lastResultLine(log->body);
}

}  // namespace exa::agent
