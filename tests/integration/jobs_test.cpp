// Type 3 jobs on the real daemon: the seed's submit, get and query examples, the allocator policy
// for an empty executor id, failures, and an agent killed mid-job (kill -9) restarting without
// losing a job or running one twice.
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <utility>

#include "common/json_util.h"
#include "tests/support/agent_server.h"
#include "tests/support/http_client.h"
#include "tests/support/jail_harness.h"
#include "tests/support/policy_fixture.h"
#include "tests/support/temp_dir.h"

namespace exa {
namespace {

using exa::testing::AgentServer;
using exa::testing::httpRequest;

class JobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = exa::testing::jailUnsupportedReason();
    if (!why.empty()) GTEST_SKIP() << why;
  }
  std::vector<std::string> args(std::vector<std::string> extra = {}) const {
    extra.insert(extra.begin(), {"--executor-id", "executor-001"});
    return exa::testing::agentArgs(dir_, std::move(extra));
  }
  /// Stores "<name>:1-x" whose class body is `body` (Python, 4-space indented methods).
  void onboard(uint16_t port, const std::string& name, const std::string& methods) {
    std::string source =
        "import time\nclass AIOSv1PolicyRule:\n"
        "    def __init__(self, rule_id, settings, parameters): self.rule_id = rule_id\n" + methods;
    ASSERT_EQ(exa::testing::onboardPolicy(port, dir_, name, source).status, 201);
  }
  /// The job's record once `done` accepts it (polled for up to 20 s), else the last one seen.
  static Json waitFor(uint16_t port, const std::string& id,
                      const std::function<bool(const Json&)>& done) {
    Json job;
    // A job that never gets there is the caller's to report, with the record it last had.
    (void)exa::testing::eventually(
        [&] {
          job = httpRequest(port, "GET", "/jobs/" + id).json["data"];
          return done(job);
        },
        std::chrono::seconds(20));
    return job;
  }
  static bool finished(const Json& job) {
    return job.is_object() && (job["job_status"] == "completed" || job["job_status"] == "failed");
  }
  exa::testing::TempDir dir_;
};

TEST_F(JobsTest, SeedSubmitGetAndQuery) {
  AgentServer agent(args());
  uint16_t port = agent.port();
  Json policy = exa::testing::seedPolicy(dir_);
  ASSERT_EQ(httpRequest(port, "POST", "/policy", policy.dump()).status, 201);

  // The seed's submit example, verbatim body.
  auto submitted = httpRequest(port, "POST", "/jobs/submit/executor-001", R"({
    "name": "run-ip-check-job",
    "policy_rule_uri": "ip_allowlist:1.0-beta",
    "policy_rule_parameters": {
      "local_allowlist": ["192.168.1.1"]
    },
    "node_selector": {
      "zone": "us-central1-a"
    },
    "inputs": {
      "ip": "192.168.1.1"
    }
  })");
  ASSERT_EQ(submitted.status, 201) << submitted.body;
  std::string id = submitted.json["job_id"];
  EXPECT_EQ(submitted.json["data"]["job_status"], "pending");
  Json job = waitFor(port, id, finished);
  ASSERT_EQ(job["job_status"], "completed") << job.dump();
  EXPECT_EQ(job["job_output_data"]["allowed"], true);
  EXPECT_EQ(job["attempts"], 1);
  EXPECT_EQ(job["node_id"], "executor-001");
  EXPECT_TRUE(job["started_at"].is_string() && job["finished_at"].is_string());

  // The seed's query example.
  auto found = httpRequest(port, "POST", "/jobs/query",
                           R"({"policy_rule_uri": "ip_allowlist:1.0-beta", "inputs.ip": "192.168.1.1"})");
  ASSERT_EQ(found.status, 200) << found.body;
  ASSERT_EQ(found.json["data"].size(), 1u);
  EXPECT_EQ(found.json["data"][0]["job_id"], id);
  EXPECT_EQ(httpRequest(port, "GET", "/jobs/no-such-job").status, 404);
}

