// Type 3 jobs on the Kubernetes backend, through the agent's own routes, against the
// schema-validating fake API server (tests/support/fake_apiserver.py): the agent creates a
// batch/v1 Job, the fake's Job controller runs its pods on a virtual clock, and the agent reads
// the outcome back from the pod log. The fake cannot run containers, so the test plays the
// kubelet: it runs the real `executor-agent run --registry ... --json-line` against the agent
// beforehand and scripts that output as the pod's log (and checks that the Job's container runs
// exactly that command).
#include <gtest/gtest.h>

#include <fstream>
#include <vector>

#include "common/json_util.h"
#include "kubernetes/job_manifest.h"
#include "tests/support/agent_process.h"
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
constexpr const char* kAgentUrl = "http://agent.cluster.test:10000";
constexpr const char* kJobs = "/apis/batch/v1/namespaces/policies/jobs";

class KubernetesJobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = exa::testing::jailUnsupportedReason();
    if (!why.empty()) GTEST_SKIP() << why;
    if (!FakeApiServer::available()) GTEST_SKIP() << "no schema subset or python3";
    fake_ = std::make_unique<FakeApiServer>();
    auto ns = fake("POST", "/api/v1/namespaces", Json{{"metadata", {{"name", kNamespace}}}});
    ASSERT_EQ(ns.status, 201) << ns.body;
  }

  exa::testing::HttpResult fake(const std::string& method, const std::string& target,
                                const Json& body = nullptr) {
    return httpRequest(fake_->port(), method, target, body.is_null() ? "" : body.dump());
  }
  void tick(int seconds) { fake("POST", "/__fake/tick?seconds=" + std::to_string(seconds)); }

  /// `serve` flags for an agent whose jobs run on the fake cluster.
  std::vector<std::string> args(int backoff_limit = 0) {
    std::string kubeconfig = fake_->kubeconfig_path();  // namespace "policies"
    std::string config = dir_.path() + "/agent.toml";
    std::ofstream(config) << "[kubernetes]\nkubeconfig = \"" << kubeconfig << "\"\n"
                          << "image = \"registry.test/executor-agent:test\"\n"
                          << "agent_url = \"" << kAgentUrl << "\"\n"
                          << "job_backoff_limit = " << backoff_limit << "\n";
    return exa::testing::agentArgs(dir_, {"--executor-id", "executor-001", "--config", config});
  }

  void onboard(uint16_t port, const std::string& name, const std::string& eval_body) {
    std::string source = "class AIOSv1PolicyRule:\n"
                         "    def __init__(self, rule_id, settings, parameters):\n"
                         "        self.parameters = parameters\n"
                         "    def eval(self, parameters, input_data, context):\n" + eval_body;
    auto reply = exa::testing::onboardPolicy(port, dir_, name, source);
    ASSERT_EQ(reply.status, 201) << reply.body;
  }

  /// What a Job pod prints for `uri` on `inputs`: the real run-once mode against the agent.
  std::string podLog(uint16_t port, const std::string& uri, const Json& inputs) {
    auto run = exa::testing::runAgent(
        "run " + uri + " --json-line --registry http://127.0.0.1:" + std::to_string(port) +
        " --input '" + inputs.dump() + "' --runtime-dir " + dir_.path() + "/pod-run");
    return run.text;
  }

  /// Scripts the pod attempts of the Job for `job_id` (before it exists, as the fake wants).
  void script(const std::string& job_id, const Json& attempts) {
    auto reply = fake("PUT",
                      std::string("/__fake/scripts/jobs/") + kNamespace + "/" +
                          kubernetes::jobObjectName(job_id),
                      Json{{"attempts", attempts}});
    ASSERT_LT(reply.status, 300) << reply.body;
  }

  Json submit(uint16_t port, const std::string& job_id, const std::string& uri,
              const Json& inputs, int timeout_seconds = 0) {
    Json body = {{"job_id", job_id}, {"name", "k8s-" + job_id}, {"policy_rule_uri", uri},
                 {"inputs", inputs}};
    if (timeout_seconds > 0) body["timeout_seconds"] = timeout_seconds;
    auto reply = httpRequest(port, "POST", "/jobs/submit/executor-001", body.dump());
    EXPECT_EQ(reply.status, 201) << reply.body;
    return reply.json;
  }

  Json clusterJob(const std::string& job_id) {
    return fake("GET", std::string(kJobs) + "/" + kubernetes::jobObjectName(job_id)).json;
  }

  /// The job record once it finished, moving the virtual clock `step` seconds per poll.
  Json finishedJob(uint16_t port, const std::string& job_id, int step = 5) {
    Json job;
    (void)eventually(
        [&] {
          tick(step);
          job = httpRequest(port, "GET", "/jobs/" + job_id).json["data"];
          return job.is_object() &&
                 (job["job_status"] == "completed" || job["job_status"] == "failed");
        },
        std::chrono::seconds(30), std::chrono::milliseconds(200));
    return job;
  }

  exa::testing::TempDir dir_;
  std::unique_ptr<FakeApiServer> fake_;
};

