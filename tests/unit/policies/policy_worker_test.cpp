// The worker protocol end to end, in real jailed workers: load, eval, management, typed policy
// errors, and the stateless pool's reuse and retirement rules.
#include "policies/policy_worker.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "tests/support/jail_harness.h"

namespace exa::policies {
namespace {

using exa::testing::JailHarness;

class PolicyWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = exa::testing::jailUnsupportedReason();
    if (!why.empty()) GTEST_SKIP() << why;
    harness_ = std::make_unique<JailHarness>();
  }
  std::unique_ptr<JailHarness> harness_;
};

constexpr const char* kCounter = R"(
class AIOSv1PolicyRule:
    def __init__(self, rule_id, settings, parameters):
        self.rule_id = rule_id
        self.settings = settings
        self.parameters = parameters
        self.calls = 0
    def eval(self, parameters, input_data, context):
        self.calls += 1
        context["seen"] = context.get("seen", 0) + 1
        print("evaluating", input_data)
        return {"rule_id": self.rule_id, "calls": self.calls, "x": input_data["x"] * 2,
                "threshold": parameters.get("threshold"), "mode": self.settings.get("mode")}
    def management(self, action, data):
        if action == "bump":
            self.calls += data.get("by", 1)
            return {"calls": self.calls}
        return None
)";

TEST_F(PolicyWorkerTest, LoadsEvaluatesAndManages) {
  std::string code = harness_->writePolicy(kCounter);
  PolicyLoad load{code, "counter:1.0-beta", {{"mode", "strict"}}, {{"threshold", 3}}};
  CallError error;
  auto worker = PolicyWorker::start(harness_->sandbox(), load, JailHarness::defaultLimits(),
                                    JailHarness::defaultCallLimits(), &error);
  ASSERT_TRUE(worker) << error.toJson().dump();
  auto first = worker->eval({{"threshold", 5}}, {{"x", 21}}, {{"seen", 1}}, false);
  ASSERT_TRUE(first.ok()) << first.toJson().dump();
  EXPECT_EQ(first.output["x"], 42);
  EXPECT_EQ(first.output["rule_id"], "counter:1.0-beta");
  EXPECT_EQ(first.output["threshold"], 5);
  EXPECT_EQ(first.output["mode"], "strict");
  EXPECT_EQ(first.context["seen"], 2);
  EXPECT_NE(first.logs.find("evaluating {'x': 21}"), std::string::npos) << first.logs;

  auto bumped = worker->management("bump", {{"by", 10}}, false);
  ASSERT_TRUE(bumped.ok()) << bumped.toJson().dump();
  EXPECT_EQ(bumped.output["calls"], 11);
  // The stateful instance keeps the management command's effect...
  EXPECT_EQ(worker->eval({}, {{"x", 1}}, {}, false).output["calls"], 12);
  // ...a fresh instance does not.
  EXPECT_EQ(worker->eval({}, {{"x", 1}}, {}, true).output["calls"], 1);
  EXPECT_TRUE(worker->management("unknown", {}, false).output.is_null());
}

TEST_F(PolicyWorkerTest, PolicyExceptionIsTypedWithTraceback) {
  auto result = harness_->runEval("raise ValueError('bad ip: ' + str(input_data))");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error->type, "policy_error");
  EXPECT_EQ(result.error->exception, "ValueError");
  EXPECT_EQ(result.error->message, "bad ip: {}");
  EXPECT_NE(result.error->traceback.find("function.py"), std::string::npos);
  EXPECT_TRUE(harness_->stillUsable());
}

TEST_F(PolicyWorkerTest, BrokenCodeFailsTheLoad) {
  auto syntax = harness_->run(harness_->writePolicy("class AIOSv1PolicyRule(:\n"));
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.error->exception, "SyntaxError");
  auto no_class = harness_->run(harness_->writePolicy("x = 1\n"));
  ASSERT_FALSE(no_class.ok());
  EXPECT_EQ(no_class.error->exception, "AttributeError");
  EXPECT_NE(no_class.error->message.find("AIOSv1PolicyRule"), std::string::npos);
  auto bad_init = harness_->run(harness_->writePolicy(
      "class AIOSv1PolicyRule:\n    def __init__(self, r, s, p):\n        raise KeyError('k')\n"));
  ASSERT_FALSE(bad_init.ok());
  EXPECT_EQ(bad_init.error->exception, "KeyError");
}

