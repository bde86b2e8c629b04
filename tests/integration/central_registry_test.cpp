// A node agent registered with a central Policies System, tested against the real thing: a second
// executor-agent acting as the central registry on 127.0.0.1. Registration, heartbeats, catching
// up after the central restarts (with its data, and without it), policies resolved through the
// central, the central forwarding executions to the node, and "unreachable" on a clean stop.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "common/json_util.h"
#include "tests/support/agent_process.h"
#include "tests/support/agent_server.h"
#include "tests/support/http_client.h"
#include "tests/support/jail_harness.h"
#include "tests/support/policy_fixture.h"
#include "tests/support/temp_dir.h"

namespace exa {
namespace {

using exa::testing::AgentServer;
using exa::testing::eventually;  // its 15 s is generous: heartbeats are 1 s here
using exa::testing::httpRequest;

class CentralRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = exa::testing::jailUnsupportedReason();
    if (!why.empty()) GTEST_SKIP() << why;
    ::setenv("EXECUTOR_AGENT_REGISTRY_HEARTBEAT_SECONDS", "1", 1);
  }
  void TearDown() override { ::unsetenv("EXECUTOR_AGENT_REGISTRY_HEARTBEAT_SECONDS"); }

  std::vector<std::string> central(const std::string& data, uint16_t port = 0) const {
    std::vector<std::string> a = {"--runtime-dir", dir_.path() + "/run-central", "--data-dir",
                                  dir_.path() + "/" + data, "--executor-id", "central",
                                  "--file-root", dir_.path()};
    if (port != 0) a.insert(a.end(), {"--listen", "127.0.0.1:" + std::to_string(port)});
    return a;
  }
  std::vector<std::string> node(uint16_t central_port) const {
    return {"--runtime-dir", dir_.path() + "/run-node", "--data-dir", dir_.path() + "/node-data",
            "--executor-id", "node-1", "--central-url",
            "http://127.0.0.1:" + std::to_string(central_port)};
  }
  Json record(uint16_t central_port) const {
    auto got = httpRequest(central_port, "GET", "/executor/node-1");
    return got.status == 200 ? got.json["data"] : Json();
  }
  static int64_t heartbeat(const Json& record) {
    return record.is_object() ? record.value("executor_last_heartbeat", int64_t{0}) : 0;
  }
  exa::testing::TempDir dir_;
};

TEST_F(CentralRegistryTest, RegistersHeartbeatsAndCatchesUpAfterTheCentralRestarts) {
  auto first = std::make_unique<AgentServer>(central("central-data"));
  uint16_t port = first->port();
  AgentServer agent(node(port));

  ASSERT_TRUE(eventually([&] { return record(port).is_object(); })) << "never registered";
  Json registered = record(port);
  EXPECT_EQ(registered["executor_host_uri"], "http://127.0.0.1:" + std::to_string(agent.port()));
  EXPECT_EQ(registered["executor_status"], "healthy");
  EXPECT_EQ(registered["executor_hardware_info"]["vcpus"]["count"],
            static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)));
  EXPECT_EQ(registered["executor_hardware_info"]["nodes"]["nodeData"][0]["id"], "node-1");
  int64_t before = heartbeat(registered);
  ASSERT_TRUE(eventually([&] { return heartbeat(record(port)) > before; })) << "no heartbeat";

  // The central goes away for a while and comes back on the same address with its data.
  first.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  int64_t while_down = ::time(nullptr);
  auto second = std::make_unique<AgentServer>(central("central-data", port));
  EXPECT_TRUE(eventually([&] { return heartbeat(record(port)) >= while_down; }))
      << "heartbeats did not resume";

  // Back again with an empty store: the node registers again.
  second.reset();
  AgentServer third(central("central-empty", port));
  EXPECT_TRUE(eventually([&] { return record(port).is_object(); })) << "record not recreated";
}

TEST_F(CentralRegistryTest, PoliciesComeFromTheCentralAndItsExecutionsReachTheNode) {
  AgentServer hub(central("central-data"));
  exa::testing::zipPolicy(
      dir_, "p",
      "class AIOSv1PolicyRule:\n"
      "    def __init__(self, rule_id, settings, parameters): self.rule_id = rule_id\n"
      "    def eval(self, parameters, input_data, context):\n"
      "        return {'ran_as': self.rule_id, 'x': input_data.get('x')}\n");
  // The code travels as an asset of the central, as in the seed's onboarding.
  std::string boundary = "exa-central-test";
  std::string body = "--" + boundary + "\r\n"
                     "Content-Disposition: form-data; name=\"asset\"; filename=\"p.zip\"\r\n"
                     "Content-Type: application/octet-stream\r\n\r\n" +
                     exa::testing::readFile(dir_.path() + "/p.zip") + "\r\n--" + boundary + "--\r\n";
  auto uploaded = httpRequest(hub.port(), "POST", "/upload_asset", body, "",
                              "multipart/form-data; boundary=" + boundary);
  ASSERT_EQ(uploaded.status, 201) << uploaded.body;
  std::string code_url = uploaded.json["data"]["url"];
  Json policy = {{"name", "remote"}, {"version", "1"}, {"release_tag", "c"}, {"code", code_url}};
  ASSERT_EQ(httpRequest(hub.port(), "POST", "/policy", policy.dump()).status, 201);

  auto agent = std::make_unique<AgentServer>(node(hub.port()));
  uint16_t node_port = agent->port();
  ASSERT_TRUE(eventually([&] { return record(hub.port()).is_object(); }));

  // Only the central has the policy: the node resolves it there.
  auto direct = httpRequest(node_port, "POST", "/execute_policy",
                            R"({"policy_rule_uri": "remote:1-c", "input_data": {"x": 1}})");
  ASSERT_EQ(direct.status, 200) << direct.body;
  EXPECT_EQ(direct.json["data"]["ran_as"], "remote:1-c");
  // The seed's route on the central, for the node's id: forwarded to the node.
  auto forwarded = httpRequest(hub.port(), "POST", "/executor/node-1/execute_policy",
                               R"({"policy_rule_uri": "remote:1-c", "input_data": {"x": 2}})");
  ASSERT_EQ(forwarded.status, 200) << forwarded.body;
  EXPECT_EQ(forwarded.json["data"]["x"], 2);

  // A clean stop tells the central.
  agent.reset();
  EXPECT_EQ(record(hub.port())["executor_status"], "unreachable");
}

}  // namespace
}  // namespace exa
