// create-infra / remove-infra: the executor's objects (infra_manifests.h) and their installer
// (infra_installer.h), against the schema-validating fake API server under Strict validation:
// idempotent installs, two executors on one cluster, a foreign namespace, rollback of a failed
// step, and removal of exactly the executor's labelled objects.
#include "kubernetes/infra_installer.h"

#include <stdio.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kubernetes/base64.h"
#include "kubernetes/infra_manifests.h"
#include "kubernetes/job_manifest.h"
#include "kubernetes/object_names.h"
#include "tests/support/fake_apiserver.h"
#include "tests/support/http_client.h"

namespace exa::kubernetes {
namespace {

using namespace std::chrono_literals;
using testing::FakeApiServer;
using testing::FakeApiServerOptions;
using testing::httpRequest;

constexpr const char* kImage = "registry.example/executor-agent:1.0";
constexpr const char* kServer = "https://cluster.example:6443";

ExecutorInfraSpec specFor(const std::string& id, const std::string& namespace_name = "") {
  ExecutorInfraSpec spec;
  spec.executor_id = id;
  spec.namespace_name = namespace_name.empty() ? executorNamespace(id) : namespace_name;
  spec.central_url = "http://central.example:8000";
  spec.central_token = "central-secret";
  spec.executor_token = "executor-secret-" + id;
  spec.host_uri = serviceProxyUri(kServer, spec.namespace_name, executorObjectName(id));
  spec.pods.image = kImage;
  return spec;
}

const Json* findKind(const std::vector<Json>& objects, const std::string& kind) {
  for (const Json& object : objects)
    if (object["kind"] == kind) return &object;
  return nullptr;
}

const Json* findEnv(const Json& env, const std::string& name) {
  for (const Json& entry : env)
    if (entry["name"] == name) return &entry;
  return nullptr;
}

std::vector<std::string> actions(const InfraReport& report) {
  std::vector<std::string> out;
  for (const ObjectProgress& object : report.objects) out.push_back(object.action);
  return out;
}

std::vector<std::string> repeated(const std::string& action, size_t n) {
  return std::vector<std::string>(n, action);
}

// ---- the objects, without a cluster --------------------------------------------------------

TEST(InfraManifests, ObjectsComeInCreationOrderAndAreAllOurs) {
  auto objects = executorInfraObjects(specFor("exec-1"));
  std::vector<std::string> kinds;
  for (const Json& object : objects) {
    kinds.push_back(object["kind"]);
    EXPECT_TRUE(ownedBy(object, "exec-1")) << object["kind"];
    EXPECT_FALSE(ownedBy(object, "exec-2")) << object["kind"];
    auto path = collectionPath(object);
    EXPECT_TRUE(path) << object["kind"] << ": " << path.error().describe();
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"Namespace", "ServiceAccount", "Role", "RoleBinding",
                                             "ClusterRole", "ClusterRoleBinding", "Secret",
                                             "Deployment", "Service"}));
  EXPECT_EQ(objects[0]["metadata"]["name"], "exa-exec-1");
  for (size_t i = 1; i < objects.size(); ++i) {
    bool cluster_scoped = objects[i]["kind"].get<std::string>().starts_with("Cluster");
    EXPECT_EQ(objects[i]["metadata"].value("namespace", ""), cluster_scoped ? "" : "exa-exec-1");
    EXPECT_EQ(objects[i]["metadata"]["name"], cluster_scoped
                                                  ? executorNodeReaderName("exec-1")
                                                  : executorObjectName("exec-1"));
  }
}

TEST(InfraManifests, NamesAreValidForAnyExecutorId) {
  // A Service name is a DNS-1035 label: a letter first, at most 63 characters.
  for (const std::string& id : std::vector<std::string>{"exec-1", "Exec_One", "1234",
                                                        std::string(100, 'x'), "a.b/c"}) {
    std::string ns = executorNamespace(id);
    std::string name = executorObjectName(id);
    EXPECT_LE(ns.size(), 63u) << id;
    EXPECT_LE(name.size(), 63u) << id;
    EXPECT_TRUE(name[0] >= 'a' && name[0] <= 'z') << name;
    EXPECT_EQ(ns, dns1123Name(ns)) << id;
    EXPECT_EQ(name, dns1123Name(name)) << id;
  }
  EXPECT_NE(executorObjectName("Exec_One"), executorObjectName("exec-one"));
}

