#include "agent/config_command.h"

#include <cstdio>

#include "agent/agent_config.h"

namespace exa::agent {

CLI::App* addConfigCommand(CLI::App& app, ConfigOptions& o) {
  CLI::App* config = app.add_subcommand("config", "Print or check the configuration file");
  auto* print = config->add_flag("--print-default", o.print_default,
                                 "Print every key with its default and documentation");
  auto* check = config->add_option("--check", o.check_path,
                                   "Check this file, with the EXECUTOR_AGENT_* environment");
  print->excludes(check);
  config->require_option(1);
  return config;
}

int configCommand(const ConfigOptions& o) {
  if (o.print_default) {
    std::fputs(renderDefaultConfig().c_str(), stdout);
    return 0;
  }
  auto config = loadAgentConfig(o.check_path);
  Status ok = config ? applyEnvironment(*config) : Status(config.error());
  if (ok) ok = validateAgentConfig(*config);
  if (!ok) {
    std::fprintf(stderr, "%s\n", ok.error().describe().c_str());
    return 1;
  }
  std::printf("%s: ok\n", o.check_path.c_str());
  return 0;
}

}  // namespace exa::agent
