// The cluster's executor_hardware_info: hardwareFromNodeList on fixture NodeLists (the shape,
// units and rounding, GPUs by vendor, readiness and taints, odd and broken quantities), then
// clusterHardwareInfo and ClusterHardware through the real ApiClient against the fake API
// server's test-planted Nodes (paging, 403, falling back to the last good inventory), and an
// expired continue token against a scripted server.
#include "kubernetes/node_inventory.h"

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/json_util.h"
#include "kubernetes/api_client.h"
#include "kubernetes/credentials.h"
#include "tests/support/fake_apiserver.h"
#include "tests/support/http_client.h"
#include "tests/support/http_test_server.h"

namespace exa::kubernetes {
namespace {

using exa::testing::FakeApiServer;
using exa::testing::httpRequest;

Json fixture(const std::string& name) {
  std::ifstream in(std::string(EXA_SOURCE_DIR) + "/tests/fixtures/k8s-nodes/" + name);
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = parseJson(text.str());
  if (!parsed) ADD_FAILURE() << name << ": " << parsed.error().describe();
  return parsed ? *parsed : Json();
}

const Json& nodeNamed(const Json& doc, const std::string& id) {
  for (const Json& node : doc["nodes"]["nodeData"])
    if (node["id"] == id) return node;
  static const Json kNone;
  ADD_FAILURE() << "no node " << id << " in " << doc.dump();
  return kNone;
}

TEST(HardwareFromNodeList, KeepsTheSeedShapeAndAddsWhatPlacementNeeds) {
  Json doc = hardwareFromNodeList(fixture("two-nodes.json"), "cluster-123");

  // The first node, whole: seed keys first and in the seed's order, then ours. Memory and
  // storage are MiB rounded down (29600124Ki = 28906.4 MiB), CPUs in cores.
  Json a = *parseJson(R"({
    "id": "gpu-node-a",
    "vcpus": {"count": 7.91, "capacity": 8},
    "memory": 28906, "swap": 0,
    "storage": {"disks": 0, "size": 44912},
    "network": {"interfaces": 0, "txBandwidth": 0, "rxBandwidth": 0},
    "capacity": {"cpu": 8, "memory": 32109, "ephemeral_storage": 99053, "pods": 110, "gpus": 2},
    "allocatable": {"cpu": 7.91, "memory": 28906, "ephemeral_storage": 44912, "pods": 110,
                    "gpus": 2},
    "gpus": [{"vendor": "nvidia", "resource": "nvidia.com/gpu", "kind": "device", "count": 2,
              "capacity": 2, "model": "Tesla-T4", "memory": 15360}],
    "extended": {"nvidia.com/gpu": {"capacity": 2, "allocatable": 2}},
    "labels": {"kubernetes.io/hostname": "gpu-node-a", "kubernetes.io/arch": "amd64",
               "kubernetes.io/os": "linux", "node.kubernetes.io/instance-type": "n1-standard-8",
               "topology.kubernetes.io/region": "us-central1",
               "topology.kubernetes.io/zone": "us-central1-a",
               "nvidia.com/gpu.product": "Tesla-T4", "nvidia.com/gpu.memory": "15360"},
    "os": {"name": "Ubuntu 22.04.4 LTS", "kernel": "5.15.0-1057-gke", "arch": "amd64"},
    "kubelet": "v1.29.4", "container_runtime": "containerd://1.7.13",
    "ready": true, "unschedulable": false,
    "taints": [{"key": "example.com/batch-preferred", "value": "true",
                "effect": "PreferNoSchedule"}],
    "schedulable": true
  })");
  EXPECT_EQ(doc["nodes"]["nodeData"][0].dump(), a.dump());

