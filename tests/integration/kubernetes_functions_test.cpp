// Functions (type 4) on Kubernetes, end to end against the schema-validating fake API server
// (tests/support/fake_apiserver.py, Strict field validation): the Deployment, Service and HPA a
// deployment writes, adoption of our own objects and refusal of others', autoscaling off,
// removal of exactly the three objects; then, with real agents standing for the Service's pods
// (`serve --host-function` when the binary has it) and for the creating agent, calls and
// management through the API server's service proxy and through the Service URL with the pods'
// token, scaling by the HPA, crash-loop and image-pull status, the pods' logs, and the agent's
// own routes on the cluster backend. Also the pod side's --host-function spec.
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "agent/backends/kubernetes_function_backend.h"
#include "agent/functions/hosted_function.h"
#include "common/json_util.h"
#include "kubernetes/api_client.h"
#include "kubernetes/function_manifests.h"
#include "tests/support/agent_server.h"
#include "tests/support/fake_apiserver.h"
#include "tests/support/http_client.h"
#include "tests/support/jail_harness.h"
#include "tests/support/policy_fixture.h"
#include "tests/support/temp_dir.h"

namespace exa::agent {
namespace {

using exa::testing::AgentServer;
using exa::testing::FakeApiServer;
using exa::testing::httpRequest;
using kubernetes::functionObjectName;

constexpr const char* kNamespace = "default";
constexpr const char* kExecutor = "executor-001";
constexpr const char* kDeployments = "/apis/apps/v1/namespaces/default/deployments/";
constexpr const char* kServices = "/api/v1/namespaces/default/services/";
constexpr const char* kAutoscalers =
    "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/";

constexpr const char* kCounterPolicy =
    "class AIOSv1PolicyRule:\n"
    "    def __init__(self, rule_id, settings, parameters):\n"
    "        self.n = 0\n"
    "        self.step = parameters.get('step', 1)\n"
    "    def eval(self, parameters, input_data, context):\n"
    "        if input_data.get('boom'):\n"
    "            raise ValueError('boom')\n"
    "        self.n += self.step\n"
    "        print('counted', self.n)\n"
    "        return {'n': self.n, 'echo': input_data.get('x')}\n"
    "    def management(self, action, data):\n"
    "        if action == 'reset':\n"
    "            self.n = data.get('to', 0)\n"
    "            return {'status': 'success', 'n': self.n}\n"
    "        return {'status': 'unknown'}\n";

Json record(const std::string& name, Json autoscaling = Json(), int replicas = 2) {
  Json r = {{"function_id", name},
            {"function_policy_rule_uri", "counter:1-x"},
            {"function_policy_parameters", Json::object()},
            {"replicas", replicas}};
  r["autoscaling"] = autoscaling.is_null()
                         ? Json{{"enabled", true},
                                {"min_replicas", 1},
                                {"max_replicas", 5},
                                {"target_cpu_utilization_percentage", 50}}
                         : autoscaling;
  return r;
}

kubernetes::PodSettings podSettings() {
  kubernetes::PodSettings pod;
  pod.image = "registry.example/executor-agent:0.1.0";
  pod.agent_url = "http://executor-agent.default.svc:10000";
  return pod;
}

class KubernetesFunctionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!FakeApiServer::available()) GTEST_SKIP() << "no fake API server (python3, schema)";
    exa::testing::FakeApiServerOptions fake_options;
    fake_options.kubeconfig_namespace = kNamespace;  // its kubeconfig's context
    fake_ = std::make_unique<FakeApiServer>(fake_options);
    kubernetes::ClusterCredentials credentials;
    credentials.server = fake_->url();
    kubernetes::ApiClientOptions options;
    options.max_attempts = 2;
    options.initial_backoff = std::chrono::milliseconds(10);
    api_ = std::make_unique<kubernetes::ApiClient>(credentials, options);
  }

  std::unique_ptr<KubernetesFunctionBackend> backend(KubernetesFunctionOptions options = {},
                                                     const std::string& executor = kExecutor) {
    return std::make_unique<KubernetesFunctionBackend>(*api_, kNamespace, executor,
                                                       podSettings(), std::move(options));
  }

  Result<Json> get(const std::string& path) { return api_->request("GET", path); }
  bool exists(const std::string& path) { return get(path).has_value(); }

  /// The fake's request log (one JSON object per line).
  std::vector<Json> requests() {
    auto reply = httpRequest(fake_->port(), "GET", "/__fake/requests");
    std::vector<Json> lines;
    size_t start = 0;
    while (start < reply.body.size()) {
      size_t end = reply.body.find('\n', start);
      if (end == std::string::npos) end = reply.body.size();
      auto line = parseJson(reply.body.substr(start, end - start));
      if (line) lines.push_back(*line);
      start = end + 1;
    }
    return lines;
  }

  /// Drives the fake's test control (/__fake/...); true when it took the request.
  bool fakeControl(const std::string& method, const std::string& path,
                   const std::string& body = "") {
    return httpRequest(fake_->port(), method, path, body).status / 100 == 2;
  }

  void tick(int seconds = 1) {
    ASSERT_EQ(httpRequest(fake_->port(), "POST", "/__fake/tick?seconds=" + std::to_string(seconds))
                  .status / 100, 2);
  }

  /// A real agent serving `function` as a function pod does (`serve --host-function`),
  /// requiring `token` (the one the function's Deployment gives its pods); the policy comes from
  /// a second agent standing for the creating one.
  std::unique_ptr<AgentServer> startPod(const std::string& function, const std::string& token) {
    std::string why = exa::testing::jailUnsupportedReason();
    if (!why.empty()) {
      skip_ = why;
      return nullptr;
    }
    pod_dirs_.push_back(std::make_unique<exa::testing::TempDir>());
    return startHostedPod(*pod_dirs_.back(), "pod-" + std::to_string(pods_++),
                          {function, "counter:1-x", Json::object()}, token);
  }

  /// `serve --host-function` for `function` with its data in `dir`, the policies from a second
  /// agent (started once) standing for the creating agent, as registry.central_url.
  std::unique_ptr<AgentServer> startHostedPod(const exa::testing::TempDir& dir,
                                              const std::string& executor_id,
                                              const HostedFunction& function,
                                              const std::string& token = "") {
    if (!creator_) {
      creator_ = std::make_unique<AgentServer>(
          exa::testing::agentArgs(creator_dir_, {"--executor-id", "creator"}));
      EXPECT_EQ(exa::testing::onboardPolicy(creator_->port(), creator_dir_, "counter",
                                            kCounterPolicy).status, 201);
    }
    std::vector<std::string> args = {
        "--runtime-dir", dir.path() + "/run", "--data-dir", dir.path() + "/data",
        "--file-root", creator_dir_.path(), "--executor-id", executor_id,
        "--central-url", "http://127.0.0.1:" + std::to_string(creator_->port()),
        "--host-function", hostedFunctionSpec(function)};
    if (!token.empty()) args.insert(args.end(), {"--token", token});
    return std::make_unique<AgentServer>(args);
  }

  /// The agent under test, configured for the fake cluster (its functions run there); it also
  /// stands for the creating agent the pods take the policy from. Returns its port.
  uint16_t startClusterAgent() {
    std::ofstream(creator_dir_.path() + "/agent.toml")
        << "[kubernetes]\nkubeconfig = \"" << fake_->kubeconfig_path() << "\"\n"
        << "image = \"registry.example/executor-agent:0.1.0\"\n"
        << "agent_url = \"http://creator.invalid:10000\"\n";
    creator_ = std::make_unique<AgentServer>(exa::testing::agentArgs(
        creator_dir_,
        {"--executor-id", kExecutor, "--config", creator_dir_.path() + "/agent.toml"}));
    return creator_->port();
  }

  /// Points the fake's service proxy for the function's Service at `pod`.
  bool routeServiceTo(const std::string& function, const AgentServer& pod) {
    Json url = {{"url", "http://127.0.0.1:" + std::to_string(pod.port())}};
    const std::string path = "/__fake/backends/default/" + functionObjectName(function) + "/";
    // By port name (what the proxy path names) and number: either is how the fake may key it.
    bool by_name = httpRequest(fake_->port(), "PUT", path + "http", url.dump()).status / 100 == 2;
    bool by_number = httpRequest(fake_->port(), "PUT", path + "8080", url.dump()).status / 100 == 2;
    return by_name || by_number;
  }

  /// The token the function's Deployment gives its pods.
  std::string podToken(const std::string& function) {
    auto deployment = get(kDeployments + functionObjectName(function));
    return deployment ? kubernetes::functionPodToken(*deployment) : std::string();
  }

  std::unique_ptr<FakeApiServer> fake_;
  std::unique_ptr<kubernetes::ApiClient> api_;
  exa::testing::TempDir creator_dir_;
  std::unique_ptr<AgentServer> creator_;
  std::vector<std::unique_ptr<exa::testing::TempDir>> pod_dirs_;
  int pods_ = 0;
  std::string skip_;
};

