// spawn_bench: cold start of a jailed worker up to its first eval reply (what a request pays
// when the pool has no warm worker), beside python3 running the same policy with no sandbox.
// Prints figures, ratios and whether the targets are met; asserts nothing.
//   spawn_bench [--iterations N] [--baseline-runs N]
#include <fmt/format.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_support.h"
#include "policies/worker_main.h"
#include "sandbox/frame_channel.h"
#include "sandbox/namespaces.h"

namespace exa::bench {
namespace {

constexpr double kTargetMedianMs = 10.0;
constexpr double kTargetSpeedup = 3.0;

struct Args {
  int iterations = 200;
  int baseline_runs = 50;
  int warmup = 10;
};

Args parseArgs(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--iterations") == 0) args.iterations = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--baseline-runs") == 0) args.baseline_runs = std::atoi(argv[i + 1]);
  }
  args.baseline_runs = std::max(1, std::min(args.baseline_runs, args.iterations));
  return args;
}

struct ColdStart {
  double total_us = 0;
  double teardown_us = 0;
  bool ok = false;
};

// The headline: the pool's cold path, PolicyWorker::start (spawn + init) then a stateless
// eval, up to the reply. Tearing the worker down is timed apart: a request does not wait on it.
ColdStart coldStart(sandbox::Sandbox& sandbox, const SeedPolicy& policy) {
  ColdStart run;
  auto start = Clock::now();
  policies::CallError error;
  auto worker = policies::PolicyWorker::start(sandbox, policy.load, benchLimits(),
                                              benchCallLimits(), &error);
  if (worker) {
    auto result = worker->eval(policy.load.parameters, policy.input, Json::object(),
                               /*fresh_instance=*/true);
    run.total_us = usSince(start);
    run.ok = isExpectedOutput(result);
  }
  auto teardown = Clock::now();
  worker.reset();
  run.teardown_us = usSince(teardown);
  return run;
}

Json request(int channel, const Json& message) {
  auto deadline = sandbox::Clock::now() + benchCallLimits().timeout;
  Status sent = sandbox::writeFrame(channel, dumpJson(message), deadline);
  if (!sent) return Json{{"ok", false}, {"error", sent.error().describe()}};
  auto frame = sandbox::readFrame(channel, policies::kMaxRequestFrame, deadline);
  if (!frame) return Json{{"ok", false}, {"error", frame.error().describe()}};
  auto reply = parseJson(*frame);
  return reply ? *reply : Json{{"ok", false}, {"error", "malformed reply"}};
}

struct Stages {
  double spawn_us = 0;
  double jail_us = 0;
  double init_us = 0;
  double eval_us = 0;
  double second_eval_us = 0;
  // The worker's minor page faults (copy-on-write of the zygote's pages, mostly) when each
  // stage ended: spawn, jail, init, first eval, second eval.
  std::vector<double> faults;
  bool ok = false;
};

// minflt, the 10th field of /proc/<pid>/stat (the 8th after the ")" that ends comm).
double minorFaults(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  auto close = line.rfind(')');
  if (close == std::string::npos) return NAN;
  std::istringstream fields(line.substr(close + 1));
  std::string field;
  for (int i = 0; i < 8; ++i) fields >> field;
  return std::atof(field.c_str());
}

