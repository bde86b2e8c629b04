// The run-once CLI: a Sandbox, one PolicyWorker, one call, JSON on stdout.
#include "agent/run_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "common/json_util.h"
#include "policies/policy_source.h"
#include "policies/policy_templates.h"
#include "policies/policy_worker.h"
#include "policies/requirements.h"
#include "registry-client/central_client.h"
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

// Pretty for a person; one line for a Job pod, whose log's last line the agent reads back.
void printResult(const Json& out, bool json_line) {
  std::cout << (json_line ? out.dump() : out.dump(2)) << std::endl;
}

int printError(const std::string& type, const std::string& message, int code, bool json_line) {
  printResult(Json{{"ok", false}, {"error", {{"type", type}, {"message", message}}}}, json_line);
  return code;
}

}  // namespace

CLI::App* addRunCommand(CLI::App& app, RunOptions& o) {
  CLI::App* run = app.add_subcommand("run", "Run a policy directory once in the jail");
  run->add_option("source", o.source,
                  "Directory with function.py (or code/function.py), a .zip/.tar.gz/.tar.xz, "
                  "an http(s)/file URL, or a PolicyRule .json")
      ->required();
  run->add_option("--registry", o.registry,
                  "Read the policy named by source (a policy URI) from this Policies System URL");
  run->add_option("--registry-token", o.registry_token, "Bearer token for --registry")
      ->envname("EXECUTOR_AGENT_REGISTRY_TOKEN");
  run->add_flag("--json-line", o.json_line, "Print the result as one JSON line");
  run->add_option("--rule-id", o.rule_id,
                  "The policy's rule_id (a job passes its job id, as the agent does)");
  run->add_option("--input", o.input, "Input data: JSON text or @file");
  run->add_option("--settings", o.settings, "Constructor settings: JSON text or @file");
  run->add_option("--parameters", o.parameters, "Parameters: JSON text or @file");
  run->add_option("--context", o.context, "Context passed to eval: JSON text or @file");
  run->add_option("--action", o.action, "Run management(action, data) instead of eval");
  run->add_option("--data", o.data, "Management data: JSON text or @file");
  run->add_option("--timeout-ms", o.timeout_ms, "Wall-clock deadline, load included");
  run->add_option("--memory-mb", o.memory_mb, "Memory limit of the worker");
  run->add_option("--runtime-dir", o.runtime_dir, "Agent runtime dir (jail mountpoint)");
  // Also from the environment, as `serve` reads executor.worker_uid_*: a Kubernetes pod in a
  // user namespace sets the variables once for whichever mode it runs (docs/kubernetes.md).
  run->add_option("--worker-uid-base", o.worker_uid_base,
                  "First host uid given to a worker (executor.worker_uid_base)")
      ->envname(findConfigKey("executor.worker_uid_base")->envName());
  run->add_option("--worker-uid-count", o.worker_uid_count,
                  "How many worker uids (executor.worker_uid_count)")
      ->envname(findConfigKey("executor.worker_uid_count")->envName());
  run->add_option("--cache-dir", o.cache_dir, "Content-addressed cache of unpacked code");
  run->add_option("--wheelhouse", o.wheelhouse, "Install requirements.txt from these wheels");
  run->add_option("--package-index", o.package_index,
                  "Else download them from this index (PEP 503 simple URL)");
  return run;
}

