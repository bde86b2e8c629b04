// create-infra / remove-infra through the agent's routes, against the schema-validating fake API
// server: the objects a cluster gets for an executor, twice on one cluster, a namespace that
// exists already, bad and dangerous kubeconfigs, removal by label; and how the central reaches
// the executor afterwards (the API server's service proxy, with the executor's token in the
// header the proxy does not strip) and how the executor registers back. The fake cannot run the
// executor's pod, so a real agent on loopback plays it: it is registered as the Service's
// backend in the fake and started with what the Deployment gives the pod (its token from the
// Secret, its id, the central's URL, the proxy URI to advertise).
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "common/json_util.h"
#include "kubernetes/base64.h"
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

class KubernetesInfraTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = exa::testing::jailUnsupportedReason();
    if (!why.empty()) GTEST_SKIP() << why;
    if (!FakeApiServer::available()) GTEST_SKIP() << "no schema subset or python3";
    // The clock runs by itself: the executor's pod turns ready, and removal's pods and
    // namespaces finish terminating, without the test moving it.
    fake_ = std::make_unique<FakeApiServer>(exa::testing::FakeApiServerOptions{.auto_tick = true});
    std::string config = dir_.path() + "/central.toml";
    std::ofstream(config) << "[kubernetes]\nimage = \"registry.test/executor-agent:test\"\n";
    central_ = std::make_unique<AgentServer>(exa::testing::agentArgs(
        dir_, {"--executor-id", "central", "--config", config, "--advertise-url",
               "http://central.test:10000"}));
  }

  exa::testing::HttpResult fake(const std::string& method, const std::string& target,
                                const Json& body = nullptr) {
    return httpRequest(fake_->port(), method, target, body.is_null() ? "" : body.dump());
  }
  exa::testing::HttpResult central(const std::string& method, const std::string& target,
                                   const Json& body = nullptr) {
    return httpRequest(central_->port(), method, target, body.is_null() ? "" : body.dump());
  }

  Json kubeconfig(const Json& user = Json::object()) const {
    return Json{{"apiVersion", "v1"},
                {"kind", "Config"},
                {"clusters", {{{"name", "fake"}, {"cluster", {{"server", fake_->url()}}}}}},
                {"users", {{{"name", "admin"}, {"user", user}}}},
                {"contexts", {{{"name", "fake"}, {"context", {{"cluster", "fake"}, {"user", "admin"}}}}}},
                {"current-context", "fake"}};
  }

  void registerExecutor(const std::string& id) {
    Json payload = {{"executor_id", id},
                    {"executor_metadata", {{"description", "My executor deployed on kubernetes"}}}};
    auto reply = central("POST", "/executor", payload);
    ASSERT_EQ(reply.status, 201) << reply.body;
  }

  exa::testing::HttpResult createInfra(const std::string& id, Json extra = Json::object()) {
    extra["cluster_config"] = kubeconfig();
    return central("POST", "/executor/" + id + "/create-infra", extra);
  }

  /// Every object of kind `plural` labelled as `executor`'s, anywhere in the cluster.
  size_t labelled(const std::string& path, const std::string& executor) {
    auto list = fake("GET", path + "?labelSelector=executor-agent.io/executor%3D" + executor);
    return list.json["items"].size();
  }

  static const std::vector<std::string>& kindPaths() {
    static const std::vector<std::string> paths = {
        "/api/v1/namespaces", "/api/v1/serviceaccounts", "/api/v1/secrets", "/api/v1/services",
        "/apis/apps/v1/deployments", "/apis/rbac.authorization.k8s.io/v1/roles",
        "/apis/rbac.authorization.k8s.io/v1/rolebindings",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", "/apis/batch/v1/jobs"};
    return paths;
  }

  exa::testing::TempDir dir_;
  std::unique_ptr<FakeApiServer> fake_;
  std::unique_ptr<AgentServer> central_;
};