TEST(InfraManifests, DeploymentRunsTheAgentAsThatExecutor) {
  ExecutorInfraSpec spec = specFor("exec-1");
  auto objects = executorInfraObjects(spec);
  const Json& deployment = *findKind(objects, "Deployment");
  const std::string name = executorObjectName("exec-1");
  EXPECT_EQ(deployment["spec"]["replicas"], 1);
  EXPECT_EQ(deployment["spec"]["strategy"], (Json{{"type", "Recreate"}}));
  const Json& pod = deployment["spec"]["template"]["spec"];
  EXPECT_EQ(pod["serviceAccountName"], name);
  EXPECT_EQ(pod["automountServiceAccountToken"], true);
  EXPECT_EQ(pod["restartPolicy"], "Always");
  const Json& container = pod["containers"][0];
  EXPECT_EQ(container["image"], kImage);
  EXPECT_EQ(container["args"], Json::array({"serve"}));
  EXPECT_EQ(container["ports"][0]["containerPort"], kExecutorPort);
  EXPECT_EQ(container["readinessProbe"]["httpGet"]["path"], "/health");

  const Json& env = container["env"];
  auto value = [&](const std::string& key) -> std::string {
    const Json* entry = findEnv(env, key);
    return entry && entry->contains("value") ? (*entry)["value"].get<std::string>() : "<none>";
  };
  EXPECT_EQ(value("EXECUTOR_AGENT_SERVER_LISTEN"), "0.0.0.0:8080");
  EXPECT_EQ(value("EXECUTOR_AGENT_SERVER_ADVERTISE_URL"), spec.host_uri);
  EXPECT_EQ(value("EXECUTOR_AGENT_EXECUTOR_ID"), "exec-1");
  EXPECT_EQ(value("EXECUTOR_AGENT_KUBERNETES_KUBECONFIG"), "in-cluster");
  EXPECT_EQ(value("EXECUTOR_AGENT_KUBERNETES_NAMESPACE"), "exa-exec-1");
  EXPECT_EQ(value("EXECUTOR_AGENT_KUBERNETES_IMAGE"), kImage);
  EXPECT_EQ(value("EXECUTOR_AGENT_KUBERNETES_AGENT_URL"),
            "http://" + name + ".exa-exec-1.svc:8080");
  EXPECT_EQ(value("EXECUTOR_AGENT_KUBERNETES_FUNCTION_CALLS"), "service");
  EXPECT_EQ(value("EXECUTOR_AGENT_REGISTRY_CENTRAL_URL"), spec.central_url);
  // Tokens come from the Secret, never as literal values in the Deployment.
  EXPECT_EQ(dumpJson(deployment).find("secret-exec-1"), std::string::npos);
  for (auto [key, secret_key] :
       {std::pair{"EXECUTOR_AGENT_AUTH_TOKEN", "executor_token"},
        std::pair{"EXECUTOR_AGENT_REGISTRY_CENTRAL_TOKEN", "central_token"}}) {
    const Json* entry = findEnv(env, key);
    ASSERT_NE(entry, nullptr) << key;
    EXPECT_EQ((*entry)["valueFrom"]["secretKeyRef"],
              (Json{{"name", name}, {"key", secret_key}}));
  }
  const Json& secret = *findKind(objects, "Secret");
  EXPECT_EQ(base64Decode(secret["data"]["executor_token"].get<std::string>()),
            "executor-secret-exec-1");
  EXPECT_EQ(base64Decode(secret["data"]["central_token"].get<std::string>()), "central-secret");
}

TEST(InfraManifests, NoCentralTokenMeansNoKeyAndNoVariable) {
  ExecutorInfraSpec spec = specFor("exec-1");
  spec.central_token = "";
  auto objects = executorInfraObjects(spec);
  EXPECT_FALSE((*findKind(objects, "Secret"))["data"].contains("central_token"));
  const Json& env =
      (*findKind(objects, "Deployment"))["spec"]["template"]["spec"]["containers"][0]["env"];
  EXPECT_EQ(findEnv(env, "EXECUTOR_AGENT_REGISTRY_CENTRAL_TOKEN"), nullptr);
}

TEST(InfraManifests, EveryVariableIsAnAgentSetting) {
  // A misspelt EXECUTOR_AGENT_* name would be ignored or refused by the agent in the pod, which
  // the API server cannot see: check the names against the agent's own list of keys.
  FILE* pipe = ::popen(EXA_AGENT_BINARY " config --print-default 2>/dev/null", "r");
  ASSERT_NE(pipe, nullptr);
  std::string defaults;
  char buffer[4096];
  for (size_t n; (n = ::fread(buffer, 1, sizeof buffer, pipe)) > 0;) defaults.append(buffer, n);
  if (::pclose(pipe) != 0 || defaults.empty()) GTEST_SKIP() << "no " << EXA_AGENT_BINARY;
  for (PodSecurity security : {PodSecurity::kPrivileged, PodSecurity::kUserNamespace}) {
    ExecutorInfraSpec spec = specFor("exec-1");
    spec.pods.security = security;
    auto objects = executorInfraObjects(spec);
    const Json& env =
        (*findKind(objects, "Deployment"))["spec"]["template"]["spec"]["containers"][0]["env"];
    for (const Json& entry : env) {
      std::string name = entry["name"];
      EXPECT_NE(defaults.find("Environment: " + name + "\n"), std::string::npos) << name;
    }
  }
}

