#include "agent/metrics/agent_metrics.h"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <thread>

namespace exa::agent {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string populated() {
  AgentMetrics metrics("1.2.3-test");
  metrics.recordHttpRequest("/policy/<uri>", "POST", 429, 0.0003);
  metrics.recordPolicyExecution("", 0.0004);
  metrics.recordPolicyExecution("invalid_settings", 0.00001);
  metrics.recordPolicyExecution("timeout", 2.0);
  metrics.recordPolicyExecution("brand_new_error", 0.1);
  metrics.recordWorkerKill("timeout");
  metrics.setWorkerStateSource([] {
    return std::vector<std::pair<std::string, double>>{{"idle", 4}, {"busy", 2}};
  });
  return metrics.render();
}

TEST(AgentMetricsTest, RecordsUnderConventionalNames) {
  std::string text = populated();
  for (const char* line : {
           "executor_agent_http_requests_total{method=\"POST\",route=\"/policy/<uri>\","
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
           "# TYPE executor_agent_policy_execution_duration_seconds histogram\n",
       }) {
    EXPECT_TRUE(contains(text, line)) << line << "\nin:\n" << text;
  }
  EXPECT_TRUE(contains(text, "process_start_time_seconds "));
}

TEST(AgentMetricsTest, OutcomesAreAClosedSet) {
  EXPECT_EQ(policyOutcome(""), "ok");
  EXPECT_EQ(policyOutcome("sandbox_violation"), "sandbox_violation");
  EXPECT_EQ(policyOutcome("invalid_parameters"), "invalid_input");
  EXPECT_EQ(policyOutcome("sandbox_setup"), "sandbox_setup");
  EXPECT_EQ(policyOutcome("anything else"), "other");
}

TEST(AgentMetricsTest, HistogramBucketsAreCumulative) {
  AgentMetrics metrics("x");
  for (double s : {0.0002, 0.002, 0.02, 40.0}) metrics.recordPolicyExecution("", s);
  std::string text = metrics.render();
  const std::string prefix = "executor_agent_policy_execution_duration_seconds_bucket{outcome=\"ok\",";
  EXPECT_TRUE(contains(text, prefix + "le=\"0.00025\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, prefix + "le=\"0.0025\"} 2\n")) << text;
  EXPECT_TRUE(contains(text, prefix + "le=\"0.025\"} 3\n")) << text;
  EXPECT_TRUE(contains(text, prefix + "le=\"30\"} 3\n")) << text;
  EXPECT_TRUE(contains(text, prefix + "le=\"+Inf\"} 4\n")) << text;
}

TEST(AgentMetricsTest, ConcurrentRecordingLosesNothing) {
  AgentMetrics metrics("x");
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        metrics.recordPolicyExecution("", 0.001);
        metrics.recordHttpRequest("/execute_policy", "POST", 200, 0.001);
      }
    });
  for (auto& t : threads) t.join();
  std::string text = metrics.render();
  EXPECT_TRUE(contains(text, "executor_agent_policy_executions_total{outcome=\"ok\"} 160000\n"));
  EXPECT_TRUE(contains(text, "executor_agent_http_requests_total{method=\"POST\",route=\"/execute_"
                             "policy\",status=\"200\"} 160000\n"))
      << text;
}

TEST(AgentMetricsTest, EverySampleLineParsesBack) {
  const std::regex sample(R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? -?[0-9.e+Inf NaN-]+( [0-9]+)?$)");
  std::istringstream lines(populated());
  std::string line;
  int samples = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line.starts_with("# HELP ") || line.starts_with("# TYPE ")) continue;
    EXPECT_TRUE(std::regex_match(line, sample)) << line;
    ++samples;
  }
  EXPECT_GT(samples, 50);
}

}  // namespace
}  // namespace exa::agent
