// The jail's ordered containment steps (DESIGN.md §2), run by a freshly cloned worker on
// itself once its parent has written its id maps and cgroup membership. Two phases, so that
// workers can wait pre-jailed for a policy (DESIGN.md §3): everything that does not depend on
// the policy happens at clone time; the code, the policy's limits, the privilege drop and
// seccomp (always last) happen at handoff.
#pragma once

#include "common/result.h"
#include "sandbox/code_tree.h"
#include "sandbox/jail_spec.h"
#include "sandbox/seccomp_filter.h"

namespace exa::sandbox {

/// The worker's channel ends up on this fd; every other fd is closed.
inline constexpr int kWorkerChannelFd = 3;

/// Clone-time steps: namespaces, mapped root, mounts, hostname, fds, session, environment.
/// Afterwards the process still holds capabilities inside its own user namespace and runs
/// only our code; it must not run policy code before finishJail().
Status prepareJail(const JailSpec& spec, int channel_fd);

/// Handoff-time steps: /policy filled and read-only, /tmp capped, rlimits, no capabilities,
/// no_new_privs, seccomp.
Status finishJail(const CodeTree& code, const JailLimits& limits, const SeccompProgram& seccomp);

}  // namespace exa::sandbox
