// executor-agent: argv dispatch only. The hidden `__zygote` mode is how the agent re-executes
// itself as a clean single-threaded zygote (DESIGN.md §1); it is checked before anything else.
#include <string_view>

#include <CLI/CLI.hpp>

#include "agent/config_command.h"
#include "agent/hwinfo_command.h"
#include "agent/run_command.h"
#include "agent/serve_command.h"
#include "common/log.h"
#include "policies/zygote_main.h"

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "__zygote") return exa::policies::zygoteMain();

  CLI::App app{"executor-agent: runs untrusted Python policies in a jail"};
  app.require_subcommand(1);
  std::string log_level = "info";
  auto* log_option = app.add_option("--log-level", log_level, "debug, info, warn or error");
  exa::agent::RunOptions run_options;
  CLI::App* run = exa::agent::addRunCommand(app, run_options);
  exa::agent::ServeOptions serve_options;
  CLI::App* serve = exa::agent::addServeCommand(app, serve_options);
  exa::agent::ConfigOptions config_options;
  CLI::App* config = exa::agent::addConfigCommand(app, config_options);
  exa::agent::HwinfoOptions hwinfo_options;
  CLI::App* hwinfo = exa::agent::addHwinfoCommand(app, hwinfo_options);
  CLI11_PARSE(app, argc, argv);
  if (!exa::log::setLevel(log_level)) {
    std::fprintf(stderr, "--log-level: unknown level %s\n", log_level.c_str());
    return 2;
  }
  if (run->parsed()) return exa::agent::runPolicyOnce(run_options);
  if (serve->parsed()) {
    // `executor-agent --log-level X serve`: a flag like serve's own, over file and environment.
    if (log_option->count() > 0)
      serve_options.flag_overrides.insert(serve_options.flag_overrides.begin(),
                                          [log_level](exa::agent::AgentConfig& c) {
                                            c.log.level = log_level;
                                          });
    return exa::agent::serve(serve_options);
  }
  if (config->parsed()) return exa::agent::configCommand(config_options);
  if (hwinfo->parsed()) return exa::agent::hwinfoCommand(hwinfo_options);
  return 2;
}