TEST_F(KubernetesInfraTest, CreatesTheExecutorsObjectsIdempotentlyAndTwoExecutorsShareACluster) {
  registerExecutor("executor-001");
  registerExecutor("executor-002");
  auto first = createInfra("executor-001");
  ASSERT_EQ(first.status, 200) << first.body;
  std::set<std::string> kinds;
  for (const Json& object : first.json["data"]["objects"]) {
    EXPECT_EQ(object["action"], "created") << object.dump();
    kinds.insert(object["kind"].get<std::string>());
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"Namespace", "ServiceAccount", "Role", "RoleBinding",
                                          "ClusterRole", "ClusterRoleBinding", "Secret",
                                          "Deployment", "Service"}));
  // No cluster-admin: a namespaced Role, and cluster-wide only reading Nodes (its hardware).
  auto bindings = fake("GET", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings");
  ASSERT_EQ(bindings.json["items"].size(), 1u) << bindings.body;
  std::string reader = bindings.json["items"][0]["roleRef"]["name"];
  EXPECT_EQ(fake("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/" + reader).json["rules"],
            Json::parse(R"([{"apiGroups": [""], "resources": ["nodes"],
                             "verbs": ["get", "list", "watch"]}])"));

  auto again = createInfra("executor-001");
  ASSERT_EQ(again.status, 200) << again.body;
  for (const Json& object : again.json["data"]["objects"])
    EXPECT_EQ(object["action"], "adopted") << object.dump();

  auto second = createInfra("executor-002");
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(labelled("/api/v1/services", "executor-001"), 1u);
  EXPECT_EQ(labelled("/api/v1/services", "executor-002"), 1u);

  // The record says where the executor is; nothing of the kubeconfig or tokens comes back.
  auto record = central("GET", "/executor/executor-001");
  ASSERT_EQ(record.status, 200);
  std::string host = record.json["data"]["executor_host_uri"];
  EXPECT_EQ(host, fake_->url() + "/api/v1/namespaces/exa-executor-001/services/"
                                 "exa-executor-executor-001:http/proxy");
  EXPECT_EQ(record.json["data"]["executor_infra"]["reached_through"], "api-server-proxy");
  EXPECT_EQ(record.body.find(fake_->url() + "\""), std::string::npos);  // no cluster server entry
  EXPECT_EQ(record.body.find("clusters"), std::string::npos);
  struct stat st {};
  std::string stored = dir_.path() + "/data/clusters";
  ASSERT_EQ(::stat(stored.c_str(), &st), 0) << stored;
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(KubernetesInfraTest, BadKubeconfigsAreRefusedBeforeTheClusterIsTouched) {
  registerExecutor("executor-001");
  Json exec_user = {{"exec", {{"command", "/bin/sh"}, {"args", {"-c", "id"}}}}};
  auto plugin = central("POST", "/executor/executor-001/create-infra",
                        Json{{"cluster_config", kubeconfig(exec_user)}});
  EXPECT_EQ(plugin.status, 400) << plugin.body;
  EXPECT_NE(plugin.body.find("credential plugin"), std::string::npos) << plugin.body;
  auto broken = central("POST", "/executor/executor-001/create-infra",
                        Json{{"cluster_config", {{"clusters", "nope"}}}});
  EXPECT_EQ(broken.status, 400) << broken.body;
  auto unknown = central("POST", "/executor/executor-001/create-infra",
                         Json{{"cluster_config", kubeconfig()}, {"provider", "aws"}});
  EXPECT_EQ(unknown.status, 400) << unknown.body;
  EXPECT_NE(unknown.body.find("provider"), std::string::npos);
  EXPECT_EQ(createInfra("no-such-executor").status, 404);
  EXPECT_EQ(labelled("/api/v1/namespaces", "executor-001"), 0u);
}

