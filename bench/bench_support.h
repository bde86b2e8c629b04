// What the benchmarks share: a real Sandbox started from the built executor-agent (as the
// tests' JailHarness does, without gtest), the seed's ip_allowlist policy, the no-sandbox
// python3 baseline (bench/baseline_policy.py), percentiles and /proc memory figures.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/json_util.h"
#include "common/unique_fd.h"
#include "policies/policy_worker.h"
#include "sandbox/sandbox.h"
#include "tests/support/temp_dir.h"
#include "tests/support/temp_dir.h"

namespace exa::bench {

using Clock = std::chrono::steady_clock;

/// Microseconds since `start`.
inline double usSince(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

/// The jail as the agent runs it: zygote from the built binary, a runtime dir and cgroup name
/// of our own, and a host uid range the tests' JailHarness never hands out.
std::unique_ptr<sandbox::Sandbox> startSandbox(const exa::testing::TempDir& dir);
sandbox::WorkerLimits benchLimits();
policies::CallLimits benchCallLimits();

/// The seed's policy with its settings.json/parameters.json, and the input the README uses.
struct SeedPolicy {
  policies::PolicyLoad load;
  Json input;
  std::string settings_file;
  std::string parameters_file;
};
SeedPolicy ipAllowlist();
/// True when `result` is the allowlist's "allowed" answer for the README's input.
bool isExpectedOutput(const policies::CallResult& result);

/// argv for `/usr/bin/python3 bench/baseline_policy.py MODE ...` on `code_dir` (extra args last).
std::vector<std::string> baselineArgv(const std::string& mode, const SeedPolicy& policy,
                                      const std::string& code_dir,
                                      const std::vector<std::string>& extra = {});

/// A started process with pipes to its stdin and from its stdout.
struct Spawned {
  pid_t pid = -1;
  UniqueFd stdin_fd;
  UniqueFd stdout_fd;
};
/// fork + execve with the baseline's environment (see bench_support.cpp). Stderr goes to
/// /dev/null; with `pipes` false stdin/stdout do too, and the fds stay empty.
Spawned spawnProcess(const std::vector<std::string>& argv, bool pipes);
/// Waits for `pid`; true when it exited with status 0.
bool waitSuccess(pid_t pid);
/// Reads `fd` to EOF, or up to and including the first newline when `line`.
std::string readAll(int fd, bool line = false);

/// Nearest-rank percentile (q in [0, 1]) of unsorted samples.
double percentile(std::vector<double> samples, double q);
double mean(const std::vector<double>& samples);

/// Fields of /proc/<pid>/smaps_rollup in KiB ("Rss", "Pss", "Private_Dirty", ...); empty on error.
std::map<std::string, long> smapsRollup(pid_t pid);
double kibToMib(long kib);

/// First thing in main: keeps the agent's info logs out of the tables, and makes SIGINT/SIGTERM
/// set a flag instead of killing us, so that a bench stopped by hand still tears down its
/// workers, cgroup leaves and temp dir; loops poll stopRequested().
void initBench();
bool stopRequested();

/// Machine load now, for the header of every table: the figures depend on it.
std::string loadAverage();

}  // namespace exa::bench
