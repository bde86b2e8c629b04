// Type 4 functions on the real daemon: the seed's deployment, call, read, query and removal
// examples; stateful replicas; a crashed replica restarted (with the management commands
// replayed); local autoscaling up under load and back down when idle.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/json_util.h"
#include "tests/support/agent_server.h"
#include "tests/support/http_client.h"
#include "tests/support/jail_harness.h"
#include "tests/support/policy_fixture.h"
#include "tests/support/temp_dir.h"

namespace exa {
namespace {

using exa::testing::AgentServer;
using exa::testing::eventually;
using exa::testing::httpRequest;

class FunctionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = exa::testing::jailUnsupportedReason();
    if (!why.empty()) GTEST_SKIP() << why;
  }
  std::vector<std::string> args() const {
    return exa::testing::agentArgs(dir_, {"--executor-id", "executor-001"});
  }
  void onboard(uint16_t port, const std::string& name, const std::string& source) {
    ASSERT_EQ(exa::testing::onboardPolicy(port, dir_, name, source).status, 201);
  }
  static Json status(uint16_t port, const std::string& name) {
    return httpRequest(port, "GET", "/function/" + name).json["data"]["function_status"];
  }
  exa::testing::TempDir dir_;
};

TEST_F(FunctionsTest, SeedDeployCallReadQueryAndRemove) {
  AgentServer agent(args());
  uint16_t port = agent.port();
  Json policy = exa::testing::seedPolicy(dir_);
  ASSERT_EQ(httpRequest(port, "POST", "/policy", policy.dump()).status, 201);

  // The seed's examples, verbatim bodies.
  auto created = httpRequest(port, "POST", "/function/deployments/create/executor-001", R"({
    "name": "check-ip-fn",
    "policy_rule_uri": "ip_allowlist:1.0-beta",
    "policy_rule_parameters": {
      "local_allowlist": ["10.0.0.1"]
    },
    "replicas": 2,
    "autoscaling": {
      "enabled": true,
      "min_replicas": 1,
      "max_replicas": 5,
      "target_cpu_utilization_percentage": 10
    },
    "function_metadata": {
      "maintainer": "network-team",
      "description": "Checks IP allowlist"
    },
    "function_tags": ["network", "security"]
  })");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.json["data"]["function_executor_id"], "executor-001");
  EXPECT_EQ(created.json["data"]["function_policy_data"]["name"], "ip_allowlist");

  auto called = httpRequest(port, "POST", "/function/call_function/check-ip-fn", R"({
    "ip": "10.0.0.1"
  })");
  ASSERT_EQ(called.status, 200) << called.body;
  EXPECT_EQ(called.json["data"]["allowed"], true);

  auto read = httpRequest(port, "GET", "/function/check-ip-fn");
  ASSERT_EQ(read.status, 200);
  EXPECT_GE(read.json["data"]["function_status"]["replicas"].get<int>(), 1);
  auto found = httpRequest(port, "POST", "/function/query", R"({
    "function_tags": { "$in": ["network"] },
    "function_policy_rule_uri": "ip_allowlist:1.0-beta"
  })");
  ASSERT_EQ(found.status, 200);
  EXPECT_EQ(found.json["data"].size(), 1u);

  // Management reaches every replica's instance.
  auto managed = httpRequest(port, "POST", "/function/check-ip-fn/management",
                             R"({"action": "update_local_allowlist", "data": {"ips": ["1.2.3.4"]}})");
  ASSERT_EQ(managed.status, 200) << managed.body;
  for (const auto& reply : managed.json["data"]["replicas"])
    EXPECT_EQ(reply["output"]["status"], "success") << reply.dump();
  // The seed's eval reads the call's parameters, not self.parameters: the change shows in the
  // instances' state, which persists between calls (type 4).
  auto state = httpRequest(port, "POST", "/function/check-ip-fn/management", R"({"action": "get_state"})");
  for (const auto& reply : state.json["data"]["replicas"])
    EXPECT_EQ(reply["output"]["local_allowlist"][0], "1.2.3.4") << reply.dump();

  EXPECT_EQ(httpRequest(port, "POST", "/function/deployments/create/executor-001",
                        created.json["data"].dump()).status, 400);  // no name/policy_rule_uri keys
  EXPECT_EQ(httpRequest(port, "DELETE", "/function/deployments/remove/check-ip-fn").status, 200);
  EXPECT_EQ(httpRequest(port, "GET", "/function/check-ip-fn").status, 404);
  EXPECT_EQ(httpRequest(port, "POST", "/function/call_function/check-ip-fn", R"({"ip": "x"})").status,
            404);
}

