// The agent's metric set and its recording helpers.
#include "agent/metrics/agent_metrics.h"

#include <charconv>
#include <chrono>

namespace exa::agent {
namespace {

std::string named(std::string_view suffix) {
  return "executor_agent_" + std::string(suffix);
}

size_t outcomeIndex(std::string_view type) {
  if (type.empty()) return 0;  // "ok"
  // Rejected before any policy code ran, for the same reason: what the caller sent.
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

AgentMetrics::AgentMetrics(std::string_view version, double start_time_seconds)
    : http_requests_(registry_.counter(named("http_requests_total"),
                                       "HTTP requests answered, by route pattern, method and "
                                       "status.",
                                       {"route", "method", "status"})),
      http_request_duration_(registry_.histogram(
          named("http_request_duration_seconds"),
          "Time to handle an HTTP request, by route pattern.", {"route"}, latencyBuckets())),
      worker_kills_(registry_.counter(named("worker_kills_total"),
                                      "Policy workers killed, by reason.", {"reason"})),
      policy_duration_(registry_.histogram(named("policy_execution_duration_seconds"),
                                           "Time of a policy execution, by outcome.",
                                           {"outcome"}, latencyBuckets())) {
  auto& executions = registry_.counter(named("policy_executions_total"),
                                       "Policy executions, by outcome.", {"outcome"});
  for (size_t i = 0; i < kPolicyOutcomes.size(); ++i)
    outcome_counts_[i] = &executions.labels({kPolicyOutcomes[i]});

  registry_.gauge(named("build_info"), "Agent build; the value is always 1.", {"version"})
      .labels({version})
      .set(1.0);
  // Unprefixed on purpose: the standard name every client library exports, which dashboards
  // use for uptime (time() - process_start_time_seconds).
  registry_.gauge("process_start_time_seconds", "Start time of the process since unix epoch in "
                  "seconds.")
      .labels({})
      .set(start_time_seconds >= 0.0 ? start_time_seconds : nowSeconds());
  registry_.gaugeCallback(named("workers"), "Policy workers, by state.", {"state"},
                          [this] { return workerSamples(); });
}

void AgentMetrics::recordHttpRequest(std::string_view route, std::string_view method,
                                     unsigned status, double seconds) {
  char buffer[16];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, status);
  std::string_view status_text(buffer, static_cast<size_t>(end - buffer));
  http_requests_.labels({route, method, status_text}).inc();
  http_request_duration_.labels({route}).observe(seconds);
}

void AgentMetrics::recordPolicyExecution(std::string_view call_error_type, double seconds) {
  size_t index = outcomeIndex(call_error_type);
  outcome_counts_[index]->inc();
  Histogram* duration = outcome_durations_[index].load(std::memory_order_acquire);
  if (duration == nullptr) {
    // Racing threads get the same child from the family; storing it twice is harmless.
    duration = &policy_duration_.labels({kPolicyOutcomes[index]});
    outcome_durations_[index].store(duration, std::memory_order_release);
  }
  duration->observe(seconds);
}

void AgentMetrics::recordWorkerKill(std::string_view reason) {
  worker_kills_.labels({reason}).inc();
}

void AgentMetrics::setWorkerStateSource(WorkerStateSource source) {
  std::lock_guard lock(worker_source_mutex_);
  worker_source_ = std::move(source);
}

GaugeSamples AgentMetrics::workerSamples() const {
  WorkerStateSource source;
  {
    // Copied out so the source runs unlocked: it may take the worker pool's own locks.
    std::lock_guard lock(worker_source_mutex_);
    source = worker_source_;
  }
  GaugeSamples samples;
  if (!source) return samples;
  for (auto& [state, count] : source()) samples.push_back({{std::move(state)}, count});
  return samples;
}

}  // namespace exa::agent