  // Cordoned and unreachable; odd but valid quantities ("1.5e11", "129e6", "100G").
  const Json& b = nodeNamed(doc, "cpu-node-b");
  EXPECT_EQ(b["vcpus"], Json::parse(R"({"count": 3.5, "capacity": 4})"));
  EXPECT_EQ(b["memory"], 123);  // 129e6 bytes
  EXPECT_EQ(b["capacity"]["memory"], 16384);
  EXPECT_EQ(b["capacity"]["ephemeral_storage"], 143051);
  EXPECT_EQ(b["storage"]["size"], 95367);
  EXPECT_EQ(b["swap"], 2048);  // nodeInfo.swap.capacity
  EXPECT_EQ(b["gpus"], Json::array());
  EXPECT_EQ(b["ready"], false);  // Ready "Unknown"
  EXPECT_EQ(b["unschedulable"], true);
  EXPECT_EQ(b["schedulable"], false);
  EXPECT_EQ(b["taints"], Json::parse(R"([
      {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
      {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}])"));
  EXPECT_EQ(b["labels"]["node-role.kubernetes.io/worker"], "");
  EXPECT_EQ(b["os"]["arch"], "arm64");
  EXPECT_FALSE(b.contains("invalid"));

  // The seed's cluster-level keys: only what our pods can use (node b is not schedulable).
  EXPECT_EQ(doc["nodes"]["count"], 2);
  EXPECT_EQ(doc["vcpus"], Json::parse(R"({"count": 7.91})"));
  EXPECT_EQ(doc["memory"], 28906);
  EXPECT_EQ(doc["swap"], 0);
  EXPECT_EQ(doc["storage"], Json::parse(R"({"disks": 0, "size": 44912})"));
  EXPECT_EQ(doc["id"], "cluster-123");
  EXPECT_EQ(doc["source"], "kubernetes");
  std::vector<std::string> keys;
  for (const auto& [key, _] : doc.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"nodes", "vcpus", "memory", "swap", "storage",
                                            "network", "id", "source", "totals"}));
  // Totals sum bytes and millicores before rounding.
  EXPECT_EQ(doc["totals"], Json::parse(R"({
    "nodes": 2, "ready": 1, "schedulable": 1,
    "capacity": {"cpu": 12, "memory": 48493, "ephemeral_storage": 242104, "pods": 220,
                 "gpus": 2, "gpu_vendors": {"nvidia": 2}},
    "allocatable": {"cpu": 11.41, "memory": 29029, "ephemeral_storage": 140279, "pods": 220,
                    "gpus": 2, "gpu_vendors": {"nvidia": 2}},
    "available": {"cpu": 7.91, "memory": 28906, "ephemeral_storage": 44912, "pods": 110,
                  "gpus": 2, "gpu_vendors": {"nvidia": 2}}})"));
}

TEST(HardwareFromNodeList, GpusByVendorOnlyWholeDevicesCountAndBadQuantitiesShow) {
  Json doc = hardwareFromNodeList(fixture("gpu-vendors.json"), "c");
  const Json& node = nodeNamed(doc, "mixed-gpus");
  // MIG slices and time-sliced replicas are listed but are not more GPUs; Intel's millicores,
  // memory.max and monitoring resources are shares of the i915 devices, not GPUs at all.
  EXPECT_EQ(node["gpus"], Json::parse(R"([
      {"vendor": "amd", "resource": "amd.com/gpu", "kind": "device", "count": 1, "capacity": 1,
       "model": "AMD_Instinct_MI210"},
      {"vendor": "intel", "resource": "gpu.intel.com/i915", "kind": "device", "count": 2,
       "capacity": 2},
      {"vendor": "nvidia", "resource": "nvidia.com/gpu.shared", "kind": "shared", "count": 4,
       "capacity": 4},
      {"vendor": "nvidia", "resource": "nvidia.com/mig-1g.5gb", "kind": "mig", "count": 6,
       "capacity": 7}])"));
  EXPECT_EQ(node["capacity"]["gpus"], 3);
  EXPECT_EQ(node["extended"]["gpu.intel.com/millicores"],
            Json::parse(R"({"capacity": 2000, "allocatable": 2000})"));
  EXPECT_EQ(node["extended"]["example.com/fpga"]["allocatable"], 1);
  EXPECT_EQ(node["allocatable"]["pods"], 250);  // a JSON number is a quantity too
  // A broken value counts 0 and says so, rather than failing the whole inventory.
  EXPECT_EQ(node["vcpus"], Json::parse(R"({"count": 0, "capacity": 64})"));
  EXPECT_EQ(node["memory"], 0);
  EXPECT_EQ(node["invalid"], Json::parse(R"j([
      "allocatable.cpu: quantity \"lots\": no digits",
      "allocatable.memory: negative (\"-1Gi\")"])j"));
  EXPECT_EQ(node["labels"], Json::parse(R"({"kubernetes.io/arch": "amd64",
      "kubernetes.io/os": "linux", "amd.com/gpu.product-name": "AMD_Instinct_MI210",
      "node-role.kubernetes.io/gpu": ""})"));
  EXPECT_EQ(doc["totals"]["available"]["gpu_vendors"], Json::parse(R"({"amd": 1, "intel": 2})"));
  EXPECT_EQ(doc["totals"]["available"]["gpus"], 3);
}