TEST(InfraManifests, UserNamespaceModeReachesTheExecutorAndItsPods) {
  ExecutorInfraSpec spec = specFor("exec-1");
  spec.pods.security = PodSecurity::kUserNamespace;
  auto objects = executorInfraObjects(spec);
  const Json& pod = (*findKind(objects, "Deployment"))["spec"]["template"]["spec"];
  EXPECT_EQ(pod["hostUsers"], false);
  const Json& container = pod["containers"][0];
  EXPECT_FALSE(container["securityContext"].contains("privileged"));
  EXPECT_EQ(container["securityContext"]["procMount"], "Unmasked");
  auto value = [&](const std::string& key) -> std::string {
    const Json* entry = findEnv(container["env"], key);
    return entry && entry->contains("value") ? (*entry)["value"].get<std::string>() : "<none>";
  };
  // The executor's own jail (execute_policy runs in it) takes uids inside the pod's ids ...
  EXPECT_EQ(value("EXECUTOR_AGENT_EXECUTOR_WORKER_UID_BASE"), "1000");
  EXPECT_EQ(value("EXECUTOR_AGENT_EXECUTOR_WORKER_UID_COUNT"), "64000");
  // ... and its Job and function pods are made in the same mode.
  EXPECT_EQ(value("EXECUTOR_AGENT_KUBERNETES_POD_SECURITY"), "user-namespace");
  EXPECT_EQ(value("EXECUTOR_AGENT_SERVER_LISTEN"), "0.0.0.0:8080");  // the others are still there
  // Outside baseline either way (seccomp and AppArmor Unconfined): the namespace says so.
  EXPECT_EQ(objects[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "privileged");
  auto privileged = executorInfraObjects(specFor("exec-1"));
  const Json& privileged_env =
      (*findKind(privileged, "Deployment"))["spec"]["template"]["spec"]["containers"][0]["env"];
  const Json* mode = findEnv(privileged_env, "EXECUTOR_AGENT_KUBERNETES_POD_SECURITY");
  ASSERT_NE(mode, nullptr);
  EXPECT_EQ((*mode)["value"], "privileged");
  EXPECT_EQ(findEnv(privileged_env, "EXECUTOR_AGENT_EXECUTOR_WORKER_UID_BASE"), nullptr);
}

TEST(InfraManifests, ServiceNeverFixesANodePort) {
  ExecutorInfraSpec spec = specFor("exec-1");
  spec.service_type = "NodePort";
  auto objects = executorInfraObjects(spec);
  const Json& service = *findKind(objects, "Service");
  EXPECT_EQ(service["spec"]["type"], "NodePort");
  ASSERT_EQ(service["spec"]["ports"].size(), 1u);
  EXPECT_EQ(service["spec"]["ports"][0]["name"], "http");
  EXPECT_EQ(service["spec"]["ports"][0]["port"], kExecutorPort);
  EXPECT_FALSE(service["spec"]["ports"][0].contains("nodePort"));
  // It selects the executor's pod only, not its Job or function pods.
  const Json& deployment = *findKind(objects, "Deployment");
  EXPECT_EQ(service["spec"]["selector"], deployment["spec"]["selector"]["matchLabels"]);
  EXPECT_EQ(service["spec"]["selector"]["executor-agent.io/kind"], "executor");
}

TEST(InfraManifests, RoleGrantsExactlyWhatTheBackendsUse) {
  std::set<std::string> grants;
  for (const Json& rule : adapterRoleRules())
    for (const Json& group : rule["apiGroups"])
      for (const Json& resource : rule["resources"])
        for (const Json& verb : rule["verbs"])
          grants.insert(group.get<std::string>() + "/" + resource.get<std::string>() + ":" +
                        verb.get<std::string>());
  std::set<std::string> expected;
  for (std::string verb : {"create", "get", "list", "watch", "delete"})
    expected.insert("batch/jobs:" + verb);
  for (std::string verb : {"get", "list", "watch"}) expected.insert("/pods:" + verb);
  expected.insert("/pods/log:get");
  for (std::string resource :
       {"apps/deployments", "/services", "autoscaling/horizontalpodautoscalers"})
    for (std::string verb : {"create", "get", "list", "watch", "update", "patch", "delete"})
      expected.insert(resource + ":" + verb);
  for (std::string verb : {"get", "update", "patch"})
    expected.insert("apps/deployments/scale:" + verb);
  expected.insert("/services/proxy:get");
  expected.insert("/services/proxy:create");
  EXPECT_EQ(grants, expected);
  // A namespaced Role bound to the executor's own account; cluster-wide, reading Nodes only.
  auto objects = executorInfraObjects(specFor("exec-1"));
  const Json& binding = *findKind(objects, "RoleBinding");
  EXPECT_EQ(binding["roleRef"]["kind"], "Role");
  EXPECT_EQ(binding["subjects"][0]["name"], executorObjectName("exec-1"));
  EXPECT_EQ(binding["subjects"][0]["namespace"], "exa-exec-1");
  const Json& nodes = *findKind(objects, "ClusterRole");
  EXPECT_EQ(nodes["rules"], Json::parse(R"([{"apiGroups": [""], "resources": ["nodes"],
                                             "verbs": ["get", "list", "watch"]}])"));
  const Json& cluster_binding = *findKind(objects, "ClusterRoleBinding");
  EXPECT_EQ(cluster_binding["roleRef"]["name"], nodes["metadata"]["name"]);
  EXPECT_EQ(cluster_binding["subjects"], binding["subjects"]);
}

