#include "agent/metrics/agent_metrics.h"

#include <chrono>

#include <prometheus/text_serializer.h>

namespace exa::agent {
namespace {

size_t outcomeIndex(std::string_view type) {
  if (type.empty()) return 0;  // "ok"
  // Refused before any policy code ran, for the same reason: what the caller sent.
  if (type == "invalid_settings" || type == "invalid_parameters" || type == "invalid_management")
    type = "invalid_input";
  for (size_t i = 0; i < kPolicyOutcomes.size(); ++i)
    if (kPolicyOutcomes[i] == type) return i;
  return kPolicyOutcomes.size() - 1;  // "other"
}

double nowSeconds() {
  using Seconds = std::chrono::duration<double>;
  return std::chrono::duration_cast<Seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string_view policyOutcome(std::string_view call_error_type) {
  return kPolicyOutcomes[outcomeIndex(call_error_type)];
}

std::vector<double> latencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30};
}

AgentMetrics::AgentMetrics(const std::string& version)
    : registry_(std::make_shared<prometheus::Registry>()),
      http_requests_(prometheus::BuildCounter()
                         .Name("executor_agent_http_requests_total")
                         .Help("HTTP requests answered, by route pattern, method and status.")
                         .Register(*registry_)),
      http_duration_(prometheus::BuildHistogram()
                         .Name("executor_agent_http_request_duration_seconds")
                         .Help("Time to handle an HTTP request, by route pattern.")
                         .Register(*registry_)),
      executions_(prometheus::BuildCounter()
                      .Name("executor_agent_policy_executions_total")
                      .Help("Policy executions, by outcome.")
                      .Register(*registry_)),
      execution_duration_(prometheus::BuildHistogram()
                              .Name("executor_agent_policy_execution_duration_seconds")
                              .Help("Time of a policy execution (queue to reply), by outcome.")
                              .Register(*registry_)),
      worker_kills_(prometheus::BuildCounter()
                        .Name("executor_agent_worker_kills_total")
                        .Help("Policy workers killed, by reason.")
                        .Register(*registry_)),
      workers_(prometheus::BuildGauge()
                   .Name("executor_agent_workers")
                   .Help("Policy workers, by state.")
                   .Register(*registry_)) {
  for (size_t i = 0; i < kPolicyOutcomes.size(); ++i) {
    prometheus::Labels outcome{{"outcome", std::string(kPolicyOutcomes[i])}};
    outcome_counts_[i] = &executions_.Add(outcome);
    outcome_durations_[i] = &execution_duration_.Add(outcome, latencyBuckets());
  }
  prometheus::BuildGauge()
      .Name("executor_agent_build_info")
      .Help("Agent build; the value is always 1.")
      .Register(*registry_)
      .Add({{"version", version}})
      .Set(1.0);
  // Unprefixed on purpose: the standard name every client library exports, which dashboards
  // use for uptime (time() - process_start_time_seconds).
  prometheus::BuildGauge()
      .Name("process_start_time_seconds")
      .Help("Start time of the process since unix epoch in seconds.")
      .Register(*registry_)
      .Add({})
      .Set(nowSeconds());
}

void AgentMetrics::recordHttpRequest(const std::string& route, const std::string& method,
                                     unsigned status, double seconds) {
  http_requests_.Add({{"route", route}, {"method", method}, {"status", std::to_string(status)}})
      .Increment();
  http_duration_.Add({{"route", route}}, latencyBuckets()).Observe(seconds);
}

void AgentMetrics::recordPolicyExecution(std::string_view call_error_type, double seconds) {
  size_t index = outcomeIndex(call_error_type);
  outcome_counts_[index]->Increment();
  outcome_durations_[index]->Observe(seconds);
}

void AgentMetrics::recordWorkerKill(const std::string& reason) {
  worker_kills_.Add({{"reason", reason}}).Increment();
}

void AgentMetrics::setWorkerStateSource(WorkerStateSource source) {
  std::lock_guard lock(worker_source_mutex_);
  worker_source_ = std::move(source);
}

std::string AgentMetrics::render() {
  WorkerStateSource source;
  {
    // Copied out so the source runs unlocked: it takes the worker pool's own locks.
    std::lock_guard lock(worker_source_mutex_);
    source = worker_source_;
  }
  if (source)
    for (const auto& [state, count] : source()) workers_.Add({{"state", state}}).Set(count);
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace exa::agent
