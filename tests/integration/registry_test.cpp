// The bundled registry and execution over HTTP, on the real daemon: the seed's curl examples
// (URL substituted), their failure statuses, and persistence across kill -9.
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>
#include <utility>

#include "common/json_util.h"
#include "tests/support/agent_process.h"
#include "tests/support/agent_server.h"
#include "tests/support/http_client.h"
#include "tests/support/jail_harness.h"
#include "tests/support/policy_fixture.h"
#include "tests/support/temp_dir.h"

namespace exa {
namespace {

using exa::testing::httpRequest;
using exa::testing::policyRule;
using exa::testing::zipPolicy;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = exa::testing::jailUnsupportedReason();
    if (!why.empty()) GTEST_SKIP() << why;
    policy_ = exa::testing::seedPolicy(dir_);
  }

  std::vector<std::string> args(std::vector<std::string> extra = {}) const {
    extra.insert(extra.begin(), {"--executor-id", "executor-001"});
    return exa::testing::agentArgs(dir_, std::move(extra));
  }

  exa::testing::TempDir dir_;
  Json policy_;
};

TEST_F(RegistryTest, SeedPolicyLifecycleAndExecution) {
  exa::testing::AgentServer agent(args());
  uint16_t port = agent.port();
  auto created = httpRequest(port, "POST", "/policy", policy_.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.json["data"]["policy_rule_uri"], "ip_allowlist:1.0-beta");
  EXPECT_EQ(httpRequest(port, "POST", "/policy", policy_.dump()).status, 409);

  auto got = httpRequest(port, "GET", "/policy/ip_allowlist:1.0-beta");
  ASSERT_EQ(got.status, 200) << got.body;
  for (const char* key : {"name", "version", "release_tag", "policy_rule_uri", "metadata", "tags",
                          "code", "type", "policy_input_schema", "policy_settings",
                          "policy_parameters", "management_commands_schema", "description"})
    EXPECT_TRUE(got.json["data"].contains(key)) << key;

  // The seed's query example.
  auto found = httpRequest(port, "POST", "/policy/query",
                           R"({"release_tag": "beta", "tags": {"$regex": "security"},
                               "version": {"$gte": "1.0"}})");
  ASSERT_EQ(found.status, 200) << found.body;
  EXPECT_EQ(found.json["data"].size(), 1u);
  auto bad_filter = httpRequest(port, "POST", "/policy/query", R"({"version": {"$bogus": 1}})");
  EXPECT_EQ(bad_filter.status, 400) << bad_filter.body;
  EXPECT_NE(bad_filter.body.find("$bogus"), std::string::npos) << bad_filter.body;

  // The seed's execute example, on this executor.
  auto run = httpRequest(port, "POST", "/executor/executor-001/execute_policy",
                         R"({"policy_rule_uri": "ip_allowlist:1.0-beta",
                             "input_data": {"ip": "10.0.0.1"},
                             "parameters": {"local_allowlist": ["10.0.0.1"]}})");
  ASSERT_EQ(run.status, 200) << run.body;
  EXPECT_EQ(run.json["success"], true);
  EXPECT_EQ(run.json["data"]["allowed"], true);
  // The original executor's route, with the stored parameters.
  auto stored = httpRequest(port, "POST", "/execute_policy",
                            R"({"policy_rule_uri": "ip_allowlist:1.0-beta",
                                "input_data": {"ip": "192.168.0.1"}})");
  ASSERT_EQ(stored.status, 200) << stored.body;
  EXPECT_EQ(stored.json["data"]["allowed"], true);

  auto bad_input = httpRequest(port, "POST", "/execute_policy",
                               R"({"policy_rule_uri": "ip_allowlist:1.0-beta",
                                   "input_data": {"ip": "not an ip"}})");
  EXPECT_EQ(bad_input.status, 400) << bad_input.body;
  EXPECT_EQ(bad_input.json["error"]["type"], "invalid_input");
  EXPECT_NE(bad_input.body.find("input_data.ip"), std::string::npos);
  EXPECT_EQ(httpRequest(port, "POST", "/executor/elsewhere/execute_policy",
                        R"({"policy_rule_uri": "ip_allowlist:1.0-beta"})").status, 404);
  EXPECT_EQ(httpRequest(port, "POST", "/execute_policy",
                        R"({"policy_rule_uri": "nope:1-x", "input_data": {}})").status, 404);

  auto state = httpRequest(port, "POST", "/policy/ip_allowlist:1.0-beta/management",
                           R"({"action": "get_state"})");
  ASSERT_EQ(state.status, 200) << state.body;
  EXPECT_EQ(state.json["data"]["status"], "success");
  EXPECT_EQ(httpRequest(port, "POST", "/policy/ip_allowlist:1.0-beta/management",
                        R"({"action": "reboot"})").status, 400);

  // The seed's update example.
  auto updated = httpRequest(port, "PUT", "/policy/ip_allowlist:1.0-beta",
                             R"({"$set": {"policy_parameters.local_allowlist": ["10.0.0.1", "8.8.8.8"],
                                 "description": "Updated policy to allow new internal IP ranges."}})");
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(updated.json["data"]["policy_parameters"]["local_allowlist"][1], "8.8.8.8");
  auto eight = httpRequest(port, "POST", "/execute_policy",
                           R"({"policy_rule_uri": "ip_allowlist:1.0-beta",
                               "input_data": {"ip": "8.8.8.8"}})");
  EXPECT_EQ(eight.json["data"]["allowed"], true) << eight.body;

  EXPECT_EQ(httpRequest(port, "POST", "/policy", "{not json").status, 400);
  auto removed = httpRequest(port, "DELETE", "/policy/ip_allowlist:1.0-beta");
  EXPECT_EQ(removed.status, 200) << removed.body;
  EXPECT_EQ(httpRequest(port, "GET", "/policy/ip_allowlist:1.0-beta").status, 404);
}

