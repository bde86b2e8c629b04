// Jobs and functions (types 3 and 4) on the Kubernetes backends (docs/kubernetes.md), through the
// agent's own routes against the fake API server (tests/support/fake_apiserver.py, --auto-tick),
// each beside the local backend measured in the same run: (1) a Job's submit-to-completed
// latency, and how much of it is the adapter once the fake's simulated run and its API replies
// are taken out; (2) function call throughput through the API server's service proxy to a real
// pod agent (`serve --host-function`), with the pod agent called directly and through the fake
// without the adapter, so that the fake's cost and the adapter's come apart. Prints figures;
// nothing is asserted.
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/bench_support.h"
#include "bench/http_load.h"
#include "kubernetes/api_client.h"
#include "kubernetes/function_manifests.h"
#include "kubernetes/job_manifest.h"
#include "kubernetes/watch.h"
#include "tests/support/agent_process.h"
#include "tests/support/agent_server.h"
#include "tests/support/fake_apiserver.h"
#include "tests/support/http_client.h"
#include "tests/support/policy_fixture.h"
#include "tests/support/temp_dir.h"

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using exa::Json;
using exa::bench::Clock;
using exa::bench::usSince;
using exa::testing::httpRequest;

namespace exa::bench {
namespace {

constexpr const char* kNamespace = "policies";  // the fake kubeconfig's context namespace
constexpr const char* kK8sExecutor = "bench-k8s";
constexpr const char* kLocalExecutor = "bench-local";
constexpr const char* kPolicyUri = "fast:1-x";  // onboardPolicy's "<name>:1-x"
constexpr const char* kFunction = "bench-fn";
constexpr const char* kPolicy =
    "class AIOSv1PolicyRule:\n"
    "    def __init__(self, rule_id, settings, parameters): pass\n"
    "    def eval(self, parameters, input_data, context): return {'ok': True}\n";
// The pod's simulated run: the fake's smallest, so that its share of a job's latency is least.
constexpr int kRunSeconds = 1;
// The fake's --auto-tick: 1 virtual second per 20 ms of wall time, plus the tick's own work.
constexpr double kTickMs = 20;

void print(const char* name, const LoadResult& r) {
  std::printf("  %-52s %7.0f req/s   p50 %8.1f µs   p99 %8.1f µs   failures %zu\n", name,
              r.requests_per_second, r.p50_us, r.p99_us, r.failures);
}

void printLatency(const char* name, const std::vector<double>& us, size_t failures) {
  std::printf("  %-52s p50 %8.1f µs   p90 %8.1f µs   failures %zu\n", name, percentile(us, 0.50),
              percentile(us, 0.90), failures);
}

void explain(const char* figure, double us, const char* meaning) {
  std::printf("  %-52s %8.1f µs   # %s\n", figure, us, meaning);
}

// Setup that did not work makes every figure meaningless: stop with the answer. Status 2 is
// any 2xx (the fake's control routes answer 200 or 201).
exa::testing::HttpResult expect(int status, exa::testing::HttpResult r, const std::string& what) {
  if (status == 2 ? r.status / 100 != 2 : r.status != status)
    throw std::runtime_error(what + ": HTTP " + std::to_string(r.status) + " " + r.body);
  return r;
}

/// CPU seconds (user + system, all threads) `pid` has used: where a series' cores went. The
/// jail's workers are other processes and are not counted.
double cpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = text.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  long ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i)  // utime and stime are fields 14 and 15
    if (i >= 14) ticks += std::stol(field);
  return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::string percentEncode(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

/// The fake with auto-tick, the namespace the kubeconfig names, and two agents beside it: one
/// whose jobs and functions run on the fake cluster, one on this machine's jail (the baseline).
class Bench {
 public:
  Bench() : fake_(exa::testing::FakeApiServerOptions{.auto_tick = true}) {
    expect(201, fakeRequest("POST", "/api/v1/namespaces",
                            Json{{"metadata", {{"name", kNamespace}}}}.dump()),
           "namespace " + std::string(kNamespace));
    // The fake wrote a kubeconfig for itself (server URL, context namespace "policies").
    const std::string config = config_dir_.path() + "/agent.toml";
    std::ofstream(config) << "[kubernetes]\nkubeconfig = \"" << fake_.kubeconfig_path() << "\"\n"
                          << "image = \"registry.test/executor-agent:bench\"\n"
                          // What pods would read policies from; the fake runs no pods.
                          << "agent_url = \"http://agent.cluster.test:10000\"\n"
                          << "job_backoff_limit = 0\n"
                          // Finished Jobs go soon (10 virtual s: ~0.3 s here, long after the
                          // agent read the log): each tick walks every stored object, so a
                          // store that kept them all would slow the fake as the run goes on.
                          << "job_ttl_seconds = 10\n";
    k8s_ = std::make_unique<exa::testing::AgentServer>(
        agentArgs(k8s_dir_, kK8sExecutor, {"--config", config}));
    local_ = std::make_unique<exa::testing::AgentServer>(agentArgs(local_dir_, kLocalExecutor));
    expect(201, exa::testing::onboardPolicy(k8s_->port(), k8s_dir_, "fast", kPolicy), "onboard");
    expect(201, exa::testing::onboardPolicy(local_->port(), local_dir_, "fast", kPolicy),
           "onboard");
  }

  /// Every agent of the run gets the same flags: warn logs (the tables stay readable), and
  /// in-flight calls per policy above the load's connections, so that a call waits for the one
  /// replica instead of being refused as busy (the default is half the HTTP threads: 1 here).
  static std::vector<std::string> agentArgs(const exa::testing::TempDir& dir,
                                            const std::string& executor,
                                            std::vector<std::string> extra = {}) {
    std::vector<std::string> flags = {"--executor-id", executor, "--log-level", "warn",
                                      "--max-in-flight-per-policy", "16"};
    flags.insert(flags.end(), extra.begin(), extra.end());
    return exa::testing::agentArgs(dir, flags);
  }

  exa::testing::HttpResult fakeRequest(const std::string& method, const std::string& target,
                                       const std::string& body = {},
                                       const std::map<std::string, std::string>& headers = {}) {
    return httpRequest(fake_.port(), method, target, body, "", "application/json", headers);
  }
  double fakeClock() {
    auto clock = expect(200, fakeRequest("GET", "/__fake/clock"), "clock");
    return clock.json["epochSeconds"].get<double>();
  }
  /// The fake's request log (one JSON object per line), non-/__fake/ requests only.
  std::vector<Json> apiRequests() {
    std::vector<Json> lines;
    std::istringstream text(fakeRequest("GET", "/__fake/requests").body);
    for (std::string line; std::getline(text, line);) {
      auto parsed = exa::parseJson(line);
      if (parsed && parsed->value("path", "").rfind("/__fake/", 0) != 0) lines.push_back(*parsed);
    }
    return lines;
  }

  uint16_t fakePort() const { return fake_.port(); }
  pid_t fakePid() const { return fake_.pid(); }
  const exa::testing::AgentServer& k8s() const { return *k8s_; }
  const exa::testing::AgentServer& local() const { return *local_; }
  const exa::testing::TempDir& k8sDir() const { return k8s_dir_; }

 private:
  exa::testing::TempDir config_dir_, k8s_dir_, local_dir_;
  exa::testing::FakeApiServer fake_;
  std::unique_ptr<exa::testing::AgentServer> k8s_, local_;
};

/// One job, submitted and polled every 1 ms until it ends: the figure's resolution is that plus
/// one GET's round trip.
struct JobTimes {
  Clock::time_point start;  ///< just before the submit
  double submit_us = 0;     ///< the submit's 201
  double done_us = -1;      ///< submit -> completed; negative when it failed or never ended
};

JobTimes runJob(uint16_t port, const std::string& executor, const std::string& job_id) {
  const Json body = {{"job_id", job_id}, {"name", "bench-" + job_id},
                     {"policy_rule_uri", kPolicyUri}, {"inputs", {{"x", 1}}}};
  JobTimes times;
  times.start = Clock::now();
  auto r = httpRequest(port, "POST", "/jobs/submit/" + executor, body.dump());
  times.submit_us = usSince(times.start);
  if (r.status != 201) return times;
  std::string status;
  while (usSince(times.start) < 20e6) {
    const Json data = httpRequest(port, "GET", "/jobs/" + job_id).json["data"];
    status = data.is_object() ? data.value("job_status", "") : "";
    if (status == "completed" || status == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (status == "completed") times.done_us = usSince(times.start);
  return times;
}

/// The fake's API requests the agent made for one job, replayed from here on fresh connections
/// (as the agent's libcurl makes them: one easy handle per request): what the fake's Python
/// takes to answer them. The create is replayed as a dry run under another name, so that
/// nothing is stored; the watch is left out (it stays open: its cost is the event's delivery).
struct Replayed {
  std::vector<std::string> shapes;  ///< what each request was, in order
  double answer_us = 0;             ///< sum of the replayed requests' p50s
};

Replayed replayJobRequests(Bench& bench, const std::vector<Json>& requests) {
  Replayed out;
  const int times = 20;
  for (const Json& request : requests) {
    const std::string method = request.value("method", ""), path = request.value("path", "");
    Json query = request.value("query", Json::object());
    const bool watch = query.contains("watch");
    std::string keys;
    for (const auto& [key, value] : query.items()) keys += (keys.empty() ? "?" : "&") + key;
    out.shapes.push_back(method + " " + path + keys);
    if (watch) continue;
    std::string body = request.value("body", "");
    if (method == "POST") {
      auto manifest = exa::parseJson(body);
      if (!manifest) continue;
      (*manifest)["metadata"]["name"] = "exa-job-bench-dry-run";
      body = manifest->dump();
      query["dryRun"] = "All";
    } else if (method != "GET") {
      continue;
    }
    std::string target = path;
    char separator = '?';
    for (const auto& [key, value] : query.items()) {
      target += separator + percentEncode(key) + "=" + percentEncode(value.get<std::string>());
      separator = '&';
    }
    std::vector<double> us;
    for (int i = 0; i < times; ++i) {
      auto t0 = Clock::now();
      int status = bench.fakeRequest(method, target, body).status;
      if (status / 100 == 2) us.push_back(usSince(t0));
    }
    if (!us.empty()) out.answer_us += percentile(us, 0.50);
  }
  return out;
}

/// Scripts the pod of the Job for `job_id`: it "prints" `log` after kRunSeconds (virtual).
void scriptJob(Bench& bench, const std::string& job_id, const std::string& log) {
  // The fake wants a Job's script before the Job exists.
  Json attempt = {{"runSeconds", kRunSeconds}, {"exitCode", 0}, {"log", log}};
  const std::string path = std::string("/__fake/scripts/jobs/") + kNamespace + "/" +
                           exa::kubernetes::jobObjectName(job_id);
  expect(2, bench.fakeRequest("PUT", path, Json{{"attempts", Json::array({attempt})}}.dump()),
         "script " + job_id);
}

/// A Job run while a bystander watches it too (the project's own waitFor, on an ApiClient of
/// our own): when the Job appears and when its Complete reaches a watcher split the agent's
/// latency into before the create, the fake's run, and what the agent takes after the end.
struct Split {
  double created_us = -1;   ///< submit -> a watcher sees the Job
  double complete_us = -1;  ///< submit -> a watcher sees it Complete
  double done_us = -1;      ///< submit -> the agent's record says completed
};

Split watchedJob(Bench& bench, exa::kubernetes::ApiClient& client, const std::string& job_id,
                 const std::string& log) {
  scriptJob(bench, job_id, log);
  std::atomic<bool> created_seen{false}, complete_seen{false};
  Clock::time_point created, complete;
  std::thread bystander([&] {
    (void)exa::kubernetes::waitFor(
        client, std::string("/apis/batch/v1/namespaces/") + kNamespace + "/jobs",
        exa::kubernetes::jobObjectName(job_id),
        [&](const Json& job) {
          // Times of the events, not of waitFor's return (its watch stops up to 50 ms later).
          if (!job.is_object()) return false;
          if (!created_seen.exchange(true)) created = Clock::now();
          if (!exa::kubernetes::jobEnd(job)) return false;
          if (!complete_seen.exchange(true)) complete = Clock::now();
          return true;
        },
        std::chrono::seconds(20));
  });
  // Its list and watch are open before the Job is made (a Job listed already complete would
  // be seen late); this wait is outside the timed part.
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  JobTimes times = runJob(bench.k8s().port(), kK8sExecutor, job_id);
  bystander.join();
  auto since = [&](Clock::time_point t) {
    return std::chrono::duration<double, std::micro>(t - times.start).count();
  };
  Split split;
  split.done_us = times.done_us;
  if (created_seen) split.created_us = since(created);
  if (complete_seen) split.complete_us = since(complete);
  return split;
}

void jobLatency(Bench& bench) {
  const uint16_t k8s = bench.k8s().port(), local = bench.local().port();
  // What a Job's pod prints: the real run-once mode against the agent, as a pod would run it
  // (the fake runs no containers, so its pods "print" this script). Timed: a real pod pays at
  // least this, plus scheduling, image and container start, none of which the fake models.
  std::string log;
  std::vector<double> run_once;
  for (int i = 0; i < 3; ++i) {
    auto t0 = Clock::now();
    log = exa::testing::runAgent(std::string("run ") + kPolicyUri +
                                 " --json-line --registry http://127.0.0.1:" +
                                 std::to_string(k8s) + " --input '{\"x\": 1}' --runtime-dir " +
                                 bench.k8sDir().path() + "/pod-run").text;
    run_once.push_back(usSince(t0));
  }
  if (log.find("\"ok\":true") == std::string::npos)
    throw std::runtime_error("executor-agent run --json-line printed: " + log);

  const int warm = 3, jobs = 30;
  std::vector<double> k8s_done, local_done, k8s_submit, local_submit;
  size_t k8s_failures = 0, local_failures = 0;
  Replayed replayed;
  const double clock0 = bench.fakeClock(), cpu0 = cpuSeconds(bench.fakePid());
  const auto wall0 = Clock::now();
  // Interleaved, so that both backends see the same machine load (the fake ticks throughout).
  for (int i = 0; i < warm + jobs && !stopRequested(); ++i) {
    const bool keep = i >= warm, last = i + 1 == warm + jobs;
    const std::string id = "k8s-" + std::to_string(i);
    scriptJob(bench, id, log);
    const size_t seen = last ? bench.apiRequests().size() : 0;
    JobTimes k = runJob(k8s, kK8sExecutor, id);
    if (last) {
      // Replayed now, while the Job and its pod are still there (job_ttl_seconds).
      auto all = bench.apiRequests();
      replayed = replayJobRequests(
          bench, {all.begin() + static_cast<long>(std::min(seen, all.size())), all.end()});
    }
    JobTimes l = runJob(local, kLocalExecutor, "local-" + std::to_string(i));
    if (!keep) continue;
    k8s_submit.push_back(k.submit_us);
    local_submit.push_back(l.submit_us);
    if (k.done_us >= 0) k8s_done.push_back(k.done_us);
    else ++k8s_failures;
    if (l.done_us >= 0) local_done.push_back(l.done_us);
    else ++local_failures;
  }
  const double wall_s = usSince(wall0) / 1e6, virtual_s = bench.fakeClock() - clock0;
  const double fake_cores = (cpuSeconds(bench.fakePid()) - cpu0) / wall_s;
  // The real tick period: 20 ms of sleep plus the tick's own work under the fake's lock.
  const double tick_ms = virtual_s > 0 ? wall_s * 1000 / virtual_s : kTickMs;
  // A second pass, kubernetes only, with the bystander watch (a second watcher costs the fake a
  // little, so the figures above are taken without it).
  exa::kubernetes::ClusterCredentials credentials;
  credentials.server = "http://127.0.0.1:" + std::to_string(bench.fakePort());
  exa::kubernetes::ApiClient client(credentials);
  std::vector<double> to_created, fake_run, after, adapter;
  const int watched = 20;
  size_t slow_after = 0;
  for (int i = 0; i < watched && !stopRequested(); ++i) {
    Split split = watchedJob(bench, client, "watched-" + std::to_string(i), log);
    if (split.created_us < 0 || split.complete_us < 0 || split.done_us < 0) continue;
    to_created.push_back(split.created_us);
    fake_run.push_back(split.complete_us - split.created_us);
    after.push_back(split.done_us - split.complete_us);
    adapter.push_back(to_created.back() + after.back());
    if (after.back() > 20000) ++slow_after;
  }

  std::printf("\n1. jobs: %d sequential jobs per backend (after %d not kept), interleaved, "
              "GET /jobs/<id> polled every 1 ms\n", jobs, warm);
  printLatency("kubernetes backend (fake, auto-tick) submit -> completed", k8s_done, k8s_failures);
  printLatency("local backend (jail here) submit -> completed", local_done, local_failures);
  printLatency("POST /jobs/submit alone (201), kubernetes", k8s_submit, 0);
  printLatency("POST /jobs/submit alone (201), local", local_submit, 0);
  const double k8s_p50 = percentile(k8s_done, 0.50), local_p50 = percentile(local_done, 0.50);
  std::printf("  kubernetes / local p50: %.2fx   (the fake runs no policy: the local figure holds "
              "a fresh jailed worker's\n  spawn, import and eval; the kubernetes one holds none "
              "of that, only the adapter, the fake's API and its clock)\n", k8s_p50 / local_p50);
  std::printf("  the fake's clock: 1 virtual s per %.1f ms of wall time in this run (%.0f ms of "
              "sleep, the rest the tick's Python\n  under the store lock; the fake used %.2f "
              "cores). Controllers act only on a tick: the first tick after the create makes\n"
              "  the pod and runs it 1 virtual s, so a Job of runSeconds R (%d here) ends R - 1 "
              "ticks after that one: the fake\n  holds it R - 1 + U(0,1) ticks. A lower bound: "
              "a tick also blocks the requests and watch events\n  that wait for its lock.\n",
              tick_ms, kTickMs, fake_cores, kRunSeconds);
  const double sim_p50 = (kRunSeconds - 0.5) * tick_ms * 1000;
  const double sim_p90 = (kRunSeconds - 0.1) * tick_ms * 1000;
  explain("the fake's simulated run (model), p50", sim_p50,
          ("p90 " + std::to_string(static_cast<int>(sim_p90)) + " µs").c_str());
  explain("measured p50 - simulated p50", k8s_p50 - sim_p50,
          "the adapter + the fake's API answers and watch events");
  std::printf("  the agent's API requests for one job (the last), replayed below each on a new "
              "connection:\n");
  for (const auto& shape : replayed.shapes) std::printf("    %s\n", shape.c_str());
  explain("the fake answering them (replayed, sum of p50s)", replayed.answer_us,
          "Python: the manifest's schema walk, selectors, log; not the watch");
  std::printf("  measured apart: %d more kubernetes jobs, a second watcher on each Job noting when "
              "it appears and ends\n", watched);
  printLatency("submit -> a watcher sees the Job (ADDED)", to_created, watched - after.size());
  printLatency("Job seen -> seen Complete: the fake's run", fake_run, 0);
  printLatency("Complete seen -> the agent's record completed", after, 0);
  std::printf("  (after Complete the agent stops its watch from the event's own callback, lists "
              "the Job's pods, reads the log\n  and stores the record; a stop from another thread "
              "would wait for the transfer loop's next 50 ms poll.\n  %zu of %zu took over 20 ms "
              "here.)\n",
              slow_after, after.size());
  printLatency("the adapter: submit -> ADDED + Complete -> done", adapter, 0);
  explain("  less the fake's answers (p50)", percentile(adapter, 0.50) - replayed.answer_us,
          "route, queue, manifest, libcurl, watch stop, log parse, record");
  explain("executor-agent run --json-line alone (p50 of 3)", percentile(run_once, 0.50),
          "what a real pod runs: on a cluster, add this + schedule + container start");
}

/// Polls a call until it answers 200: the pod must be ready (ticks) and reachable.
void waitCallable(uint16_t port, const std::string& target, const std::string& what,
                  const std::map<std::string, std::string>& headers = {}) {
  auto t0 = Clock::now();
  exa::testing::HttpResult r;
  while (usSince(t0) < 30e6) {
    r = httpRequest(port, "POST", target, R"({"x": 1})", "", "application/json", headers);
    if (r.status == 200) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error(what + " never answered 200: HTTP " + std::to_string(r.status) + " " +
                           r.body);
}

/// CPU per call of the processes on a call's path, over one series, less what each burns when
/// idle (the fake's ticks: at a few hundred calls a second they would dominate its column).
struct Cpu {
  std::vector<std::pair<const char*, pid_t>> processes;
  std::vector<double> idle_cores;  ///< per process
  std::vector<double> start{};
  Clock::time_point began{};
  void begin() {
    start.clear();
    for (const auto& process : processes) start.push_back(cpuSeconds(process.second));
    began = Clock::now();
  }
  std::string perCall(const LoadResult& r) const {
    std::string out;
    const double wall = usSince(began) / 1e6;
    const double calls = std::max(1.0, r.requests_per_second * wall);
    for (size_t i = 0; i < processes.size(); ++i) {
      const double used = cpuSeconds(processes[i].second) - start[i] - idle_cores[i] * wall;
      char text[64];
      std::snprintf(text, sizeof text, "%s %5.0f", processes[i].first,
                    std::max(0.0, used) * 1e6 / calls);
      out += (out.empty() ? "" : "  ") + std::string(text);
    }
    return out;
  }
};

/// One load series: a name and how to run it for some seconds.
struct Row {
  const char* name;
  std::function<LoadResult(double)> run;
  LoadResult result{};
  std::string cpu{};
};

void runRows(std::vector<Row>& rows, Cpu& cpu, double seconds) {
  for (auto& row : rows) {
    if (stopRequested()) return;
    row.run(0.5);  // warm-up: connections, the replica's first calls
    cpu.begin();
    row.result = row.run(seconds);
    row.cpu = cpu.perCall(row.result);
  }
}

void printRows(const std::vector<Row>& rows) {
  for (const auto& row : rows) print(row.name, row.result);
  std::printf("  CPU µs per call (user + system of each process, the fake's idle ticks taken out; "
              "the jailed worker not counted):\n");
  for (const auto& row : rows) std::printf("    %-52s %s\n", row.name, row.cpu.c_str());
}

void functionThroughput(Bench& bench) {
  const uint16_t k8s = bench.k8s().port(), local = bench.local().port();
  const std::string fn_target = std::string("/function/call_function/") + kFunction;
  const std::string call = R"({"x": 1})";
  // One replica each side, fixed: autoscaling would move the count during the measurement.
  const std::string deploy = Json{{"name", kFunction}, {"policy_rule_uri", kPolicyUri},
                                  {"replicas", 1}, {"autoscaling", {{"enabled", false}}}}.dump();
  expect(201, httpRequest(k8s, "POST", std::string("/function/deployments/create/") + kK8sExecutor,
                          deploy), "deploy on kubernetes");
  expect(201, httpRequest(local, "POST",
                          std::string("/function/deployments/create/") + kLocalExecutor, deploy),
         "deploy locally");
  const std::string service = exa::kubernetes::functionObjectName(kFunction);
  auto deployment = expect(200, bench.fakeRequest("GET", std::string("/apis/apps/v1/namespaces/") +
                                                             kNamespace + "/deployments/" +
                                                             service),
                           "the function's Deployment");
  // The token the backend wrote into the Deployment's env: the pod agent requires it.
  const std::string token = exa::kubernetes::functionPodToken(deployment.json);
  if (token.empty()) throw std::runtime_error("no pod token in " + deployment.body);
  // The container's command, with the creating agent (ours, on loopback) as the central
  // registry it takes the policy from; its file:// code is under that agent's --file-root.
  const Json host = {{"name", kFunction}, {"policy_rule_uri", kPolicyUri},
                     {"policy_rule_parameters", Json::object()}};
  exa::testing::TempDir pod_dir;
  exa::testing::AgentServer pod({"--runtime-dir", pod_dir.path() + "/run", "--data-dir",
                                 pod_dir.path() + "/data", "--file-root", bench.k8sDir().path(),
                                 "--executor-id", "bench-pod", "--log-level", "warn",
                                 "--max-in-flight-per-policy", "16", "--central-url",
                                 "http://127.0.0.1:" + std::to_string(k8s), "--host-function",
                                 host.dump(), "--token", token});
  const std::string backend = std::string("/__fake/backends/") + kNamespace + "/" + service +
                              "/" + exa::kubernetes::kFunctionPortName;
  expect(2, bench.fakeRequest("PUT", backend,
                              Json{{"url", "http://127.0.0.1:" + std::to_string(pod.port())}}
                                  .dump()),
         "register the pod as the Service's backend");
  const std::string proxy_target = std::string("/api/v1/namespaces/") + kNamespace +
                                   "/services/" + service + ":" +
                                   exa::kubernetes::kFunctionPortName + "/proxy" + fn_target;
  // The API server strips Authorization: the adapter sends the pod's token in this header.
  const char* proxied = "X-Executor-Agent-Token";
  waitCallable(k8s, fn_target, "the kubernetes function");
  waitCallable(local, fn_target, "the local function");
  waitCallable(bench.fakePort(), proxy_target, "the fake's proxy", {{proxied, token}});

  const double seconds = 3.0;
  const unsigned threads = std::max(2u, std::thread::hardware_concurrency());
  // The fake ticks whatever runs: its idle cost is on the machine during every series.
  const double idle0 = cpuSeconds(bench.fakePid());
  auto idle_start = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const double fake_idle = (cpuSeconds(bench.fakePid()) - idle0) / (usSince(idle_start) / 1e6);
  Cpu cpu{{{"fake", bench.fakePid()}, {"k8s-agent", bench.k8s().pid()},
           {"pod-agent", pod.pid()}, {"local-agent", bench.local().pid()}},
          {fake_idle, 0, 0, 0}};

  // (a) The issue's figure: the same load on both backends.
  const int connections = 8;
  auto agentLoad = [&](uint16_t port, int n) {
    return [&, port, n](double s) {
      return httpLoad(port, http::verb::post, fn_target, call, n, s);
    };
  };
  std::vector<Row> wide = {
      {"local backend: agent -> jail", agentLoad(local, connections)},
      {"kubernetes: agent -> fake proxy -> pod agent -> jail", agentLoad(k8s, connections)}};
  runRows(wide, cpu, seconds);
  // (b) The path taken apart, at the proxied calls the agent can have in flight: one per HTTP
  // thread, since a call blocks its thread for the round trip. More connections to the agent
  // only queue there, while the fake alone would take them all at once (Python threads under
  // one lock), which would compare different loads.
  const int in_flight = static_cast<int>(threads);
  std::vector<Row> parts = {
      {"kubernetes: agent -> fake proxy -> pod agent", agentLoad(k8s, in_flight)},
      {"fake proxy alone, new connection per call",
       [&](double s) { return httpLoad(bench.fakePort(), http::verb::post, proxy_target, call,
                                       in_flight, s, {{{proxied, token}}, /*keep_alive=*/false}); }},
      {"fake proxy alone, keep-alive",
       [&](double s) { return httpLoad(bench.fakePort(), http::verb::post, proxy_target, call,
                                       in_flight, s, {{{proxied, token}}}); }},
      {"pod agent alone (keep-alive)",
       [&](double s) { return httpLoad(pod.port(), http::verb::post, fn_target, call, in_flight, s,
                                       {{{"Authorization", "Bearer " + token}}}); }},
      {"local backend (keep-alive)", agentLoad(local, in_flight)}};
  runRows(parts, cpu, seconds);

  std::printf("\n2. function calls: POST /function/call_function/%s, eval returns at once, 1 "
              "replica, %.0f s per series\n  (0.5 s warm-up), agents with their default %u HTTP "
              "threads; the fake idles at %.2f cores (its ticks)\n",
              kFunction, seconds, threads, fake_idle);
  std::printf("  the kubernetes path: agent -(libcurl, pooled keep-alive connections)-> the Python "
              "fake API server's\n  service proxy -(http.client, a new connection per call)-> "
              "pod agent (serve --host-function) -> jail.\n  On a cluster the proxy is the real "
              "API server (Go, TLS) and the pod another machine.\n");
  std::printf(" (a) %d keep-alive connections to each agent\n", connections);
  printRows(wide);
  const LoadResult &lw = wide[0].result, &kw = wide[1].result;
  std::printf("  kubernetes / local: %.3fx req/s, %.1fx p50\n",
              kw.requests_per_second / lw.requests_per_second, kw.p50_us / lw.p50_us);
  std::printf(" (b) the path taken apart: %d connections, the proxied calls the agent has in "
              "flight (a call blocks an HTTP thread)\n", in_flight);
  printRows(parts);
  const double k = parts[0].result.p50_us, fresh = parts[1].result.p50_us,
               reused = parts[2].result.p50_us, pod_alone = parts[3].result.p50_us,
               local_alone = parts[4].result.p50_us;
  explain("p50 kubernetes - fake proxy alone (keep-alive)", k - reused,
          "the adapter (its client keeps connections too): route, token header, reply parse");
  explain("p50 fake alone (new conn.) - pod agent alone", fresh - pod_alone,
          "the fake: Python handler and proxy, both connections");
  explain("p50 fake alone: keep-alive - new connection", reused - fresh,
          "a reused connection saves the connect (the fake sets TCP_NODELAY: no Nagle stall)");
  explain("p50 pod agent alone - local backend", pod_alone - local_alone,
          "pod agent vs local agent: both one replica in a jail");
}

}  // namespace
}  // namespace exa::bench

int main() {
  exa::bench::initBench();
  try {
    if (!exa::testing::FakeApiServer::available())
      throw std::runtime_error("no fake API server: python3 or the schema subset is missing");
    auto start = Clock::now();
    exa::bench::Bench bench;
    std::printf("kubernetes_bench: %s\n", exa::bench::loadAverage().c_str());
    exa::bench::jobLatency(bench);
    if (!exa::bench::stopRequested()) exa::bench::functionThroughput(bench);
    std::printf("\n  total run time %.1f s\n", usSince(start) / 1e6);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kubernetes_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
