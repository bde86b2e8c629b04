// Per-process limits of a worker (table-driven setrlimit, nsjail's containSetLimits as a loop).
// They back up the cgroup limits, and are all there is where no cgroup is writable.
#pragma once

#include "common/result.h"
#include "sandbox/jail_spec.h"

namespace exa::sandbox {

Status applyRlimits(const JailLimits& limits);

}  // namespace exa::sandbox
