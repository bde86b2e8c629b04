// Tests for the seccomp profile compiler and loader: the shipped worker profile is loaded in
// forked children, which then try allowed, errno-ed and forbidden syscalls.
#include "sandbox/seccomp_filter.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <seccomp.h>

#include "common/json_util.h"

namespace exa::sandbox {
namespace {

constexpr int kLoadFailed = 120;

std::string readProfile() {
  std::ifstream in(EXA_SOURCE_DIR "/sandbox/profiles/python_worker.json");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

const SeccompProgram& workerProgram() {
  static const SeccompProgram program = [] {
    auto compiled = compileSeccompProfile(readProfile());
    if (!compiled) {
      ADD_FAILURE() << compiled.error().describe();
      return SeccompProgram{};
    }
    return std::move(compiled).value();
  }();
  return program;
}

std::string describeStatus(int status) {
  if (WIFEXITED(status)) return "exited with " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

// Runs `body` in a forked child under `program` and returns the child's wait status. The
// child exits with body's result (0 = every check passed, otherwise the failing check's
// number); gtest assertions are not usable in there.
template <typename Body>
int runUnder(const SeccompProgram& program, Body body) {
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(kLoadFailed);
    if (!loadSeccompProgram(program)) ::_exit(kLoadFailed);
    ::_exit(body());
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return status;
}

template <typename Body>
int runUnderWorkerProfile(Body body) {
  return runUnder(workerProgram(), body);
}

void expectSucceeded(int status) {
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << describeStatus(status);
}

void expectKilledBySigsys(int status) {
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) << describeStatus(status);
}

// Child-side check: `rc` must be -1 with errno `expected`.
bool failedWith(long rc, int expected) { return rc == -1 && errno == expected; }

TEST(SeccompFilterTest, WorkerProfileCompiles) {
  const SeccompProgram& program = workerProgram();
  EXPECT_GT(program.instructions.size(), 0U);
  EXPECT_LE(program.instructions.size(), static_cast<size_t>(BPF_MAXINSNS));
}

TEST(SeccompFilterTest, EveryRuleHasReasonAndKnownNames) {
  auto profile = parseJson(readProfile());
  ASSERT_TRUE(profile) << profile.error().describe();
  const Json& rules = (*profile)["rules"];
  ASSERT_TRUE(rules.is_array());
  ASSERT_FALSE(rules.empty());
  for (size_t i = 0; i < rules.size(); ++i) {
    const Json& rule = rules[i];
    ASSERT_TRUE(rule.contains("reason") && rule["reason"].is_string()) << "rule " << i;
    EXPECT_FALSE(rule["reason"].get<std::string>().empty()) << "rule " << i;
    ASSERT_TRUE(rule.contains("names") && rule["names"].is_array()) << "rule " << i;
    EXPECT_FALSE(rule["names"].empty()) << "rule " << i;
    for (const Json& name : rule["names"]) {
      std::string text = name.get<std::string>();
      EXPECT_NE(seccomp_syscall_resolve_name(text.c_str()), __NR_SCMP_ERROR)
          << "rule " << i << ": " << text;
    }
  }
}

TEST(SeccompFilterTest, AllowsOrdinarySyscalls) {
  int status = runUnderWorkerProfile([] {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return 1;
    if (::write(fds[1], "x", 1) != 1) return 2;
    char c = 0;
    if (::read(fds[0], &c, 1) != 1 || c != 'x') return 3;
    void* page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED || ::munmap(page, 4096) != 0) return 4;
    if (::syscall(SYS_getpid) <= 0) return 5;
    unsigned char random[8];
    if (::syscall(SYS_getrandom, random, sizeof random, 0) != sizeof random) return 6;
    return 0;
  });
  expectSucceeded(status);
}

TEST(SeccompFilterTest, KillsOnBlockedSyscall) {
  // Never executed for real: each call dies at the filter, so the arguments do not matter.
  const long blocked[] = {
      SYS_ptrace,      SYS_kexec_load, SYS_bpf,        SYS_perf_event_open,   SYS_userfaultfd,
      SYS_keyctl,      SYS_mount,      SYS_pivot_root, SYS_open_by_handle_at, SYS_process_vm_readv,
      SYS_init_module, SYS_fsopen};
  for (long nr : blocked) {
    int status = runUnderWorkerProfile([nr] {
      ::syscall(nr, 0, 0, 0, 0, 0, 0);
      return 0;
    });
    SCOPED_TRACE("syscall " + std::to_string(nr));
    expectKilledBySigsys(status);
  }
}

TEST(SeccompFilterTest, ExecveReturnsEperm) {
  int status = runUnderWorkerProfile([] {
    char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
    char* const envp[] = {nullptr};
    return failedWith(::execve("/bin/true", argv, envp), EPERM) ? 0 : 1;
  });
  expectSucceeded(status);
}

TEST(SeccompFilterTest, SocketFamiliesOutsideUnixAndInetReturnEafnosupport) {
  int status = runUnderWorkerProfile([] {
    int unix_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (unix_fd < 0) return 1;
    ::close(unix_fd);
    int inet_fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (inet_fd < 0) return 2;
    ::close(inet_fd);
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return 3;
    if (!failedWith(::socket(AF_NETLINK, SOCK_RAW, 0), EAFNOSUPPORT)) return 4;
    if (!failedWith(::socket(AF_PACKET, SOCK_RAW, 0), EAFNOSUPPORT)) return 5;
    if (!failedWith(::socket(AF_VSOCK, SOCK_STREAM, 0), EAFNOSUPPORT)) return 6;
    if (!failedWith(::socket(AF_ALG, SOCK_SEQPACKET, 0), EAFNOSUPPORT)) return 7;
    if (!failedWith(::socket(0, SOCK_STREAM, 0), EAFNOSUPPORT)) return 8;
    // The kernel reads the family as an int: high garbage bits must not pass as AF_UNIX.
    if (!failedWith(::syscall(SYS_socket, (1UL << 32) | AF_UNIX, SOCK_STREAM, 0), EAFNOSUPPORT))
      return 9;
    return 0;
  });
  expectSucceeded(status);
}

TEST(SeccompFilterTest, CloneWithNamespaceFlagsReturnsEperm) {
  int status = runUnderWorkerProfile([] {
    const unsigned long flags[] = {CLONE_NEWUSER, CLONE_NEWNS,  CLONE_NEWPID,   CLONE_NEWNET,
                                   CLONE_NEWIPC,  CLONE_NEWUTS, CLONE_NEWCGROUP};
    int check = 1;
    for (unsigned long flag : flags) {
      long rc = ::syscall(SYS_clone, flag | SIGCHLD, 0, 0, 0, 0);
      if (rc == 0) ::_exit(99);  // the filter let it through: this is the new child
      if (!failedWith(rc, EPERM)) return check;
      ++check;
    }
    if (!failedWith(::unshare(CLONE_NEWUSER), EPERM)) return 20;
    // struct clone_args v0 (linux/sched.h clashes with <sched.h>): flags 0, exit_signal SIGCHLD.
    uint64_t clone_args[8] = {0, 0, 0, 0, SIGCHLD, 0, 0, 0};
    if (!failedWith(::syscall(SYS_clone3, clone_args, sizeof clone_args), ENOSYS)) return 21;
    return 0;
  });
  expectSucceeded(status);
}

void* threadBody(void* arg) {
  *static_cast<int*>(arg) = 42;
  return nullptr;
}

TEST(SeccompFilterTest, ThreadsAndForkWork) {
  int status = runUnderWorkerProfile([] {
    // glibc tries clone3 first and falls back to clone on the profile's ENOSYS.
    pthread_t thread;
    int value = 0;
    if (::pthread_create(&thread, nullptr, threadBody, &value) != 0) return 1;
    if (::pthread_join(thread, nullptr) != 0 || value != 42) return 2;
    pid_t child = ::fork();
    if (child < 0) return 3;
    if (child == 0) ::_exit(7);
    int child_status = 0;
    if (::waitpid(child, &child_status, 0) != child) return 4;
    if (!WIFEXITED(child_status) || WEXITSTATUS(child_status) != 7) return 5;
    return 0;
  });
  expectSucceeded(status);
}

TEST(SeccompFilterTest, IoctlBlocksTerminalInjection) {
  int status = runUnderWorkerProfile([] {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return 1;
    int pending = -1;
    if (::ioctl(fds[0], FIONREAD, &pending) != 0 || pending != 0) return 2;
    char c = 'x';
    // Without the filter these would fail with ENOTTY on a pipe.
    if (!failedWith(::ioctl(fds[0], TIOCSTI, &c), EPERM)) return 3;
    if (!failedWith(::ioctl(fds[0], TIOCLINUX, &c), EPERM)) return 4;
    // The kernel truncates the command to 32 bits, so high bits must not dodge the rule.
    if (!failedWith(::syscall(SYS_ioctl, fds[0], (1UL << 32) | TIOCSTI, &c), EPERM)) return 5;
    if (!failedWith(::ioctl(fds[0], TCGETS, &c), ENOTTY)) return 6;
    return 0;
  });
  expectSucceeded(status);
}

TEST(SeccompFilterTest, PrctlAllowedExceptNewFilters) {
  int status = runUnderWorkerProfile([] {
    if (::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) return 1;
    if (::prctl(PR_SET_NAME, "worker", 0, 0, 0) != 0) return 2;
    struct sock_fprog empty {};
    if (!failedWith(::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &empty, 0, 0), EPERM)) return 3;
    if (!failedWith(::syscall(SYS_prctl, (1UL << 32) | PR_SET_SECCOMP, 2, &empty, 0, 0), EPERM))
      return 4;
    if (!failedWith(::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &empty), EPERM)) return 5;
    return 0;
  });
  expectSucceeded(status);
}