TEST(InfraManifests, ServiceProxyUri) {
  EXPECT_EQ(serviceProxyUri("https://k8s:6443/", "ns", "svc"),
            "https://k8s:6443/api/v1/namespaces/ns/services/svc:http/proxy");
}

TEST(InfraInstaller, CollectionPathFollowsKindAndNamespace) {
  Json deployment = {{"apiVersion", "apps/v1"},
                     {"kind", "Deployment"},
                     {"metadata", {{"name", "d"}, {"namespace", "n"}}}};
  EXPECT_EQ(*collectionPath(deployment), "/apis/apps/v1/namespaces/n/deployments");
  Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "n"}}}};
  EXPECT_EQ(*collectionPath(ns), "/api/v1/namespaces");
  Json hpa = {{"apiVersion", "autoscaling/v2"},
              {"kind", "HorizontalPodAutoscaler"},
              {"metadata", {{"name", "h"}, {"namespace", "n"}}}};
  EXPECT_EQ(*collectionPath(hpa), "/apis/autoscaling/v2/namespaces/n/horizontalpodautoscalers");

  Json role = {{"apiVersion", "rbac.authorization.k8s.io/v1"},
               {"kind", "ClusterRole"},
               {"metadata", {{"name", "reader"}}}};
  EXPECT_EQ(*collectionPath(role), "/apis/rbac.authorization.k8s.io/v1/clusterroles");
  Json node = {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", "n1"}}}};
  EXPECT_EQ(collectionPath(node).error().code, ErrorCode::kInvalidArgument);  // never made
  Json wrong_version = deployment;
  wrong_version["apiVersion"] = "extensions/v1beta1";
  EXPECT_FALSE(collectionPath(wrong_version));
  Json no_namespace = deployment;
  no_namespace["metadata"].erase("namespace");
  EXPECT_FALSE(collectionPath(no_namespace));
  Json rerouted = deployment;
  rerouted["metadata"]["namespace"] = "n/secrets";
  EXPECT_FALSE(collectionPath(rerouted));
  Json namespaced_namespace = ns;
  namespaced_namespace["metadata"]["namespace"] = "x";
  EXPECT_FALSE(collectionPath(namespaced_namespace));
}

// ---- against the fake API server -----------------------------------------------------------

// Each test gets a fresh fake. With `auto_tick` its clock moves on its own (1 virtual second per
// 20 ms), so namespaces finish terminating and pods their grace period while removal waits.
class InfraTest : public ::testing::Test {
 protected:
  void start(bool auto_tick) {
    if (!FakeApiServer::available()) GTEST_SKIP() << "no schema subset or python3";
    FakeApiServerOptions options;
    if (auto_tick) options.extra_args.push_back("--auto-tick");
    fake_ = std::make_unique<FakeApiServer>(options);
    ClusterCredentials credentials;
    credentials.server = fake_->url();
    ApiClientOptions client_options;
    client_options.max_attempts = 1;  // every reply of the fake is final
    client_ = std::make_unique<ApiClient>(credentials, client_options);
  }
  void SetUp() override { start(true); }

  InfraReport install(const ExecutorInfraSpec& spec) {
    return installObjects(*client_, executorInfraObjects(spec), spec.executor_id);
  }
  InfraReport remove(const std::string& namespace_name, const std::string& executor_id,
                     std::chrono::milliseconds wait = 60s) {
    RemoveOptions options;
    options.namespace_name = namespace_name;
    options.executor_id = executor_id;
    options.wait = wait;
    return removeObjects(*client_, options);
  }

  void fake(const std::string& method, const std::string& target, const Json& body = nullptr) {
    auto reply = httpRequest(fake_->port(), method, target, body.is_null() ? "" : dumpJson(body));
    ASSERT_EQ(reply.status, 200) << method << " " << target << ": " << reply.body;
  }
  void tick(int seconds) { fake("POST", "/__fake/tick?seconds=" + std::to_string(seconds)); }

  Result<Json> get(const Json& object) {
    auto collection = collectionPath(object);
    if (!collection) return collection.error();
    return client_->request("GET",
                            *collection + "/" + object["metadata"]["name"].get<std::string>());
  }
  bool exists(const Json& object) {
    auto live = get(object);
    EXPECT_TRUE(live || live.error().code == ErrorCode::kNotFound) << live.error().describe();
    return live.has_value();
  }
  /// Ticks until `object` is gone; false if it is still there after `seconds` virtual seconds.
  bool goneWithin(const Json& object, int seconds) {
    for (int i = 0; i < seconds; ++i, tick(1))
      if (!exists(object)) return true;
    return !exists(object);
  }

