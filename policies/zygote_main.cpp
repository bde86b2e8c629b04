// The zygote process: Python and the compiled seccomp program are ready before the first fork.
#include "policies/zygote_main.h"

#include <cstdio>

#include "policies/python_runtime.h"
#include "policies/worker_main.h"
#include "sandbox/seccomp_filter.h"
#include "sandbox/worker_profile.h"
#include "sandbox/zygote.h"

namespace exa::policies {

int zygoteMain() {
  auto seccomp = sandbox::compileSeccompProfile(sandbox::builtinWorkerProfile());
  if (!seccomp) {
    std::fprintf(stderr, "zygote: seccomp profile: %s\n", seccomp.error().describe().c_str());
    return 1;
  }
  for (auto step : {initInterpreter, prepareForForking}) {
    Status status = step();
    if (!status) {
      std::fprintf(stderr, "zygote: %s\n", status.error().describe().c_str());
      return 1;
    }
  }
  sandbox::ZygoteHooks hooks;
  hooks.after_fork = afterForkInWorker;
  hooks.run_worker = runWorker;
  hooks.runtime_paths = runtimePaths();
  hooks.runtime_version = runtimeVersion();
  return sandbox::runZygote(sandbox::kZygoteControlFd, hooks, *seccomp);
}

}  // namespace exa::policies
