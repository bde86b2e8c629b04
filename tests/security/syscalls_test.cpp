// Privilege and kernel-surface attacks: ptrace, kill(-1), setuid, mount, unshare, keyctl,
// bpf, io_uring, userfaultfd, perf_event_open and friends called directly through ctypes.
// Each must fail: the worker is killed by seccomp (sandbox_violation) or gets an error. Also
// which host uid a worker runs as, with a configured range.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <string>

#include "tests/security/jail_attack_test.h"
#include "tests/support/temp_dir.h"

namespace exa::security {
namespace {

// Calls syscall(nr, args...) through ctypes and returns errno, or "ok" if it succeeded.
constexpr const char* kSyscallProbe = R"(
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
args = [ctypes.c_long(a) for a in input_data["args"]]
rc = libc.syscall(ctypes.c_long(input_data["nr"]), *args)
return "ok" if rc >= 0 else ctypes.get_errno()
)";

// What the seccomp profile answers: a kill (the worker ends as sandbox_violation) or an errno.
// Asserting the filter's exact verdict, not just "it failed", makes each case fail when the
// filter is removed, even where dropped capabilities would also have refused the call.
constexpr int kKilled = -1;

struct BlockedSyscall {
  const char* name;
  long nr;
  std::vector<long> args;
  int verdict;  ///< kKilled or the errno the profile returns
};

void PrintTo(const BlockedSyscall& call, std::ostream* os) { *os << call.name; }

class BlockedSyscallTest : public JailAttackTest,
                           public ::testing::WithParamInterface<BlockedSyscall> {};

TEST_P(BlockedSyscallTest, FailsInTheJail) {
  const BlockedSyscall& call = GetParam();
  std::string code = harness_->writeEvalPolicy(kSyscallProbe, "import ctypes");
  auto result = harness_->run(code, {{"nr", call.nr}, {"args", call.args}});
  if (call.verdict == kKilled) {
    ASSERT_FALSE(result.ok()) << call.name << " returned " << result.output.dump();
    EXPECT_EQ(result.error->type, "sandbox_violation") << result.toJson().dump();
  } else {
    ASSERT_TRUE(result.ok()) << result.toJson().dump();
    EXPECT_EQ(result.output, call.verdict) << call.name;
  }
}

// x86_64 syscall numbers (the profile is compiled for the native arch only).
INSTANTIATE_TEST_SUITE_P(
    Kernel, BlockedSyscallTest,
    ::testing::Values(
        BlockedSyscall{"ptrace", 101, {0 /*TRACEME*/, 0, 0, 0}, kKilled},
        BlockedSyscall{"process_vm_readv", 310, {1, 0, 1, 0, 1, 0}, kKilled},
        BlockedSyscall{"mount", 165, {0, 0, 0, 0, 0}, kKilled},
        BlockedSyscall{"umount2", 166, {0, 0}, kKilled},
        BlockedSyscall{"pivot_root", 155, {0, 0}, kKilled},
        BlockedSyscall{"unshare", 272, {0x10000000 /*CLONE_NEWUSER*/}, EPERM},
        BlockedSyscall{"setns", 308, {0, 0}, EPERM},
        BlockedSyscall{"clone_newuser", 56, {0x10000000 | SIGCHLD, 0, 0, 0, 0}, EPERM},
        BlockedSyscall{"keyctl", 250, {0, 0, 0, 0, 0}, kKilled},
        BlockedSyscall{"add_key", 248, {0, 0, 0, 0, 0}, kKilled},
        BlockedSyscall{"bpf", 321, {0, 0, 0}, kKilled},
        BlockedSyscall{"io_uring_setup", 425, {8, 0}, ENOSYS},
        BlockedSyscall{"userfaultfd", 323, {0}, kKilled},
        BlockedSyscall{"perf_event_open", 298, {0, 0, -1, -1, 0}, kKilled},
        BlockedSyscall{"open_by_handle_at", 304, {0, 0, 0}, kKilled},
        BlockedSyscall{"personality", 135, {0x0040000 /*ADDR_NO_RANDOMIZE*/}, kKilled},
        BlockedSyscall{"kexec_load", 246, {0, 0, 0, 0}, kKilled},
        BlockedSyscall{"init_module", 175, {0, 0, 0}, kKilled},
        BlockedSyscall{"fsopen", 430, {0, 0}, kKilled},
        BlockedSyscall{"open_tree", 428, {-100, 0, 0}, kKilled},
        BlockedSyscall{"execve", 59, {0, 0, 0}, EPERM},
        BlockedSyscall{"chroot", 161, {0}, EPERM},
        BlockedSyscall{"reboot", 169, {0, 0, 0, 0}, kKilled}),
    [](const ::testing::TestParamInfo<BlockedSyscall>& info) {
      std::string name = info.param.name;
      std::erase(name, '_');
      return name;
    });

TEST_F(JailAttackTest, NoCapabilitiesAndNoNewPrivs) {
  Json status = probe(R"(
fields = {}
for line in open("/proc/self/status"):
    key, _, value = line.partition(":")
    if key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Uid"):
        fields[key] = value.strip()
return fields
)");
  for (const char* cap : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
    EXPECT_EQ(status[cap], "0000000000000000") << cap;
  EXPECT_EQ(status["NoNewPrivs"], "1");
  EXPECT_EQ(status["Seccomp"], "2");
}

TEST_F(JailAttackTest, SetuidFails) {
  Json out = probe(R"(
results = {}
for name, fn in [("setuid0", lambda: os.setuid(0)), ("setuid1000", lambda: os.setuid(1000)),
                 ("setgid1000", lambda: os.setgid(1000)), ("setgroups", lambda: os.setgroups([0]))]:
    try:
        fn()
        results[name] = "ok" if name != "setuid0" else "noop"
    except OSError as e:
        results[name] = e.errno
return results
)",
                   "import os");
  EXPECT_NE(out["setuid1000"], "ok") << out.dump();
  EXPECT_NE(out["setgid1000"], "ok") << out.dump();
  EXPECT_NE(out["setgroups"], "ok") << out.dump();
}

TEST_F(JailAttackTest, KillAllReachesNothingOutside) {
  pid_t sentinel = ::fork();
  if (sentinel == 0) {
    ::pause();
    ::_exit(0);
  }
  Json out = probe(R"(
try:
    os.kill(-1, signal.SIGKILL)
    return "sent"
except OSError as e:
    return e.errno
)",
                   "import os, signal");
  int status = 0;
  EXPECT_EQ(::waitpid(sentinel, &status, WNOHANG), 0) << "a host process was killed from the jail";
  ::kill(sentinel, SIGKILL);
  ::waitpid(sentinel, &status, 0);
  (void)out;
}