  void createNamespace(const std::string& name) {
    auto created = client_->request("POST", "/api/v1/namespaces",
                                    Json{{"apiVersion", "v1"},
                                         {"kind", "Namespace"},
                                         {"metadata", {{"name", name}}}});
    ASSERT_TRUE(created) << created.error().describe();
  }

  /// The names of the objects of every kind labelled as `executor_id`'s in `namespace_name`.
  std::vector<std::string> labelledObjects(const std::string& namespace_name,
                                           const std::string& executor_id) {
    std::vector<std::string> found;
    const std::string selector = "executor-agent.io/executor=" + labelValue(executor_id);
    for (std::string path : {"/apis/apps/v1/namespaces/" + namespace_name + "/deployments",
                             "/apis/batch/v1/namespaces/" + namespace_name + "/jobs",
                             "/api/v1/namespaces/" + namespace_name + "/pods",
                             "/api/v1/namespaces/" + namespace_name + "/services",
                             "/api/v1/namespaces/" + namespace_name + "/secrets",
                             "/api/v1/namespaces/" + namespace_name + "/serviceaccounts",
                             "/apis/rbac.authorization.k8s.io/v1/namespaces/" + namespace_name +
                                 "/roles",
                             "/apis/rbac.authorization.k8s.io/v1/namespaces/" + namespace_name +
                                 "/rolebindings"}) {
      auto list = client_->request("GET", path, nullptr, {{"labelSelector", selector}});
      EXPECT_TRUE(list) << list.error().describe();
      if (!list) continue;
      for (const Json& item : (*list)["items"])
        found.push_back(path.substr(path.rfind('/') + 1) + "/" +
                        item["metadata"]["name"].get<std::string>());
    }
    return found;
  }

  std::unique_ptr<FakeApiServer> fake_;
  std::unique_ptr<ApiClient> client_;
};

TEST_F(InfraTest, EveryObjectIsAcceptedUnderStrictValidation) {
  ExecutorInfraSpec spec = specFor("exec-1");
  InfraReport report = install(spec);
  ASSERT_TRUE(report.ok) << report.error;
  EXPECT_EQ(actions(report), repeated("created", 9));
  for (const Json& object : executorInfraObjects(spec)) {
    auto live = get(object);
    ASSERT_TRUE(live) << live.error().describe();
    EXPECT_TRUE(ownedBy(*live, "exec-1"));
  }
  // The fake validates against the schema with Strict (its default here, and the client sends
  // fieldValidation=Strict on every write); it also accepts the Deployment's pod: the
  // Deployment controller makes one with the executor's account.
  tick(3);
  auto pods = client_->request("GET", "/api/v1/namespaces/exa-exec-1/pods", nullptr,
                               {{"labelSelector", "executor-agent.io/kind=executor"}});
  ASSERT_TRUE(pods) << pods.error().describe();
  ASSERT_EQ((*pods)["items"].size(), 1u);
  EXPECT_EQ((*pods)["items"][0]["spec"]["serviceAccountName"], executorObjectName("exec-1"));

  Json json = report.toJson();
  EXPECT_EQ(json["ok"], true);
  EXPECT_EQ(json["objects"][0], (Json{{"kind", "Namespace"}, {"name", "exa-exec-1"},
                                      {"action", "created"}}));
  EXPECT_EQ(json["objects"][6]["namespace"], "exa-exec-1");  // the Secret
}

TEST_F(InfraTest, UserNamespaceModeIsAcceptedUnderStrictValidation) {
  ExecutorInfraSpec spec = specFor("exec-1");
  spec.pods.security = PodSecurity::kUserNamespace;
  InfraReport report = install(spec);
  ASSERT_TRUE(report.ok) << report.error;
  EXPECT_EQ(actions(report), repeated("created", 9));
  tick(3);
  auto pods = client_->request("GET", "/api/v1/namespaces/exa-exec-1/pods", nullptr,
                               {{"labelSelector", "executor-agent.io/kind=executor"}});
  ASSERT_TRUE(pods) << pods.error().describe();
  ASSERT_EQ((*pods)["items"].size(), 1u);
  const Json& pod = (*pods)["items"][0]["spec"];
  EXPECT_EQ(pod["hostUsers"], false);
  EXPECT_EQ(pod["containers"][0]["securityContext"]["capabilities"]["add"],
            Json::array({"SETUID", "SETGID"}));
  EXPECT_EQ(actions(install(spec)), repeated("adopted", 9));  // the same again: no rollout
}

TEST_F(InfraTest, InstallingTwiceAdoptsEverything) {
  ASSERT_TRUE(install(specFor("exec-1")).ok);
  InfraReport again = install(specFor("exec-1"));
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_EQ(actions(again), repeated("adopted", 9));
  for (const ObjectProgress& object : again.objects) EXPECT_EQ(object.error, "") << object.kind;
}

