// `executor-agent serve`: the daemon. Starts the jail (zygote and spare workers), the worker
// pool and the HTTP server, and runs until SIGTERM or SIGINT.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace exa::agent {

struct ServeOptions {
  std::string listen = "127.0.0.1:10000";
  std::string runtime_dir = "/run/executor-agent";
  std::string data_dir = "/var/lib/executor-agent";  ///< registry.db and the code cache
  std::string executor_id;                           ///< default: the host name
  std::vector<std::string> file_roots;               ///< file:// code allowed under these
  std::string wheelhouse;
  std::string package_index;
  size_t threads = 0;
  size_t max_in_flight_per_policy = 0;  ///< 0: half the HTTP threads, at least 1
  /// Bearer token required on every route that changes or executes something.
  std::string token;
  bool protect_reads = false;
  /// Allows a non-loopback listen address without a token.
  bool insecure_no_auth = false;
};

CLI::App* addServeCommand(CLI::App& app, ServeOptions& options);

/// Returns the process exit code.
int serve(const ServeOptions& options);

}  // namespace exa::agent
