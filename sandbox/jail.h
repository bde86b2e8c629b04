// enterJail: the ordered containment steps a freshly cloned worker runs on itself once its
// parent has written its id maps and cgroup membership (DESIGN.md §2). Seccomp comes last.
#pragma once

#include "common/result.h"
#include "sandbox/code_tree.h"
#include "sandbox/jail_spec.h"
#include "sandbox/seccomp_filter.h"

namespace exa::sandbox {

/// The worker's channel ends up on this fd; every other fd is closed.
inline constexpr int kWorkerChannelFd = 3;

/// Child side. On success the process is fully jailed and `channel_fd` is kWorkerChannelFd.
Status enterJail(const JailSpec& spec, const CodeTree& code, const SeccompProgram& seccomp,
                 int channel_fd);

}  // namespace exa::sandbox
