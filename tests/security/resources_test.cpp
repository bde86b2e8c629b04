// Resource attacks: fork and thread bombs, CPU loops, sleeping forever, memory bombs (also
// split over children), filling /tmp, fd exhaustion, huge results, deep recursion.
#include "tests/security/jail_attack_test.h"

namespace exa::security {
namespace {

policies::CallLimits shortDeadline() {
  auto limits = exa::testing::JailHarness::defaultCallLimits();
  limits.timeout = std::chrono::milliseconds(1500);
  return limits;
}

TEST_F(JailAttackTest, CpuLoopHitsTheDeadline) {
  auto result = harness_->runEval("while True:\n    pass", "",
                                  exa::testing::JailHarness::defaultLimits(), shortDeadline());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error->type, "timeout") << result.toJson().dump();
}

TEST_F(JailAttackTest, SleepingForeverHitsTheDeadline) {
  auto result = harness_->runEval("time.sleep(10**6)", "import time",
                                  exa::testing::JailHarness::defaultLimits(), shortDeadline());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error->type, "timeout");
}

TEST_F(JailAttackTest, SlowImportHitsTheDeadline) {
  // The deadline covers the load: a module that never finishes importing is a timeout too.
  std::string code = harness_->writePolicy("import time\ntime.sleep(10**6)\n");
  auto result = harness_->run(code, Json::object(), exa::testing::JailHarness::defaultLimits(),
                              shortDeadline());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error->type, "timeout");
}

TEST_F(JailAttackTest, ForkBombIsContained) {
  auto result = harness_->runEval(R"(
count = 0
while True:
    try:
        if os.fork() == 0:
            while True:
                try:
                    os.fork()
                except OSError:
                    time.sleep(0.01)
        count += 1
    except OSError:
        return {"forks": count}
)",
                                  "import os, time", exa::testing::JailHarness::defaultLimits(),
                                  shortDeadline());
  // Either the policy saw fork fail (and returned), or the deadline hit: never more processes
  // than the pids limit allows.
  if (result.ok()) {
    EXPECT_LT(result.output["forks"].get<int>(), 32) << result.output.dump();
    EXPECT_FALSE(result.leftovers.empty());
  } else {
    EXPECT_EQ(result.error->type, "timeout") << result.toJson().dump();
  }
}

TEST_F(JailAttackTest, ThreadBombIsContained) {
  Json out = probe(R"(
threads = []
try:
    while len(threads) < 10000:
        t = threading.Thread(target=time.sleep, args=(5,), daemon=True)
        t.start()
        threads.append(t)
except RuntimeError as e:
    return len(threads)
return len(threads)
)",
                   "import threading, time");
  EXPECT_LT(out.get<int>(), 32) << "threads beyond the pids limit";
}

TEST_F(JailAttackTest, MemoryBombIsKilled) {
  auto result = harness_->runEval("blocks = []\nwhile True:\n    blocks.append(bytearray(16 << 20))");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error->type, "memory_exceeded") << result.toJson().dump();
}

TEST_F(JailAttackTest, MemoryBombSplitOverChildrenIsKilled) {
  // Four children of 96 MiB each stay under any per-process cap; only the cgroup sees 384 MiB.
  auto result = harness_->runEval(R"(
pids = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        block = bytearray(96 << 20)
        for i in range(0, len(block), 4096):
            block[i] = 1
        time.sleep(60)
        os._exit(0)
    pids.append(pid)
time.sleep(3)
return "survived"
)",
                                  "import os, time");
  ASSERT_FALSE(result.ok()) << result.toJson().dump();
  EXPECT_EQ(result.error->type, "memory_exceeded") << result.toJson().dump();
}

