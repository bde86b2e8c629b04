// The worker's filesystem (child side, in its new mount namespace), in two phases.
// prepareMounts, at clone time: a read-only tmpfs root holding read-only binds of the Python
// runtime, an empty /policy tmpfs, a fresh /proc, a minimal /dev and a noexec /tmp; then
// pivot_root and detach the host. finalizeMounts, at handoff: the code is written into /policy,
// which becomes read-only, and /tmp takes the policy's size caps.
#pragma once

#include "common/result.h"
#include "sandbox/code_tree.h"
#include "sandbox/jail_spec.h"

namespace exa::sandbox {

inline constexpr const char* kPolicyDirInJail = "/policy";

Status prepareMounts(const JailSpec& spec);
Status finalizeMounts(const CodeTree& code, const JailLimits& limits);

}  // namespace exa::sandbox
