// Seccomp for the worker: the zygote compiles the JSON allowlist (sandbox/profiles/) once with
// libseccomp, and every forked worker loads the resulting BPF as the last step of finishJail.
#pragma once

#include <linux/filter.h>

#include <string_view>
#include <vector>

#include "common/result.h"

namespace exa::sandbox {

/// A compiled classic-BPF seccomp program, built once (in the zygote) and loaded by each worker.
struct SeccompProgram {
  std::vector<struct sock_filter> instructions;
};

/// Compiles a JSON profile with libseccomp for the native arch; foreign arches (and x32 on
/// x86_64) get SCMP_ACT_KILL_PROCESS. Errors name the rule / syscall at fault.
///
/// Profile: {"comment", "default_action", "rules": [{"names", "action", "errno"?, "args"?,
/// "reason"}]}. Actions: allow, errno (with "errno": name or number), kill_process, kill_thread,
/// trap, log. Args in one rule are ANDed, at most one per index: {"index", "op", ...} with op
/// eq/ne/lt/le/gt/ge + "value", masked_eq + "mask" + "value", or in/not_in + "values" and an
/// optional "mask"; not_in is expanded into masked_eq rules covering the complement.
Result<SeccompProgram> compileSeccompProfile(std::string_view profile_json);

/// Loads `program` with SECCOMP_FILTER_FLAG_TSYNC via the seccomp(2) syscall. The caller has
/// already set PR_SET_NO_NEW_PRIVS. Must be async-signal-safe (runs in a forked child): no
/// allocation, no locks.
Status loadSeccompProgram(const SeccompProgram& program);

}  // namespace exa::sandbox
