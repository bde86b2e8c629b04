// The real executor-agent binary's run-once command: what a developer types in their
// edit-run loop, and what happens to the jail when the agent is killed.
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "common/json_util.h"
#include "tests/support/agent_process.h"
#include "tests/support/agent_server.h"
#include "tests/support/jail_harness.h"
#include "tests/support/policy_fixture.h"
#include "tests/support/temp_dir.h"

namespace exa {
namespace {

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

using exa::testing::runAgent;

class RunCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = exa::testing::jailUnsupportedReason();
    if (!why.empty()) GTEST_SKIP() << why;
  }
  std::string runtimeFlag() const { return " --runtime-dir " + dir_.path() + "/run"; }
  exa::testing::TempDir dir_;
  const std::string example_ = std::string(EXA_SOURCE_DIR) + "/examples/ip_allowlist";
};

TEST_F(RunCommandTest, RunsTheSeedSamplePolicy) {
  auto r = runAgent("run " + example_ + " --input '{\"ip\": \"192.168.0.1\"}'" +
                    " --settings @" + example_ + "/settings.json --parameters @" + example_ +
                    "/parameters.json" + runtimeFlag());
  ASSERT_EQ(r.exit_code, 0) << r.text;
  const Json& out = r.json;
  ASSERT_FALSE(out.is_null()) << r.text;
  EXPECT_EQ(out["ok"], true);
  EXPECT_EQ(out["output"]["allowed"], true);
  EXPECT_EQ(out["output"]["reason"], "allowed");
}

TEST_F(RunCommandTest, RunsAManagementAction) {
  auto r = runAgent("run " + example_ + " --action update_local_allowlist --data " +
                    quote(R"({"ips": ["10.0.0.1"]})") + runtimeFlag());
  ASSERT_EQ(r.exit_code, 0) << r.text;
  const Json& out = r.json;
  ASSERT_FALSE(out.is_null()) << r.text;
  EXPECT_EQ(out["output"]["updated_allowlist"], Json::array({"10.0.0.1"}));
}

TEST_F(RunCommandTest, PolicyErrorExitsNonZeroWithTypedJson) {
  dir_.write("bad/function.py",
             "class AIOSv1PolicyRule:\n    def __init__(self, r, s, p):\n        pass\n"
             "    def eval(self, p, i, c):\n        return 1 / 0\n");
  auto r = runAgent("run " + dir_.path() + "/bad" + runtimeFlag());
  EXPECT_EQ(r.exit_code, 1) << r.text;
  const Json& out = r.json;
  ASSERT_FALSE(out.is_null()) << r.text;
  EXPECT_EQ(out["error"]["type"], "policy_error");
  EXPECT_EQ(out["error"]["exception"], "ZeroDivisionError");
}

TEST_F(RunCommandTest, BadArgumentsNameTheProblem) {
  auto missing = runAgent("run " + dir_.path() + "/nothing-here" + runtimeFlag());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.text.find("does not exist"), std::string::npos) << missing.text;
  dir_.write("empty/readme.txt", "no policy here");
  auto no_function = runAgent("run " + dir_.path() + "/empty" + runtimeFlag());
  EXPECT_EQ(no_function.exit_code, 2);
  EXPECT_NE(no_function.text.find("no function.py"), std::string::npos) << no_function.text;
  auto bad_json = runAgent("run " + example_ + " --input '{nope'" + runtimeFlag());
  EXPECT_EQ(bad_json.exit_code, 2);
  EXPECT_NE(bad_json.text.find("--input"), std::string::npos) << bad_json.text;
}

// executor.worker_uid_base/_count for a Job pod: `run` takes them as flags or from the same
// variables `serve` reads, and the worker's root is then a host uid of that range.
TEST_F(RunCommandTest, WorkerUidsComeFromFlagsOrTheEnvironment) {
  dir_.write("uids/function.py",
             "class AIOSv1PolicyRule:\n    def __init__(self, r, s, p):\n        pass\n"
             "    def eval(self, p, i, c):\n"
             "        return open('/proc/self/uid_map').read().split()\n");
  // A range of this test process's own (tests run in parallel): 16 uids from 6 * 2^20.
  const uint64_t base = (6ull << 20) + static_cast<uint64_t>(::getpid() % 4096) * 16;
  auto inRange = [base](const Json& uid_map) {
    if (!uid_map.is_array() || uid_map.size() != 3) return false;
    uint64_t uid = std::stoull(uid_map[1].get<std::string>());
    return uid_map[0] == "0" && uid_map[2] == "1" && uid >= base && uid < base + 16;
  };
  auto flags = runAgent("run " + dir_.path() + "/uids --worker-uid-base " + std::to_string(base) +
                        " --worker-uid-count 16" + runtimeFlag());
  ASSERT_EQ(flags.exit_code, 0) << flags.text;
  EXPECT_TRUE(inRange(flags.json["output"])) << flags.text;

  auto env = exa::testing::runShell(
      "EXECUTOR_AGENT_EXECUTOR_WORKER_UID_BASE=" + std::to_string(base) +
      " EXECUTOR_AGENT_EXECUTOR_WORKER_UID_COUNT=16 \"$AGENT\" run " + dir_.path() + "/uids" +
      runtimeFlag() + " 2>/dev/null");
  ASSERT_EQ(env.exit_code, 0) << env.text;
  auto env_json = parseJson(env.text);
  ASSERT_TRUE(env_json) << env.text;
  EXPECT_TRUE(inRange((*env_json)["output"])) << env.text;

  auto root = exa::testing::runShell("EXECUTOR_AGENT_EXECUTOR_WORKER_UID_BASE=0 \"$AGENT\" run " +
                                     dir_.path() + "/uids" + runtimeFlag() + " 2>/dev/null");
  EXPECT_EQ(root.exit_code, 2) << root.text;
  EXPECT_NE(root.text.find("uid 0 is root"), std::string::npos) << root.text;
  EXPECT_NE(root.text.find("EXECUTOR_AGENT_EXECUTOR_WORKER_UID_BASE"), std::string::npos)
      << root.text;
  auto few = runAgent("run " + dir_.path() + "/uids --worker-uid-count 8" + runtimeFlag());
  EXPECT_EQ(few.exit_code, 2) << few.text;
  EXPECT_NE(few.text.find("must be at least 16"), std::string::npos) << few.text;
}