#define START_POD(var, function)                     \
  auto var = startPod(function, podToken(function)); \
  if (!var) GTEST_SKIP() << skip_;

TEST_F(KubernetesFunctionsTest, DeployWritesADeploymentServiceAndAutoscalerTheSchemaAccepts) {
  auto functions = backend();
  ASSERT_TRUE(functions->deploy("check-ip-fn", record("check-ip-fn")))
      << "the fake validates every body (Strict)";
  const std::string name = functionObjectName("check-ip-fn");
  auto deployment = get(kDeployments + name);
  ASSERT_TRUE(deployment) << deployment.error().describe();
  EXPECT_EQ((*deployment)["spec"]["replicas"], 2);
  EXPECT_EQ((*deployment)["metadata"]["annotations"]["executor-agent.io/name"], "check-ip-fn");
  auto service = get(kServices + name);
  ASSERT_TRUE(service);
  EXPECT_EQ((*service)["spec"]["selector"], (*deployment)["spec"]["selector"]["matchLabels"]);
  auto hpa = get(kAutoscalers + name);
  ASSERT_TRUE(hpa);
  EXPECT_EQ((*hpa)["spec"]["maxReplicas"], 5);
  EXPECT_EQ((*hpa)["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 50);
  EXPECT_TRUE(functions->runs("check-ip-fn"));
  EXPECT_FALSE(functions->runs("another-fn"));

  for (const Json& request : requests()) {
    if (request["method"] == "POST" || request["method"] == "PUT") {
      EXPECT_EQ(request["query"].value("fieldValidation", ""), "Strict") << request.dump();
    }
  }
}

TEST_F(KubernetesFunctionsTest, FunctionNamesBecomeValidObjectNamesAndKeepTheOriginal) {
  auto functions = backend();
  Status deployed = functions->deploy("Check.IP_fn", record("Check.IP_fn"));
  ASSERT_TRUE(deployed) << deployed.error().describe();
  auto deployment = get(kDeployments + functionObjectName("Check.IP_fn"));
  ASSERT_TRUE(deployment);
  EXPECT_EQ((*deployment)["metadata"]["annotations"]["executor-agent.io/name"], "Check.IP_fn");
  EXPECT_TRUE(functions->runs("Check.IP_fn"));
  EXPECT_FALSE(functions->runs("check.ip_fn"));
}

TEST_F(KubernetesFunctionsTest, AutoscalingDisabledIsFixedReplicasAndDropsAStaleAutoscaler) {
  ASSERT_TRUE(backend()->deploy("fixed-fn", record("fixed-fn")));
  const std::string name = functionObjectName("fixed-fn");
  ASSERT_TRUE(exists(kAutoscalers + name));
  // The agent restarts with the function stored without autoscaling (a redeployment).
  auto restarted = backend();
  ASSERT_TRUE(restarted->deploy("fixed-fn", record("fixed-fn", Json{{"enabled", false}}, 3)));
  EXPECT_FALSE(exists(kAutoscalers + name));
  EXPECT_EQ((*get(kDeployments + name))["spec"]["replicas"], 3);

  ASSERT_TRUE(backend()->deploy("never-scaled", record("never-scaled", Json{{"enabled", false}})));
  EXPECT_FALSE(exists(kAutoscalers + functionObjectName("never-scaled")));
}

TEST_F(KubernetesFunctionsTest, ARestartAdoptsItsObjectsAndKeepsTheAutoscalersReplicas) {
  ASSERT_TRUE(backend()->deploy("adopted-fn", record("adopted-fn")));
  const std::string name = functionObjectName("adopted-fn");
  std::string uid = (*get(kDeployments + name))["metadata"]["uid"];
  std::string token = podToken("adopted-fn");
  ASSERT_EQ(token.size(), 64u);
  std::string cluster_ip = (*get(kServices + name))["spec"].value("clusterIP", "");
  // The HPA scaled it to 4 meanwhile.
  ASSERT_TRUE(api_->request("PATCH", kDeployments + name, Json{{"spec", {{"replicas", 4}}}}));

  auto restarted = backend();  // a new agent process: nothing remembered
  ASSERT_TRUE(restarted->deploy("adopted-fn", record("adopted-fn")));
  auto deployment = get(kDeployments + name);
  EXPECT_EQ((*deployment)["metadata"]["uid"], uid) << "adopted, not recreated";
  EXPECT_EQ((*deployment)["spec"]["replicas"], 4) << "the HPA's count survives";
  EXPECT_EQ(kubernetes::functionPodToken(*deployment), token) << "a new token would roll pods";
  EXPECT_EQ((*get(kServices + name))["spec"].value("clusterIP", ""), cluster_ip);
  EXPECT_TRUE(restarted->runs("adopted-fn"));
}

TEST_F(KubernetesFunctionsTest, ObjectsOfAnotherExecutorAreRefusedAndLeftAlone) {
  ASSERT_TRUE(backend({}, "executor-002")->deploy("taken-fn", record("taken-fn")));
  const std::string name = functionObjectName("taken-fn");
  std::string version = (*get(kDeployments + name))["metadata"]["resourceVersion"];

  auto mine = backend();
  Status refused = mine->deploy("taken-fn", record("taken-fn"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(refused.error().message.find("refusing"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ((*get(kDeployments + name))["metadata"]["resourceVersion"], version);
  EXPECT_FALSE(mine->runs("taken-fn"));
  mine->remove("taken-fn");  // not ours: nothing is deleted
  EXPECT_TRUE(exists(kDeployments + name));
  EXPECT_TRUE(exists(kServices + name));
  EXPECT_TRUE(exists(kAutoscalers + name));
}

TEST_F(KubernetesFunctionsTest, AFailedDeployDeletesWhatItCreated) {
  // Only the Service name is taken (by another executor): the Deployment this deploy creates
  // first must not stay behind when the Service is refused.
  kubernetes::FunctionManifest foreign;
  foreign.name = "half-fn";
  foreign.namespace_name = kNamespace;
  foreign.executor_id = "executor-002";
  ASSERT_TRUE(api_->request("POST", "/api/v1/namespaces/default/services",
                            kubernetes::functionService(foreign)));
  auto functions = backend();
  EXPECT_FALSE(functions->deploy("half-fn", record("half-fn")));
  const std::string name = functionObjectName("half-fn");
  EXPECT_FALSE(exists(kDeployments + name));
  EXPECT_FALSE(exists(kAutoscalers + name));
  EXPECT_TRUE(exists(kServices + name));
  EXPECT_FALSE(functions->runs("half-fn"));
}

TEST_F(KubernetesFunctionsTest, APolicyTheCheckRefusesCreatesNothing) {
  KubernetesFunctionOptions options;
  options.check_policy = [](const std::string& uri, const Json& parameters) -> Status {
    EXPECT_EQ(uri, "counter:1-x");
    EXPECT_EQ(parameters, Json::object());
    return makeError(ErrorCode::kInvalidArgument, "policy counter:1-x: step: not a number");
  };
  auto functions = backend(options);
  Status refused = functions->deploy("checked-fn", record("checked-fn"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  const std::string name = functionObjectName("checked-fn");
  for (const char* collection : {kDeployments, kServices, kAutoscalers})
    EXPECT_FALSE(exists(collection + name)) << collection;
  EXPECT_FALSE(functions->runs("checked-fn"));
}

TEST_F(KubernetesFunctionsTest, RemoveDeletesExactlyTheThreeObjects) {
  auto functions = backend();
  ASSERT_TRUE(functions->deploy("gone-fn", record("gone-fn")));
  ASSERT_TRUE(functions->deploy("kept-fn", record("kept-fn")));
  Json unrelated = {{"apiVersion", "v1"},
                    {"kind", "Service"},
                    {"metadata", {{"name", "unrelated"}, {"labels", {{"app", "other"}}}}},
                    {"spec", {{"ports", Json::array({{{"port", 80}}})}}}};
  ASSERT_TRUE(api_->request("POST", "/api/v1/namespaces/default/services", unrelated));

  functions->remove("gone-fn");
  const std::string gone = functionObjectName("gone-fn");
  for (const char* collection : {kDeployments, kServices, kAutoscalers})
    EXPECT_FALSE(exists(collection + gone)) << collection;
  EXPECT_FALSE(functions->runs("gone-fn"));
  const std::string kept = functionObjectName("kept-fn");
  for (const char* collection : {kDeployments, kServices, kAutoscalers})
    EXPECT_TRUE(exists(collection + kept)) << collection;
  EXPECT_TRUE(exists(std::string(kServices) + "unrelated"));

  int deletes = 0;
  for (const Json& request : requests()) {
    if (request["method"] != "DELETE") continue;
    ++deletes;
    EXPECT_EQ(request["query"].value("propagationPolicy", ""), "Background") << request.dump();
    EXPECT_NE(request["path"].get<std::string>().find(gone), std::string::npos) << request.dump();
  }
  EXPECT_EQ(deletes, 3);
  functions->remove("gone-fn");  // again: nothing left, nothing fails
}

TEST_F(KubernetesFunctionsTest, StopAllLeavesTheClusterObjectsRunning) {
  auto functions = backend();
  ASSERT_TRUE(functions->deploy("lasting-fn", record("lasting-fn")));
  functions->stopAll();
  EXPECT_TRUE(exists(kDeployments + functionObjectName("lasting-fn")));
  EXPECT_TRUE(backend()->runs("lasting-fn")) << "a new agent finds it by its Deployment";
}

TEST_F(KubernetesFunctionsTest, StatusSaysProgressingBeforeAnyPodIsReady) {
  auto functions = backend();
  ASSERT_TRUE(functions->deploy("new-fn", record("new-fn")));
  Json status = functions->status("new-fn");
  EXPECT_EQ(status["state"], "progressing") << status.dump();
  EXPECT_EQ(status["desired_replicas"], 2);
  EXPECT_EQ(status["deployment"], functionObjectName("new-fn"));
  EXPECT_EQ(functions->status("unknown-fn")["state"], "unavailable");
}

TEST_F(KubernetesFunctionsTest, ACallWithoutReadyReplicasSaysSo) {
  auto functions = backend();
  ASSERT_TRUE(functions->deploy("lonely-fn", record("lonely-fn")));
  policies::CallResult result = functions->call("lonely-fn", Json{{"x", 1}}, true);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error->type, "unavailable");
  EXPECT_NE(result.error->message.find("function lonely-fn has no ready replicas"),
            std::string::npos) << result.error->message;
  Json managed = functions->manage("lonely-fn", "reset", Json::object());
  ASSERT_EQ(managed.size(), 1u);
  EXPECT_EQ(managed[0]["error"]["type"], "unavailable");
}

TEST_F(KubernetesFunctionsTest, EndToEndThroughTheApiServersServiceProxy) {
  // What the fake's pods write to their container log (the pod agent's lines and the policy's).
  ASSERT_TRUE(fakeControl("PUT", "/__fake/scripts/deployments/default/" +
                                         functionObjectName("proxied-fn"),
                          R"({"log":"agent started\ncounted 1\n"})"));
  auto functions = backend();
  ASSERT_TRUE(functions->deploy("proxied-fn", record("proxied-fn")));
  // The real agent standing for the pods, with the token the Deployment gives them.
  START_POD(pod, "proxied-fn");
  ASSERT_TRUE(routeServiceTo("proxied-fn", *pod));
  tick(5);  // the Deployment's pods become ready, so the Service has endpoints
  Json status = functions->status("proxied-fn");
  EXPECT_EQ(status["state"], "available") << status.dump();
  EXPECT_EQ(status["ready_replicas"], 2) << status.dump();

  policies::CallResult first = functions->call("proxied-fn", Json{{"x", "hi"}}, true);
  ASSERT_TRUE(first.ok()) << first.error->message;
  EXPECT_EQ(first.output["n"], 1);
  EXPECT_EQ(first.output["echo"], "hi");
  Json managed = functions->manage("proxied-fn", "reset", Json{{"to", 10}});
  ASSERT_EQ(managed.size(), 1u) << managed.dump();
  EXPECT_EQ(managed[0]["output"]["n"], 10) << managed.dump();
  EXPECT_EQ(functions->call("proxied-fn", Json::object(), true).output["n"], 11);
  policies::CallResult failed = functions->call("proxied-fn", Json{{"boom", true}}, true);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error->type, "policy_error");
  EXPECT_EQ(failed.error->exception, "ValueError");
  bool proxied = false;
  for (const Json& request : requests())
    proxied = proxied || request["path"] == "/api/v1/namespaces/default/services/" +
                                                 functionObjectName("proxied-fn") +
                                                 ":http/proxy/function/call_function/proxied-fn";
  EXPECT_TRUE(proxied);

  // The HPA (the fake's control stands in for metrics) scales the Deployment; status follows.
  const std::string hpa_control =
      "/__fake/hpa/default/" + functionObjectName("proxied-fn") + "/desired?replicas=";
  ASSERT_TRUE(fakeControl("PUT", hpa_control + "4"));
  tick(5);
  status = functions->status("proxied-fn");
  EXPECT_EQ(status["desired_replicas"], 4) << status.dump();
  EXPECT_EQ(status["ready_replicas"], 4) << status.dump();
  EXPECT_EQ(status["autoscaling"]["desired_replicas"], 4) << status.dump();
  EXPECT_EQ(status["pods"].size(), 4u) << status.dump();
  ASSERT_TRUE(fakeControl("PUT", hpa_control + "9"));  // clamped to max_replicas
  tick(5);
  EXPECT_EQ(functions->status("proxied-fn")["desired_replicas"], 5);

  // One header per pod in the logs, each followed by that pod's last `tail` lines.
  std::string logs = functions->logs("proxied-fn", 1);
  size_t headers = 0;
  for (size_t at = logs.find("==> pod "); at != std::string::npos;
       at = logs.find("==> pod ", at + 1))
    ++headers;
  EXPECT_EQ(headers, 5u) << logs;
  size_t lines = 0;
  for (size_t at = logs.find(" <==\ncounted 1\n"); at != std::string::npos;
       at = logs.find(" <==\ncounted 1\n", at + 1))
    ++lines;
  EXPECT_EQ(lines, 5u) << logs;
  EXPECT_EQ(logs.find("agent started"), std::string::npos) << "tail 1: " << logs;

  // Removal: nothing labelled for the function is left once the pods are collected.
  functions->remove("proxied-fn");
  tick(40);  // the pods are collected, then pass their 30 s termination grace period
  const std::string selector =
      std::string(kubernetes::kFunctionLabel) + "=" + functionObjectName("proxied-fn");
  for (const char* collection :
       {"/api/v1/namespaces/default/pods", "/apis/apps/v1/namespaces/default/deployments",
        "/api/v1/namespaces/default/services",
        "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers"}) {
    auto left = api_->request("GET", collection, nullptr, {{"labelSelector", selector}});
    ASSERT_TRUE(left) << collection;
    EXPECT_TRUE((*left)["items"].empty()) << collection << ": " << left->dump();
  }
  policies::CallResult after = functions->call("proxied-fn", Json::object(), true);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error->type, "not_found") << after.error->message;
}

TEST_F(KubernetesFunctionsTest, CrashLoopingPodsAreNamedInStatus) {
  const std::string script =
      "/__fake/scripts/deployments/default/" + functionObjectName("crash-fn");
  ASSERT_TRUE(fakeControl("PUT", script, R"({"crashLoop":true})"));
  auto functions = backend();
  ASSERT_TRUE(functions->deploy("crash-fn", record("crash-fn", Json{{"enabled", false}}, 1)));
  tick(30);
  Json status = functions->status("crash-fn");
  EXPECT_EQ(status["state"], "crash_looping") << status.dump();
  EXPECT_NE(status["reason"].get<std::string>().find("CrashLoopBackOff"), std::string::npos)
      << status.dump();
  EXPECT_GT(status["restarts"].get<int>(), 0) << status.dump();
  EXPECT_EQ(status["available_replicas"], 0) << status.dump();
}

TEST_F(KubernetesFunctionsTest, ImagePullFailuresAreNamedInStatus) {
  const std::string script =
      "/__fake/scripts/deployments/default/" + functionObjectName("pull-fn");
  ASSERT_TRUE(fakeControl("PUT", script, R"({"imagePull":"fail"})"));
  auto functions = backend();
  ASSERT_TRUE(functions->deploy("pull-fn", record("pull-fn", Json{{"enabled", false}}, 1)));
  tick(30);
  Json status = functions->status("pull-fn");
  EXPECT_EQ(status["state"], "image_pull_failed") << status.dump();
  EXPECT_NE(status["reason"].get<std::string>().find("ImagePull"), std::string::npos)
      << status.dump();
}

TEST_F(KubernetesFunctionsTest, TheRoutesDoNotChangeWhenFunctionsRunOnTheCluster) {
  if (std::string why = exa::testing::jailUnsupportedReason(); !why.empty()) GTEST_SKIP() << why;
  uint16_t port = startClusterAgent();
  ASSERT_EQ(exa::testing::onboardPolicy(port, creator_dir_, "counter", kCounterPolicy).status, 201);

  auto created = httpRequest(port, "POST", "/function/deployments/create/executor-001",
                             R"({"name": "routed-fn", "policy_rule_uri": "counter:1-x",
                                 "replicas": 2, "autoscaling": {"enabled": false}})");
  ASSERT_EQ(created.status, 201) << created.body;
  ASSERT_TRUE(exists(kDeployments + functionObjectName("routed-fn")));
  START_POD(pod, "routed-fn");
  ASSERT_TRUE(routeServiceTo("routed-fn", *pod));
  tick(5);

  auto called = httpRequest(port, "POST", "/function/call_function/routed-fn", R"({"x": 7})");
  ASSERT_EQ(called.status, 200) << called.body;
  EXPECT_EQ(called.json["data"], (Json{{"n", 1}, {"echo", 7}}));
  auto managed = httpRequest(port, "POST", "/function/routed-fn/management",
                             R"({"action": "reset", "data": {"to": 5}})");
  ASSERT_EQ(managed.status, 200) << managed.body;
  EXPECT_EQ(managed.json["data"]["replicas"][0]["output"]["n"], 5) << managed.body;
  auto read = httpRequest(port, "GET", "/function/routed-fn");
  ASSERT_EQ(read.status, 200);
  EXPECT_EQ(read.json["data"]["function_status"]["backend"], "kubernetes") << read.body;
  EXPECT_EQ(read.json["data"]["function_status"]["state"], "available") << read.body;
  auto logs = httpRequest(port, "GET", "/function/get_logs/routed-fn?tail=5");
  ASSERT_EQ(logs.status, 200);
  EXPECT_NE(logs.json["data"].get<std::string>().find("==> pod fn-routed-fn-"), std::string::npos)
      << logs.body;
  auto failed = httpRequest(port, "POST", "/function/call_function/routed-fn", R"({"boom": 1})");
  EXPECT_EQ(failed.status, 422) << failed.body;  // policy_error, as on the local backend
  EXPECT_EQ(failed.json["error"]["exception"], "ValueError") << failed.body;

  ASSERT_EQ(httpRequest(port, "DELETE", "/function/deployments/remove/routed-fn").status, 200);
  EXPECT_FALSE(exists(kDeployments + functionObjectName("routed-fn")));
  EXPECT_FALSE(exists(kServices + functionObjectName("routed-fn")));
  EXPECT_EQ(httpRequest(port, "POST", "/function/call_function/routed-fn", "{}").status, 404);
}

// Graphs call their functions through the FunctionBackend: the same graph runs unchanged when
// the functions live on the cluster (each node's call goes through the API server's proxy).
TEST_F(KubernetesFunctionsTest, AGraphRunsUnchangedOnClusterFunctions) {
  if (std::string why = exa::testing::jailUnsupportedReason(); !why.empty()) GTEST_SKIP() << why;
  uint16_t port = startClusterAgent();
  ASSERT_EQ(exa::testing::onboardPolicy(port, creator_dir_, "counter", kCounterPolicy).status, 201);
  std::vector<std::unique_ptr<AgentServer>> pods;
  for (const char* name : {"first-fn", "second-fn"}) {
    Json body = {{"name", name}, {"policy_rule_uri", "counter:1-x"}, {"replicas", 1},
                 {"autoscaling", {{"enabled", false}}}};
    auto created = httpRequest(port, "POST", "/function/deployments/create/executor-001", body.dump());
    ASSERT_EQ(created.status, 201) << created.body;
    START_POD(pod, name);
    ASSERT_TRUE(routeServiceTo(name, *pod));
    pods.push_back(std::move(pod));
  }
  tick(5);
  Json graph = {{"graph_name", "pipeline"}, {"graph_version", "1.0"}, {"graph_release_tag", "stable"},
                {"graph_function_ids", {"first-fn", "second-fn"}},
                {"graph_connection_data", {{"first-fn", {"second-fn"}}}}};
  auto onboarded = httpRequest(port, "POST", "/graphs", graph.dump());
  ASSERT_EQ(onboarded.status, 201) << onboarded.body;
  auto run = httpRequest(port, "POST", "/graph/execute_graph",
                         R"({"graph_uri": "pipeline:1.0-stable", "input_data": {"x": 3}})");
  ASSERT_EQ(run.status, 200) << run.body;
  // second-fn saw first-fn's output ({"n": 1, "echo": 3}) as its input, which has no "x".
  EXPECT_EQ(run.json["data"], (Json{{"n", 1}, {"echo", nullptr}})) << run.body;
  size_t proxied = 0;
  for (const Json& request : requests())
    if (request["path"].get<std::string>().find(":http/proxy/function/call_function/") !=
        std::string::npos)
      ++proxied;
  EXPECT_EQ(proxied, 2u);
}

TEST_F(KubernetesFunctionsTest, CallsAndManagementReachThePodThroughTheServiceUrl) {
  KubernetesFunctionOptions options;
  options.call_mode = FunctionCallMode::kService;
  auto port = std::make_shared<uint16_t>(0);
  options.service_url = [port](const std::string& service, const std::string& ns) {
    EXPECT_TRUE(service == functionObjectName("svc-fn") ||
                service == functionObjectName("other-fn")) << service;
    EXPECT_EQ(ns, kNamespace);
    return "http://127.0.0.1:" + std::to_string(*port);
  };
  auto functions = backend(options);
  ASSERT_TRUE(functions->deploy("svc-fn", record("svc-fn")));
  START_POD(pod, "svc-fn");
  *port = pod->port();

  policies::CallResult first = functions->call("svc-fn", Json{{"x", "hello"}}, true);
  ASSERT_TRUE(first.ok()) << first.error->message;
  EXPECT_EQ(first.output["n"], 1);
  EXPECT_EQ(first.output["echo"], "hello");
  EXPECT_EQ(functions->call("svc-fn", Json::object(), true).output["n"], 2) << "state kept";

  Json managed = functions->manage("svc-fn", "reset", Json{{"to", 10}});
  ASSERT_EQ(managed.size(), 1u) << managed.dump();
  EXPECT_EQ(managed[0]["output"]["status"], "success") << managed.dump();
  EXPECT_EQ(functions->call("svc-fn", Json::object(), true).output["n"], 11);

  policies::CallResult failed = functions->call("svc-fn", Json{{"boom", true}}, true);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error->type, "policy_error");
  EXPECT_EQ(failed.error->exception, "ValueError") << failed.error->message;

  // Each function's pods have their own token: another function's calls are refused there.
  ASSERT_TRUE(functions->deploy("other-fn", record("other-fn")));
  EXPECT_NE(podToken("other-fn"), podToken("svc-fn"));
  policies::CallResult refused = functions->call("other-fn", Json::object(), true);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error->type, "unavailable");
  EXPECT_NE(refused.error->message.find("refused this agent's token"), std::string::npos)
      << refused.error->message;
}

TEST_F(KubernetesFunctionsTest, AnUnreachableServiceUrlIsUnavailable) {
  KubernetesFunctionOptions options;
  options.call_mode = FunctionCallMode::kService;
  options.service_url = [](const std::string&, const std::string&) {
    return std::string("http://127.0.0.1:1");  // nothing listens on port 1
  };
  auto functions = backend(options);
  ASSERT_TRUE(functions->deploy("nowhere-fn", record("nowhere-fn")));
  policies::CallResult result = functions->call("nowhere-fn", Json::object(), true);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error->type, "unavailable");
  EXPECT_NE(result.error->message.find("nowhere-fn has no ready replicas"), std::string::npos)
      << result.error->message;
}

TEST_F(KubernetesFunctionsTest, AHostedPodRestartsFromItsStoreAndExitsWithoutItsPolicy) {
  if (std::string why = exa::testing::jailUnsupportedReason(); !why.empty()) GTEST_SKIP() << why;
  exa::testing::TempDir dir;
  HostedFunction function{"restart-fn", "counter:1-x", Json::object()};
  auto pod = startHostedPod(dir, "pod-r", function);
  auto called = httpRequest(pod->port(), "POST", "/function/call_function/restart-fn", "{}");
  ASSERT_EQ(called.status, 200) << called.body;
  EXPECT_EQ(called.json["data"]["n"], 1);
  // The container restarts in the same pod: its emptyDir store still holds the function, which
  // the agent starts again from there before the hosted spec is applied.
  pod.reset();
  pod = startHostedPod(dir, "pod-r", function);
  called = httpRequest(pod->port(), "POST", "/function/call_function/restart-fn", "{}");
  ASSERT_EQ(called.status, 200) << called.body;
  EXPECT_EQ(called.json["data"]["n"], 1) << "a new instance";
  auto record = httpRequest(pod->port(), "GET", "/function/restart-fn");
  EXPECT_EQ(record.json["data"]["function_executor_id"], "pod-r") << record.body;

  // A policy the creating agent does not have: the pod agent exits (CrashLoopBackOff).
  exa::testing::TempDir other;
  auto broken = startHostedPod(other, "pod-b", {"broken-fn", "nowhere:1-x", Json::object()});
  int status = broken->stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
}

TEST(HostedFunctionSpecTest, RoundTripsAndRefusesWhatADeploymentRefuses) {
  HostedFunction f{"check-ip-fn", "ip_allowlist:1.0-beta", Json{{"local_allowlist", {"10.0.0.1"}}}};
  auto parsed = parseHostedFunction(hostedFunctionSpec(f));
  ASSERT_TRUE(parsed) << parsed.error().describe();
  EXPECT_EQ(parsed->name, f.name);
  EXPECT_EQ(parsed->policy_rule_uri, f.policy_rule_uri);
  EXPECT_EQ(parsed->policy_rule_parameters, f.policy_rule_parameters);

  EXPECT_TRUE(parseHostedFunction(R"({"name":"a","policy_rule_uri":"p:1-x"})"));
  for (const char* bad : {"", "[]", "{", R"({"name":"a"})", R"({"policy_rule_uri":"p:1-x"})",
                          R"({"name":"a/b","policy_rule_uri":"p:1-x"})",
                          R"({"name":"a","policy_rule_uri":"p:1-x","policy_rule_parameters":3})",
                          R"({"name":"a","policy_rule_uri":"p:1-x","replicas":2})"}) {
    auto refused = parseHostedFunction(bad);
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(refused.error().message.rfind("--host-function: ", 0), 0u) << refused.error().message;
  }
}

TEST(FunctionCallModeTest, ParsesTheConfigurationsSpelling) {
  EXPECT_EQ(*parseFunctionCallMode("proxy"), FunctionCallMode::kProxy);
  EXPECT_EQ(*parseFunctionCallMode("service"), FunctionCallMode::kService);
  EXPECT_FALSE(parseFunctionCallMode("Proxy"));
  EXPECT_FALSE(parseFunctionCallMode(""));
}

}  // namespace
}  // namespace exa::agent
