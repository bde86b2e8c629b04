// `executor-agent hwinfo`: prints this machine's executor_hardware_info (the seed's shape plus
// placement detail, docs/hwinfo.md) as JSON, as registration sends it.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace exa::agent {

struct HwinfoOptions {
  std::string node_id;  ///< "" = the host name
};

CLI::App* addHwinfoCommand(CLI::App& app, HwinfoOptions& options);

/// Returns the process exit code.
int hwinfoCommand(const HwinfoOptions& options);

}  // namespace exa::agent
