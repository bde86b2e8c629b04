// The Job manifest of a submitted job, and how a Job's end is read: the manifest is checked by
// the schema-validating fake API server under Strict field validation (every field the adapter
// writes must exist in the v1.36 schema), and its fields against what the backend relies on.
#include "kubernetes/job_manifest.h"

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "kubernetes/api_client.h"
#include "kubernetes/object_names.h"
#include "tests/support/fake_apiserver.h"

namespace exa::kubernetes {
namespace {

using testing::FakeApiServer;

PodSettings pods() {
  PodSettings settings;
  settings.image = "registry.example/executor-agent:0.1.0";
  settings.agent_url = "http://agent.example:10000";
  return settings;
}

JobSpec spec() {
  JobSpec job;
  job.executor_id = "Node_1";
  job.job_id = "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";
  job.policy_rule_uri = "ip_allowlist:1.0-stable";
  job.parameters = {{"cidr", "10.0.0.0/8"}};
  job.inputs = {{"ip", "10.1.2.3"}};
  job.context = {{"job", {{"job_id", job.job_id}}}};
  job.node_selector = {{"disktype", "ssd"}};
  job.timeout_seconds = 120;
  job.backoff_limit = 2;
  job.ttl_seconds_after_finished = 600;
  return job;
}

TEST(JobManifest, NameIsDeterministicAndAValidLabel) {
  std::string name = jobObjectName("3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b");
  EXPECT_EQ(name, "exa-job-3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b");
  EXPECT_EQ(jobObjectName("3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"), name);
  std::string odd = jobObjectName(std::string(80, 'J'));
  EXPECT_LE(odd.size(), 63u);
  EXPECT_NE(odd, jobObjectName(std::string(81, 'J')));
}

TEST(JobManifest, RunsTheAgentsRunOnceModeOnTheJob) {
  Json job = jobManifest(pods(), spec());
  EXPECT_EQ(job["apiVersion"], "batch/v1");
  EXPECT_EQ(job["kind"], "Job");
  const Json& labels = job["metadata"]["labels"];
  EXPECT_EQ(labels[std::string(kJobIdLabel)], "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b");
  EXPECT_TRUE(ownedBy(job, "Node_1"));
  EXPECT_FALSE(ownedBy(job, "Node_2"));
  const Json& js = job["spec"];
  EXPECT_EQ(js["backoffLimit"], 2);
  EXPECT_EQ(js["activeDeadlineSeconds"], 120);
  EXPECT_EQ(js["ttlSecondsAfterFinished"], 600);
  // The pods carry the job-id label: the backend finds them by it.
  EXPECT_EQ(js["template"]["metadata"]["labels"][std::string(kJobIdLabel)],
            labels[std::string(kJobIdLabel)]);
  const Json& pod = js["template"]["spec"];
  EXPECT_EQ(pod["restartPolicy"], "Never");
  EXPECT_EQ(pod["automountServiceAccountToken"], false);
  EXPECT_EQ(pod["nodeSelector"]["disktype"], "ssd");
  const Json& container = pod["containers"][0];
  EXPECT_EQ(container["image"], "registry.example/executor-agent:0.1.0");
  std::vector<std::string> args = container["args"];
  ASSERT_GE(args.size(), 3u);
  EXPECT_EQ(args.front(), "run");
  EXPECT_EQ(args.back(), "ip_allowlist:1.0-stable");
  auto after = [&args](const std::string& flag) {
    auto it = std::find(args.begin(), args.end(), flag);
    return it == args.end() || it + 1 == args.end() ? std::string("<missing>") : *(it + 1);
  };
  EXPECT_EQ(after("--registry"), "http://agent.example:10000");
  EXPECT_EQ(after("--timeout-ms"), "120000");
  EXPECT_EQ(after("--rule-id"), "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b");
  EXPECT_EQ(after("--input"), R"({"ip":"10.1.2.3"})");
  EXPECT_EQ(after("--parameters"), R"({"cidr":"10.0.0.0/8"})");
  EXPECT_NE(std::find(args.begin(), args.end(), "--json-line"), args.end());
  // What the jail needs in a pod today (docs/container-image.md): privileged for an unmasked
  // /proc, root, and a read-only image with scratch volumes.
  const Json& security = container["securityContext"];
  EXPECT_EQ(security["privileged"], true);
  EXPECT_EQ(security["readOnlyRootFilesystem"], true);
  EXPECT_EQ(pod["volumes"].size(), container["volumeMounts"].size());
  EXPECT_EQ(container["resources"]["requests"]["cpu"], "250m");
  // The default mode is today's shape: the node's user namespace, the image's worker uids.
  EXPECT_FALSE(pod.contains("hostUsers"));
  EXPECT_FALSE(security.contains("procMount"));
  EXPECT_EQ(container["env"], Json::array());
}

const Json* findEnv(const Json& container, std::string_view name) {
  for (const Json& entry : container["env"])
    if (entry.value("name", "") == name) return &entry;
  return nullptr;
}

TEST(JobManifest, UserNamespaceModeDropsPrivilegedForWhatTheJailNeeds) {
  PodSettings settings = pods();
  settings.security = PodSecurity::kUserNamespace;
  Json job = jobManifest(settings, spec());
  const Json& pod = job["spec"]["template"]["spec"];
  EXPECT_EQ(pod["hostUsers"], false);
  const Json& container = pod["containers"][0];
  const Json& security = container["securityContext"];
  EXPECT_FALSE(security.contains("privileged"));
  EXPECT_EQ(security["runAsUser"], 0);
  EXPECT_EQ(security["readOnlyRootFilesystem"], true);
  EXPECT_EQ(security["allowPrivilegeEscalation"], false);
  EXPECT_EQ(security["procMount"], "Unmasked");
  EXPECT_EQ(security["capabilities"],
            (Json{{"drop", Json::array({"ALL"})}, {"add", Json::array({"SETUID", "SETGID"})}}));
  EXPECT_EQ(security["seccompProfile"], (Json{{"type", "Unconfined"}}));
  EXPECT_EQ(security["appArmorProfile"], (Json{{"type", "Unconfined"}}));
  // `run` takes the worker uids from the environment: inside the pod's 65536 ids.
  const Json* base = findEnv(container, kWorkerUidBaseEnv);
  const Json* count = findEnv(container, kWorkerUidCountEnv);
  ASSERT_NE(base, nullptr) << container["env"].dump();
  ASSERT_NE(count, nullptr) << container["env"].dump();
  EXPECT_EQ((*base)["value"], "1000");
  EXPECT_EQ((*count)["value"], "64000");
  EXPECT_LE(std::stoul((*base)["value"].get<std::string>()) +
                std::stoul((*count)["value"].get<std::string>()),
            65534u);  // below nobody, and inside 0..65535
  // Everything else is the privileged mode's.
  Json privileged = jobManifest(pods(), spec());
  EXPECT_EQ(container["args"], privileged["spec"]["template"]["spec"]["containers"][0]["args"]);
  EXPECT_EQ(pod["volumes"], privileged["spec"]["template"]["spec"]["volumes"]);
  EXPECT_EQ(podSecurityName(PodSecurity::kUserNamespace), "user-namespace");
  EXPECT_EQ(podSecurityName(PodSecurity::kPrivileged), "privileged");
}

TEST(JobManifest, IsAcceptedUnderStrictValidation) {
  if (!FakeApiServer::available()) GTEST_SKIP() << "no schema subset or python3";
  FakeApiServer server;
  ClusterCredentials credentials;
  credentials.server = server.url();
  ApiClient client(credentials);
  ASSERT_TRUE(client.request("POST", "/api/v1/namespaces",
                             Json{{"metadata", {{"name", "policies"}}}}));
  auto created = client.request("POST", "/apis/batch/v1/namespaces/policies/jobs",
                                jobManifest(pods(), spec()));
  ASSERT_TRUE(created) << created.error().describe();
  EXPECT_EQ((*created)["metadata"]["name"], jobObjectName(spec().job_id));
  // The user-namespace mode's fields (hostUsers, procMount, seccompProfile, appArmorProfile,
  // capabilities) are in the schema too: Strict would refuse an unknown one.
  PodSettings user_namespace = pods();
  user_namespace.security = PodSecurity::kUserNamespace;
  JobSpec other = spec();
  other.job_id = "4a2b3c4d-0000-4e8f-9a0b-1c2d3e4f5a6b";
  auto accepted = client.request("POST", "/apis/batch/v1/namespaces/policies/jobs",
                                 jobManifest(user_namespace, other));
  ASSERT_TRUE(accepted) << accepted.error().describe();
  const Json& pod = (*accepted)["spec"]["template"]["spec"];
  EXPECT_EQ(pod["hostUsers"], false);
  EXPECT_EQ(pod["containers"][0]["securityContext"]["procMount"], "Unmasked");
}

Json withConditions(Json conditions) {
  return Json{{"status", {{"conditions", std::move(conditions)}}}};
}

TEST(JobEnd, OnlyCompleteOrFailedWithStatusTrueEndAJob) {
  EXPECT_FALSE(jobEnd(Json::object()));
  EXPECT_FALSE(jobEnd(Json{{"status", {{"failed", 1}, {"active", 1}}}}));
  EXPECT_FALSE(jobEnd(withConditions({{{"type", "SuccessCriteriaMet"}, {"status", "True"}}})));
  EXPECT_FALSE(jobEnd(withConditions({{{"type", "FailureTarget"}, {"status", "True"}}})));
  EXPECT_FALSE(jobEnd(withConditions({{{"type", "Complete"}, {"status", "False"}}})));

  auto complete = jobEnd(withConditions({{{"type", "SuccessCriteriaMet"}, {"status", "True"}},
                                         {{"type", "Complete"},
                                          {"status", "True"},
                                          {"reason", "CompletionsReached"}}}));
  ASSERT_TRUE(complete);
  EXPECT_TRUE(complete->complete);
  EXPECT_EQ(complete->reason, "CompletionsReached");

  auto failed = jobEnd(withConditions({{{"type", "Failed"},
                                        {"status", "True"},
                                        {"reason", "DeadlineExceeded"},
                                        {"message", "Job was active longer than specified deadline"}}}));
  ASSERT_TRUE(failed);
  EXPECT_FALSE(failed->complete);
  EXPECT_EQ(failed->reason, "DeadlineExceeded");
}

}  // namespace
}  // namespace exa::kubernetes