std::vector<pid_t> childrenOf(pid_t parent) {
  std::vector<pid_t> out;
  DIR* proc = ::opendir("/proc");
  while (struct dirent* e = ::readdir(proc)) {
    pid_t pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    std::ifstream stat("/proc/" + std::string(e->d_name) + "/stat");
    std::string line;
    std::getline(stat, line);
    auto close_paren = line.rfind(')');
    if (close_paren == std::string::npos) continue;
    char state;
    pid_t ppid = 0;
    std::sscanf(line.c_str() + close_paren + 2, "%c %d", &state, &ppid);
    if (ppid == parent) out.push_back(pid);
  }
  ::closedir(proc);
  return out;
}

// A Job pod's way (docs/kubernetes.md "Jobs"): the policy named by URI is read from a Policies
// System, and the outcome is the last line of the output, as one JSON line.
TEST_F(RunCommandTest, RunsAPolicyReadFromARegistryAndPrintsOneLine) {
  exa::testing::AgentServer agent(exa::testing::agentArgs(dir_));
  auto onboarded = exa::testing::onboardPolicy(
      agent.port(), dir_, "doubler", "class AIOSv1PolicyRule:\n"
                                     "    def __init__(self, rule_id, settings, parameters):\n"
                                     "        self.k = parameters.get('k', 1)\n"
                                     "        self.rule_id = rule_id\n"
                                     "    def eval(self, parameters, input_data, context):\n"
                                     "        print('working')\n"
                                     "        return {'n': input_data['n'] * self.k,\n"
                                     "                'job': context['job'], 'rule_id': self.rule_id}\n");
  ASSERT_EQ(onboarded.status, 201) << onboarded.body;
  std::string registry = " --registry http://127.0.0.1:" + std::to_string(agent.port());
  auto r = runAgent("run doubler:1-x --json-line --input '{\"n\": 21}' --parameters '{\"k\": 2}'"
                    " --context '{\"job\": \"j1\"}' --rule-id j1" + registry + runtimeFlag());
  ASSERT_EQ(r.exit_code, 0) << r.text;
  std::string last = r.text.substr(0, r.text.find_last_not_of('\n') + 1);
  last = last.substr(last.find_last_of('\n') + 1);
  auto line = parseJson(last);
  ASSERT_TRUE(line) << r.text;
  EXPECT_EQ(last, dumpJson(*line)) << "not compact: " << last;
  EXPECT_EQ((*line)["ok"], true);
  EXPECT_EQ((*line)["output"]["n"], 42);
  EXPECT_EQ((*line)["output"]["job"], "j1");
  EXPECT_EQ((*line)["output"]["rule_id"], "j1");

  auto missing = runAgent("run nosuch:1-x --json-line" + registry + runtimeFlag());
  EXPECT_EQ(missing.exit_code, 2) << missing.text;
  EXPECT_NE(missing.text.find("nosuch:1-x"), std::string::npos) << missing.text;
}

TEST_F(RunCommandTest, NoWorkerOutlivesAKilledAgent) {
  dir_.write("sleepy/function.py",
             "import time\nclass AIOSv1PolicyRule:\n    def __init__(self, r, s, p):\n"
             "        pass\n    def eval(self, p, i, c):\n        while True:\n            pass\n");
  pid_t agent = ::fork();
  if (agent == 0) {
    std::string runtime = dir_.path() + "/run";
    std::string code = dir_.path() + "/sleepy";
    ::execl(EXA_AGENT_BINARY, "executor-agent", "run", code.c_str(), "--timeout-ms", "60000",
            "--runtime-dir", runtime.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Wait until the agent has both its zygote and a worker (two children).
  std::vector<pid_t> kids;
  for (int i = 0; i < 100 && kids.size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    kids = childrenOf(agent);
  }
  ::kill(agent, SIGKILL);
  ::waitpid(agent, nullptr, 0);
  ASSERT_GE(kids.size(), 2u) << "expected a zygote and a worker under the agent";
  for (int i = 0; i < 40; ++i) {
    bool any = false;
    for (pid_t kid : kids) any = any || ::kill(kid, 0) == 0;
    if (!any) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (pid_t kid : kids) {
    // Reparented to init and reaped by it, or still a zombie of init: neither is running.
    std::ifstream stat("/proc/" + std::to_string(kid) + "/stat");
    std::string line;
    std::getline(stat, line);
    auto close_paren = line.rfind(')');
    char state = close_paren == std::string::npos ? 'X' : line[close_paren + 2];
    EXPECT_TRUE(state == 'X' || state == 'Z') << "process " << kid << " survived: " << line;
  }
}

}  // namespace
}  // namespace exa
