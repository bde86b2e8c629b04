// POST /executor/<id>/execute_policy for another executor: two real agents on 127.0.0.1, the
// policy onboarded on the second only; the first relays the call to the registered
// executor_host_uri and the reply back, and refuses targets it must never contact.
#include <gtest/gtest.h>

#include "common/json_util.h"
#include "tests/support/agent_server.h"
#include "tests/support/http_client.h"
#include "tests/support/jail_harness.h"
#include "tests/support/policy_fixture.h"
#include "tests/support/temp_dir.h"

namespace exa {
namespace {

using exa::testing::AgentServer;
using exa::testing::httpRequest;

class ForwardingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = exa::testing::jailUnsupportedReason();
    if (!why.empty()) GTEST_SKIP() << why;
  }

  std::vector<std::string> args(const std::string& id) const {
    return {"--runtime-dir", dir_.path() + "/run-" + id, "--data-dir", dir_.path() + "/data-" + id,
            "--executor-id", id, "--file-root", dir_.path()};
  }

  void registerExecutor(uint16_t port, const std::string& id, const std::string& host_uri) {
    Json record = {{"executor_id", id}, {"executor_host_uri", host_uri},
                   {"executor_metadata", Json::object()}, {"executor_hardware_info", Json::object()}};
    auto created = httpRequest(port, "POST", "/executor", record.dump());
    ASSERT_EQ(created.status, 201) << created.body;
  }

  exa::testing::TempDir dir_;
};

TEST_F(ForwardingTest, RunsOnTheRegisteredExecutorAndRelaysItsReply) {
  AgentServer front(args("executor-a"));
  AgentServer back(args("executor-b"));
  Json policy = exa::testing::seedPolicy(dir_);
  ASSERT_EQ(httpRequest(back.port(), "POST", "/policy", policy.dump()).status, 201);
  registerExecutor(front.port(), "executor-b",
                   "http://127.0.0.1:" + std::to_string(back.port()) + "/");

  auto run = httpRequest(front.port(), "POST", "/executor/executor-b/execute_policy",
                         R"({"policy_rule_uri": "ip_allowlist:1.0-beta",
                             "input_data": {"ip": "10.0.0.1"},
                             "parameters": {"local_allowlist": ["10.0.0.1"]}})");
  ASSERT_EQ(run.status, 200) << run.body;
  EXPECT_EQ(run.json["data"]["allowed"], true);
  // The front agent has no such policy: only the back one can have answered.
  EXPECT_EQ(httpRequest(front.port(), "POST", "/execute_policy",
                        R"({"policy_rule_uri": "ip_allowlist:1.0-beta", "input_data": {}})").status,
            404);

  // The back agent's errors come back with their status and type.
  auto bad_input = httpRequest(front.port(), "POST", "/executor/executor-b/execute_policy",
                               R"({"policy_rule_uri": "ip_allowlist:1.0-beta",
                                   "input_data": {"ip": "not an ip"}})");
  EXPECT_EQ(bad_input.status, 400) << bad_input.body;
  EXPECT_EQ(bad_input.json["error"]["type"], "invalid_input");
  auto unknown = httpRequest(front.port(), "POST", "/executor/executor-b/execute_policy",
                             R"({"policy_rule_uri": "nope:1-x", "input_data": {}})");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
}

TEST_F(ForwardingTest, UnreachableMissingAndForbiddenTargetsAreClearErrors) {
  AgentServer front(args("executor-a"));
  uint16_t dead_port = 0;
  {
    AgentServer gone(args("executor-gone"));
    dead_port = gone.port();
  }
  registerExecutor(front.port(), "dead", "http://127.0.0.1:" + std::to_string(dead_port));
  registerExecutor(front.port(), "metadata", "http://169.254.169.254/latest");
  registerExecutor(front.port(), "nowhere", "");
  const std::string call = R"({"policy_rule_uri": "ip_allowlist:1.0-beta", "input_data": {}})";

  auto dead = httpRequest(front.port(), "POST", "/executor/dead/execute_policy", call);
  EXPECT_EQ(dead.status, 502) << dead.body;
  EXPECT_EQ(dead.json["error"]["type"], "executor_unreachable");
  EXPECT_NE(dead.json["message"].get<std::string>().find("dead"), std::string::npos);

  auto metadata = httpRequest(front.port(), "POST", "/executor/metadata/execute_policy", call);
  EXPECT_EQ(metadata.status, 502) << metadata.body;
  EXPECT_EQ(metadata.json["error"]["type"], "forward_refused");
  EXPECT_NE(metadata.json["message"].get<std::string>().find("link-local"), std::string::npos);

  auto nowhere = httpRequest(front.port(), "POST", "/executor/nowhere/execute_policy", call);
  EXPECT_EQ(nowhere.status, 502) << nowhere.body;
  EXPECT_EQ(httpRequest(front.port(), "POST", "/executor/unregistered/execute_policy", call).status,
            404);
  EXPECT_EQ(httpRequest(front.port(), "POST", "/executor/dead/execute_policy", "{}").status, 400);
}

}  // namespace
}  // namespace exa
