// An executor whose jobs run on Kubernetes reports the cluster's Nodes as its hardware: a node
// agent with a kubeconfig for the fake API server (two test-planted Nodes) registers with a
// central agent, whose executor record must carry both Nodes; a Node that changes, a third one,
// and an API server that starts refusing the list must show in (or, for the refusal, leave
// unchanged) the record through the heartbeats, which run every second here.
#include <stdlib.h>

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/json_util.h"
#include "tests/support/agent_server.h"
#include "tests/support/fake_apiserver.h"
#include "tests/support/http_client.h"
#include "tests/support/jail_harness.h"
#include "tests/support/policy_fixture.h"
#include "tests/support/temp_dir.h"

namespace exa {
namespace {

using exa::testing::AgentServer;
using exa::testing::eventually;
using exa::testing::FakeApiServer;
using exa::testing::httpRequest;

constexpr const char* kNamespace = "policies";

class KubernetesNodesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = exa::testing::jailUnsupportedReason();
    if (!why.empty()) GTEST_SKIP() << why;
    if (!FakeApiServer::available()) GTEST_SKIP() << "no schema subset or python3";
    ::setenv("EXECUTOR_AGENT_REGISTRY_HEARTBEAT_SECONDS", "1", 1);
    fake_ = std::make_unique<FakeApiServer>();
    auto ns = fake("POST", "/api/v1/namespaces", Json{{"metadata", {{"name", kNamespace}}}});
    ASSERT_EQ(ns.status, 201) << ns.body;
    std::ifstream in(std::string(EXA_SOURCE_DIR) + "/tests/fixtures/k8s-nodes/two-nodes.json");
    std::stringstream text;
    text << in.rdbuf();
    nodes_ = Json::parse(text.str())["items"];
    for (const Json& node : nodes_) plant(node);
  }
  void TearDown() override { ::unsetenv("EXECUTOR_AGENT_REGISTRY_HEARTBEAT_SECONDS"); }

  exa::testing::HttpResult fake(const std::string& method, const std::string& target,
                                const Json& body = nullptr) {
    return httpRequest(fake_->port(), method, target, body.is_null() ? "" : body.dump());
  }
  void plant(const Json& node) {
    std::string name = node["metadata"]["name"];
    auto reply = fake("PUT", "/__fake/nodes/" + name, node);
    ASSERT_EQ(reply.status, 200) << reply.body;
  }

  std::vector<std::string> central() const {
    return {"--runtime-dir", dir_.path() + "/run-central", "--data-dir",
            dir_.path() + "/central-data", "--executor-id", "central"};
  }
  /// A node agent whose jobs and functions run on the fake cluster.
  std::vector<std::string> node(uint16_t central_port) const {
    std::string kubeconfig = fake_->kubeconfig_path();  // namespace "policies"
    std::string config = dir_.path() + "/node.toml";
    std::ofstream(config) << "[kubernetes]\nkubeconfig = \"" << kubeconfig << "\"\n"
                          << "image = \"registry.test/executor-agent:test\"\n"
                          << "agent_url = \"http://agent.cluster.test:10000\"\n";
    return {"--runtime-dir", dir_.path() + "/run-node", "--data-dir", dir_.path() + "/node-data",
            "--executor-id", "node-1", "--central-url",
            "http://127.0.0.1:" + std::to_string(central_port), "--config", config};
  }
  Json hardware(uint16_t central_port) const {
    auto got = httpRequest(central_port, "GET", "/executor/node-1");
    return got.status == 200 ? got.json["data"]["executor_hardware_info"] : Json();
  }
  int64_t heartbeat(uint16_t central_port) const {
    auto got = httpRequest(central_port, "GET", "/executor/node-1");
    return got.status == 200 ? got.json["data"].value("executor_last_heartbeat", int64_t{0}) : 0;
  }
  static std::vector<std::string> ids(const Json& hw) {
    std::vector<std::string> out;
    if (!hw.is_object() || !hw.contains("nodes")) return out;
    for (const Json& n : hw["nodes"]["nodeData"]) out.push_back(n["id"]);
    return out;
  }

  exa::testing::TempDir dir_;
  std::unique_ptr<FakeApiServer> fake_;
  Json nodes_;
};

TEST_F(KubernetesNodesTest, TheCentralRecordCarriesTheClusterNodesAndFollowsThem) {
  AgentServer hub(central());
  AgentServer agent(node(hub.port()));
  uint16_t port = hub.port();

  ASSERT_TRUE(eventually([&] { return ids(hardware(port)).size() == 2; }))
      << "never registered with two nodes: " << hardware(port).dump();
  Json hw = hardware(port);
  EXPECT_EQ(ids(hw), (std::vector<std::string>{"cpu-node-b", "gpu-node-a"}));
  EXPECT_EQ(hw["source"], "kubernetes");
  EXPECT_EQ(hw["id"], "node-1");
  EXPECT_EQ(hw["nodes"]["count"], 2);
  EXPECT_EQ(hw["vcpus"]["count"], 7.91);  // only gpu-node-a takes pods
  EXPECT_EQ(hw["totals"]["available"]["gpu_vendors"]["nvidia"], 2);

  // The cordoned node comes back: uncordoned, Ready, no taints.
  Json back = nodes_[1];
  back["spec"] = Json::object();
  back["status"]["conditions"] = Json::parse(R"([{"type": "Ready", "status": "True"}])");
  plant(back);
  EXPECT_TRUE(eventually([&] { return hardware(port)["vcpus"]["count"] == 11.41; }))
      << hardware(port).dump();

  // A third node joins.
  Json third = nodes_[0];
  third["metadata"]["name"] = "gpu-node-c";
  plant(third);
  EXPECT_TRUE(eventually([&] { return ids(hardware(port)).size() == 3; }))
      << hardware(port).dump();

  // The agent may no longer list Nodes: heartbeats go on with the last good inventory.
  Json last = hardware(port);
  ASSERT_EQ(fake("POST", "/__fake/forbid", Json{{"verb", "list"}, {"resource", "nodes"}}).status,
            200);
  int64_t before = heartbeat(port);
  ASSERT_TRUE(eventually([&] { return heartbeat(port) > before + 1; })) << "no heartbeats";
  EXPECT_EQ(hardware(port), last);
}

}  // namespace
}  // namespace exa