TEST_F(JailAttackTest, TmpFillStopsAtItsCap) {
  Json out = probe(R"(
written = 0
try:
    with open("/tmp/fill", "wb") as f:
        while True:
            f.write(b"x" * (1 << 20))
            f.flush()
            written += 1 << 20
except OSError as e:
    return {"written": written, "errno": e.errno}
)");
  EXPECT_LE(out["written"].get<uint64_t>(), 8ull << 20) << out.dump();
  EXPECT_TRUE(out["errno"] == ENOSPC || out["errno"] == EFBIG) << out.dump();
}

TEST_F(JailAttackTest, TmpInodesAreCapped) {
  Json out = probe(R"(
n = 0
try:
    while n < 100000:
        open(f"/tmp/f{n}", "w").close()
        n += 1
except OSError as e:
    return {"files": n, "errno": e.errno}
return {"files": n}
)");
  EXPECT_LE(out["files"].get<int>(), 256) << out.dump();
}

TEST_F(JailAttackTest, FdExhaustionStopsAtNofile) {
  Json out = probe(R"(
fds = []
try:
    while len(fds) < 100000:
        fds.append(os.open("/dev/null", os.O_RDONLY))
except OSError as e:
    return {"opened": len(fds), "errno": e.errno}
return {"opened": len(fds)}
)",
                   "import os");
  EXPECT_LE(out["opened"].get<int>(), 64) << out.dump();
  EXPECT_EQ(out["errno"], EMFILE);
}

TEST_F(JailAttackTest, HugeResultIsRefused) {
  auto limits = exa::testing::JailHarness::defaultLimits();
  limits.cgroup.memory_bytes = 512ull << 20;
  auto result = harness_->runEval("return 'x' * (100 * 1000 * 1000)", "", limits);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error->type, "output_too_large") << result.toJson().dump();
}

TEST_F(JailAttackTest, DeepRecursionIsAPolicyError) {
  std::string code = harness_->writePolicy(R"(
def down(n):
    return down(n + 1)
class AIOSv1PolicyRule:
    def __init__(self, r, s, p):
        pass
    def eval(self, p, i, c):
        return down(0)
)");
  auto result = harness_->run(code);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error->type, "policy_error");
  EXPECT_EQ(result.error->exception, "RecursionError");
}

TEST_F(JailAttackTest, DeeplyNestedResultIsRefused) {
  auto result = harness_->runEval("r = []\nfor _ in range(200000):\n    r = [r]\nreturn r");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error->type, "policy_error") << result.toJson().dump();
  EXPECT_EQ(result.error->exception, "RecursionError");
}

TEST_F(JailAttackTest, ResultNestedPastTheAgentsCapIsRefused) {
  // Python can encode 300 levels; the agent refuses to parse (and later dump) past 256.
  auto result = harness_->runEval("r = []\nfor _ in range(300):\n    r = [r]\nreturn r");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error->type, "output_too_large") << result.toJson().dump();
}

TEST_F(JailAttackTest, CpuQuotaThrottlesTheWorker) {
  auto limits = exa::testing::JailHarness::defaultLimits();
  limits.cgroup.cpu_percent = 20;
  // Busy for one second of wall clock: under a 20% quota the process gets about 0.2 s of CPU.
  Json out = harness_->runEval(R"(
start_wall, start_cpu = time.monotonic(), time.process_time()
while time.monotonic() - start_wall < 1.0:
    pass
return {"wall": time.monotonic() - start_wall, "cpu": time.process_time() - start_cpu}
)",
                               "import time", limits)
                 .output;
  ASSERT_TRUE(out.is_object()) << out.dump();
  EXPECT_LT(out["cpu"].get<double>(), 0.6 * out["wall"].get<double>()) << out.dump();
}

TEST_F(JailAttackTest, NonJsonResultsAreRefused) {
  for (const char* body : {"return object()", "return float('nan')", "return {1j: 2}"}) {
    auto result = harness_->runEval(body);
    ASSERT_FALSE(result.ok()) << body;
    EXPECT_EQ(result.error->type, "policy_error") << body;
    EXPECT_NE(result.error->message.find("not JSON-serialisable"), std::string::npos) << body;
  }
}

}  // namespace
}  // namespace exa::security
