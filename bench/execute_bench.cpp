// execute_bench: warm round trip agent -> worker -> agent of one stateless eval (a fresh
// AIOSv1PolicyRule per call, as type 2 calls run), on one warm PolicyWorker and through
// WorkerPool::eval, beside the same eval called in-process by a plain python3 loop (no jail, no
// IPC), so that what the jail's protocol adds is visible. Prints figures; asserts nothing.
//   execute_bench [--calls N]
#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "bench/bench_support.h"
#include "policies/worker_pool.h"

namespace exa::bench {
namespace {

constexpr double kTargetMedianUs = 50.0;
constexpr int kWarmupCalls = 500;

// A policy that does nothing: its round trip is the floor set by the protocol and the jail.
constexpr const char* kNoopPolicy = R"(
class AIOSv1PolicyRule:
    def __init__(self, rule_id, settings, parameters):
        self.settings = settings
    def eval(self, parameters, input_data, context):
        return {"allowed": True}
)";

// Runs the seed's policy (copied beside it as allowlist_policy.py) in a loop inside the worker,
// timing each construct + eval as baseline_policy.py does on the host: the policy's own cost
// inside the jail, without IPC, so the jail's environment (seccomp, missing files) and the
// protocol can be told apart.
constexpr const char* kInJailLoopPolicy = R"(
import json
import time

import allowlist_policy


class AIOSv1PolicyRule:
    def __init__(self, rule_id, settings, parameters):
        self.settings_text = json.dumps(settings)

    def eval(self, parameters, input_data, context):
        cls = allowlist_policy.AIOSv1PolicyRule
        ip = {"ip": input_data["ip"]}
        clock = time.perf_counter_ns
        samples = []
        for _ in range(input_data["calls"]):
            start = clock()
            cls("bench", json.loads(self.settings_text), parameters).eval(parameters, ip, {})
            samples.append(clock() - start)
        return {"allowed": True, "samples_ns": samples}
)";

// One series of timed calls. The series take turns, a slice each per round, so that whatever
// else runs on the machine weighs on all of them alike.
constexpr int kRounds = 10;

struct Series {
  std::string name;
  std::function<policies::CallResult()> call;  // empty when the samples come from python
  std::vector<double> us;
  int failures = 0;
};

// Times `calls` calls one by one; a call counts as failed unless it gave `allowed`.
void timeCalls(Series& series, int calls) {
  for (int i = 0; i < calls && !stopRequested(); ++i) {
    auto start = Clock::now();
    policies::CallResult result = series.call();
    double us = usSince(start);
    if (isExpectedOutput(result)) {
      series.us.push_back(us);
    } else {
      ++series.failures;
    }
  }
}

// The in-process loop of bench/baseline_policy.py: per-call times of construct + eval.
void pythonLoop(Series& series, const SeedPolicy& policy, int calls) {
  auto argv = baselineArgv("loop", policy, policy.load.code_dir, {std::to_string(calls)});
  Spawned child = spawnProcess(argv, /*pipes=*/true);
  child.stdin_fd.reset();
  auto parsed = parseJson(readAll(child.stdout_fd.get()));
  if (!waitSuccess(child.pid) || !parsed || !parsed->contains("samples_ns")) {
    series.failures += calls;
    return;
  }
  for (const auto& ns : (*parsed)["samples_ns"]) series.us.push_back(ns.get<double>() / 1000);
}

// `calls` construct + eval timed inside the worker by kInJailLoopPolicy.
void inJailLoop(Series& series, policies::PolicyWorker& worker, const SeedPolicy& policy,
                int calls) {
  Json input = policy.input;
  input["calls"] = calls;
  auto result = worker.eval(policy.load.parameters, input, Json::object(), true);
  if (!isExpectedOutput(result) || !result.output.contains("samples_ns")) {
    series.failures += calls;
    return;
  }
  for (const auto& ns : result.output["samples_ns"]) series.us.push_back(ns.get<double>() / 1000);
}

std::string us(double value) { return fmt::format("{:9.1f} µs", value); }

void printHeader() {
  fmt::print("  {:<44} {:>6} {:>12} {:>12} {:>12} {:>12}\n", "", "calls", "median", "p90", "p99",
             "mean");
}

void printSeries(const Series& s) {
  fmt::print("  {:<44} {:>6} {} {} {} {}\n", s.name, s.us.size(), us(percentile(s.us, 0.5)),
             us(percentile(s.us, 0.9)), us(percentile(s.us, 0.99)), us(mean(s.us)));
}

std::string verdict(double median_us) {
  return fmt::format("{} ({:.1f} µs)", median_us <= kTargetMedianUs ? "met" : "NOT met",
                     median_us);
}