TEST(SeccompFilterTest, PersonalityOnlyQueryAndLinux) {
  int status = runUnderWorkerProfile([] {
    if (::personality(0xffffffff) < 0) return 1;
    if (::personality(PER_LINUX) < 0) return 2;
    return 0;
  });
  expectSucceeded(status);
  expectKilledBySigsys(runUnderWorkerProfile([] {
    ::personality(ADDR_NO_RANDOMIZE);
    return 0;
  }));
}

TEST(SeccompFilterTest, KillsX32Syscalls) {
  constexpr long kX32SyscallBit = 0x40000000;
  expectKilledBySigsys(runUnderWorkerProfile([] {
    ::syscall(kX32SyscallBit | SYS_getpid);
    return 0;
  }));
}

TEST(SeccompFilterTest, KillsI386Syscalls) {
  int status = runUnderWorkerProfile([] {
    long rc = 20;  // __NR_getpid on i386
    asm volatile("int $0x80" : "+a"(rc) : : "memory");
    return 0;
  });
  // Kernels without IA32 emulation fault on int 0x80 before seccomp sees anything.
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV)
    GTEST_SKIP() << "kernel without IA32 emulation";
  expectKilledBySigsys(status);
}

// not_in is expanded into a cover of the complement; check it against the plain definition on
// a syscall whose argument registers the kernel ignores (getppid).
TEST(SeccompFilterTest, NotInMatchesExactlyTheComplement) {
  const char* profile = R"({
    "default_action": "errno", "default_errno": "ENOSYS",
    "rules": [
      {"names": ["exit", "exit_group"], "action": "allow", "reason": "child exit"},
      {"names": ["write", "mmap", "munmap", "madvise", "sigaltstack", "gettid", "getpid",
                 "rt_sigprocmask", "sched_yield", "futex"],
       "action": "allow", "reason": "what a sanitizer runtime calls on the way out"},
      {"names": ["getppid"], "action": "allow", "reason": "masked",
       "args": [{"index": 0, "op": "not_in", "mask": "0xffff00ff",
                 "values": ["0x12", "0x340012"]}]},
      {"names": ["getpgrp"], "action": "allow", "reason": "unmasked",
       "args": [{"index": 0, "op": "not_in", "values": [1, 2, 10]}]}
    ]})";
  auto program = compileSeccompProfile(profile);
  ASSERT_TRUE(program) << program.error().describe();
  int status = runUnder(*program, [] {
    // Excluded points, their neighbours, and the same low bits under high garbage bits.
    const uint64_t samples[] = {
        0x0,        0x1,         0x2,         0x3,           0x9,          0xa,         0xb,
        0x10,       0x12,        0x1212,      0x13,          0x340012,     0x3400ff12,  0x340013,
        0x10000001, 0x100000001, 0x100000012, 0x10000340012, ~uint64_t{0}, ~uint64_t{1}};
    int check = 1;
    for (uint64_t value : samples) {
      uint64_t masked = value & 0xffff00ff;
      bool allowed = masked != 0x12 && masked != 0x340012;
      if ((::syscall(SYS_getppid, value) >= 0) != allowed) return check;
      ++check;
      allowed = value != 1 && value != 2 && value != 10;
      if ((::syscall(SYS_getpgrp, value) >= 0) != allowed) return check;
      ++check;
    }
    return 0;
  });
  expectSucceeded(status);
}