namespace {

enum Arg { kInput, kSettings, kParameters, kData, kContext, kArgCount };

// What the policy runs with: a PolicyRule's stored values overridden key by key by the flags,
// or the flags alone for bare code. Validated against the rule's Templates before any worker.
struct Prepared {
  policies::PolicyLoad load;
  std::optional<policies::PolicyTemplates> templates;
};

// The policy to run: `source` itself, or the rule the registry stores under that URI.
Result<policies::LoadedPolicy> loadSource(const RunOptions& o, policies::CodeCache& cache) {
  if (o.registry.empty()) return policies::loadPolicySource(o.source, cache);
  registry_client::CentralClient registry({.url = o.registry, .token = o.registry_token});
  EXA_ASSIGN_OR_RETURN(Json rule, registry.getPolicy(o.source));
  return policies::loadPolicyRule(rule, /*base_dir=*/"", cache);
}

Result<Prepared> prepare(const RunOptions& o, const Json (&args)[kArgCount],
                         sandbox::Sandbox& sandbox) {
  policies::CodeCacheOptions cache_options;
  cache_options.root = o.cache_dir;
  cache_options.fetch.file_roots = {"/"};  // the operator runs this by hand: any local file
  policies::RequirementsOptions requirements{.wheelhouse = o.wheelhouse,
                                             .package_index = o.package_index};
  cache_options.install_requirements = [&](const std::string& code, const std::string& deps) {
    return policies::installRequirements(sandbox, code, deps, requirements);
  };
  EXA_ASSIGN_OR_RETURN(auto cache, policies::CodeCache::open(cache_options));
  EXA_ASSIGN_OR_RETURN(policies::LoadedPolicy loaded, loadSource(o, *cache));
  Prepared p;
  p.load.code_dir = loaded.code_dir;
  p.load.rule_id = o.source;
  p.load.settings = args[kSettings];
  p.load.parameters = args[kParameters];
  if (loaded.rule) {
    p.load.rule_id = loaded.rule->policy_rule_uri;
    p.load.settings = policies::mergeKeys(loaded.rule->policy_settings, args[kSettings]);
    p.load.parameters = policies::mergeKeys(loaded.rule->policy_parameters, args[kParameters]);
    EXA_ASSIGN_OR_RETURN(p.templates, policies::PolicyTemplates::compile(*loaded.rule));
  }
  if (!o.rule_id.empty()) p.load.rule_id = o.rule_id;
  return p;
}

// The first Templates violation of the request, if any.
std::optional<policies::CallError> checkRequest(const RunOptions& o, const Prepared& p,
                                                const Json (&args)[kArgCount]) {
  if (!p.templates) return std::nullopt;
  if (auto e = p.templates->checkSettings(p.load.settings)) return e;
  if (auto e = p.templates->checkParameters(p.load.parameters)) return e;
  if (!o.action.empty()) return p.templates->checkManagement(o.action, args[kData]);
  return p.templates->checkInput(args[kInput]);
}

}  // namespace

int runPolicyOnce(const RunOptions& o) {
  Json args[kArgCount];
  const std::pair<std::string, std::string> flags[kArgCount] = {{"--input", o.input},
                                                                {"--settings", o.settings},
                                                                {"--parameters", o.parameters},
                                                                {"--data", o.data},
                                                                {"--context", o.context}};
  for (int i = 0; i < kArgCount; ++i) {
    auto value = jsonArgument(flags[i].first, flags[i].second);
    if (!value) return printError("invalid_argument", value.error().message, 2, o.json_line);
    args[i] = std::move(value).value();
  }
  // Named with both sources: in a pod the values come from the environment, not the flags.
  if (Status uids = validateWorkerUids(
          o.worker_uid_base, o.worker_uid_count,
          "--worker-uid-base (" + findConfigKey("executor.worker_uid_base")->envName() + ")",
          "--worker-uid-count (" + findConfigKey("executor.worker_uid_count")->envName() + ")");
      !uids)
    return printError("invalid_argument", uids.error().message, 2, o.json_line);
  sandbox::SandboxOptions sandbox_options;
  sandbox_options.runtime_dir = o.runtime_dir;
  sandbox_options.uid_base = static_cast<uid_t>(o.worker_uid_base);
  sandbox_options.uid_count = static_cast<uint32_t>(o.worker_uid_count);
  sandbox_options.spare_workers = 0;  // one call: a spare would only be cloned and thrown away
  auto sandbox = sandbox::Sandbox::start(sandbox_options);
  if (!sandbox) return printError("sandbox_setup", sandbox.error().describe(), 1, o.json_line);
  auto prepared = prepare(o, args, **sandbox);
  if (!prepared) return printError("invalid_argument", prepared.error().describe(), 2, o.json_line);
  if (auto invalid = checkRequest(o, *prepared, args)) {
    policies::CallResult refused;
    refused.error = *invalid;
    printResult(refused.toJson(), o.json_line);
    return 2;
  }

  sandbox::WorkerLimits limits;
  limits.cgroup.memory_bytes = static_cast<uint64_t>(o.memory_mb) << 20;
  policies::CallLimits call_limits;
  call_limits.timeout = std::chrono::milliseconds(o.timeout_ms);
  policies::CallError error;
  const policies::PolicyLoad& load = prepared->load;
  auto worker = policies::PolicyWorker::start(**sandbox, load, limits, call_limits, &error);
  policies::CallResult result;
  if (!worker) {
    result.error = error;
  } else if (!o.action.empty()) {
    result = worker->management(o.action, args[kData], /*fresh_instance=*/false);
  } else {
    result = worker->eval(load.parameters, args[kInput], args[kContext], /*fresh_instance=*/false);
    if (result.ok() && prepared->templates) {
      if (auto invalid = prepared->templates->checkOutput(result.output)) result.error = invalid;
    }
  }
  printResult(result.toJson(), o.json_line);
  return result.ok() ? 0 : 1;
}

}  // namespace exa::agent