// The same cold start spoken by hand, with a timestamp per stage. Sandbox::spawn returns once
// it holds a pre-jailed worker (a spare, or a fresh clone) and has sent it the handoff (limits
// and code); the child then finishes its jail, so the answer to a first frame (an unknown op,
// answered without touching the policy) marks the end of the jail. That probe costs one extra round trip (tens of µs).
Stages coldStartStages(sandbox::Sandbox& sandbox, const SeedPolicy& policy) {
  Stages stages;
  auto start = Clock::now();
  auto worker = sandbox.spawn(policy.load.code_dir, benchLimits(),
                              Clock::now() + std::chrono::seconds(10));
  if (!worker) return stages;
  stages.spawn_us = usSince(start);
  int channel = worker->channel.get();
  pid_t pid = worker->process.pid();
  stages.faults.push_back(minorFaults(pid));

  auto mark = Clock::now();
  Json probe = request(channel, Json{{"op", "bench_probe"}});
  stages.jail_us = usSince(mark);
  stages.faults.push_back(minorFaults(pid));

  mark = Clock::now();
  auto limits = benchCallLimits();
  Json loaded = request(channel, Json{{"op", "init"},
                                     {"rule_id", policy.load.rule_id},
                                     {"settings", policy.load.settings},
                                     {"parameters", policy.load.parameters},
                                     {"max_reply_bytes", limits.max_reply_bytes},
                                     {"max_log_bytes", limits.max_log_bytes}});
  stages.init_us = usSince(mark);
  stages.faults.push_back(minorFaults(pid));

  Json eval = {{"op", "eval"},
               {"parameters", policy.load.parameters},
               {"input", policy.input},
               {"context", Json::object()},
               {"fresh_instance", true}};
  mark = Clock::now();
  Json evaluated = request(channel, eval);
  stages.eval_us = usSince(mark);
  stages.faults.push_back(minorFaults(pid));
  // Not part of the cold start: what the first eval pays once (lazy imports, copy-on-write
  // faults on the zygote's heap) shows as its difference to a second one.
  mark = Clock::now();
  Json again = request(channel, eval);
  stages.second_eval_us = usSince(mark);
  stages.faults.push_back(minorFaults(pid));
  bool probed = probe.contains("error") && probe["error"].is_object();
  stages.ok = probed && loaded.value("ok", false) && evaluated.value("ok", false) &&
              evaluated["output"].value("allowed", false) && again.value("ok", false);
  return stages;  // the WorkerProcess kills and reaps the worker
}

// clone3 with `flags`, the child exiting at once: what the kernel charges for creating (and
// reaping) the namespaces alone, without the zygote, the jail or Python.
double bareClone(unsigned long flags) {
  auto start = Clock::now();
  struct clone_args args {};
  args.flags = flags;
  args.exit_signal = SIGCHLD;
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) ::_exit(0);
  if (pid > 0) waitSuccess(static_cast<pid_t>(pid));
  return usSince(start);
}

// The baseline: fork + exec + wait of `python3 baseline_policy.py once ...`.
double baselineRun(const std::vector<std::string>& argv, bool* ok) {
  auto start = Clock::now();
  Spawned child = spawnProcess(argv, /*pipes=*/false);
  *ok = waitSuccess(child.pid);
  return usSince(start);
}

bool baselineAnswersCorrectly(const std::vector<std::string>& argv) {
  Spawned child = spawnProcess(argv, /*pipes=*/true);
  child.stdin_fd.reset();
  std::string out = readAll(child.stdout_fd.get());
  return waitSuccess(child.pid) && out.find("\"allowed\": true") != std::string::npos;
}

std::string ms(double us) { return fmt::format("{:8.2f} ms", us / 1000); }

void printRow(const std::string& name, const std::vector<double>& us) {
  fmt::print("  {:<46} {:>5} {} {} {} {}\n", name, us.size(), ms(percentile(us, 0.5)),
             ms(percentile(us, 0.9)), ms(mean(us)), ms(percentile(us, 0.0)));
}

