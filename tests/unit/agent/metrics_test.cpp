#include "agent/metrics/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/metrics/agent_metrics.h"

namespace exa::agent {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(MetricsTest, CounterGaugeHistogramValues) {
  Counter counter;
  counter.inc();
  counter.inc(2.0);
  counter.inc(0.5);
  counter.inc(-7.0);  // ignored: counters only go up
  counter.inc(std::nan(""));
  EXPECT_DOUBLE_EQ(counter.value(), 3.5);

  Gauge gauge;
  gauge.set(10);
  gauge.add(-2.5);
  gauge.inc();
  gauge.dec();
  gauge.dec();
  EXPECT_DOUBLE_EQ(gauge.value(), 6.5);

  Histogram histogram({1, 2, std::numeric_limits<double>::infinity()});
  EXPECT_EQ(histogram.bounds(), (std::vector<double>{1, 2}));
  for (double v : {0.5, 1.0, 1.5, 3.0}) histogram.observe(v);
  Histogram::Snapshot snapshot = histogram.snapshot();
  EXPECT_EQ(snapshot.cumulative, (std::vector<uint64_t>{2, 3, 4}));
  EXPECT_EQ(snapshot.count, 4u);
  EXPECT_DOUBLE_EQ(snapshot.sum, 6.0);
}

TEST(MetricsTest, FormatsNumbersAsPrometheusDoes) {
  EXPECT_EQ(formatMetricValue(0), "0");
  EXPECT_EQ(formatMetricValue(-0.0), "0");
  EXPECT_EQ(formatMetricValue(1), "1");
  EXPECT_EQ(formatMetricValue(800000), "800000");
  EXPECT_EQ(formatMetricValue(1e20), "100000000000000000000");
  EXPECT_EQ(formatMetricValue(1e21), "1e+21");
  EXPECT_EQ(formatMetricValue(0.0001), "0.0001");
  EXPECT_EQ(formatMetricValue(0.00001), "1e-05");
  EXPECT_EQ(formatMetricValue(-3.5), "-3.5");
  EXPECT_EQ(formatMetricValue(0.1), "0.1");
  EXPECT_EQ(formatMetricValue(1718000000.25), "1718000000.25");
  EXPECT_EQ(formatMetricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(formatMetricValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(formatMetricValue(std::nan("")), "NaN");
}

TEST(MetricsTest, RendersGoldenExposition) {
  MetricsRegistry registry;
  auto& requests = registry.counter("test_requests_total", "Requests served.", {"route", "status"});
  requests.labels({"/b", "200"}).inc();
  requests.labels({"/a", "500"}).inc(2.0);
  requests.labels({"/a", "200"}).inc();
  registry.gauge("test_temperature", "Current \\ temperature\nin C.").labels({}).set(-3.5);
  auto& latency = registry.histogram("test_latency_seconds", "Latency.", {}, {0.25, 1});
  for (double v : {0.125, 0.25, 0.5, 8.0}) latency.labels({}).observe(v);
  registry.gaugeCallback("test_workers", "Workers by state.", {"state"}, [] {
    return GaugeSamples{{{"idle"}, 3}, {{"busy"}, 1}};
  });
  registry.counter("test_unused_total", "No label set yet: not exposed.", {"x"});
  registry.counter("test_zero_total", "Never incremented.");

  EXPECT_EQ(registry.render(), R"(# HELP test_latency_seconds Latency.
# TYPE test_latency_seconds histogram
test_latency_seconds_bucket{le="0.25"} 2
test_latency_seconds_bucket{le="1"} 3
test_latency_seconds_bucket{le="+Inf"} 4
test_latency_seconds_sum 8.875
test_latency_seconds_count 4
# HELP test_requests_total Requests served.
# TYPE test_requests_total counter
test_requests_total{route="/a",status="200"} 1
test_requests_total{route="/a",status="500"} 2
test_requests_total{route="/b",status="200"} 1
# HELP test_temperature Current \\ temperature\nin C.
# TYPE test_temperature gauge
test_temperature -3.5
# HELP test_workers Workers by state.
# TYPE test_workers gauge
test_workers{state="busy"} 1
test_workers{state="idle"} 3
# HELP test_zero_total Never incremented.
# TYPE test_zero_total counter
test_zero_total 0
)");
}

TEST(MetricsTest, EscapesLabelValues) {
  MetricsRegistry registry;
  registry.counter("c_total", "h", {"v"}).labels({"a\\b\"c\nd"}).inc();
  EXPECT_TRUE(contains(registry.render(), "c_total{v=\"a\\\\b\\\"c\\nd\"} 1\n"))
      << registry.render();
}

TEST(MetricsTest, LabelledHistogramBucketsAreCumulativeWithInf) {
  MetricsRegistry registry;
  auto& family = registry.histogram("h_seconds", "h", {"route"}, {0.1, 0.5});
  auto& child = family.labels({"/x"});
  child.observe(0.0625);
  child.observe(0.25);
  child.observe(0.5);  // on a bound: counted in that bucket
  child.observe(100);
  std::string text = registry.render();
  EXPECT_TRUE(contains(text, "h_seconds_bucket{route=\"/x\",le=\"0.1\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "h_seconds_bucket{route=\"/x\",le=\"0.5\"} 3\n")) << text;
  EXPECT_TRUE(contains(text, "h_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n")) << text;
  EXPECT_TRUE(contains(text, "h_seconds_count{route=\"/x\"} 4\n")) << text;
  EXPECT_TRUE(contains(text, "h_seconds_sum{route=\"/x\"} 100.8125\n")) << text;
}

TEST(MetricsTest, FamiliesReturnTheSameChildForTheSameLabels) {
  MetricsRegistry registry;
  auto& family = registry.counter("same_total", "h", {"a", "b"});
  Counter* first = &family.labels({"x", "y"});
  EXPECT_EQ(first, &family.labels({"x", "y"}));
  EXPECT_NE(first, &family.labels({"x", "z"}));
  EXPECT_NE(first, &family.labels({"y", "x"}));

  // Racing first inserts of one label set all get the one child.
  std::vector<Counter*> seen(8);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < seen.size(); ++t)
    threads.emplace_back([&, t] { seen[t] = &family.labels({"new", "set"}); });
  for (auto& thread : threads) thread.join();
  for (Counter* counter : seen) EXPECT_EQ(counter, seen[0]);
}

TEST(MetricsTest, ConcurrentUpdatesReachTheExactTotal) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100000;
  MetricsRegistry registry;
  auto& looked_up = registry.counter("looked_up_total", "h", {"k"});
  Counter& cached = registry.counter("cached_total", "h").labels({});
  Gauge& gauge = registry.gauge("g", "h").labels({});
  Histogram& histogram = registry.histogram("h_seconds", "h", {}, {0.25, 1}).labels({});
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        looked_up.labels({"k"}).inc();
        cached.inc();
        cached.inc(0.5);
        gauge.add(1);
        histogram.observe(0.5);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  constexpr double kTotal = double{kThreads} * kPerThread;
  EXPECT_EQ(looked_up.labels({"k"}).value(), kTotal);
  EXPECT_EQ(cached.value(), kTotal * 1.5);
  EXPECT_EQ(gauge.value(), kTotal);
  EXPECT_EQ(histogram.snapshot().count, static_cast<uint64_t>(kTotal));
  EXPECT_EQ(histogram.snapshot().sum, kTotal * 0.5);
  EXPECT_TRUE(contains(registry.render(), "looked_up_total{k=\"k\"} 800000\n"));
}

std::unique_ptr<AgentMetrics> populatedAgentMetrics() {
  auto metrics = std::make_unique<AgentMetrics>("1.2.3-test", 1718000000.5);
  metrics->recordHttpRequest("/policy/<uri>", "POST", 200, 0.012);
  metrics->recordHttpRequest("/policy/<uri>", "POST", 429, 0.0004);
  metrics->recordPolicyExecution("", 0.01);
  metrics->recordPolicyExecution("timeout", 5.0);
  metrics->recordPolicyExecution("invalid_parameters", 0.001);
  metrics->recordPolicyExecution("some_new_type", 0.001);
  metrics->recordWorkerKill("timeout");
  metrics->setWorkerStateSource([] {
    return std::vector<std::pair<std::string, double>>{{"idle", 4}, {"busy", 2}};
  });
  return metrics;
}

TEST(AgentMetricsTest, RecordsUnderConventionalNames) {
  std::string text = populatedAgentMetrics()->render();
  for (const char* line : {
           "executor_agent_http_requests_total{route=\"/policy/<uri>\",method=\"POST\","
           "status=\"429\"} 1\n",
           "executor_agent_http_request_duration_seconds_bucket{route=\"/policy/<uri>\","
           "le=\"0.0005\"} 1\n",
           "executor_agent_policy_executions_total{outcome=\"ok\"} 1\n",
           "executor_agent_policy_executions_total{outcome=\"invalid_input\"} 1\n",
           "executor_agent_policy_executions_total{outcome=\"other\"} 1\n",
           "executor_agent_policy_executions_total{outcome=\"crashed\"} 0\n",
           "executor_agent_policy_execution_duration_seconds_count{outcome=\"timeout\"} 1\n",
           "executor_agent_worker_kills_total{reason=\"timeout\"} 1\n",
           "executor_agent_workers{state=\"busy\"} 2\n",
           "executor_agent_build_info{version=\"1.2.3-test\"} 1\n",
           "process_start_time_seconds 1718000000.5\n",
       }) {
    EXPECT_TRUE(contains(text, line)) << line << "\nin:\n" << text;
  }
  // Duration histograms appear only for outcomes that happened.
  EXPECT_FALSE(contains(text, "policy_execution_duration_seconds_count{outcome=\"crashed\"}"));
  EXPECT_EQ(policyOutcome(""), "ok");
  EXPECT_EQ(policyOutcome("sandbox_violation"), "sandbox_violation");
  EXPECT_EQ(policyOutcome("invalid_settings"), "invalid_input");
  EXPECT_EQ(policyOutcome("sandbox_setup"), "other");
}

TEST(AgentMetricsTest, EverySampleLineParsesBack) {
  const std::regex sample(R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? -?[0-9.e+Inf NaN-]+$)");
  std::istringstream lines(populatedAgentMetrics()->render());
  std::string line;
  int samples = 0;
  while (std::getline(lines, line)) {
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) continue;
    EXPECT_TRUE(std::regex_match(line, sample)) << line;
    ++samples;
  }
  EXPECT_GT(samples, 50);
}

TEST(MetricsDeathTest, ProgrammingErrorsAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  MetricsRegistry registry;
  registry.histogram("taken_seconds", "h", {}, {1});
  EXPECT_DEATH(registry.counter("1bad", "h"), "invalid metric name");
  EXPECT_DEATH(registry.counter("ok_total", "h", {"bad-label"}), "invalid label name");
  EXPECT_DEATH(registry.counter("ok_total", "h", {"__reserved"}), "invalid label name");
  EXPECT_DEATH(registry.counter("ok_total", "h", {"a", "a"}), "duplicate label");
  EXPECT_DEATH(registry.histogram("ok_seconds", "h", {"le"}, {1}), "invalid label name");
  EXPECT_DEATH(registry.histogram("ok_seconds", "h", {}, {1, 1}), "strictly increasing");
  EXPECT_DEATH(registry.gauge("taken_seconds", "h"), "collides");
  EXPECT_DEATH(registry.gauge("taken_seconds_count", "h"), "collides");
  EXPECT_DEATH(registry.counter("arity_total", "h", {"a"}).labels({"x", "y"}), "label values");
}

}  // namespace
}  // namespace exa::agent