TEST_F(PolicyWorkerTest, CodeUnderAPrivateDirectoryLoads) {
  // Like /root/project or a 0700 home: only the zygote (root) can traverse it, and it reads the
  // code before the worker switches to its own unprivileged uid.
  std::string code = harness_->dir().write("private/policy/function.py",
                                           "class AIOSv1PolicyRule:\n"
                                           "    def __init__(self, r, s, p):\n        pass\n"
                                           "    def eval(self, p, i, c):\n        return 'ok'\n");
  ::chmod((harness_->dir().path() + "/private").c_str(), 0700);
  ::chmod(code.c_str(), 0600);
  auto result = harness_->run(harness_->dir().path() + "/private/policy");
  ASSERT_TRUE(result.ok()) << result.toJson().dump();
  EXPECT_EQ(result.output, "ok");
}

TEST_F(PolicyWorkerTest, CodeTreeIsCopiedWithoutLinks) {
  std::string dir = harness_->writePolicy(
      "import os\nclass AIOSv1PolicyRule:\n    def __init__(self, r, s, p):\n        pass\n"
      "    def eval(self, p, i, c):\n"
      "        return sorted(os.listdir('/policy')) + sorted(os.listdir('/policy/lib'))\n");
  harness_->dir().write(dir.substr(harness_->dir().path().size() + 1) + "/lib/helper.py", "X = 1\n");
  ASSERT_EQ(::symlink("/etc/shadow", (dir + "/shadow-link").c_str()), 0);
  auto result = harness_->run(dir);
  ASSERT_TRUE(result.ok()) << result.toJson().dump();
  EXPECT_EQ(result.output, Json::array({"function.py", "lib", "helper.py"}));
}

