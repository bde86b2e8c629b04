// Runs the real executor-agent binary as a user would, capturing its JSON answer.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

#include "common/json_util.h"

namespace exa::testing {

struct AgentOutput {
  int exit_code = -1;
  std::string text;  ///< stdout
  Json json;         ///< stdout parsed, or null when it is not JSON
};

/// `executor-agent ARGS` (ARGS is shell text; stderr discarded).
AgentOutput runAgent(const std::string& args);

/// `/bin/sh -c COMMAND` with stderr folded into stdout (for tools such as openssl, and for
/// reading what the agent says on stderr: `EXA_AGENT_BINARY` is in the environment as $AGENT).
AgentOutput runShell(const std::string& command);

/// Sends `sig` to the child `pid` and reaps it; if it has not exited after `grace`, says so on
/// stderr (naming `what`) and kills it, so a child that hangs on shutdown fails its test in
/// seconds instead of blocking the test binary until ctest's timeout. The wait status.
int stopChild(pid_t pid, int sig, std::chrono::seconds grace, const std::string& what);

/// The whole file, or "" when it cannot be read.
std::string readFile(const std::string& path);

}  // namespace exa::testing