int run(int calls) {
  exa::testing::TempDir dir;
  auto sandbox = startSandbox(dir);
  SeedPolicy policy = ipAllowlist();
  SeedPolicy noop = policy;
  noop.load.code_dir = dir.path() + "/noop";
  dir.write("noop/function.py", kNoopPolicy);
  SeedPolicy in_jail = policy;
  in_jail.load.code_dir = dir.path() + "/in_jail_loop";
  dir.write("in_jail_loop/function.py", kInJailLoopPolicy);
  std::ifstream seed(policy.load.code_dir + "/function.py");
  dir.write("in_jail_loop/allowlist_policy.py",
            std::string(std::istreambuf_iterator<char>(seed), std::istreambuf_iterator<char>()));

  auto startWorker = [&](const SeedPolicy& p) {
    policies::CallError error;
    auto worker = policies::PolicyWorker::start(*sandbox, p.load, benchLimits(),
                                                benchCallLimits(), &error);
    if (!worker) throw std::runtime_error("worker: " + error.toJson().dump());
    return worker;
  };
  auto evalOn = [](policies::PolicyWorker& worker, const SeedPolicy& p) {
    return worker.eval(p.load.parameters, p.input, Json::object(), /*fresh_instance=*/true);
  };
  auto policy_worker = startWorker(policy);
  auto noop_worker = startWorker(noop);
  auto in_jail_worker = startWorker(in_jail);
  // The pool's defaults: a worker retires after max_calls_per_worker calls, so a long run
  // includes the odd cold start, as production does.
  policies::WorkerPool pool(*sandbox, policies::PoolOptions{});
  policies::PolicyCall call{"ip_allowlist", policy.load, benchLimits(), benchCallLimits(),
                            policies::Isolation::kWarm};
  std::vector<Series> jailed;
  jailed.push_back({"jailed: PolicyWorker::eval, ip_allowlist",
                    [&] { return evalOn(*policy_worker, policy); }});
  jailed.push_back({"jailed: WorkerPool::eval, ip_allowlist",
                    [&] { return pool.eval(call, policy.load.parameters, policy.input, {}); }});
  jailed.push_back({"jailed: PolicyWorker::eval, no-op policy",
                    [&] { return evalOn(*noop_worker, noop); }});
  Series in_process{"baseline: python3 in-process, ip_allowlist", {}};
  Series noop_in_process{"baseline: python3 in-process, no-op policy", {}};
  Series in_jail_loop{"jailed, in-process loop in a worker (no IPC)", {}};

  std::string load_before = loadAverage();
  for (auto& s : jailed) {  // warm-up, not counted
    timeCalls(s, kWarmupCalls);
    s.us.clear();
  }
  inJailLoop(in_jail_loop, *in_jail_worker, in_jail, kWarmupCalls);
  in_jail_loop.us.clear();
  int slice = std::max(1, calls / kRounds);
  for (int round = 0; round < kRounds && !stopRequested(); ++round) {
    for (auto& s : jailed) timeCalls(s, slice);
    pythonLoop(in_process, policy, slice);
    pythonLoop(noop_in_process, noop, slice);
    inJailLoop(in_jail_loop, *in_jail_worker, in_jail, slice);
  }
  policies::PoolStats stats = pool.stats();

  fmt::print("execute_bench: warm round trip of one stateless eval (fresh instance per call)\n");
  fmt::print("  {} before, {} after; {} rounds; {} warm-up calls per series not counted\n",
             load_before, loadAverage(), kRounds, kWarmupCalls);
  printHeader();
  for (const auto& s : jailed) printSeries(s);
  printSeries(in_process);
  printSeries(noop_in_process);
  printSeries(in_jail_loop);

  double worker_median = percentile(jailed[0].us, 0.5);
  double noop_median = percentile(jailed[2].us, 0.5);
  double baseline_median = percentile(in_process.us, 0.5);
  double noop_baseline_median = percentile(noop_in_process.us, 0.5);
  fmt::print("  pool: {} spawned, {} reused, {} retired\n", stats.spawned, stats.reused,
             stats.retired);
  fmt::print("  jail+IPC+protocol overhead (medians): ip_allowlist +{:.1f} µs ({:.1f}x the "
             "in-process call), no-op +{:.1f} µs\n",
             worker_median - baseline_median, worker_median / baseline_median,
             noop_median - noop_baseline_median);
  fmt::print("  target median <= {:.0f} µs: PolicyWorker {}, WorkerPool {}, no-op {}\n",
             kTargetMedianUs, verdict(worker_median), verdict(percentile(jailed[1].us, 0.5)),
             verdict(noop_median));
  int failures = in_process.failures + noop_in_process.failures + in_jail_loop.failures;
  for (const auto& s : jailed) failures += s.failures;
  fmt::print("  failed calls: {}\n", failures);
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace exa::bench

int main(int argc, char** argv) {
  int calls = 20000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--calls") == 0) calls = std::atoi(argv[i + 1]);
  }
  exa::bench::initBench();
  try {
    return exa::bench::run(calls);
  } catch (const std::exception& e) {
    fmt::print(stderr, "execute_bench: {}\n", e.what());
    return 1;
  }
}