TEST_F(RegistryTest, TokenGuardsWritesAndExecution) {
  exa::testing::AgentServer agent(args({"--token", "s3cret-token"}));
  uint16_t port = agent.port();
  auto anonymous = httpRequest(port, "POST", "/policy", policy_.dump());
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.json["message"], "unauthorized") << "a 401 must not explain itself";
  EXPECT_EQ(httpRequest(port, "POST", "/policy", policy_.dump(), "s3cret-tokem").status, 401);
  EXPECT_EQ(httpRequest(port, "POST", "/policy", policy_.dump(), "s3cret-token").status, 201);
  EXPECT_EQ(httpRequest(port, "POST", "/execute_policy",
                        R"({"policy_rule_uri": "ip_allowlist:1.0-beta", "input_data": {"ip": "1.2.3.4"}})")
                .status, 401);
  // Reads and health stay open unless --protect-reads.
  EXPECT_EQ(httpRequest(port, "GET", "/policy/ip_allowlist:1.0-beta").status, 200);
  EXPECT_EQ(httpRequest(port, "GET", "/health").status, 200);
}

TEST_F(RegistryTest, AFloodOfOnePolicyDoesNotStarveAnother) {
  Json slow = policyRule(
      "slow", zipPolicy(dir_, "slow",
                        "import time\nclass AIOSv1PolicyRule:\n    def __init__(self, r, s, p):\n"
                        "        pass\n    def eval(self, p, i, c):\n        time.sleep(1.5)\n"
                        "        return 'slow'\n"));
  exa::testing::AgentServer agent(args({"--threads", "4", "--max-in-flight-per-policy", "1"}));
  uint16_t port = agent.port();
  ASSERT_EQ(httpRequest(port, "POST", "/policy", slow.dump()).status, 201);
  ASSERT_EQ(httpRequest(port, "POST", "/policy", policy_.dump()).status, 201);
  std::string slow_call = R"({"policy_rule_uri": "slow:1-x", "input_data": {}})";
  // Two calls of the slow policy at once: whichever comes second is refused at once.
  exa::testing::HttpResult a, b;
  std::thread ta([&] { a = httpRequest(port, "POST", "/execute_policy", slow_call); });
  std::thread tb([&] { b = httpRequest(port, "POST", "/execute_policy", slow_call); });
  // Meanwhile another policy still gets a thread and a worker.
  auto other = httpRequest(port, "POST", "/execute_policy",
                           R"({"policy_rule_uri": "ip_allowlist:1.0-beta",
                               "input_data": {"ip": "192.168.0.1"}})");
  EXPECT_EQ(other.status, 200) << "another policy was starved: " << other.body;
  ta.join();
  tb.join();
  std::multiset<int> statuses = {a.status, b.status};
  EXPECT_EQ(statuses, (std::multiset<int>{200, 429})) << a.body << "\n" << b.body;
  const auto& refused = a.status == 429 ? a : b;
  EXPECT_EQ(refused.json["error"]["type"], "busy");
}

TEST_F(RegistryTest, ContextPersistsAcrossCallsAndRestarts) {
  Json counter = policyRule(
      "counter", zipPolicy(dir_, "counter",
                           "class AIOSv1PolicyRule:\n    def __init__(self, r, s, p):\n"
                           "        pass\n    def eval(self, p, i, c):\n"
                           "        c['n'] = c.get('n', 0) + 1\n        return c['n']\n"));
  std::string call = R"({"policy_rule_uri": "counter:1-x", "input_data": {}})";
  {
    exa::testing::AgentServer agent(args());
    ASSERT_EQ(httpRequest(agent.port(), "POST", "/policy", counter.dump()).status, 201);
    EXPECT_EQ(httpRequest(agent.port(), "POST", "/execute_policy", call).json["data"], 1);
    EXPECT_EQ(httpRequest(agent.port(), "POST", "/execute_policy", call).json["data"], 2);
    agent.stop(SIGKILL);
  }
  exa::testing::AgentServer restarted(args());
  auto third = httpRequest(restarted.port(), "POST", "/execute_policy", call);
  EXPECT_EQ(third.json["data"], 3) << third.body;
}

