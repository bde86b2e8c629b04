// memory_bench: what idle warm workers of one policy cost in memory. Starts N PolicyWorkers of
// the seed's ip_allowlist (loaded, one eval each) and sums their PSS from smaps_rollup, beside
// the zygote's and beside plain python3 processes holding the same policy (no zygote, nothing
// shared but what the page cache shares). Prints figures; asserts nothing.
//   memory_bench [--workers N]
#include <dirent.h>
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.h"

namespace exa::bench {
namespace {

constexpr double kTargetPssMib = 4.0;

// The zygote is our child (the workers are too, through CLONE_PARENT) running `__zygote`.
pid_t findZygote(const std::set<pid_t>& workers) {
  pid_t self = ::getpid();
  std::unique_ptr<DIR, int (*)(DIR*)> proc(::opendir("/proc"), ::closedir);
  while (struct dirent* e = proc ? ::readdir(proc.get()) : nullptr) {
    pid_t pid = std::atoi(e->d_name);
    if (pid <= 0 || workers.count(pid)) continue;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    // ppid is the second field after the ")" that ends comm.
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    pid_t ppid = 0;
    if (std::sscanf(line.c_str() + close + 1, " %c %d", &state, &ppid) != 2 || ppid != self)
      continue;
    std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
    std::string args((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
    if (args.find("__zygote") != std::string::npos) return pid;
  }
  return -1;
}

struct Footprint {
  std::vector<double> pss_mib;
  std::vector<double> uss_mib;  // Private_Clean + Private_Dirty: freed if the process exits
  std::vector<double> rss_mib;
  double total_pss_mib = 0;
};

Footprint measure(const std::vector<pid_t>& pids) {
  Footprint f;
  for (pid_t pid : pids) {
    auto fields = smapsRollup(pid);
    f.pss_mib.push_back(kibToMib(fields["Pss"]));
    f.uss_mib.push_back(kibToMib(fields["Private_Clean"] + fields["Private_Dirty"]));
    f.rss_mib.push_back(kibToMib(fields["Rss"]));
    f.total_pss_mib += kibToMib(fields["Pss"]);
  }
  return f;
}

void printHeader() {
  fmt::print("  {:<46} {:>5} {:>10} {:>10} {:>10} {:>10}\n", "", "procs", "PSS each", "USS each",
             "RSS each", "PSS total");
}

// Medians per process, and the sum of PSS over all of them.
void printRow(const std::string& name, const Footprint& f) {
  fmt::print("  {:<46} {:>5} {:>6.2f} MiB {:>6.2f} MiB {:>6.2f} MiB {:>6.1f} MiB\n", name,
             f.pss_mib.size(), percentile(f.pss_mib, 0.5), percentile(f.uss_mib, 0.5),
             percentile(f.rss_mib, 0.5), f.total_pss_mib);
}

// N plain python3 processes that imported the policy, built it and ran one eval, then wait.
std::vector<Spawned> startBaselines(const SeedPolicy& policy, int count) {
  std::vector<Spawned> children;
  for (int i = 0; i < count; ++i) {
    children.push_back(spawnProcess(baselineArgv("hold", policy, policy.load.code_dir), true));
    if (readAll(children.back().stdout_fd.get(), /*line=*/true) != "ready\n")
      throw std::runtime_error("a python3 baseline process did not get ready");
  }
  return children;
}

void stopBaselines(std::vector<Spawned>& children) {
  for (auto& child : children) {
    child.stdin_fd.reset();  // EOF on stdin is their cue to exit
    waitSuccess(child.pid);
  }
}

int run(int count) {
  exa::testing::TempDir dir;
  auto sandbox = startSandbox(dir);
  SeedPolicy policy = ipAllowlist();
  // The zygote alone first: with workers running it shares its pages, and its PSS drops.
  pid_t zygote = findZygote({});
  Footprint zygote_alone = measure({zygote});

  std::vector<std::unique_ptr<policies::PolicyWorker>> workers;
  std::vector<pid_t> worker_pids;
  std::set<pid_t> worker_set;
  for (int i = 0; i < count && !stopRequested(); ++i) {
    policies::CallError error;
    auto worker = policies::PolicyWorker::start(*sandbox, policy.load, benchLimits(),
                                                benchCallLimits(), &error);
    if (!worker) throw std::runtime_error("worker: " + error.toJson().dump());
    auto result = worker->eval(policy.load.parameters, policy.input, Json::object(), true);
    if (!isExpectedOutput(result)) throw std::runtime_error("eval: " + result.toJson().dump());
    worker_pids.push_back(worker->pid());
    worker_set.insert(worker->pid());
    workers.push_back(std::move(worker));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let them go idle
  Footprint jailed = measure(worker_pids);
  Footprint zygote_shared = measure({findZygote(worker_set)});
  workers.clear();

  std::vector<Spawned> one = startBaselines(policy, 1);
  Footprint baseline_one = measure({one[0].pid});
  stopBaselines(one);
  std::vector<Spawned> many = startBaselines(policy, count);
  std::vector<pid_t> many_pids;
  for (const auto& child : many) many_pids.push_back(child.pid);
  Footprint baseline_many = measure(many_pids);
  stopBaselines(many);

  double per_worker = percentile(jailed.pss_mib, 0.5);
  double with_zygote = jailed.total_pss_mib + zygote_shared.total_pss_mib;
  fmt::print("memory_bench: {} idle warm workers of ip_allowlist (loaded, one eval each)\n",
             count);
  fmt::print("  {}; USS = Private_Clean + Private_Dirty; figures per process are medians\n",
             loadAverage());
  printHeader();
  printRow("jailed workers", jailed);
  printRow("zygote, with the workers running", zygote_shared);
  printRow("zygote alone, before any worker", zygote_alone);
  printRow("baseline: one python3 holding the policy", baseline_one);
  printRow(fmt::format("baseline: {} python3 holding the policy", count), baseline_many);
  fmt::print("  workers + zygote: {:.1f} MiB; per worker, zygote included: {:.2f} MiB; "
             "added by each worker over the zygote alone: {:.2f} MiB\n",
             with_zygote, with_zygote / count,
             (with_zygote - zygote_alone.total_pss_mib) / count);
  fmt::print("  ratio baseline/jailed PSS per process: one python3 {:.1f}x, {} python3 {:.1f}x\n",
             percentile(baseline_one.pss_mib, 0.5) / per_worker, count,
             percentile(baseline_many.pss_mib, 0.5) / per_worker);
  fmt::print("  target <= {:.0f} MiB PSS per worker: {} ({:.2f} MiB)\n", kTargetPssMib,
             per_worker <= kTargetPssMib ? "met" : "NOT met", per_worker);
  return 0;
}

}  // namespace
}  // namespace exa::bench

int main(int argc, char** argv) {
  int workers = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--workers") == 0) workers = std::max(1, std::atoi(argv[i + 1]));
  }
  exa::bench::initBench();
  try {
    return exa::bench::run(workers);
  } catch (const std::exception& e) {
    fmt::print(stderr, "memory_bench: {}\n", e.what());
    return 1;
  }
}
