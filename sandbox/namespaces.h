// Namespaces of a worker: the clone flags, and the parent-side id mapping (nsjail's
// initNsFromParent): the worker's root maps to one unprivileged host uid/gid.
#pragma once

#include <sched.h>
#include <sys/types.h>

#include "common/result.h"

namespace exa::sandbox {

/// New user, pid, mount, net, ipc and uts namespaces at clone time. The cgroup namespace is
/// entered by the child after the parent has moved it into its own cgroup leaf, so that its
/// cgroup root is that leaf rather than the zygote's cgroup.
inline constexpr unsigned long kWorkerCloneFlags =
    CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS;

/// Parent side: maps uid/gid 0 inside `pid`'s user namespace to `outside_uid`/`outside_gid`.
Status writeIdMapsFromParent(pid_t pid, uid_t outside_uid, gid_t outside_gid);

}  // namespace exa::sandbox