TEST_F(JailAttackTest, SubprocessCannotExec) {
  Json out = probe(R"(
try:
    subprocess.run(["/bin/sh", "-c", "id"], capture_output=True)
    return "ran"
except OSError as e:
    return type(e).__name__
)",
                   "import subprocess");
  EXPECT_NE(out, "ran");
}

// executor.worker_uid_base/_count reach the jail: a pod in its own user namespace moves the
// range into the 65536 ids it maps. The worker's root is a host uid of that range, seen from
// outside (/proc/<pid>/status) and from inside (its uid_map and gid_map), as the Sandbox says.
TEST(WorkerUidTest, WorkersRunAsHostUidsOfTheConfiguredRange) {
  std::string why = exa::testing::jailUnsupportedReason();
  if (!why.empty()) GTEST_SKIP() << why;
  exa::testing::TempDir dir;
  constexpr uid_t kBase = 5u << 20;  // not the 2^20 range of the default and the other tests
  auto sandbox = exa::testing::startTestSandbox(dir, kBase, "exa-test-uids");
  // startTestSandbox gives each test process 256 uids at a slot of its own past the base.
  const uid_t first = kBase + static_cast<uid_t>(::getpid() % 4096) * 256;
  dir.write("uids/function.py", R"(
class AIOSv1PolicyRule:
    def __init__(self, rule_id, settings, parameters):
        pass

    def eval(self, parameters, input_data, context):
        import os
        return {"uid": os.getuid(), "gid": os.getgid(),
                "uid_map": open("/proc/self/uid_map").read().split(),
                "gid_map": open("/proc/self/gid_map").read().split()}
)");
  policies::PolicyLoad load{dir.path() + "/uids", "uids", Json::object(), Json::object()};
  std::set<uid_t> seen;
  for (int i = 0; i < 3; ++i) {
    policies::CallError error;
    auto worker = policies::PolicyWorker::start(*sandbox, load,
                                                exa::testing::JailHarness::defaultLimits(),
                                                exa::testing::JailHarness::defaultCallLimits(),
                                                &error);
    ASSERT_TRUE(worker) << error.message;
    const uid_t host_uid = worker->process().uid;
    EXPECT_GE(host_uid, first);
    EXPECT_LT(host_uid, first + 256);
    seen.insert(host_uid);
    // From outside: the worker's real, effective, saved and fs uids are that host uid.
    std::ifstream status("/proc/" + std::to_string(worker->pid()) + "/status");
    std::string line, uids;
    while (std::getline(status, line))
      if (line.rfind("Uid:", 0) == 0) uids = line;
    std::string u = std::to_string(host_uid);
    EXPECT_EQ(uids, "Uid:\t" + u + "\t" + u + "\t" + u + "\t" + u) << uids;
    // From inside: root of its own namespace, mapped to that one host uid (and gid), alone.
    auto result = worker->eval(Json::object(), Json::object(), Json::object(), false);
    ASSERT_TRUE(result.ok()) << result.toJson().dump();
    EXPECT_EQ(result.output["uid"], 0);
    EXPECT_EQ(result.output["gid"], 0);
    EXPECT_EQ(result.output["uid_map"], Json::array({"0", u, "1"}));
    EXPECT_EQ(result.output["gid_map"], Json::array({"0", u, "1"}));
  }
  EXPECT_EQ(seen.size(), 3u) << "workers alive one after another got distinct uids";
}

}  // namespace
}  // namespace exa::security
