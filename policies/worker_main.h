// The jailed worker's serve loop: frames in, the worker runtime's replies out. Runs in a child
// forked from the zygote, after finishJail(), on the interpreter inherited from the zygote.
#pragma once

#include <cstddef>

namespace exa::policies {

/// Largest request frame a worker accepts (policy input, settings, parameters, context).
inline constexpr size_t kMaxRequestFrame = 64ull << 20;

/// Returns the process exit code: 0 after "shutdown" or when the agent closes the channel.
int runWorker(int channel_fd);

/// Runs in each forked worker before anything touches Python.
void afterForkInWorker();

}  // namespace exa::policies