TEST(HardwareFromNodeList, EmptyAndMalformedListsStillHaveTheShape) {
  for (const Json& list : {Json::object(), Json(nullptr), Json::parse(R"({"items": []})"),
                           Json::parse(R"({"items": [1, "x", null]})")}) {
    Json doc = hardwareFromNodeList(list);
    EXPECT_EQ(doc["nodes"], Json::parse(R"({"count": 0, "nodeData": []})")) << list.dump();
    EXPECT_EQ(doc["vcpus"]["count"], 0);
    EXPECT_EQ(doc["memory"], 0);
    EXPECT_EQ(doc["id"], "");
  }
  Json bare = hardwareFromNodeList(Json::parse(R"({"items": [{"metadata": {"name": "n"}}]})"));
  const Json& node = nodeNamed(bare, "n");
  EXPECT_EQ(node["ready"], false);  // no Ready condition: not counted on
  EXPECT_EQ(node["schedulable"], false);
  EXPECT_EQ(node["vcpus"]["count"], 0);
  EXPECT_EQ(bare["totals"]["ready"], 0);
  EXPECT_EQ(nodeHardware(fixture("two-nodes.json")["items"][1])["id"], "cpu-node-b");
}

// --- through the API --------------------------------------------------------------------------

class NodeInventoryFakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!FakeApiServer::available()) GTEST_SKIP() << "no schema subset or python3";
    fake_ = std::make_unique<FakeApiServer>();
    ClusterCredentials creds;
    creds.server = fake_->url();
    ApiClientOptions options;
    options.max_attempts = 1;
    client_ = std::make_unique<ApiClient>(creds, options);
  }

  exa::testing::HttpResult control(const std::string& method, const std::string& target,
                                   const Json& body = nullptr) {
    return httpRequest(fake_->port(), method, target, body.is_null() ? "" : body.dump());
  }
  void plant(const std::string& name, Json node) {
    auto reply = control("PUT", "/__fake/nodes/" + name, node);
    ASSERT_EQ(reply.status, 200) << reply.body;
  }
  /// The fake's GETs of the node list, as query maps.
  std::vector<Json> nodeListRequests() {
    std::vector<Json> seen;
    std::istringstream lines(control("GET", "/__fake/requests").body);
    for (std::string line; std::getline(lines, line);) {
      Json r = Json::parse(line);
      if (r["method"] == "GET" && r["path"] == "/api/v1/nodes") seen.push_back(r["query"]);
    }
    return seen;
  }

  std::unique_ptr<FakeApiServer> fake_;
  std::unique_ptr<ApiClient> client_;
};

TEST_F(NodeInventoryFakeTest, ListsEveryNodeInPages) {
  Json list = fixture("two-nodes.json");
  for (int i = 0; i < 5; ++i) plant("node-" + std::to_string(i), list["items"][i % 2]);

  auto paged = clusterHardwareInfo(*client_, "fake-cluster", 2);
  ASSERT_TRUE(paged) << paged.error().describe();
  EXPECT_EQ((*paged)["nodes"]["count"], 5);
  std::vector<std::string> ids;
  for (const Json& node : (*paged)["nodes"]["nodeData"]) ids.push_back(node["id"]);
  EXPECT_EQ(ids, (std::vector<std::string>{"node-0", "node-1", "node-2", "node-3", "node-4"}));
  EXPECT_EQ((*paged)["totals"]["schedulable"], 3);  // node-0, 2, 4 are the GPU node
  EXPECT_EQ((*paged)["vcpus"]["count"], 23.73);
  EXPECT_EQ((*paged)["id"], "fake-cluster");

  auto requests = nodeListRequests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0], Json::parse(R"({"limit": "2"})"));
  EXPECT_EQ(requests[1]["limit"], "2");
  EXPECT_TRUE(requests[1].contains("continue"));
  EXPECT_NE(requests[2]["continue"], requests[1]["continue"]);

  // One unpaged request gives the same document.
  auto whole = clusterHardwareInfo(*client_, "fake-cluster", 0);
  ASSERT_TRUE(whole) << whole.error().describe();
  EXPECT_EQ(whole->dump(), paged->dump());
  EXPECT_FALSE(nodeListRequests().back().contains("limit"));
}

