// setrlimit for each limit of a worker; each failure names the resource.
#include "sandbox/rlimits.h"

#include <sys/resource.h>

#include <string>

namespace exa::sandbox {
namespace {

struct Limit {
  int resource;
  const char* name;
  rlim_t value;
};

}  // namespace

Status applyRlimits(const JailLimits& spec) {
  const Limit limits[] = {
      {RLIMIT_NOFILE, "RLIMIT_NOFILE", spec.rlimit_nofile},
      {RLIMIT_NPROC, "RLIMIT_NPROC", spec.rlimit_nproc},
      {RLIMIT_FSIZE, "RLIMIT_FSIZE", spec.rlimit_fsize},
      {RLIMIT_CORE, "RLIMIT_CORE", 0},          // a crashing policy leaves no core on the host
      {RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK", 0},    // no pinning of host memory
      {RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE", 0},  // POSIX queues are not part of the contract
      {RLIMIT_RTPRIO, "RLIMIT_RTPRIO", 0},      // no real-time starvation of the host
      {RLIMIT_NICE, "RLIMIT_NICE", 0},
      {RLIMIT_AS, "RLIMIT_AS", spec.rlimit_as == 0 ? RLIM_INFINITY : spec.rlimit_as},
  };
  for (const auto& l : limits) {
    struct rlimit value{l.value, l.value};
    if (::setrlimit(l.resource, &value) != 0)
      return sysError(std::string("setrlimit(") + l.name + ")", ErrorCode::kSandboxSetup);
  }
  return {};
}

}  // namespace exa::sandbox