TEST_F(FunctionsTest, ReplicasKeepStateAndACrashedOneIsReplacedWithItsCommands) {
  AgentServer agent(args());
  uint16_t port = agent.port();
  onboard(port, "counter",
          "import os\n"
          "class AIOSv1PolicyRule:\n"
          "    def __init__(self, rule_id, settings, parameters): self.n = 0\n"
          "    def eval(self, parameters, input_data, context):\n"
          "        if input_data.get('die'): os._exit(3)\n"
          "        self.n += 1\n"
          "        print('counted', self.n)\n"
          "        return {'n': self.n}\n"
          "    def management(self, action, data):\n"
          "        self.n = data['n']\n"
          "        return {'n': self.n}\n");
  ASSERT_EQ(httpRequest(port, "POST", "/function/deployments/create/executor-001",
                        R"({"name": "count", "policy_rule_uri": "counter:1-x"})").status, 201);
  for (int expected : {1, 2, 3}) {
    auto r = httpRequest(port, "POST", "/function/call_function/count", R"({"x": 1})");
    EXPECT_EQ(r.json["data"]["n"], expected) << r.body;
  }
  // What the instances printed is kept per function (DESIGN.md §8), newest last.
  auto logs = httpRequest(port, "GET", "/function/get_logs/count?tail=2");
  ASSERT_EQ(logs.status, 200) << logs.body;
  EXPECT_EQ(logs.json["logs"], "counted 2\ncounted 3\n");
  EXPECT_EQ(logs.json["data"], logs.json["logs"]);
  ASSERT_EQ(httpRequest(port, "POST", "/function/count/management",
                        R"({"action": "set", "data": {"n": 100}})").status, 200);
  auto crashed = httpRequest(port, "POST", "/function/call_function/count", R"({"die": true})");
  EXPECT_EQ(crashed.status, 502) << crashed.body;
  Json s = status(port, "count");
  EXPECT_EQ(s["restarts"], 1);
  EXPECT_EQ(s["last_restart_reason"], "crashed");
  // The replacement got the management command again: it continues from 100.
  auto next = httpRequest(port, "POST", "/function/call_function/count", R"({"x": 1})");
  EXPECT_EQ(next.json["data"]["n"], 101) << next.body;
}

TEST_F(FunctionsTest, AFloodOfOneFunctionIsRefusedNotQueuedBehind) {
  // Four HTTP threads, at most two calls of one function in flight.
  AgentServer agent(exa::testing::agentArgs(
      dir_, {"--executor-id", "executor-001", "--threads", "4", "--max-in-flight-per-policy", "2"}));
  uint16_t port = agent.port();
  onboard(port, "slow",
          "import time\n"
          "class AIOSv1PolicyRule:\n"
          "    def __init__(self, rule_id, settings, parameters): pass\n"
          "    def eval(self, parameters, input_data, context):\n"
          "        time.sleep(1)\n"
          "        return {}\n");
  onboard(port, "quick",
          "class AIOSv1PolicyRule:\n"
          "    def __init__(self, rule_id, settings, parameters): pass\n"
          "    def eval(self, parameters, input_data, context): return {'quick': True}\n");
  ASSERT_EQ(httpRequest(port, "POST", "/function/deployments/create/executor-001",
                        R"({"name": "slow", "policy_rule_uri": "slow:1-x"})").status, 201);
  std::atomic<int> ok{0}, busy{0};
  std::vector<std::thread> flood;
  for (int i = 0; i < 4; ++i)
    flood.emplace_back([&] {
      int status = httpRequest(port, "POST", "/function/call_function/slow", "{\"a\": 1}").status;
      (status == 200 ? ok : busy)++;
    });
  // Meanwhile another policy still gets an HTTP thread and an answer.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto other = httpRequest(port, "POST", "/execute_policy",
                           R"({"policy_rule_uri": "quick:1-x", "input_data": {}})");
  for (auto& t : flood) t.join();
  EXPECT_EQ(other.status, 200) << other.body;
  EXPECT_EQ(ok + busy, 4);
  EXPECT_GE(busy.load(), 2) << "calls over the in-flight cap must be refused, not queued";
  EXPECT_GE(ok.load(), 1);
}

