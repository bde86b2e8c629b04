#include "tests/support/jail_harness.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace exa::testing {

std::string jailUnsupportedReason() {
  if (::geteuid() != 0) return "the jail tests need root (user namespaces, cgroups, id maps)";
  std::ifstream max_ns("/proc/sys/user/max_user_namespaces");
  int value = 1;
  if (max_ns >> value && value == 0) return "user namespaces are disabled (max_user_namespaces=0)";
  return {};
}

std::unique_ptr<sandbox::Sandbox> startTestSandbox(const TempDir& dir, uid_t uid_base,
                                                   const std::string& cgroup_name) {
  sandbox::SandboxOptions options;
  options.zygote_exe = EXA_AGENT_BINARY;
  options.runtime_dir = dir.path() + "/run";
  options.uid_base = uid_base + static_cast<uid_t>(::getpid() % 4096) * 256;
  options.uid_count = 256;
  options.cgroup_name = cgroup_name;
  auto started = sandbox::Sandbox::start(options);
  if (!started) throw std::runtime_error("sandbox: " + started.error().describe());
  return std::move(started).value();
}

JailHarness::JailHarness() {
  sandbox_ = startTestSandbox(dir_, 1u << 20, "exa-test");
  pool_ = std::make_unique<policies::WorkerPool>(*sandbox_, policies::PoolOptions{});
}

sandbox::WorkerLimits JailHarness::defaultLimits() {
  sandbox::WorkerLimits limits;
  limits.cgroup.memory_bytes = 256ull << 20;
  limits.cgroup.pids = 32;
  limits.cgroup.cpu_percent = 100;
  limits.tmp_bytes = 8ull << 20;
  limits.tmp_inodes = 256;
  limits.nofile = 64;
  return limits;
}

policies::CallLimits JailHarness::defaultCallLimits() {
  policies::CallLimits limits;
  limits.timeout = std::chrono::milliseconds(5000);
  limits.max_reply_bytes = 1u << 20;
  return limits;
}

std::string JailHarness::writePolicy(const std::string& source) {
  std::string dir = "policy" + std::to_string(next_policy_++);
  dir_.write(dir + "/function.py", source);
  return dir_.path() + "/" + dir;
}

std::string JailHarness::writeEvalPolicy(const std::string& eval_body, const std::string& imports) {
  std::string indented;
  size_t start = 0;
  while (start <= eval_body.size()) {
    size_t end = eval_body.find('\n', start);
    if (end == std::string::npos) end = eval_body.size();
    indented += "        " + eval_body.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return writePolicy(imports + "\n" +
                     "class AIOSv1PolicyRule:\n"
                     "    def __init__(self, rule_id, settings, parameters):\n"
                     "        self.settings = settings\n"
                     "    def eval(self, parameters, input_data, context):\n" +
                     indented);
}

policies::CallResult JailHarness::run(const std::string& code_dir, const Json& input,
                                      sandbox::WorkerLimits limits,
                                      policies::CallLimits call_limits) {
  policies::PolicyLoad load{code_dir, "test", Json::object(), Json::object()};
  policies::CallError error;
  auto worker = policies::PolicyWorker::start(*sandbox_, load, limits, call_limits, &error);
  if (!worker) {
    policies::CallResult failed;
    failed.error = error;
    return failed;
  }
  return worker->eval(Json::object(), input, Json::object(), /*fresh_instance=*/false);
}

policies::CallResult JailHarness::runEval(const std::string& eval_body, const std::string& imports,
                                          sandbox::WorkerLimits limits,
                                          policies::CallLimits call_limits) {
  return run(writeEvalPolicy(eval_body, imports), Json::object(), limits, call_limits);
}

::testing::AssertionResult JailHarness::stillUsable() {
  auto result = runEval("return {'sum': input_data.get('a', 1) + 41}");
  if (!result.ok())
    return ::testing::AssertionFailure() << "benign policy failed: " << result.toJson().dump();
  if (result.output != Json({{"sum", 42}}))
    return ::testing::AssertionFailure() << "benign policy gave " << result.output.dump();
  return ::testing::AssertionSuccess();
}

}  // namespace exa::testing
