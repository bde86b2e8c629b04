// The agent's metrics (executor_agent_*), rendered by GET /metrics in Prometheus's text format,
// over prometheus-cpp (Debian's prometheus-cpp-dev). One instance for the process; record*() is
// safe from any thread. Label values come from closed sets where we can close them (route
// patterns, outcomes), because every distinct value is a new time series in Prometheus.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace exa::agent {

/// The outcome label of a policy execution for a CallError type ("" means success: "ok").
/// invalid_settings / invalid_parameters / invalid_management count as invalid_input; any type
/// outside the list below counts as "other", so a new error type cannot add series unseen.
std::string_view policyOutcome(std::string_view call_error_type);

/// Every value policyOutcome() returns.
inline constexpr std::array<std::string_view, 13> kPolicyOutcomes = {
    "ok",           "policy_error",  "timeout",      "memory_exceeded",
    "crashed",      "sandbox_violation", "output_too_large", "invalid_input",
    "invalid_output", "busy",        "not_found",    "sandbox_setup", "other"};

/// Worker count per state ("idle", "busy", ...), read at scrape time.
using WorkerStateSource = std::function<std::vector<std::pair<std::string, double>>()>;

/// Seconds: 100 µs to 30 s, dense where warm calls land.
std::vector<double> latencyBuckets();

class AgentMetrics {
 public:
  explicit AgentMetrics(const std::string& version);
  AgentMetrics(const AgentMetrics&) = delete;
  AgentMetrics& operator=(const AgentMetrics&) = delete;

  /// `route` is the router's pattern ("/policy/<uri>"), never the raw path: raw paths carry
  /// URIs and ids and would make one series per request target.
  void recordHttpRequest(const std::string& route, const std::string& method, unsigned status,
                         double seconds);
  /// `call_error_type` as in CallError::type, "" for success.
  void recordPolicyExecution(std::string_view call_error_type, double seconds);
  /// `reason` from the pool's fixed vocabulary (timeout, memory_exceeded, recycled, ...).
  void recordWorkerKill(const std::string& reason);
  /// The source of `executor_agent_workers{state}`, run on the scraping thread.
  void setWorkerStateSource(WorkerStateSource source);

  /// The exposition text (Content-Type: text/plain; version=0.0.4).
  std::string render();

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& http_requests_;
  prometheus::Family<prometheus::Histogram>& http_duration_;
  prometheus::Family<prometheus::Counter>& executions_;
  prometheus::Family<prometheus::Histogram>& execution_duration_;
  prometheus::Family<prometheus::Counter>& worker_kills_;
  prometheus::Family<prometheus::Gauge>& workers_;
  /// Per outcome, created up front so every series starts at zero and recording looks nothing up.
  std::array<prometheus::Counter*, kPolicyOutcomes.size()> outcome_counts_{};
  std::array<prometheus::Histogram*, kPolicyOutcomes.size()> outcome_durations_{};

  std::mutex worker_source_mutex_;
  WorkerStateSource worker_source_;
};

}  // namespace exa::agent