TEST_F(KubernetesJobsTest, AJobRunsAsABatchJobAndItsOutcomeComesFromThePodLog) {
  AgentServer agent(args());
  onboard(agent.port(), "adder", "        return {'sum': input_data['a'] + input_data['b']}\n");
  Json inputs = {{"a", 40}, {"b", 2}};
  std::string log = podLog(agent.port(), "adder:1-x", inputs);
  ASSERT_NE(log.find("\"sum\":42"), std::string::npos) << log;
  script("job-ok-1", Json::array({{{"runSeconds", 3}, {"exitCode", 0}, {"log", log}}}));
  submit(agent.port(), "job-ok-1", "adder:1-x", inputs);

  Json cluster_job;
  ASSERT_TRUE(eventually([&] {
    cluster_job = clusterJob("job-ok-1");
    return cluster_job.contains("spec");
  })) << "the agent made no Job";
  // The pod runs the command the test ran, on the agent's configured URL.
  std::vector<std::string> run = cluster_job["spec"]["template"]["spec"]["containers"][0]["args"];
  std::vector<std::string> expected = {"run", "--registry", kAgentUrl, "--json-line"};
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), run.begin())) << cluster_job.dump();
  EXPECT_EQ(run.back(), "adder:1-x");
  EXPECT_EQ(cluster_job["metadata"]["labels"]["executor-agent.io/job-id"], "job-ok-1");

  Json job = finishedJob(agent.port(), "job-ok-1");
  ASSERT_EQ(job["job_status"], "completed") << job.dump();
  EXPECT_EQ(job["job_output_data"]["sum"], 42);
  EXPECT_EQ(job["attempts"], 1);
}

TEST_F(KubernetesJobsTest, AFailingPolicyIsRetriedByTheJobThenReportedWithItsError) {
  AgentServer agent(args(/*backoff_limit=*/2));
  onboard(agent.port(), "broken", "        raise ValueError('bad input ' + str(input_data))\n");
  std::string log = podLog(agent.port(), "broken:1-x", Json{{"x", 1}});
  ASSERT_NE(log.find("ValueError"), std::string::npos) << log;
  Json failing = {{"runSeconds", 1}, {"exitCode", 1}, {"log", log}};
  script("job-fails", Json::array({failing, failing, failing}));
  submit(agent.port(), "job-fails", "broken:1-x", Json{{"x", 1}});

  Json job = finishedJob(agent.port(), "job-fails", /*step=*/60);
  ASSERT_EQ(job["job_status"], "failed") << job.dump();
  EXPECT_EQ(job["error"]["type"], "policy_error") << job.dump();
  EXPECT_NE(job["error"]["message"].get<std::string>().find("bad input"), std::string::npos);
  EXPECT_NE(job["error"]["message"].get<std::string>().find("3 failed pods"), std::string::npos)
      << job.dump();
  EXPECT_EQ(clusterJob("job-fails")["status"]["failed"], 3);
}

TEST_F(KubernetesJobsTest, AJobPastItsDeadlineIsATimeout) {
  AgentServer agent(args());
  onboard(agent.port(), "slow", "        return {}\n");
  script("job-slow", Json::array({{{"runSeconds", 100000}, {"exitCode", 0}, {"log", "{}"}}}));
  submit(agent.port(), "job-slow", "slow:1-x", Json::object(), /*timeout_seconds=*/30);
  ASSERT_TRUE(eventually([&] { return clusterJob("job-slow").contains("spec"); }));
  EXPECT_EQ(clusterJob("job-slow")["spec"]["activeDeadlineSeconds"], 30);
  Json job = finishedJob(agent.port(), "job-slow", /*step=*/20);
  ASSERT_EQ(job["job_status"], "failed") << job.dump();
  EXPECT_EQ(job["error"]["type"], "timeout") << job.dump();
}

TEST_F(KubernetesJobsTest, AnAgentRestartedMidJobReattachesAndRunsNothingTwice) {
  auto agent = std::make_unique<AgentServer>(args());
  onboard(agent->port(), "adder", "        return {'sum': input_data['a'] + input_data['b']}\n");
  Json inputs = {{"a", 1}, {"b", 2}};
  script("job-restart",
         Json::array({{{"runSeconds", 60}, {"exitCode", 0},
                       {"log", podLog(agent->port(), "adder:1-x", inputs)}}}));
  submit(agent->port(), "job-restart", "adder:1-x", inputs);
  ASSERT_TRUE(eventually([&] { return clusterJob("job-restart").contains("spec"); }));
  tick(5);  // its pod starts
  agent->stop(SIGTERM);
  agent.reset();

  AgentServer again(args());
  Json record = httpRequest(again.port(), "GET", "/jobs/job-restart").json["data"];
  EXPECT_EQ(record["job_status"], "running") << record.dump();
  Json job = finishedJob(again.port(), "job-restart", /*step=*/20);
  ASSERT_EQ(job["job_status"], "completed") << job.dump();
  EXPECT_EQ(job["job_output_data"]["sum"], 3);
  EXPECT_EQ(job["attempts"], 1);
  // One Job and one pod: the restart re-attached rather than running the policy again.
  auto pods = fake("GET", std::string("/api/v1/namespaces/") + kNamespace +
                              "/pods?labelSelector=executor-agent.io/job-id%3Djob-restart");
  EXPECT_EQ(pods.json["items"].size(), 1u) << pods.body;
  EXPECT_EQ(fake("GET", kJobs).json["items"].size(), 1u);
}

}  // namespace
}  // namespace exa