TEST_F(KubernetesInfraTest, ANamespaceThatExistsIsUsedAndKeptOnRemoval) {
  registerExecutor("executor-001");
  ASSERT_EQ(fake("POST", "/api/v1/namespaces", Json{{"metadata", {{"name", "team-a"}}}}).status, 201);
  auto created = createInfra("executor-001", Json{{"namespace", "team-a"}});
  ASSERT_EQ(created.status, 200) << created.body;
  auto removed = central("DELETE", "/executor/executor-001/remove-infra",
                         Json{{"cluster_config", {{"provider", "kubernetes"}, {"region", "us-west"}}}});
  ASSERT_EQ(removed.status, 200) << removed.body;
  EXPECT_EQ(fake("GET", "/api/v1/namespaces/team-a").status, 200);
  for (const std::string& path : kindPaths())
    EXPECT_EQ(labelled(path, "executor-001"), 0u) << path;
}

TEST_F(KubernetesInfraTest, TheCentralReachesTheExecutorThroughTheProxyAndItRegistersBack) {
  registerExecutor("executor-001");
  auto created = createInfra("executor-001");
  ASSERT_EQ(created.status, 200) << created.body;
  std::string host = central("GET", "/executor/executor-001").json["data"]["executor_host_uri"];

  // What the Deployment gives the pod: its token from the Secret.
  auto secret = fake("GET", "/api/v1/namespaces/exa-executor-001/secrets/exa-executor-executor-001");
  ASSERT_EQ(secret.status, 200) << secret.body;
  auto token = kubernetes::base64Decode(secret.json["data"]["executor_token"].get<std::string>());
  ASSERT_TRUE(token && !token->empty());
  Json container = fake("GET", "/apis/apps/v1/namespaces/exa-executor-001/deployments/"
                               "exa-executor-executor-001")
                       .json["spec"]["template"]["spec"]["containers"][0];
  EXPECT_NE(container.dump().find(host), std::string::npos) << "the pod advertises the proxy URI";

  exa::testing::TempDir pod_dir;
  AgentServer pod(exa::testing::agentArgs(
      pod_dir, {"--executor-id", "executor-001", "--token", *token, "--central-url",
                "http://127.0.0.1:" + std::to_string(central_->port()), "--advertise-url", host}));
  ASSERT_EQ(exa::testing::onboardPolicy(pod.port(), pod_dir, "echo",
                                        "class AIOSv1PolicyRule:\n"
                                        "    def __init__(self, rule_id, settings, parameters): pass\n"
                                        "    def eval(self, parameters, input_data, context):\n"
                                        "        return {'echo': input_data}\n", *token)
                .status,
            201);
  auto backend = fake("PUT", "/__fake/backends/exa-executor-001/exa-executor-executor-001/8080",
                      Json{{"url", "http://127.0.0.1:" + std::to_string(pod.port())}});
  ASSERT_LT(backend.status, 300) << backend.body;
  // The Deployment's pod turns ready on the virtual clock; the Service then has an endpoint.
  ASSERT_TRUE(eventually([&] {
    auto reply = central("POST", "/executor/executor-001/execute_policy",
                         Json{{"policy_rule_uri", "echo:1-x"}, {"input_data", {{"x", 7}}}});
    return reply.status == 200 && reply.json["data"]["echo"]["x"] == 7;
  })) << "no call reached the executor through the proxy";

  // The executor registered itself with the central: healthy, at the proxy URI.
  ASSERT_TRUE(eventually([&] {
    Json record = central("GET", "/executor/executor-001").json["data"];
    return record["executor_status"] == "healthy" && record["executor_host_uri"] == host;
  }));

  auto removed = central("DELETE", "/executor/executor-001/remove-infra");
  ASSERT_EQ(removed.status, 200) << removed.body;
  for (const std::string& path : kindPaths())
    EXPECT_EQ(labelled(path, "executor-001"), 0u) << path;
  Json record = central("GET", "/executor/executor-001").json["data"];
  EXPECT_FALSE(record.contains("executor_infra")) << record.dump();
}

}  // namespace
}  // namespace exa
