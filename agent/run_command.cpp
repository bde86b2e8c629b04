// The run-once CLI: a Sandbox, one PolicyWorker, one call, JSON on stdout.
#include "agent/run_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "common/json_util.h"
#include "policies/policy_worker.h"
#include "sandbox/sandbox.h"

namespace exa::agent {
namespace {

// A flag value is JSON text, or @path to a file holding it.
Result<Json> jsonArgument(const std::string& flag, const std::string& value) {
  std::string text = value;
  if (!value.empty() && value[0] == '@') {
    std::ifstream in(value.substr(1));
    if (!in) return makeError(ErrorCode::kInvalidArgument, flag + ": cannot read " + value.substr(1));
    std::stringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
  }
  auto parsed = parseJson(text);
  if (!parsed) return makeError(ErrorCode::kInvalidArgument, flag + ": " + parsed.error().message);
  return parsed;
}

// The seed's archive layout keeps the policy under code/; a bare function.py works too.
Result<std::string> findCodeDir(const std::string& dir) {
  struct stat st {};
  for (const std::string& candidate : {dir + "/code", dir}) {
    if (::stat((candidate + "/function.py").c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      char real[PATH_MAX];
      if (::realpath(candidate.c_str(), real) == nullptr)
        return sysError("realpath(" + candidate + ")", ErrorCode::kInvalidArgument);
      return std::string(real);
    }
  }
  return makeError(ErrorCode::kInvalidArgument,
                   "no function.py in " + dir + " or " + dir + "/code");
}

int printError(const std::string& type, const std::string& message, int code) {
  Json out = {{"ok", false}, {"error", {{"type", type}, {"message", message}}}};
  std::cout << out.dump(2) << std::endl;
  return code;
}

}  // namespace

CLI::App* addRunCommand(CLI::App& app, RunOptions& o) {
  CLI::App* run = app.add_subcommand("run", "Run a policy directory once in the jail");
  run->add_option("policy_dir", o.policy_dir, "Directory with function.py (or code/function.py)")
      ->required();
  run->add_option("--input", o.input, "Input data: JSON text or @file");
  run->add_option("--settings", o.settings, "Constructor settings: JSON text or @file");
  run->add_option("--parameters", o.parameters, "Parameters: JSON text or @file");
  run->add_option("--context", o.context, "Context passed to eval: JSON text or @file");
  run->add_option("--action", o.action, "Run management(action, data) instead of eval");
  run->add_option("--data", o.data, "Management data: JSON text or @file");
  run->add_option("--timeout-ms", o.timeout_ms, "Wall-clock deadline, load included");
  run->add_option("--memory-mb", o.memory_mb, "Memory limit of the worker");
  run->add_option("--runtime-dir", o.runtime_dir, "Agent runtime dir (jail mountpoint)");
  return run;
}

int runPolicyOnce(const RunOptions& o) {
  auto code_dir = findCodeDir(o.policy_dir);
  if (!code_dir) return printError("invalid_argument", code_dir.error().describe(), 2);
  Json args[5];
  const std::pair<std::string, std::string> flags[] = {{"--input", o.input},
                                                       {"--settings", o.settings},
                                                       {"--parameters", o.parameters},
                                                       {"--data", o.data},
                                                       {"--context", o.context}};
  for (int i = 0; i < 5; ++i) {
    auto value = jsonArgument(flags[i].first, flags[i].second);
    if (!value) return printError("invalid_argument", value.error().message, 2);
    args[i] = std::move(value).value();
  }
  sandbox::SandboxOptions sandbox_options;
  sandbox_options.runtime_dir = o.runtime_dir;
  sandbox_options.spare_workers = 0;  // one call: a spare would only be cloned and thrown away
  auto sandbox = sandbox::Sandbox::start(sandbox_options);
  if (!sandbox) return printError("sandbox_setup", sandbox.error().describe(), 1);

  policies::PolicyLoad load{*code_dir, o.policy_dir, args[1], args[2]};
  sandbox::WorkerLimits limits;
  limits.cgroup.memory_bytes = static_cast<uint64_t>(o.memory_mb) << 20;
  policies::CallLimits call_limits;
  call_limits.timeout = std::chrono::milliseconds(o.timeout_ms);
  policies::CallError error;
  auto worker = policies::PolicyWorker::start(**sandbox, load, limits, call_limits, &error);
  policies::CallResult result;
  if (!worker) {
    result.error = error;
  } else if (!o.action.empty()) {
    result = worker->management(o.action, args[3], /*fresh_instance=*/false);
  } else {
    result = worker->eval(args[2], args[0], args[4], /*fresh_instance=*/false);
  }
  std::cout << result.toJson().dump(2) << std::endl;
  return result.ok() ? 0 : 1;
}

}  // namespace exa::agent