// create-infra again with a new image upgrades the agent: its Deployment takes the new pod
// template ("updated"); everything else stays adopted as it was.
TEST_F(InfraTest, InstallingAgainWithANewImageUpdatesTheAgentDeployment) {
  ASSERT_TRUE(install(specFor("exec-1")).ok);
  ExecutorInfraSpec upgraded = specFor("exec-1");
  upgraded.pods.image = "registry.example/executor-agent:0.2.0";
  InfraReport report = install(upgraded);
  ASSERT_TRUE(report.ok) << report.error;
  for (const ObjectProgress& object : report.objects)
    EXPECT_EQ(object.action, object.kind == "Deployment" ? "updated" : "adopted") << object.kind;
  auto live = get(*findKind(executorInfraObjects(upgraded), "Deployment"));
  ASSERT_TRUE(live) << live.error().describe();
  EXPECT_EQ((*live)["spec"]["template"]["spec"]["containers"][0]["image"],
            "registry.example/executor-agent:0.2.0");
  EXPECT_EQ(actions(install(upgraded)), repeated("adopted", 9));  // nothing new: no rollout
}

TEST_F(InfraTest, TwoExecutorsShareOneClusterWithoutPortCollisions) {
  ExecutorInfraSpec first = specFor("exec-1");
  ExecutorInfraSpec second = specFor("exec-2");
  first.service_type = second.service_type = "NodePort";
  InfraReport a = install(first);
  InfraReport b = install(second);
  ASSERT_TRUE(a.ok) << a.error;
  ASSERT_TRUE(b.ok) << b.error;
  EXPECT_EQ(actions(b), repeated("created", 9));
  EXPECT_NE(first.namespace_name, second.namespace_name);
  auto service_a = get(*findKind(executorInfraObjects(first), "Service"));
  auto service_b = get(*findKind(executorInfraObjects(second), "Service"));
  ASSERT_TRUE(service_a && service_b);
  int port_a = (*service_a)["spec"]["ports"][0].value("nodePort", 0);
  int port_b = (*service_b)["spec"]["ports"][0].value("nodePort", 0);
  EXPECT_GT(port_a, 0);  // allocated by the cluster
  EXPECT_GT(port_b, 0);
  EXPECT_NE(port_a, port_b);
}

TEST_F(InfraTest, ForeignNamespaceIsUsedAndKeptOnRemoval) {
  createNamespace("team-a");
  ExecutorInfraSpec spec = specFor("exec-1", "team-a");
  InfraReport report = install(spec);
  ASSERT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.objects[0].kind, "Namespace");
  EXPECT_EQ(report.objects[0].action, "adopted");
  EXPECT_EQ(report.objects[0].error, "not ours: kept on removal");
  for (size_t i = 1; i < report.objects.size(); ++i) EXPECT_EQ(report.objects[i].action, "created");

  InfraReport removal = remove("team-a", "exec-1");
  ASSERT_TRUE(removal.ok) << removal.error;
  ASSERT_FALSE(removal.objects.empty());
  EXPECT_EQ(removal.objects.back().kind, "Namespace");
  EXPECT_EQ(removal.objects.back().action, "left");
  EXPECT_TRUE(exists(executorInfraObjects(spec)[0]));  // the namespace stays
  EXPECT_EQ(labelledObjects("team-a", "exec-1"), std::vector<std::string>{});
}

TEST_F(InfraTest, ForeignObjectWithOurNameIsRefused) {
  createNamespace("team-a");
  ExecutorInfraSpec spec = specFor("exec-1", "team-a");
  Json foreign = {{"apiVersion", "v1"},
                  {"kind", "ServiceAccount"},
                  {"metadata", {{"name", executorObjectName("exec-1")}, {"namespace", "team-a"}}}};
  ASSERT_TRUE(client_->request("POST", "/api/v1/namespaces/team-a/serviceaccounts", foreign));
  InfraReport report = install(spec);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(actions(report), (std::vector<std::string>{"adopted", "refused"}));
  EXPECT_NE(report.error.find("ServiceAccount team-a/" + executorObjectName("exec-1")),
            std::string::npos) << report.error;
  EXPECT_TRUE(exists(foreign));  // not ours: never deleted
  EXPECT_TRUE(exists(executorInfraObjects(spec)[0]));
}

TEST_F(InfraTest, ForbiddenStepRollsBackWhatThisCallCreated) {
  fake("POST", "/__fake/forbid", Json{{"verb", "create"}, {"resource", "services"}});
  ExecutorInfraSpec spec = specFor("exec-1");
  InfraReport report = install(spec);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.code, ErrorCode::kPermissionDenied);
  EXPECT_NE(report.error.find("Service exa-exec-1/" + executorObjectName("exec-1")),
            std::string::npos) << report.error;
  EXPECT_NE(report.error.find("forbidden"), std::string::npos) << report.error;
  std::vector<std::string> expected = repeated("rolled_back", 8);
  expected.push_back("failed");
  EXPECT_EQ(actions(report), expected);
  EXPECT_NE(report.objects.back().error.find("403"), std::string::npos);
  // Really gone: the namespaced objects at once (Background), the namespace once it has
  // finished terminating.
  auto objects = executorInfraObjects(spec);
  for (size_t i = objects.size() - 1; i > 0; --i) EXPECT_FALSE(exists(objects[i])) << i;
  EXPECT_TRUE(goneWithin(objects[0], 30));
}

