// Job records (type 3): the seed's submission (name, policy_rule_uri, policy_rule_parameters,
// node_selector, inputs) plus a lifecycle pending -> running -> completed | failed, with
// timestamps, attempts, the output or a typed error (DESIGN.md §8 "Jobs"). The original's keys
// (job_id, job_status, job_output_data, node_id, job_policy_rule_uri) are kept.
#pragma once

#include <string>

#include "agent/registry/collection.h"
#include "common/json_util.h"
#include "common/result.h"

namespace exa::agent {

/// The store collection "jobs", keyed by job_id.
CollectionSpec jobCollection();

/// A validated submission: errors are kInvalidArgument naming the field.
struct JobRequest {
  std::string name;
  std::string policy_rule_uri;
  Json policy_rule_parameters = Json::object();
  Json node_selector = Json::object();
  Json inputs = Json::object();
  std::string job_id;      ///< "" = a new uuid (the original executor's /create_job sends one)
  int timeout_seconds = 0;  ///< 0 = the agent's default
};
Result<JobRequest> parseJobRequest(const Json& body);

/// The pending record of `request` for `executor_id`.
Json newJobRecord(const JobRequest& request, const std::string& job_id,
                  const std::string& executor_id);

/// A random RFC 4122 version 4 id.
std::string newUuid();
/// Now as "2026-11-25T16:10:00.123Z".
std::string utcNow();

}  // namespace exa::agent
