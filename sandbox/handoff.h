// The handoff: how a pre-jailed worker receives its policy. The agent sends the per-policy
// limits and the code tree over the worker's channel; the worker, still holding capabilities
// in its own user namespace but running only our code, writes the code into /policy, applies
// the limits, drops every privilege and loads seccomp. Frames: one JSON header listing the
// entries, then one raw frame per file.
#pragma once

#include "common/result.h"
#include "sandbox/code_tree.h"
#include "sandbox/frame_channel.h"
#include "sandbox/jail_spec.h"

namespace exa::sandbox {

struct Handoff {
  JailLimits limits;
  CodeTree code;
};

/// Agent side.
Status sendHandoff(int channel_fd, const JailLimits& limits, const CodeTree& code,
                   Deadline deadline);

/// Worker side; the caps bound what a (trusted, but still) peer may make us allocate.
Result<Handoff> receiveHandoff(int channel_fd, uint64_t max_bytes, uint32_t max_entries);

}  // namespace exa::sandbox
