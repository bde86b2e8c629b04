#include "agent/jobs/job_record.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

namespace exa::agent {
namespace {

Result<std::pair<std::string, Json>> normalizeJob(const Json& doc) {
  if (!doc.contains("job_id") || !doc["job_id"].is_string() || doc["job_id"].get<std::string>().empty())
    return makeError(ErrorCode::kInvalidArgument, "job_id: required non-empty string");
  return std::make_pair(doc["job_id"].get<std::string>(), doc);
}

}  // namespace

CollectionSpec jobCollection() { return {"jobs", normalizeJob, {}}; }

Result<JobRequest> parseJobRequest(const Json& body) {
  if (!body.is_object()) return makeError(ErrorCode::kInvalidArgument, "a job must be a JSON object");
  std::string errors;
  auto fail = [&](const std::string& what) { errors += (errors.empty() ? "" : "; ") + what; };
  JobRequest r;
  for (auto [field, target] : {std::pair{"name", &r.name}, {"policy_rule_uri", &r.policy_rule_uri}}) {
    if (!body.contains(field) || !body[field].is_string() || body[field].get<std::string>().empty())
      fail(std::string(field) + ": required non-empty string");
    else
      *target = body[field].get<std::string>();
  }
  for (auto [field, target] : {std::pair{"policy_rule_parameters", &r.policy_rule_parameters},
                               {"node_selector", &r.node_selector}, {"inputs", &r.inputs}}) {
    if (!body.contains(field) || body[field].is_null()) continue;
    if (!body[field].is_object()) fail(std::string(field) + ": must be an object");
    else *target = body[field];
  }
  if (body.contains("job_id")) {
    if (!body["job_id"].is_string() || body["job_id"].get<std::string>().empty() ||
        body["job_id"].get<std::string>().find_first_of("/ \t\r\n") != std::string::npos)
      fail("job_id: a non-empty string without '/' or whitespace");
    else
      r.job_id = body["job_id"].get<std::string>();
  }
  if (body.contains("timeout_seconds")) {
    if (!body["timeout_seconds"].is_number_integer() || body["timeout_seconds"].get<int64_t>() < 1 ||
        body["timeout_seconds"].get<int64_t>() > 86400)
      fail("timeout_seconds: an integer from 1 to 86400");
    else
      r.timeout_seconds = body["timeout_seconds"].get<int>();
  }
  if (!errors.empty()) return makeError(ErrorCode::kInvalidArgument, errors);
  return r;
}

Json newJobRecord(const JobRequest& request, const std::string& job_id,
                  const std::string& executor_id) {
  return Json{{"job_id", job_id},
              {"name", request.name},
              {"executor_id", executor_id},
              {"node_id", executor_id},
              {"policy_rule_uri", request.policy_rule_uri},
              {"job_policy_rule_uri", request.policy_rule_uri},
              {"policy_rule_parameters", request.policy_rule_parameters},
              {"node_selector", request.node_selector},
              {"inputs", request.inputs},
              {"job_status", "pending"},
              {"job_output_data", nullptr},
              {"error", nullptr},
              {"attempts", 0},
              {"timeout_seconds", request.timeout_seconds},
              {"created_at", utcNow()},
              {"started_at", nullptr},
              {"finished_at", nullptr},
              {"logs", ""}};
}

std::string newUuid() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  uint64_t hi = random(), lo = random();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char text[37];
  std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return text;
}

std::string utcNow() {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t seconds = system_clock::to_time_t(now);
  auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return text;
}

}  // namespace exa::agent
