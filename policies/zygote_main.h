// Entry of `executor-agent __zygote`: start the interpreter, compile the seccomp profile once,
// then serve spawn requests from the agent.
#pragma once

namespace exa::policies {

int zygoteMain();

}  // namespace exa::policies