int run(const Args& args) {
  exa::testing::TempDir dir;
  auto sandbox = startSandbox(dir);
  SeedPolicy policy = ipAllowlist();
  auto baseline_argv = baselineArgv("once", policy, policy.load.code_dir);
  if (!baselineAnswersCorrectly(baseline_argv)) {
    fmt::print(stderr, "spawn_bench: the python3 baseline did not answer allowed=true\n");
    return 1;
  }
  for (int i = 0; i < args.warmup; ++i) coldStart(*sandbox, policy);
  std::string load_before = loadAverage();

  // Interleaved, the order of the two jailed runs alternating, so that whatever else runs on
  // the machine (and the kernel's deferred clean-up of the previous worker's namespaces) weighs
  // on every series alike.
  std::vector<double> jailed, teardown, spawn, jail, init, eval, second_eval, stage_sum, baseline;
  std::vector<std::vector<double>> faults(5);
  int failures = 0;
  auto headline = [&] {
    ColdStart cold = coldStart(*sandbox, policy);
    if (!cold.ok) return void(++failures);
    jailed.push_back(cold.total_us);
    teardown.push_back(cold.teardown_us);
  };
  auto stages = [&] {
    Stages s = coldStartStages(*sandbox, policy);
    if (!s.ok) return void(++failures);
    spawn.push_back(s.spawn_us);
    jail.push_back(s.jail_us);
    init.push_back(s.init_us);
    eval.push_back(s.eval_us);
    second_eval.push_back(s.second_eval_us);
    stage_sum.push_back(s.spawn_us + s.jail_us + s.init_us + s.eval_us);
    for (size_t k = 0; k < s.faults.size(); ++k) faults[k].push_back(s.faults[k]);
  };
  int every = std::max(1, args.iterations / args.baseline_runs);
  for (int i = 0; i < args.iterations && !stopRequested(); ++i) {
    if (i % 2 == 0) {
      headline();
      stages();
    } else {
      stages();
      headline();
    }
    if (i % every == 0 && static_cast<int>(baseline.size()) < args.baseline_runs) {
      bool ok = false;
      double us = baselineRun(baseline_argv, &ok);
      ok ? baseline.push_back(us) : void(++failures);
    }
  }
  // Apart, so that their own namespace clean-up does not land on the cold starts.
  std::vector<double> clone_ns, clone_ns_no_net;
  for (int i = 0; i < args.iterations && !stopRequested(); ++i) {
    clone_ns.push_back(bareClone(sandbox::kWorkerCloneFlags));
    clone_ns_no_net.push_back(bareClone(sandbox::kWorkerCloneFlags & ~CLONE_NEWNET));
  }

  double jailed_median = percentile(jailed, 0.5);
  double speedup = percentile(baseline, 0.5) / jailed_median;
  fmt::print("spawn_bench: cold start to the first eval reply, seed ip_allowlist policy\n");
  fmt::print("  {} before, {} after; {} warm-up runs not counted\n", load_before, loadAverage(),
             args.warmup);
  fmt::print("  {:<46} {:>5} {:>11} {:>11} {:>11} {:>11}\n", "", "runs", "median", "p90", "mean",
             "min");
  printRow("jailed: PolicyWorker::start + eval (fresh)", jailed);
  printRow("baseline: python3 policy, fork+exec+wait", baseline);
  fmt::print("  ratio baseline/jailed (medians): {:.1f}x\n", speedup);
  fmt::print("  target jailed median <= {:.0f} ms: {} ({:.2f} ms)\n", kTargetMedianMs,
             jailed_median <= kTargetMedianMs * 1000 ? "met" : "NOT met", jailed_median / 1000);
  fmt::print("  target >= {:.0f}x faster than the baseline: {} ({:.1f}x)\n", kTargetSpeedup,
             speedup >= kTargetSpeedup ? "met" : "NOT met", speedup);
  fmt::print("breakdown (separate runs, same protocol by hand):\n");
  printRow("spawn: cgroup leaf, clone3, id maps, go", spawn);
  printRow("jail: finishJail + first frame answered", jail);
  printRow("init: import function.py + constructor", init);
  printRow("first eval (fresh instance)", eval);
  printRow("sum of the stages", stage_sum);
  // Cumulative counts, so each stage's share is the difference to the previous one.
  fmt::print("  worker minor page faults so far (medians): after spawn {:.0f}, jail {:.0f}, "
             "init {:.0f}, first eval {:.0f}, second eval {:.0f}\n",
             percentile(faults[0], 0.5), percentile(faults[1], 0.5), percentile(faults[2], 0.5),
             percentile(faults[3], 0.5), percentile(faults[4], 0.5));
  fmt::print("not in the cold start:\n");
  printRow("second eval on the same worker", second_eval);
  printRow("teardown: kill, reap, cgroup rmdir", teardown);
  printRow("bare clone3+exit+wait, the worker's namespaces", clone_ns);
  printRow("the same without CLONE_NEWNET", clone_ns_no_net);
  fmt::print("  failed runs: {}\n", failures);
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace exa::bench

int main(int argc, char** argv) {
  exa::bench::initBench();
  try {
    return exa::bench::run(exa::bench::parseArgs(argc, argv));
  } catch (const std::exception& e) {
    fmt::print(stderr, "spawn_bench: {}\n", e.what());
    return 1;
  }
}
