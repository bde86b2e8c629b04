// libcap-based capability drop; prctl for the bounding set, ambient set and securebits.
#include "sandbox/capabilities.h"

#include <linux/securebits.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include <string>

namespace exa::sandbox {

Status dropPrivileges() {
  // Securebits first (needs CAP_SETPCAP): root inside the namespace gets no capabilities back
  // on exec or uid change, and the bits cannot be unset later.
  const int bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                   SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
                   SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
  if (::prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) != 0)
    return sysError("prctl(PR_SET_SECUREBITS)", ErrorCode::kSandboxSetup);
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
    return sysError("prctl(PR_CAP_AMBIENT_CLEAR_ALL)", ErrorCode::kSandboxSetup);
  // The bounding set caps what any future exec could gain.
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
      return sysError("prctl(PR_CAPBSET_DROP, " + std::to_string(cap) + ")",
                      ErrorCode::kSandboxSetup);
  }
  cap_t empty = ::cap_init();
  if (empty == nullptr) return sysError("cap_init", ErrorCode::kSandboxSetup);
  int rc = ::cap_set_proc(empty);
  ::cap_free(empty);
  if (rc != 0) return sysError("cap_set_proc(empty)", ErrorCode::kSandboxSetup);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return sysError("prctl(PR_SET_NO_NEW_PRIVS)", ErrorCode::kSandboxSetup);
  return {};
}

}  // namespace exa::sandbox