TEST_F(NodeInventoryFakeTest, RefusedListIsAPermissionError) {
  ASSERT_EQ(control("POST", "/__fake/forbid", Json{{"verb", "list"}, {"resource", "nodes"}})
                .status, 200);
  auto denied = clusterHardwareInfo(*client_);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(denied.error().message.find(R"(cannot list resource "nodes")"), std::string::npos)
      << denied.error().message;
}

TEST_F(NodeInventoryFakeTest, ClusterHardwareFallsBackToTheLastGoodInventory) {
  ClusterHardware hardware(*client_, "executor-001");
  EXPECT_EQ(hardware.current()["nodes"]["count"], 0);  // before any refresh
  Json forbid = {{"verb", "list"}, {"resource", "nodes"}};

  // Refused before it ever answered: no nodes, and the reason in the document.
  ASSERT_EQ(control("POST", "/__fake/forbid", forbid).status, 200);
  Json refused = hardware.refresh();
  EXPECT_EQ(refused["nodes"]["count"], 0);
  EXPECT_EQ(refused["id"], "executor-001");
  EXPECT_NE(refused.value("error", "").find("forbidden"), std::string::npos) << refused.dump();
  EXPECT_FALSE(hardware.lastStatus());

  ASSERT_EQ(control("DELETE", "/__fake/forbid").status, 200);
  Json list = fixture("two-nodes.json");
  plant("gpu-node-a", list["items"][0]);
  plant("cpu-node-b", list["items"][1]);
  Json good = hardware.refresh();
  EXPECT_TRUE(hardware.lastStatus());
  EXPECT_EQ(good["nodes"]["count"], 2);
  EXPECT_FALSE(good.contains("error"));
  // What the API served is what the fixture says, node by node (the server sorts by name).
  for (const Json& node : list["items"]) {
    std::string name = node["metadata"]["name"];
    EXPECT_EQ(nodeNamed(good, name).dump(), nodeHardware(node).dump()) << name;
  }

  // A node changes: the next refresh shows it.
  Json bigger = list["items"][0];
  bigger["status"]["allocatable"]["cpu"] = "15910m";
  plant("gpu-node-a", bigger);
  EXPECT_EQ(hardware.refresh()["vcpus"]["count"], 15.91);

  // The API server stops answering (refused, then down): the last good inventory stays.
  Json last = hardware.current();
  ASSERT_EQ(control("POST", "/__fake/forbid", forbid).status, 200);
  EXPECT_EQ(hardware.refresh(), last);
  EXPECT_EQ(hardware.lastStatus().error().code, ErrorCode::kPermissionDenied);
  fake_.reset();
  EXPECT_EQ(hardware.refresh(), last);
  EXPECT_EQ(hardware.current(), last);
  EXPECT_FALSE(hardware.lastStatus());
}

TEST(NodeInventoryScripted, AnExpiredContinueTokenRestartsTheListOnce) {
  exa::testing::HttpTestServer server;
  exa::testing::Response first = exa::testing::Response::bytes(
      R"({"kind": "NodeList", "apiVersion": "v1", "metadata": {"continue": "t1"},
          "items": [{"metadata": {"name": "a"}}]})");
  first.headers = {{"Content-Type", "application/json"}};
  server.route("/api/v1/nodes?limit=1", first);
  exa::testing::Response expired = exa::testing::Response::bytes(
      R"({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Expired",
          "code": 410, "message": "The provided continue parameter is too old"})");
  expired.status = 410;
  expired.headers = {{"Content-Type", "application/json"}};
  server.route("/api/v1/nodes?limit=1&continue=t1", expired);

  ClusterCredentials creds;
  creds.server = server.url("");
  ApiClientOptions options;
  options.max_attempts = 1;
  ApiClient client(creds, options);
  auto listed = clusterHardwareInfo(client, "", 1);
  ASSERT_FALSE(listed);
  EXPECT_EQ(listed.error().code, ErrorCode::kNotFound) << listed.error().describe();
  EXPECT_EQ(server.hits("/api/v1/nodes?limit=1"), 2u);  // listed again from the start, once
  EXPECT_EQ(server.hits("/api/v1/nodes?limit=1&continue=t1"), 2u);
}

}  // namespace
}  // namespace exa::kubernetes
