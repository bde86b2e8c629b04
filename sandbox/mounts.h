// The worker's filesystem (child side, in its new mount namespace): a tmpfs root holding
// read-only binds of the Python runtime, a read-only copy of the policy code at /policy, a
// fresh /proc, a minimal /dev and a capped noexec /tmp; then pivot_root and detach the host.
#pragma once

#include "common/result.h"
#include "sandbox/code_tree.h"
#include "sandbox/jail_spec.h"

namespace exa::sandbox {

inline constexpr const char* kPolicyDirInJail = "/policy";

/// `code` (read by the zygote) is written to /policy.
Status setupMounts(const JailSpec& spec, const CodeTree& code);

}  // namespace exa::sandbox