TEST_F(RegistryTest, SeedOnboardingThroughUploadedAsset) {
  // The seed's flow with nothing else installed: upload the zip as an asset (curl -F), point the
  // policy's code at the returned URL, onboard, execute.
  exa::testing::AgentServer agent(args());
  uint16_t port = agent.port();
  std::string zip = exa::testing::readFile(dir_.path() + "/ip.zip");
  std::string boundary = "------------------------exa4b1d";
  std::string body = "--" + boundary + "\r\n"
                     "Content-Disposition: form-data; name=\"asset\"; filename=\"ip-allow-list-checker.zip\"\r\n"
                     "Content-Type: application/octet-stream\r\n\r\n" + zip + "\r\n"
                     "--" + boundary + "\r\n"
                     "Content-Disposition: form-data; name=\"asset_metadata\"\r\n\r\n"
                     R"({"asset_name": "IP-allow-list", "asset_version": {"version": "1.0", "tag": "beta"},
                         "asset_metadata": {"description": "IP allow list policy code"},
                         "asset_tags": ["policy", "example"]})"
                     "\r\n--" + boundary + "--\r\n";
  auto uploaded = httpRequest(port, "POST", "/upload_asset", body, "",
                              "multipart/form-data; boundary=" + boundary);
  ASSERT_EQ(uploaded.status, 201) << uploaded.body;
  std::string url = uploaded.json["data"]["url"];
  EXPECT_EQ(uploaded.json["data"]["asset_name"], "IP-allow-list");
  EXPECT_EQ(url.rfind("http://127.0.0.1:", 0), 0u) << url;
  auto served = httpRequest(port, "GET", url.substr(url.find("/assets/")));
  EXPECT_EQ(served.status, 200);
  EXPECT_EQ(served.body, zip);

  Json policy = policy_;
  policy["code"] = url;
  ASSERT_EQ(httpRequest(port, "POST", "/policy", policy.dump()).status, 201);
  auto run = httpRequest(port, "POST", "/executor/executor-001/execute_policy",
                         R"({"policy_rule_uri": "ip_allowlist:1.0-beta", "input_data": {"ip": "10.0.0.1"},
                             "parameters": {"local_allowlist": ["10.0.0.1"]}})");
  ASSERT_EQ(run.status, 200) << run.body;
  EXPECT_EQ(run.json["data"]["allowed"], true);
  EXPECT_EQ(httpRequest(port, "GET", "/assets/" + std::string(64, '0')).status, 404);
  EXPECT_EQ(httpRequest(port, "POST", "/upload_asset", "x", "", "multipart/form-data").status, 400);
}

TEST_F(RegistryTest, SigtermLetsACallInFlightFinish) {
  Json slow = policyRule(
      "drain", zipPolicy(dir_, "drain",
                         "import time\nclass AIOSv1PolicyRule:\n    def __init__(self, r, s, p):\n"
                         "        pass\n    def eval(self, p, i, c):\n        time.sleep(1)\n"
                         "        return 'done'\n"));
  exa::testing::AgentServer agent(args());
  uint16_t port = agent.port();
  ASSERT_EQ(httpRequest(port, "POST", "/policy", slow.dump()).status, 201);
  exa::testing::HttpResult answer;
  std::thread call([&] {
    answer = httpRequest(port, "POST", "/execute_policy",
                         R"({"policy_rule_uri": "drain:1-x", "input_data": {}})");
  });
  // Wait until the agent holds the call, then ask it to stop.
  (void)exa::testing::eventually(
      [&] { return httpRequest(port, "GET", "/health").json["data"]["pool"]["spawned"] == 1; },
      std::chrono::seconds(2), std::chrono::milliseconds(10));
  int status = agent.stop(SIGTERM);
  call.join();
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.json["data"], "done");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST_F(RegistryTest, CommittedPoliciesSurviveKillNine) {
  {
    exa::testing::AgentServer agent(args());
    ASSERT_EQ(httpRequest(agent.port(), "POST", "/policy", policy_.dump()).status, 201);
    agent.stop(SIGKILL);
  }
  exa::testing::AgentServer restarted(args());
  auto got = httpRequest(restarted.port(), "GET", "/policy/ip_allowlist:1.0-beta");
  EXPECT_EQ(got.status, 200) << got.body;
}

}  // namespace
}  // namespace exa
