// `executor-agent run`: runs a policy once in the real jail, for a developer's edit-run loop.
// The policy is a directory, an archive, a URL or a PolicyRule JSON file. Prints the output or
// the typed error as JSON; non-zero exit on error.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "agent/agent_config.h"

namespace exa::agent {

struct RunOptions {
  std::string source;  ///< directory, archive, URL, or PolicyRule .json; a policy URI with registry
  std::string registry;        ///< set: `source` is a policy URI read from this Policies System
  std::string registry_token;  ///< bearer token for `registry`
  bool json_line = false;      ///< the result as one JSON line (a Job pod's log ends with it)
  std::string rule_id;         ///< what the policy's constructor gets as rule_id ("" = its URI)
  std::string input = "{}";
  std::string settings = "{}";
  std::string parameters = "{}";
  std::string action;  ///< set: run management(action, data) instead of eval
  std::string data = "{}";
  std::string context = "{}";
  int timeout_ms = 10000;
  int memory_mb = 256;
  std::string runtime_dir = "/run/executor-agent";
  /// Host uids of the workers (executor.worker_uid_base/_count; the same variables set them).
  uint64_t worker_uid_base = AgentConfig::Executor{}.worker_uid_base;
  uint64_t worker_uid_count = AgentConfig::Executor{}.worker_uid_count;
  std::string cache_dir = "/var/lib/executor-agent/code";
  std::string wheelhouse;  ///< requirements from these wheels only (offline machines)
  std::string package_index;  ///< else from this PEP 503 index
};

/// Adds the `run` subcommand to `app`; `options` receives its flags.
CLI::App* addRunCommand(CLI::App& app, RunOptions& options);

/// Returns the process exit code: 0 on success, 1 on a policy error, 2 on bad arguments.
int runPolicyOnce(const RunOptions& options);

}  // namespace exa::agent
