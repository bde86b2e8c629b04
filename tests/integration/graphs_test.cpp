// Type 5 graphs on the real daemon: the seed's graph (funcA -> funcB, funcC -> funcD) onboarded
// with its own payload over four real functions, executed (the fan-in node gets its parents'
// outputs as a list), updated, queried; validation and failures naming the node or function.
#include <gtest/gtest.h>

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
using exa::testing::httpRequest;

// The seed's sample graph onboarding payload, verbatim.
const std::string kSeedGraph = exa::testing::readFile(std::string(EXA_SOURCE_DIR) +
                                                      "/tests/fixtures/seed_graph_payload.json");

class GraphsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = exa::testing::jailUnsupportedReason();
    if (!why.empty()) GTEST_SKIP() << why;
  }
  std::vector<std::string> args() const {
    return exa::testing::agentArgs(dir_, {"--executor-id", "executor-001"});
  }
  /// Policy "<name>:1-x" whose eval body is `body`, deployed as function `name`.
  void deploy(uint16_t port, const std::string& name, const std::string& body) {
    std::string source = "class AIOSv1PolicyRule:\n"
                         "    def __init__(self, rule_id, settings, parameters): pass\n"
                         "    def eval(self, parameters, input_data, context):\n" + body;
    ASSERT_EQ(exa::testing::onboardPolicy(port, dir_, name, source).status, 201);
    Json fn = {{"name", name}, {"policy_rule_uri", name + ":1-x"}};
    auto created = httpRequest(port, "POST", "/function/deployments/create/executor-001", fn.dump());
    ASSERT_EQ(created.status, 201) << created.body;
  }
  void deploySeedFunctions(uint16_t port, const std::string& func_c_body) {
    deploy(port, "funcA", "        return {'ip': input_data['ip'], 'internal': input_data['ip'].startswith('192.168.')}\n");
    deploy(port, "funcB", "        return {'threat': 0 if input_data['internal'] else 50}\n");
    deploy(port, "funcC", func_c_body);
    deploy(port, "funcD",
           "        threat, activity = input_data\n"
           "        ok = threat['threat'] < 30 and activity['activity'] == 'normal'\n"
           "        return {'decision': 'allow' if ok else 'review',\n"
           "                'reason': 'threat %d, activity %s' % (threat['threat'], activity['activity'])}\n");
  }
  exa::testing::TempDir dir_;
};

TEST_F(GraphsTest, TheSeedGraphOnboardsRunsUpdatesAndQueries) {
  AgentServer agent(args());
  uint16_t port = agent.port();
  deploySeedFunctions(port, "        return {'activity': 'normal'}\n");
  auto created = httpRequest(port, "POST", "/graphs", kSeedGraph);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.json["data"]["graph_uri"], "ip_risk_analysis:1.0-stable");
  EXPECT_EQ(httpRequest(port, "POST", "/graphs", kSeedGraph).status, 409);

  auto run = httpRequest(port, "POST", "/graph/execute_graph", R"({
    "graph_uri": "ip_risk_analysis:1.0-stable",
    "input_data": {
      "ip": "192.168.1.1"
    }
  })");
  ASSERT_EQ(run.status, 200) << run.body;
  EXPECT_EQ(run.json["data"]["decision"], "allow");
  EXPECT_EQ(run.json["data"]["reason"], "threat 0, activity normal");
  auto outside = httpRequest(port, "POST", "/graph/execute_graph",
                             R"({"graph_uri": "ip_risk_analysis:1.0-stable", "input_data": {"ip": "8.8.8.8"}})");
  EXPECT_EQ(outside.json["data"]["decision"], "review") << outside.body;
  auto bad_input = httpRequest(port, "POST", "/graph/execute_graph",
                               R"({"graph_uri": "ip_risk_analysis:1.0-stable", "input_data": {"ip": "x"}})");
  EXPECT_EQ(bad_input.status, 400) << bad_input.body;
  EXPECT_NE(bad_input.body.find("input_data.ip"), std::string::npos) << bad_input.body;

  // A function a graph uses cannot be removed.
  auto in_use = httpRequest(port, "DELETE", "/function/deployments/remove/funcB");
  EXPECT_EQ(in_use.status, 409) << in_use.body;
  EXPECT_NE(in_use.body.find("ip_risk_analysis:1.0-stable"), std::string::npos) << in_use.body;

  // The seed's query example names a tag its own payload lacks: no match; one that it has does.
  EXPECT_EQ(httpRequest(port, "POST", "/graphs/query",
                        R"({"graph_search_tags": { "$in": ["security"] }, "graph_version": "1.0"})")
                .json["data"].size(), 0u);
  EXPECT_EQ(httpRequest(port, "POST", "/graphs/query",
                        R"({"graph_search_tags": { "$in": ["ip"] }, "graph_version": "1.0"})")
                .json["data"].size(), 1u);
  // The seed's update example moves the graph to its new URI.
  auto updated = httpRequest(port, "PUT", "/graphs/ip_risk_analysis:1.0-stable", R"({
         "$set": {
            "graph_version": "2.0",
            "graph_search_tags": ["ip", "network-analysis", "ip-access-check"]
         }
  })");
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(httpRequest(port, "GET", "/graphs/ip_risk_analysis:2.0-stable").status, 200);
  EXPECT_EQ(httpRequest(port, "GET", "/graphs/ip_risk_analysis:1.0-stable").status, 404);
  EXPECT_EQ(httpRequest(port, "DELETE", "/graphs/ip_risk_analysis:2.0-stable").status, 200);
  EXPECT_EQ(httpRequest(port, "DELETE", "/function/deployments/remove/funcB").status, 200);
}

TEST_F(GraphsTest, BadGraphsAndFailingNodesAreNamed) {
  AgentServer agent(args());
  uint16_t port = agent.port();
  deploySeedFunctions(port, "        raise ValueError('activity log unavailable')\n");
  Json graph = *parseJson(kSeedGraph);
  Json missing = graph;
  missing["graph_function_ids"].push_back("funcE");
  missing["graph_connection_data"]["funcD"] = {"funcE"};
  auto refused = httpRequest(port, "POST", "/graphs", missing.dump());
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_NE(refused.body.find("funcE"), std::string::npos) << refused.body;
  Json cyclic = graph;
  cyclic["graph_connection_data"]["funcD"] = {"funcA"};
  auto cycle = httpRequest(port, "POST", "/graphs", cyclic.dump());
  EXPECT_EQ(cycle.status, 400) << cycle.body;
  EXPECT_NE(cycle.body.find("cycle"), std::string::npos) << cycle.body;

  ASSERT_EQ(httpRequest(port, "POST", "/graphs", graph.dump()).status, 201);
  auto failed = httpRequest(port, "POST", "/graph/execute_graph",
                            R"({"graph_uri": "ip_risk_analysis:1.0-stable", "input_data": {"ip": "192.168.1.1"}})");
  EXPECT_GE(failed.status, 500) << failed.body;
  EXPECT_NE(failed.body.find("funcC"), std::string::npos) << failed.body;
  EXPECT_NE(failed.body.find("activity log unavailable"), std::string::npos) << failed.body;
  EXPECT_EQ(httpRequest(port, "POST", "/graph/execute_graph",
                        R"({"graph_uri": "nope:1-x", "input_data": {}})").status, 404);
}

}  // namespace
}  // namespace exa