std::string compileError(const std::string& profile) {
  auto program = compileSeccompProfile(profile);
  if (program) return "(compiled)";
  return program.error().describe();
}

TEST(SeccompFilterTest, InvalidJsonIsRejected) {
  EXPECT_NE(compileError("{\"rules\": [").find("invalid JSON"), std::string::npos);
}

TEST(SeccompFilterTest, UnknownSyscallIsNamed) {
  std::string error = compileError(R"({"default_action": "kill_process", "rules": [
      {"names": ["read"], "action": "allow", "reason": "r"},
      {"names": ["sockett"], "action": "allow", "reason": "typo"}]})");
  EXPECT_NE(error.find("rule 1"), std::string::npos) << error;
  EXPECT_NE(error.find("\"sockett\""), std::string::npos) << error;
}

TEST(SeccompFilterTest, UnknownActionIsNamed) {
  std::string error = compileError(R"({"default_action": "kill_process", "rules": [
      {"names": ["read"], "action": "allw", "reason": "r"}]})");
  EXPECT_NE(error.find("\"allw\""), std::string::npos) << error;
  EXPECT_NE(error.find("rule 0 (read)"), std::string::npos) << error;
}

TEST(SeccompFilterTest, RuleWithoutReasonIsRejected) {
  std::string error = compileError(R"({"default_action": "kill_process", "rules": [
      {"names": ["read"], "action": "allow", "reason": ""}]})");
  EXPECT_NE(error.find("reason"), std::string::npos) << error;
}