TEST_F(FunctionsTest, AutoscalesUpUnderLoadAndDownWhenIdle) {
  // Enough HTTP threads and in-flight room for calls to queue: queue depth drives scaling here.
  AgentServer agent(exa::testing::agentArgs(
      dir_, {"--executor-id", "executor-001", "--threads", "8", "--max-in-flight-per-policy", "6"}));
  uint16_t port = agent.port();
  onboard(port, "slow",
          "import time\n"
          "class AIOSv1PolicyRule:\n"
          "    def __init__(self, rule_id, settings, parameters): pass\n"
          "    def eval(self, parameters, input_data, context):\n"
          "        time.sleep(0.2)\n"
          "        return {}\n");
  ASSERT_EQ(httpRequest(port, "POST", "/function/deployments/create/executor-001",
                        R"({"name": "slow", "policy_rule_uri": "slow:1-x", "replicas": 1,
                            "autoscaling": {"enabled": true, "min_replicas": 1, "max_replicas": 3,
                                            "target_cpu_utilization_percentage": 50}})").status, 201);
  std::atomic<bool> stop{false};
  std::vector<std::thread> load;
  for (int i = 0; i < 4; ++i)
    load.emplace_back([&] {
      while (!stop) httpRequest(port, "POST", "/function/call_function/slow", "{\"a\": 1}");
    });
  bool grew = eventually([&] { return status(port, "slow")["replicas"].get<int>() >= 2; });
  stop = true;
  for (auto& t : load) t.join();
  EXPECT_TRUE(grew) << status(port, "slow").dump();
  EXPECT_LE(status(port, "slow")["replicas"].get<int>(), 3);
  EXPECT_TRUE(eventually([&] { return status(port, "slow")["replicas"] == 1; },
                         std::chrono::seconds(20)))
      << status(port, "slow").dump();
}

TEST_F(FunctionsTest, AutoscalingReadsCpuFromTheCgroupsNotWallClock) {
  AgentServer agent(args());
  uint16_t port = agent.port();
  auto health = httpRequest(port, "GET", "/health");
  if (health.json["data"]["limits"].get<std::string>().rfind("cgroup", 0) != 0)
    GTEST_SKIP() << "no cgroups here: busy time stands in for CPU";
  onboard(port, "sleeper",
          "import time\n"
          "class AIOSv1PolicyRule:\n"
          "    def __init__(self, rule_id, settings, parameters): pass\n"
          "    def eval(self, parameters, input_data, context):\n"
          "        time.sleep(0.1)\n"
          "        return {}\n");
  ASSERT_EQ(httpRequest(port, "POST", "/function/deployments/create/executor-001",
                        R"({"name": "sleeper", "policy_rule_uri": "sleeper:1-x", "replicas": 1,
                            "autoscaling": {"enabled": true, "min_replicas": 1, "max_replicas": 3,
                                            "target_cpu_utilization_percentage": 10}})").status, 201);
  // One client, never queued: its replica is busy all the time but burns no CPU, so there is
  // nothing to scale for (busy time alone would read 100% and add replicas).
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(3500);
  while (std::chrono::steady_clock::now() < until)
    ASSERT_EQ(httpRequest(port, "POST", "/function/call_function/sleeper", "{\"a\": 1}").status, 200);
  EXPECT_EQ(status(port, "sleeper")["replicas"], 1) << status(port, "sleeper").dump();
}

}  // namespace
}  // namespace exa