TEST_F(PolicyWorkerTest, PreJailedSparesServeColdStarts) {
  auto& sandbox = harness_->sandbox();
  for (int i = 0; i < 500 && sandbox.sparesReady() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(sandbox.sparesReady(), 2u) << "the spare maker did not fill its quota";
  auto before = sandbox.spawnStats();
  ASSERT_TRUE(harness_->stillUsable());
  auto after = sandbox.spawnStats();
  EXPECT_EQ(after.from_spare, before.from_spare + 1);
  EXPECT_EQ(after.cloned, before.cloned);
  // A spare sits under 64 MiB; handed a policy, it gets the policy's 256 MiB.
  auto big = harness_->runEval("block = bytearray(160 << 20)\nblock[::4096] = b'x' * len(block[::4096])\n"
                               "return len(block)");
  ASSERT_TRUE(big.ok()) << big.toJson().dump();
  EXPECT_EQ(big.output, 160 << 20);
}

TEST_F(PolicyWorkerTest, SeedSamplePolicyRuns) {
  std::string code = std::string(EXA_SOURCE_DIR) + "/examples/ip_allowlist/code";
  PolicyLoad load{code, "ip_allowlist:1.0-beta",
                  {{"allowlist_api", "https://example.com/api/allowlist"}},
                  {{"local_allowlist", {"127.0.0.1", "192.168.0.1"}}}};
  CallError error;
  auto worker = PolicyWorker::start(harness_->sandbox(), load, JailHarness::defaultLimits(),
                                    JailHarness::defaultCallLimits(), &error);
  ASSERT_TRUE(worker) << error.toJson().dump();
  auto allowed = worker->eval(load.parameters, {{"ip", "192.168.0.1"}}, {}, false);
  ASSERT_TRUE(allowed.ok()) << allowed.toJson().dump();
  EXPECT_EQ(allowed.output["allowed"], true);
  // The remote allowlist fetch fails (no network in the jail) and is logged, not fatal.
  EXPECT_NE(allowed.logs.find("Failed to fetch remote allowlist"), std::string::npos)
      << allowed.logs;
  auto update = worker->management("update_local_allowlist", {{"ips", {"10.0.0.1"}}}, false);
  ASSERT_TRUE(update.ok());
  EXPECT_EQ(update.output["status"], "success");
  auto state = worker->management("get_state", {}, false);
  EXPECT_EQ(state.output["local_allowlist"], Json::array({"10.0.0.1"}));
}

TEST_F(PolicyWorkerTest, PoolReusesWarmWorkersOfTheSamePolicyOnly) {
  std::string source = "import os\nclass AIOSv1PolicyRule:\n"
                       "    def __init__(self, r, s, p):\n        pass\n"
                       "    def eval(self, p, i, c):\n        return os.getpid() and id(os)\n";
  PolicyCall a{"a", {harness_->writePolicy(source), "a"}, JailHarness::defaultLimits(),
               JailHarness::defaultCallLimits()};
  PolicyCall b{"b", {harness_->writePolicy(source), "b"}, JailHarness::defaultLimits(),
               JailHarness::defaultCallLimits()};
  auto& pool = harness_->pool();
  ASSERT_TRUE(pool.eval(a, {}, {}, {}).ok());
  ASSERT_TRUE(pool.eval(a, {}, {}, {}).ok());
  EXPECT_EQ(pool.stats().spawned, 1u);
  EXPECT_EQ(pool.stats().reused, 1u);
  ASSERT_TRUE(pool.eval(b, {}, {}, {}).ok());
  EXPECT_EQ(pool.stats().spawned, 2u) << "policy b must not get policy a's worker";
  a.isolation = Isolation::kFresh;
  ASSERT_TRUE(pool.eval(a, {}, {}, {}).ok());
  EXPECT_EQ(pool.stats().spawned, 3u) << "fresh isolation spawns per call";
}

TEST_F(PolicyWorkerTest, PoolEvictsLeastRecentlyUsedPolicyOverBudget) {
  std::string source = "class AIOSv1PolicyRule:\n    def __init__(self, r, s, p):\n        pass\n"
                       "    def eval(self, p, i, c):\n        return 1\n";
  auto limits = JailHarness::defaultLimits();  // 256 MiB each
  WorkerPool pool(harness_->sandbox(), PoolOptions{.max_idle_per_policy = 4,
                                                   .max_idle_total = 64,
                                                   .max_idle_memory_bytes = 512ull << 20});
  PolicyCall a{"a", {harness_->writePolicy(source), "a"}, limits, JailHarness::defaultCallLimits()};
  PolicyCall b{"b", {harness_->writePolicy(source), "b"}, limits, JailHarness::defaultCallLimits()};
  PolicyCall c{"c", {harness_->writePolicy(source), "c"}, limits, JailHarness::defaultCallLimits()};
  ASSERT_TRUE(pool.eval(a, {}, {}, {}).ok());
  ASSERT_TRUE(pool.eval(b, {}, {}, {}).ok());
  EXPECT_EQ(pool.stats().idle, 2u);
  ASSERT_TRUE(pool.eval(c, {}, {}, {}).ok());  // 3 x 256 MiB > 512 MiB: a, the oldest, goes
  EXPECT_EQ(pool.stats().idle, 2u);
  EXPECT_EQ(pool.stats().retired, 1u);
  ASSERT_TRUE(pool.eval(b, {}, {}, {}).ok());
  EXPECT_EQ(pool.stats().reused, 1u) << "b was evicted instead of a";
  ASSERT_TRUE(pool.eval(a, {}, {}, {}).ok());
  EXPECT_EQ(pool.stats().spawned, 4u) << "a should have needed a new worker";
}

TEST_F(PolicyWorkerTest, PoolRecyclesAfterNCallsAndIdleTime) {
  std::string code = harness_->writeEvalPolicy("return 1");
  PolicyCall call{"n", {code, "n"}, JailHarness::defaultLimits(), JailHarness::defaultCallLimits()};
  WorkerPool counted(harness_->sandbox(), PoolOptions{.max_calls_per_worker = 2});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(counted.eval(call, {}, {}, {}).ok());
  EXPECT_EQ(counted.stats().spawned, 2u) << "the third call must get a fresh worker";
  WorkerPool idle(harness_->sandbox(), PoolOptions{.idle_timeout = std::chrono::seconds(0)});
  ASSERT_TRUE(idle.eval(call, {}, {}, {}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(idle.eval(call, {}, {}, {}).ok());
  EXPECT_EQ(idle.stats().spawned, 2u) << "an idle-expired worker was reused";
  EXPECT_EQ(idle.stats().retired, 1u);
}

TEST_F(PolicyWorkerTest, PoolRetiresWorkerThatLeavesAThreadBehind) {
  std::string code = harness_->writeEvalPolicy(
      "if input_data.get('leak'):\n"
      "    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
      "return threading.active_count()",
      "import threading, time");
  PolicyCall call{"leaky", {code, "leaky"}, JailHarness::defaultLimits(),
                  JailHarness::defaultCallLimits()};
  auto& pool = harness_->pool();
  ASSERT_TRUE(pool.eval(call, {}, {{"leak", true}}, {}).ok());
  auto next = pool.eval(call, {}, Json::object(), {});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next.output, 1) << "the next call must not share a worker with the leaked thread";
  EXPECT_EQ(pool.stats().spawned, 2u);
  EXPECT_EQ(pool.stats().retired, 1u);
}

}  // namespace
}  // namespace exa::policies