TEST(SeccompFilterTest, MalformedRulesAreRejected) {
  // A misspelt key would silently widen the rule.
  EXPECT_NE(compileError(R"({"default_action": "kill_process", "rules": [
      {"names": ["socket"], "action": "allow", "reason": "r", "arg": []}]})")
                .find("\"arg\""),
            std::string::npos);
  EXPECT_NE(compileError(R"({"default_action": "kill_process", "rules": [
      {"names": ["socket"], "action": "allow", "reason": "r",
       "args": [{"index": 0, "op": "gt", "value": 1}, {"index": 0, "op": "lt", "value": 9}]}]})")
                .find("two conditions on arg 0"),
            std::string::npos);
  EXPECT_NE(compileError(R"({"default_action": "kill_process", "rules": [
      {"names": ["read"], "action": "errno", "reason": "r"}]})")
                .find("needs \"errno\""),
            std::string::npos);
  EXPECT_NE(compileError(R"({"default_action": "kill_process", "rules": [
      {"names": ["read"], "action": "errno", "errno": "EWHAT", "reason": "r"}]})")
                .find("EWHAT"),
            std::string::npos);
  EXPECT_NE(compileError(R"({"default_action": "kill_process", "rules": [
      {"names": ["ioctl"], "action": "allow", "reason": "r",
       "args": [{"index": 1, "op": "eq", "value": "0xzz"}]}]})")
                .find("0xzz"),
            std::string::npos);
  EXPECT_NE(compileError(R"({"default_action": "allow", "rules": []})").find("must not be allow"),
            std::string::npos);
}

}  // namespace
}  // namespace exa::sandbox
