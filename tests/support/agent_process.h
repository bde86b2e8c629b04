// Runs the real executor-agent binary as a user would, capturing its JSON answer.
#pragma once

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

/// The whole file, or "" when it cannot be read.
std::string readFile(const std::string& path);

}  // namespace exa::testing
