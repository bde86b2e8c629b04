// `executor-agent serve`: the daemon. Starts the jail (zygote and spare workers), the worker
// pool and the HTTP server, and runs until SIGTERM or SIGINT.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace exa::agent {

struct ServeOptions {
  std::string listen = "127.0.0.1:10000";
  std::string runtime_dir = "/run/executor-agent";
  size_t threads = 0;
};

CLI::App* addServeCommand(CLI::App& app, ServeOptions& options);

/// Returns the process exit code.
int serve(const ServeOptions& options);

}  // namespace exa::agent