TEST_F(JobsTest, AJobSeesItsIdAndTheNodeAndFailuresAreTyped) {
  AgentServer agent(args());
  uint16_t port = agent.port();
  onboard(port, "whoami",
          "    def eval(self, parameters, input_data, context):\n"
          "        print('job running as', self.rule_id)\n"
          "        return {'rule_id': self.rule_id, 'node': context['node']['executor_id'],\n"
          "                'vcpus': context['node']['executor_hardware_info']['vcpus']['count']}\n");
  onboard(port, "broken",
          "    def eval(self, parameters, input_data, context):\n"
          "        raise RuntimeError('no luck')\n");
  auto ok = httpRequest(port, "POST", "/jobs/submit/executor-001",
                        R"({"name": "who", "policy_rule_uri": "whoami:1-x"})");
  ASSERT_EQ(ok.status, 201) << ok.body;
  std::string id = ok.json["job_id"];
  Json done = waitFor(port, id, finished);
  ASSERT_EQ(done["job_status"], "completed") << done.dump();
  EXPECT_EQ(done["job_output_data"]["rule_id"], id);
  EXPECT_EQ(done["job_output_data"]["node"], "executor-001");
  EXPECT_GE(done["job_output_data"]["vcpus"].get<int>(), 1);
  EXPECT_NE(done["logs"].get<std::string>().find("job running as " + id), std::string::npos)
      << done.dump();

  auto bad = httpRequest(port, "POST", "/jobs/submit/executor-001",
                         R"({"name": "bad", "policy_rule_uri": "broken:1-x"})");
  Json failed = waitFor(port, bad.json["job_id"], finished);
  EXPECT_EQ(failed["job_status"], "failed");
  EXPECT_EQ(failed["error"]["type"], "policy_error");
  EXPECT_NE(failed["error"]["message"].get<std::string>().find("no luck"), std::string::npos);

  auto missing = httpRequest(port, "POST", "/jobs/submit/executor-001", R"({"name": "x"})");
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.body.find("policy_rule_uri"), std::string::npos) << missing.body;
  EXPECT_EQ(httpRequest(port, "POST", "/jobs/submit/nowhere",
                        R"({"name": "x", "policy_rule_uri": "whoami:1-x"})").status, 404);
}

TEST_F(JobsTest, AnEmptyExecutorIdAsksTheAllocatorPolicy) {
  AgentServer agent(args());
  uint16_t port = agent.port();
  onboard(port, "echo",
          "    def eval(self, parameters, input_data, context):\n"
          "        return {'got': input_data}\n");
  auto placed = httpRequest(port, "POST", "/jobs/submit/",
                            R"({"name": "anywhere", "policy_rule_uri": "echo:1-x", "inputs": {"a": 1}})");
  ASSERT_EQ(placed.status, 201) << placed.body;
  EXPECT_EQ(placed.json["data"]["executor_id"], "executor-001");
  EXPECT_EQ(waitFor(port, placed.json["job_id"], finished)["job_output_data"]["got"]["a"], 1);
  // No executor carries the label: the allocator says so, and nothing is queued.
  auto nowhere = httpRequest(port, "POST", "/jobs/submit/",
                             R"({"name": "picky", "policy_rule_uri": "echo:1-x",
                                 "node_selector": {"zone": "mars-1"}})");
  EXPECT_EQ(nowhere.status, 503) << nowhere.body;
  EXPECT_NE(nowhere.body.find("node_selector"), std::string::npos) << nowhere.body;
  // The allocator is a stored policy like any other.
  EXPECT_EQ(httpRequest(port, "GET", "/policy/executor_allocator:1-builtin").status, 200);
}

TEST_F(JobsTest, KillNineMidJobNeitherLosesNorSilentlyRepeatsJobs) {
  std::string running_id, pending_id;
  {
    AgentServer agent(args({"--log-level", "warn"}));
    uint16_t port = agent.port();
    onboard(port, "slow",
            "    def eval(self, parameters, input_data, context):\n"
            "        time.sleep(input_data.get('sleep', 0))\n"
            "        return {'slept': input_data.get('sleep', 0)}\n");
    // Two runners by default: two long jobs fill both.
    std::vector<std::string> ids;
    // The third (quick) one waits in the queue behind them.
    for (int sleep : {30, 30, 0}) {
      auto r = httpRequest(port, "POST", "/jobs/submit/executor-001",
                           R"({"name": "s", "policy_rule_uri": "slow:1-x", "inputs": {"sleep": )" +
                               std::to_string(sleep) + "}}");
      ASSERT_EQ(r.status, 201) << r.body;
      ids.push_back(r.json["job_id"]);
    }
    running_id = ids[0];
    pending_id = ids[2];
    Json running = waitFor(port, running_id, [](const Json& j) { return j["job_status"] == "running"; });
    ASSERT_EQ(running["job_status"], "running");
    ASSERT_EQ(httpRequest(port, "GET", "/jobs/" + pending_id).json["data"]["job_status"], "pending");
    agent.stop(SIGKILL);
  }
  // The running ones were interrupted (marked, not re-run); the pending one runs now.
  AgentServer again(args());
  uint16_t port = again.port();
  Json interrupted = waitFor(port, running_id, finished);
  EXPECT_EQ(interrupted["job_status"], "failed");
  EXPECT_EQ(interrupted["error"]["type"], "interrupted");
  EXPECT_EQ(interrupted["attempts"], 1);
  Json resumed = waitFor(port, pending_id, finished);
  EXPECT_EQ(resumed["job_status"], "completed") << resumed.dump();
  EXPECT_EQ(resumed["attempts"], 1);
}

}  // namespace
}  // namespace exa
