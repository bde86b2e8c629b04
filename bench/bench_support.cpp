// Sandbox start-up, the seed policy, baseline processes and /proc figures for the benchmarks.
#include "bench/bench_support.h"

#include "tests/support/jail_harness.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include "common/log.h"
#include "common/syscall.h"

namespace exa::bench {
namespace {

volatile std::sig_atomic_t g_stop = 0;

void onStopSignal(int) { g_stop = 1; }

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Json readJsonFile(const std::string& path) {
  auto parsed = parseJson(readFile(path));
  if (!parsed) throw std::runtime_error(path + ": " + parsed.error().describe());
  return *parsed;
}

}  // namespace

std::unique_ptr<sandbox::Sandbox> startSandbox(const exa::testing::TempDir& dir) {
  // JailHarness hands out [2^20, 2^21); a bench may run beside the tests, so stay above it.
  return exa::testing::startTestSandbox(dir, 1u << 21, "exa-bench");
}

// The limits the tests use: generous enough that no figure measures a limit being hit.
sandbox::WorkerLimits benchLimits() {
  sandbox::WorkerLimits limits;
  limits.cgroup.memory_bytes = 256ull << 20;
  limits.cgroup.pids = 32;
  limits.cgroup.cpu_percent = 100;
  limits.tmp_bytes = 8ull << 20;
  limits.tmp_inodes = 256;
  limits.nofile = 64;
  return limits;
}

policies::CallLimits benchCallLimits() {
  policies::CallLimits limits;
  limits.timeout = std::chrono::milliseconds(5000);
  limits.max_reply_bytes = 1u << 20;
  return limits;
}

SeedPolicy ipAllowlist() {
  std::string example = std::string(EXA_SOURCE_DIR) + "/examples/ip_allowlist";
  SeedPolicy policy;
  policy.settings_file = example + "/settings.json";
  policy.parameters_file = example + "/parameters.json";
  policy.load.code_dir = example + "/code";
  policy.load.rule_id = "bench";
  policy.load.settings = readJsonFile(policy.settings_file);
  policy.load.parameters = readJsonFile(policy.parameters_file);
  policy.input = Json{{"ip", "192.168.0.1"}};
  return policy;
}

bool isExpectedOutput(const policies::CallResult& result) {
  return result.ok() && result.output.is_object() && result.output.value("allowed", false);
}

std::vector<std::string> baselineArgv(const std::string& mode, const SeedPolicy& policy,
                                      const std::string& code_dir,
                                      const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {"/usr/bin/python3",
                                   std::string(EXA_SOURCE_DIR) + "/bench/baseline_policy.py",
                                   mode,
                                   code_dir,
                                   policy.settings_file,
                                   policy.parameters_file,
                                   dumpJson(policy.input)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

Spawned spawnProcess(const std::vector<std::string>& argv, bool pipes) {
  // A worker starts with an empty environment and no CA bundle in its root, so the policy's
  // remote fetch fails before any network I/O. REQUESTS_CA_BUNDLE makes the baseline fail the
  // same way, rather than timing this machine's DNS.
  std::vector<std::string> env = {"LANG=C.UTF-8",
                                  "REQUESTS_CA_BUNDLE=/nonexistent/ca-certificates.crt"};
  std::vector<char*> argv_c;
  std::vector<char*> env_c;
  for (const auto& a : argv) argv_c.push_back(const_cast<char*>(a.c_str()));
  for (const auto& e : env) env_c.push_back(const_cast<char*>(e.c_str()));
  argv_c.push_back(nullptr);
  env_c.push_back(nullptr);
  UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
  FdPair in;
  FdPair out;
  if (pipes) {
    auto in_pipe = makePipe();
    auto out_pipe = makePipe();
    if (!in_pipe || !out_pipe) throw std::runtime_error("pipe");
    in = std::move(in_pipe).value();
    out = std::move(out_pipe).value();
  }
  int stdin_src = pipes ? in.first.get() : null_fd.get();
  int stdout_src = pipes ? out.second.get() : null_fd.get();
  // We have threads (the sandbox keeper): after fork only async-signal-safe calls.
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    if (::dup2(stdin_src, 0) < 0 || ::dup2(stdout_src, 1) < 0 || ::dup2(null_fd.get(), 2) < 0)
      ::_exit(127);
    ::execve(argv_c[0], argv_c.data(), env_c.data());
    ::_exit(127);
  }
  Spawned spawned;
  spawned.pid = pid;
  if (pipes) {
    spawned.stdin_fd = std::move(in.second);
    spawned.stdout_fd = std::move(out.first);
  }
  return spawned;
}

bool waitSuccess(pid_t pid) {
  int status = 0;
  if (retryEintr([&] { return ::waitpid(pid, &status, 0); }) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string readAll(int fd, bool line) {
  std::string text;
  char buf[4096];
  for (;;) {
    // One byte at a time for a line: what follows the newline is not ours to consume.
    ssize_t n = retryEintr([&] { return ::read(fd, buf, line ? 1 : sizeof buf); });
    if (n <= 0) return text;
    text.append(buf, static_cast<size_t>(n));
    if (line && buf[0] == '\n') return text;
  }
}

double percentile(std::vector<double> samples, double q) {
  if (samples.empty()) return NAN;
  std::sort(samples.begin(), samples.end());
  size_t rank = std::min(samples.size() - 1, static_cast<size_t>(q * samples.size()));
  return samples[rank];
}

double mean(const std::vector<double>& samples) {
  if (samples.empty()) return NAN;
  return std::accumulate(samples.begin(), samples.end(), 0.0) / samples.size();
}

std::map<std::string, long> smapsRollup(pid_t pid) {
  std::map<std::string, long> fields;
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  std::string line;
  while (std::getline(in, line)) {
    // "Pss:                1234 kB"; the header line (address range) has no "kB".
    auto colon = line.find(':');
    if (colon == std::string::npos || line.find(" kB") == std::string::npos) continue;
    fields[line.substr(0, colon)] = std::stol(line.substr(colon + 1));
  }
  return fields;
}

double kibToMib(long kib) { return kib / 1024.0; }

void initBench() {
  log::setLevel("warn");
  struct sigaction action {};
  action.sa_handler = onStopSignal;
  ::sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

bool stopRequested() { return g_stop != 0; }

std::string loadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  return "load average " + one + " " + five + " " + fifteen + " on " + std::to_string(cpus) +
         " cpus";
}

}  // namespace exa::bench