TEST_F(InfraTest, AFailureAfterAdoptionRollsBackOnlyWhatWasCreated) {
  createNamespace("team-a");
  ExecutorInfraSpec spec = specFor("exec-1", "team-a");
  fake("POST", "/__fake/forbid", Json{{"verb", "create"}, {"resource", "deployments"}});
  InfraReport report = install(spec);
  EXPECT_FALSE(report.ok);
  std::vector<std::string> expected = repeated("rolled_back", 6);
  expected.insert(expected.begin(), "adopted");
  expected.push_back("failed");
  EXPECT_EQ(actions(report), expected);
  tick(5);
  EXPECT_TRUE(exists(executorInfraObjects(spec)[0]));  // the foreign namespace stays
  EXPECT_EQ(labelledObjects("team-a", "exec-1"), std::vector<std::string>{});
}

TEST_F(InfraTest, RemovalDeletesExactlyTheExecutorsObjects) {
  createNamespace("shared");
  ExecutorInfraSpec mine = specFor("exec-1", "shared");
  ExecutorInfraSpec neighbour = specFor("exec-2", "shared");
  ExecutorInfraSpec elsewhere = specFor("exec-3");
  ASSERT_TRUE(install(mine).ok);
  ASSERT_TRUE(install(neighbour).ok);
  ASSERT_TRUE(install(elsewhere).ok);

  // What the executor's backends make: a running Job (with its pod) and a function Deployment,
  // labelled as exec-1's; and a Deployment nobody labelled.
  JobSpec job;
  job.executor_id = "exec-1";
  job.job_id = "job-7";
  job.policy_rule_uri = "p:1.0-stable";
  Json job_object = jobManifest(mine.pods, job);
  job_object["metadata"]["namespace"] = "shared";
  fake("PUT", "/__fake/scripts/jobs/shared/" + jobObjectName("job-7"),
       Json{{"attempts", Json::array({{{"runSeconds", 1000000}, {"exitCode", 0}, {"log", ""}}})}});
  ASSERT_TRUE(client_->request("POST", "/apis/batch/v1/namespaces/shared/jobs", job_object));
  Json function = *findKind(executorInfraObjects(mine), "Deployment");
  Json function_metadata = ownershipMetadata("exec-1", "function", "my-fn");
  function["metadata"] = {{"name", "fn-my-fn"},
                          {"namespace", "shared"},
                          {"labels", function_metadata["labels"]}};
  function["spec"]["selector"]["matchLabels"]["executor-agent.io/kind"] = "function";
  function["spec"]["template"]["metadata"] = {{"labels", function_metadata["labels"]}};
  ASSERT_TRUE(client_->request("POST", "/apis/apps/v1/namespaces/shared/deployments", function));
  Json bystander = function;
  bystander["metadata"] = {{"name", "bystander"}, {"namespace", "shared"}};
  bystander["spec"]["selector"]["matchLabels"] = {{"app", "bystander"}};
  bystander["spec"]["template"]["metadata"] = {{"labels", {{"app", "bystander"}}}};
  ASSERT_TRUE(client_->request("POST", "/apis/apps/v1/namespaces/shared/deployments", bystander));
  tick(5);  // pods for the Job and the Deployments
  auto before = labelledObjects("shared", "exec-1");
  ASSERT_TRUE(std::find(before.begin(), before.end(), "jobs/" + jobObjectName("job-7")) !=
              before.end());
  size_t job_pods = std::count_if(before.begin(), before.end(), [](const std::string& name) {
    return name.starts_with("pods/" + jobObjectName("job-7"));
  });
  EXPECT_EQ(job_pods, 1u);

  InfraReport removal = remove("shared", "exec-1");
  ASSERT_TRUE(removal.ok) << removal.error;
  std::set<std::string> deleted;
  for (const ObjectProgress& object : removal.objects) {
    if (object.kind == "Namespace") continue;
    EXPECT_EQ(object.action, "deleted") << object.kind << " " << object.name << object.error;
    EXPECT_EQ(object.namespace_name, object.kind.starts_with("Cluster") ? "" : "shared");
    deleted.insert(object.kind + "/" + object.name);
  }
  const std::string name = executorObjectName("exec-1");
  for (const std::string& expected :
       std::vector<std::string>{"Deployment/" + name, "Deployment/fn-my-fn",
                                "Job/" + jobObjectName("job-7"), "Service/" + name,
                                "Secret/" + name, "RoleBinding/" + name, "Role/" + name,
                                "ClusterRoleBinding/" + executorNodeReaderName("exec-1"),
                                "ClusterRole/" + executorNodeReaderName("exec-1"),
                                "ServiceAccount/" + name})
    EXPECT_TRUE(deleted.count(expected)) << expected;
  EXPECT_EQ(labelledObjects("shared", "exec-1"), std::vector<std::string>{});

  // Untouched: the unlabelled Deployment, the neighbour in the same namespace, the executor in
  // its own namespace, and the namespace.
  EXPECT_TRUE(exists(bystander));
  for (const Json& object : executorInfraObjects(neighbour)) EXPECT_TRUE(exists(object));
  for (const Json& object : executorInfraObjects(elsewhere)) EXPECT_TRUE(exists(object));
  EXPECT_FALSE(labelledObjects("shared", "exec-2").empty());
}

