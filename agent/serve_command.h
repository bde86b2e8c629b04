// `executor-agent serve`: the daemon. Assembles the configuration (defaults < --config file <
// EXECUTOR_AGENT_* environment < flags), starts the jail (zygote and spare workers), the worker
// pool, the registry and the HTTP server, and runs until SIGTERM or SIGINT.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "agent/agent_config.h"

namespace exa::agent {

struct ServeOptions {
  std::string config_path;  ///< "" = no file: defaults, environment and flags only
  /// One setter per flag given, applied over the file and the environment in argv order.
  std::vector<std::function<void(AgentConfig&)>> flag_overrides;
  /// `--host-function <JSON>`: a Kubernetes function pod (agent/functions/hosted_function.h).
  std::string host_function;
};

CLI::App* addServeCommand(CLI::App& app, ServeOptions& options);

/// Returns the process exit code.
int serve(const ServeOptions& options);

}  // namespace exa::agent
