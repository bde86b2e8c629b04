// The agent's metrics (executor_agent_*), rendered by GET /metrics. One instance for the
// process; its record*() methods are safe from any thread. Label values come from closed sets
// where we can close them (route patterns, outcomes), because every distinct value is a new
// time series in Prometheus.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/metrics/metrics.h"

namespace exa::agent {

/// The outcome label of a policy execution for a CallError type ("" means success: "ok").
/// invalid_settings / invalid_parameters / invalid_management count as invalid_input; any type
/// outside the list below counts as "other", so a new error type cannot add series unseen.
std::string_view policyOutcome(std::string_view call_error_type);

/// Every value policyOutcome() returns.
inline constexpr std::array<std::string_view, 11> kPolicyOutcomes = {
    "ok",          "policy_error",  "timeout",        "memory_exceeded", "crashed",
    "sandbox_violation", "output_too_large", "invalid_input", "invalid_output", "busy",
    "other"};

/// Worker count per state ("idle", "busy", ...), read at scrape time.
using WorkerStateSource = std::function<std::vector<std::pair<std::string, double>>()>;

class AgentMetrics {
 public:
  /// `start_time_seconds`: Unix time the process started; by default, now.
  explicit AgentMetrics(std::string_view version, double start_time_seconds = -1.0);
  AgentMetrics(const AgentMetrics&) = delete;
  AgentMetrics& operator=(const AgentMetrics&) = delete;

  /// `route` is the router's pattern ("/policy/<uri>"), never the raw path: raw paths carry
  /// URIs and ids and would make one series per request target.
  void recordHttpRequest(std::string_view route, std::string_view method, unsigned status,
                         double seconds);
  /// `call_error_type` as in CallError::type, "" for success; lock-free.
  void recordPolicyExecution(std::string_view call_error_type, double seconds);
  /// `reason` should come from a fixed vocabulary (timeout, memory_exceeded, recycled, ...).
  void recordWorkerKill(std::string_view reason);
  /// Replaces the source of `executor_agent_workers{state}`; it runs on the scraping thread
  /// and must be thread-safe. Without a source, the family is not exposed.
  void setWorkerStateSource(WorkerStateSource source);

  std::string render() const { return registry_.render(); }
  /// For metrics owned elsewhere (registered once, at startup).
  MetricsRegistry& registry() { return registry_; }

 private:
  GaugeSamples workerSamples() const;

  MetricsRegistry registry_;
  Family<Counter>& http_requests_;
  Family<Histogram>& http_request_duration_;
  Family<Counter>& worker_kills_;
  Family<Histogram>& policy_duration_;
  /// Counters are created up front (each outcome's series starts at zero); histograms, at 20
  /// series each, only once an outcome happens. Both are cached here, so that recording an
  /// execution takes no lock after an outcome's first time.
  std::array<Counter*, kPolicyOutcomes.size()> outcome_counts_{};
  std::array<std::atomic<Histogram*>, kPolicyOutcomes.size()> outcome_durations_{};

  mutable std::mutex worker_source_mutex_;
  WorkerStateSource worker_source_;
};

}  // namespace exa::agent
