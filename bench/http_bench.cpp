// HTTP throughput and latency of the real daemon on 127.0.0.1, in one run: GET /ping (a fixed
// reply: the server's ceiling) and POST /execute_policy of the seed's ip_allowlist on warm
// workers, each from N keep-alive connections for a few seconds. Prints req/s, p50, p99 and the
// ratio to the ceiling; nothing is asserted.
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <cstdio>
#include <thread>
#include <vector>

#include "bench/bench_support.h"
#include "bench/http_load.h"
#include "tests/support/agent_process.h"
#include "tests/support/agent_server.h"
#include "tests/support/archive_builder.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {

using exa::bench::httpLoad;
using exa::bench::LoadResult;

void print(const char* name, const LoadResult& r) {
  std::printf("  %-44s %10.0f req/s   p50 %8.1f µs   p99 %8.1f µs   failures %zu\n", name,
              r.requests_per_second, r.p50_us, r.p99_us, r.failures);
}

// The original design's path: bench/flask_baseline.py under /usr/bin/python3, same load.
std::optional<LoadResult> flaskBaseline(const std::string& code_dir, int connections) {
  if (::access("/usr/lib/python3/dist-packages/flask", F_OK) != 0) return std::nullopt;
  uint16_t port = 20000 + static_cast<uint16_t>(::getpid() % 20000);
  std::string settings = exa::testing::readFile(std::string(EXA_SOURCE_DIR) +
                                                "/examples/ip_allowlist/settings.json");
  std::string parameters = exa::testing::readFile(std::string(EXA_SOURCE_DIR) +
                                                  "/examples/ip_allowlist/parameters.json");
  auto server = exa::bench::spawnProcess(
      {"/usr/bin/python3", std::string(EXA_SOURCE_DIR) + "/bench/flask_baseline.py",
       std::to_string(port), code_dir, settings, parameters},
      /*pipes=*/true);
  std::string ready = exa::bench::readAll(server.stdout_fd.get(), /*line=*/true);
  std::optional<LoadResult> result;
  if (ready.rfind("ready", 0) == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // app.run binds after the print
    const std::string body = R"({"policy_rule_uri": "ip_allowlist:1.0-beta",
                                 "input_data": {"ip": "192.168.0.1"}})";
    httpLoad(port, http::verb::post, "/execute_policy", body, connections, 1.0);  // warm-up
    result = httpLoad(port, http::verb::post, "/execute_policy", body, connections, 3.0);
  }
  ::kill(server.pid, SIGTERM);
  exa::bench::waitSuccess(server.pid);
  return result;
}

}  // namespace

int main() {
  exa::bench::initBench();
  exa::testing::TempDir dir;
  dir.write("src/code/function.py",
            exa::testing::readFile(std::string(EXA_SOURCE_DIR) + "/examples/ip_allowlist/code/function.py"));
  exa::testing::writeArchive(dir.path() + "/src", dir.path() + "/ip.zip", "zip");
  exa::testing::AgentServer agent({"--runtime-dir", dir.path() + "/run", "--data-dir",
                                   dir.path() + "/data", "--file-root", dir.path(),
                                   "--max-in-flight-per-policy", "8"});
  auto policy = *exa::parseJson(
      exa::testing::readFile(std::string(EXA_SOURCE_DIR) + "/examples/ip_allowlist/policy.json"));
  policy["code"] = "file://" + dir.path() + "/ip.zip";
  exa::testing::httpRequest(agent.port(), "POST", "/policy", policy.dump());
  // A policy that returns at once: what the agent's own path (HTTP, registry, Templates, frames)
  // costs per call, apart from the seed policy's requests.get.
  dir.write("noop/code/function.py",
            "class AIOSv1PolicyRule:\n"
            "    def __init__(self, rule_id, settings, parameters): pass\n"
            "    def eval(self, parameters, input_data, context): return {'allowed': True}\n");
  exa::testing::writeArchive(dir.path() + "/noop", dir.path() + "/noop.zip", "zip");
  exa::Json noop = {{"name", "noop"}, {"version", "1"}, {"release_tag", "bench"},
                    {"code", "file://" + dir.path() + "/noop.zip"}, {"type", "python_class_v1"}};
  exa::testing::httpRequest(agent.port(), "POST", "/policy", noop.dump());
  const std::string execute = R"({"policy_rule_uri": "ip_allowlist:1.0-beta",
                                  "input_data": {"ip": "192.168.0.1"}})";
  const std::string execute_noop = R"({"policy_rule_uri": "noop:1-bench", "input_data": {}})";
  const int connections = 8;
  std::printf("http_bench: %d keep-alive connections, 3 s per series, %s\n", connections,
              exa::bench::loadAverage().c_str());
  auto post = [&](const std::string& body, double seconds) {
    return httpLoad(agent.port(), http::verb::post, "/execute_policy", body, connections, seconds);
  };
  post(execute, 1.0);  // warm-up
  auto ceiling = httpLoad(agent.port(), http::verb::get, "/ping", "", connections, 3.0);
  post(execute_noop, 0.5);  // warm-up
  auto noop_executed = post(execute_noop, 3.0);
  auto executed = post(execute, 3.0);
  print("GET /ping (fixed reply: the ceiling)", ceiling);
  print("POST /execute_policy no-op policy (warm)", noop_executed);
  print("POST /execute_policy ip_allowlist (warm)", executed);
  std::printf("  no-op execute / ceiling: %.1f%%\n",
              100.0 * noop_executed.requests_per_second / ceiling.requests_per_second);
  auto flask = flaskBaseline(dir.path() + "/src/code", connections);
  if (flask) {
    print("baseline: Flask, import + eval per request", *flask);
    std::printf("  execute / Flask: %.1fx (target >= 20x: %s)\n",
                executed.requests_per_second / flask->requests_per_second,
                executed.requests_per_second >= 20 * flask->requests_per_second ? "met" : "NOT met");
  } else {
    std::printf("  baseline: Flask skipped (apt-get install python3-flask)\n");
  }
  std::printf("  execute / ceiling: %.1f%%   targets: >= 10000 req/s %s, >= 40%% of the ceiling %s, "
              "p99 <= 2 ms %s\n",
              100.0 * executed.requests_per_second / ceiling.requests_per_second,
              executed.requests_per_second >= 10000 ? "met" : "NOT met",
              executed.requests_per_second >= 0.4 * ceiling.requests_per_second ? "met" : "NOT met",
              executed.p99_us <= 2000 ? "met" : "NOT met");
  return 0;
}
