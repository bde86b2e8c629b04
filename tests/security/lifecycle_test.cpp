// Attacks on the worker's own life: crashes, os._exit, leftovers after a call, a worker that
// closes its channel, and a worker that lies on the protocol. Each ends as a typed error and
// the agent keeps serving.
#include "tests/security/jail_attack_test.h"

namespace exa::security {
namespace {

TEST_F(JailAttackTest, SegfaultIsACrash) {
  auto result = harness_->runEval("ctypes.string_at(0)", "import ctypes");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error->type, "crashed");
  EXPECT_NE(result.error->message.find("SIGSEGV"), std::string::npos) << result.error->message;
}

TEST_F(JailAttackTest, OsExitIsACrash) {
  auto result = harness_->runEval("os._exit(7)", "import os");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error->type, "crashed");
  EXPECT_NE(result.error->message.find("code 7"), std::string::npos) << result.error->message;
}

TEST_F(JailAttackTest, SysExitIsAPolicyError) {
  auto result = harness_->runEval("sys.exit(3)", "import sys");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error->type, "policy_error");
  EXPECT_EQ(result.error->exception, "SystemExit");
}

TEST_F(JailAttackTest, ClosingTheChannelIsACrash) {
  auto result = harness_->runEval("os.close(3)\ntime.sleep(60)", "import os, time");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error->type, "crashed") << result.toJson().dump();
}

TEST_F(JailAttackTest, ForgedFrameIsAViolation) {
  // The policy writes a frame of its own on the channel: an announced 1 GiB reply.
  auto result = harness_->runEval("os.write(3, b'\\x40\\x00\\x00\\x00garbage')\ntime.sleep(60)",
                                  "import os, time");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error->type, "output_too_large") << result.toJson().dump();
  auto garbage = harness_->runEval("os.write(3, b'\\x00\\x00\\x00\\x03{{{')\ntime.sleep(60)",
                                   "import os, time");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error->type, "sandbox_violation") << garbage.toJson().dump();
}

TEST_F(JailAttackTest, DaemonLeftRunningIsReportedAndRetired) {
  std::string code = harness_->writeEvalPolicy(R"(
if input_data.get("spawn"):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(600)
        os._exit(0)
    time.sleep(0.2)
return os.getpid()
)",
                                               "import os, time");
  policies::PolicyCall call{"daemon", {code, "daemon"}, exa::testing::JailHarness::defaultLimits(),
                            exa::testing::JailHarness::defaultCallLimits()};
  auto& pool = harness_->pool();
  auto first = pool.eval(call, {}, {{"spawn", true}}, {});
  ASSERT_TRUE(first.ok()) << first.toJson().dump();
  EXPECT_FALSE(first.leftovers.empty()) << "the daemon was not noticed";
  ASSERT_TRUE(pool.eval(call, {}, Json::object(), {}).ok());
  EXPECT_EQ(pool.stats().retired, 1u);
  EXPECT_EQ(pool.stats().spawned, 2u);
}

TEST_F(JailAttackTest, TmpFileLeftBehindRetiresTheWorker) {
  std::string code = harness_->writeEvalPolicy(
      "import os\nexisted = os.path.exists('/tmp/state')\nopen('/tmp/state', 'w').close()\n"
      "return existed");
  policies::PolicyCall call{"tmpstate", {code, "tmpstate"},
                            exa::testing::JailHarness::defaultLimits(),
                            exa::testing::JailHarness::defaultCallLimits()};
  auto& pool = harness_->pool();
  EXPECT_EQ(pool.eval(call, {}, Json::object(), {}).output, false);
  EXPECT_EQ(pool.eval(call, {}, Json::object(), {}).output, false)
      << "a file from the previous call was visible to the next one";
}

TEST_F(JailAttackTest, WorkerDiesWithItsSandbox) {
  std::string code = harness_->writeEvalPolicy("return os.getpid()", "import os");
  policies::PolicyLoad load{code, "x"};
  policies::CallError error;
  auto worker = policies::PolicyWorker::start(harness_->sandbox(), load,
                                              exa::testing::JailHarness::defaultLimits(),
                                              exa::testing::JailHarness::defaultCallLimits(), &error);
  ASSERT_TRUE(worker);
  pid_t pid = worker->pid();
  ASSERT_EQ(::kill(pid, 0), 0);
  worker.reset();
  EXPECT_NE(::kill(pid, 0), 0) << "worker " << pid << " outlived its handle";
}

}  // namespace
}  // namespace exa::security
