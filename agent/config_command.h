// `executor-agent config`: prints the documented default configuration file, or checks one
// (file + environment, validated) before a restart picks it up.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace exa::agent {

struct ConfigOptions {
  bool print_default = false;
  std::string check_path;
};

CLI::App* addConfigCommand(CLI::App& app, ConfigOptions& options);

/// Returns the process exit code.
int configCommand(const ConfigOptions& options);

}  // namespace exa::agent
