// The function's Deployment, Service and HPA as JSON: names, ownership labels, a selector that
// selects the template's pods, the pod agent's command line, and the autoscaling mapping. The
// integration test sends the same documents to the schema-validating fake API server.
#include "kubernetes/function_manifests.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <string>
#include <vector>

#include "kubernetes/object_names.h"

namespace exa::kubernetes {
namespace {

FunctionManifest manifest(const std::string& name = "check-ip-fn") {
  FunctionManifest f;
  f.name = name;
  f.namespace_name = "policies";
  f.executor_id = "executor-001";
  f.host_spec = R"({"name":"check-ip-fn","policy_rule_uri":"ip_allowlist:1.0-beta"})";
  f.pod_token = "0123456789abcdef";
  f.replicas = 2;
  f.autoscaling = true;
  f.min_replicas = 1;
  f.max_replicas = 5;
  f.target_cpu_utilization_percent = 10;
  return f;
}

PodSettings pod() {
  PodSettings settings;
  settings.image = "registry.example/executor-agent:0.1.0";
  settings.agent_url = "http://executor-agent.policies.svc:10000";
  return settings;
}

bool isDns1035Label(const std::string& name) {
  return name.size() <= 63 && std::regex_match(name, std::regex("[a-z]([-a-z0-9]*[a-z0-9])?"));
}

TEST(FunctionManifestsTest, ObjectNamesAreServiceNamesAndKeepDistinctFunctionsApart) {
  EXPECT_EQ(functionObjectName("check-ip-fn"), "fn-check-ip-fn");
  for (const std::string& name :
       {std::string("Check IP_fn"), std::string("1st"), std::string(200, 'a'),
        std::string("ünïcode"), std::string("a.b")}) {
    std::string object = functionObjectName(name);
    EXPECT_TRUE(isDns1035Label(object)) << name << " -> " << object;
  }
  EXPECT_NE(functionObjectName("Fn"), functionObjectName("fn"));
  EXPECT_NE(functionObjectName(std::string(100, 'a') + "1"),
            functionObjectName(std::string(100, 'a') + "2"));
}

TEST(FunctionManifestsTest, EveryObjectCarriesOwnershipAndTheOriginalName) {
  FunctionManifest f = manifest("Check IP_fn");
  for (const Json& object : {functionDeployment(f, pod()), functionService(f),
                             functionAutoscaler(f)}) {
    const Json& metadata = object["metadata"];
    EXPECT_EQ(metadata["name"], functionObjectName("Check IP_fn"));
    EXPECT_EQ(metadata["namespace"], "policies");
    EXPECT_EQ(metadata["annotations"]["executor-agent.io/name"], "Check IP_fn");
    EXPECT_EQ(metadata["labels"]["executor-agent.io/kind"], "function");
    EXPECT_EQ(metadata["labels"][kFunctionLabel], functionObjectName("Check IP_fn"));
    EXPECT_TRUE(ownedBy(object, "executor-001")) << object.dump();
    EXPECT_FALSE(ownedBy(object, "executor-002"));
  }
}

TEST(FunctionManifestsTest, TheSelectorSelectsTheTemplatesPodsAndOnlyThisFunctions) {
  FunctionManifest f = manifest();
  Json deployment = functionDeployment(f, pod());
  const Json& selector = deployment["spec"]["selector"]["matchLabels"];
  const Json& template_labels = deployment["spec"]["template"]["metadata"]["labels"];
  ASSERT_FALSE(selector.empty());
  for (const auto& [key, value] : selector.items())
    EXPECT_EQ(template_labels.value(key, Json()), value) << key;
  EXPECT_EQ(functionService(f)["spec"]["selector"], selector);
  EXPECT_NE(functionSelector("executor-001", "other-fn"), selector);
  EXPECT_NE(functionSelector("executor-002", "check-ip-fn"), selector);
  EXPECT_EQ(labelSelectorText(Json{{"a", "1"}, {"b", "x"}}), "a=1,b=x");
}

TEST(FunctionManifestsTest, PodsRunTheAgentHostingTheFunction) {
  FunctionManifest f = manifest();
  Json deployment = functionDeployment(f, pod());
  EXPECT_EQ(deployment["apiVersion"], "apps/v1");
  EXPECT_EQ(deployment["kind"], "Deployment");
  EXPECT_EQ(deployment["spec"]["replicas"], 2);
  const Json& spec = deployment["spec"]["template"]["spec"];
  EXPECT_EQ(spec["restartPolicy"], "Always");
  ASSERT_EQ(spec["containers"].size(), 1u);
  const Json& container = spec["containers"][0];
  EXPECT_EQ(container["image"], pod().image);
  Json args = container["args"];
  ASSERT_GE(args.size(), 2u);
  EXPECT_EQ(args[0], "serve");
  auto flag = std::find(args.begin(), args.end(), "--host-function");
  ASSERT_NE(flag, args.end());
  ASSERT_NE(flag + 1, args.end());
  EXPECT_EQ(*(flag + 1), f.host_spec);
  EXPECT_NE(std::find(args.begin(), args.end(), "0.0.0.0:8080"), args.end());
  // Off loopback the pod agent needs a token, and it has one: no --insecure-no-auth.
  EXPECT_EQ(std::find(args.begin(), args.end(), "--insecure-no-auth"), args.end());
  EXPECT_EQ(functionPodToken(deployment), "0123456789abcdef");
  EXPECT_EQ(functionPodToken(Json::object()), "");
  EXPECT_EQ(functionPodToken(Json{{"spec", 3}}), "");
  EXPECT_EQ(container["ports"][0]["name"], "http");
  EXPECT_EQ(container["ports"][0]["containerPort"], 8080);
  EXPECT_EQ(container["readinessProbe"]["httpGet"]["path"], "/health");
  EXPECT_EQ(container["readinessProbe"]["httpGet"]["port"], "http");
  // CPU autoscaling needs requests: the HPA's utilization is a share of them.
  EXPECT_FALSE(container["resources"]["requests"]["cpu"].get<std::string>().empty());
  bool central = false;
  for (const Json& env : container["env"])
    central = central || (env["name"] == "EXECUTOR_AGENT_REGISTRY_CENTRAL_URL" &&
                          env["value"] == pod().agent_url);
  EXPECT_TRUE(central) << container["env"].dump();
}

TEST(FunctionManifestsTest, PodsFollowThePodSecurityMode) {
  PodSettings settings = pod();
  settings.security = PodSecurity::kUserNamespace;
  Json deployment = functionDeployment(manifest(), settings);
  const Json& spec = deployment["spec"]["template"]["spec"];
  EXPECT_EQ(spec["hostUsers"], false);
  const Json& container = spec["containers"][0];
  EXPECT_FALSE(container["securityContext"].contains("privileged"));
  EXPECT_EQ(container["securityContext"]["procMount"], "Unmasked");
  // The function's own variables, then the worker uids for the pod's user namespace.
  std::vector<std::string> names;
  for (const Json& env : container["env"]) names.push_back(env["name"]);
  EXPECT_NE(std::find(names.begin(), names.end(), "EXECUTOR_AGENT_REGISTRY_CENTRAL_URL"),
            names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), kWorkerUidBaseEnv), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), kWorkerUidCountEnv), names.end());
  EXPECT_EQ(functionPodToken(deployment), "0123456789abcdef");  // still found among them

  Json privileged = functionDeployment(manifest(), pod());
  EXPECT_FALSE(privileged["spec"]["template"]["spec"].contains("hostUsers"));
  EXPECT_EQ(privileged["spec"]["template"]["spec"]["containers"][0]["securityContext"]
                      ["privileged"],
            true);
}

