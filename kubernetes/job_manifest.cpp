#include "kubernetes/job_manifest.h"

#include "kubernetes/object_names.h"

namespace exa::kubernetes {

std::string jobObjectName(std::string_view job_id) {
  // Job names end up in the pods' job-name label, hence the 63-character cap.
  return dns1123Name("exa-job-" + std::string(job_id), 63);
}

Json jobManifest(const PodSettings& pods, const JobSpec& job) {
  Json metadata = ownershipMetadata(job.executor_id, "job", job.job_id);
  metadata["name"] = jobObjectName(job.job_id);
  metadata["labels"][std::string(kJobIdLabel)] = labelValue(job.job_id);
  Json args = {"run",
               "--registry", pods.agent_url,
               "--json-line",
               // The policy sees the job id as its rule_id, as on the local backend.
               "--rule-id", job.job_id,
               "--timeout-ms", std::to_string(job.timeout_seconds * 1000L),
               "--parameters", dumpJson(job.parameters),
               "--input", dumpJson(job.inputs),
               "--context", dumpJson(job.context),
               job.policy_rule_uri};
  Json pod_metadata = {{"labels", metadata["labels"]}};
  Json spec = {
      {"backoffLimit", job.backoff_limit},
      // The deadline covers the whole Job (scheduling and image pull included), as the local
      // backend's deadline covers spawn and import.
      {"activeDeadlineSeconds", job.timeout_seconds},
      {"ttlSecondsAfterFinished", job.ttl_seconds_after_finished},
      {"template",
       {{"metadata", pod_metadata},
        {"spec", agentPodSpec(pods, agentContainer(pods, args), "Never", job.node_selector)}}}};
  return Json{{"apiVersion", "batch/v1"}, {"kind", "Job"}, {"metadata", metadata}, {"spec", spec}};
}

std::optional<JobEnd> jobEnd(const Json& job) {
  const Json status = job.value("status", Json::object());
  if (!status.is_object() || !status.contains("conditions") || !status["conditions"].is_array())
    return std::nullopt;
  for (const Json& condition : status["conditions"]) {
    std::string type = condition.value("type", "");
    if ((type != "Complete" && type != "Failed") || condition.value("status", "") != "True")
      continue;
    return JobEnd{type == "Complete", condition.value("reason", ""),
                  condition.value("message", "")};
  }
  return std::nullopt;
}

}  // namespace exa::kubernetes