TEST_F(InfraTest, RemovingTwiceIsFine) {
  ExecutorInfraSpec spec = specFor("exec-1");
  ASSERT_TRUE(install(spec).ok);
  InfraReport first = remove(spec.namespace_name, "exec-1");
  ASSERT_TRUE(first.ok) << first.error;
  ASSERT_FALSE(first.objects.empty());
  EXPECT_EQ(first.objects.back().kind, "Namespace");
  EXPECT_EQ(first.objects.back().action, "deleted");  // ours: it goes, and was waited for
  EXPECT_FALSE(exists(executorInfraObjects(spec)[0]));

  InfraReport second = remove(spec.namespace_name, "exec-1");
  EXPECT_TRUE(second.ok) << second.error;
  EXPECT_TRUE(second.objects.empty());

  // Every write was Strict, every delete Background (a Job's default would orphan its pods),
  // and every list asked for the executor's label.
  auto log = httpRequest(fake_->port(), "GET", "/__fake/requests");
  size_t deletes = 0;
  size_t lists = 0;
  for (size_t start = 0, end; (end = log.body.find('\n', start)) != std::string::npos;
       start = end + 1) {
    auto request = parseJson(log.body.substr(start, end - start));
    ASSERT_TRUE(request);
    const std::string method = (*request)["method"];
    const Json& query = (*request)["query"];
    if (method == "POST" && !(*request)["path"].get<std::string>().starts_with("/__fake")) {
      EXPECT_EQ(query.value("fieldValidation", ""), "Strict");
    }
    if (method == "DELETE") {
      ++deletes;
      EXPECT_EQ(query.value("propagationPolicy", ""), "Background") << (*request)["path"];
    }
    if (method == "GET" && query.contains("labelSelector") && !query.contains("watch")) {
      ++lists;
      EXPECT_EQ(query["labelSelector"],
                "app.kubernetes.io/managed-by=executor-agent,executor-agent.io/executor=exec-1");
    }
  }
  EXPECT_GE(deletes, 9u);  // eight objects and the namespace, maybe the pod
  EXPECT_GE(lists, 10u);
  // And create-infra works again afterwards.
  InfraReport reinstall = install(spec);
  EXPECT_TRUE(reinstall.ok) << reinstall.error;
  EXPECT_EQ(actions(reinstall), repeated("created", 9));
}

TEST_F(InfraTest, RemovalNeedsAnExecutorIdAndANamespaceName) {
  InfraReport report = remove("default", "");
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(remove("default/secrets", "exec-1").code, ErrorCode::kInvalidArgument);
}

// Without a clock that moves, the namespace never finishes terminating and the pod never ends
// its grace period: removal reports them as left, still terminating, rather than waiting on.
class InfraStoppedClockTest : public InfraTest {
 protected:
  void SetUp() override { start(false); }
};

TEST_F(InfraStoppedClockTest, WhatDoesNotGoInTimeIsReportedAsLeft) {
  ExecutorInfraSpec spec = specFor("exec-1");
  ASSERT_TRUE(install(spec).ok);
  tick(3);  // the executor's pod
  InfraReport removal = remove(spec.namespace_name, "exec-1", 300ms);
  EXPECT_FALSE(removal.ok);
  EXPECT_EQ(removal.code, ErrorCode::kTimeout);
  std::set<std::string> left;
  for (const ObjectProgress& object : removal.objects) {
    if (object.action == "left") {
      EXPECT_EQ(object.error, "still terminating") << object.kind;
      left.insert(object.kind);
    } else {
      EXPECT_EQ(object.action, "deleted") << object.kind;
    }
  }
  EXPECT_EQ(left, (std::set<std::string>{"Pod", "Namespace"}));
  // create-infra meanwhile says to come back later, rather than adopting a dying namespace.
  InfraReport early = install(spec);
  EXPECT_FALSE(early.ok);
  EXPECT_EQ(early.code, ErrorCode::kUnavailable);
  EXPECT_EQ(actions(early), std::vector<std::string>{"failed"});
  // Once the clock moves, everything goes; removing again finds nothing left.
  EXPECT_TRUE(goneWithin(executorInfraObjects(spec)[0], 60));
  EXPECT_TRUE(remove(spec.namespace_name, "exec-1").ok);
}

}  // namespace
}  // namespace exa::kubernetes