TEST(FunctionManifestsTest, TheServiceExposesPort8080NamedHttp) {
  Json service = functionService(manifest());
  EXPECT_EQ(service["spec"]["type"], "ClusterIP");
  ASSERT_EQ(service["spec"]["ports"].size(), 1u);
  EXPECT_EQ(service["spec"]["ports"][0]["name"], "http");
  EXPECT_EQ(service["spec"]["ports"][0]["port"], 8080);
  EXPECT_EQ(service["spec"]["ports"][0]["targetPort"], "http");
}

TEST(FunctionManifestsTest, TheAutoscalerMapsTheRequestsBlock) {
  FunctionManifest f = manifest();
  Json hpa = functionAutoscaler(f);
  EXPECT_EQ(hpa["apiVersion"], "autoscaling/v2");
  EXPECT_EQ(hpa["spec"]["scaleTargetRef"],
            (Json{{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", "fn-check-ip-fn"}}));
  EXPECT_EQ(hpa["spec"]["minReplicas"], 1);
  EXPECT_EQ(hpa["spec"]["maxReplicas"], 5);
  ASSERT_EQ(hpa["spec"]["metrics"].size(), 1u);
  const Json& metric = hpa["spec"]["metrics"][0];
  EXPECT_EQ(metric["type"], "Resource");
  EXPECT_EQ(metric["resource"]["name"], "cpu");
  EXPECT_EQ(metric["resource"]["target"]["type"], "Utilization");
  EXPECT_EQ(metric["resource"]["target"]["averageUtilization"], 10);

  f.target_cpu_utilization_percent = 33.6;
  EXPECT_EQ(functionAutoscaler(f)["spec"]["metrics"][0]["resource"]["target"]
                                  ["averageUtilization"], 34);
  f.target_cpu_utilization_percent = 0.2;  // the API wants an integer of at least 1
  EXPECT_EQ(functionAutoscaler(f)["spec"]["metrics"][0]["resource"]["target"]
                                  ["averageUtilization"], 1);
}

TEST(FunctionManifestsTest, AutoscalingDisabledMeansNoAutoscalerAndFixedReplicas) {
  FunctionManifest f = manifest();
  f.autoscaling = false;
  f.replicas = 3;
  EXPECT_TRUE(functionAutoscaler(f).is_null());
  EXPECT_EQ(functionDeployment(f, pod())["spec"]["replicas"], 3);
}

}  // namespace
}  // namespace exa::kubernetes
