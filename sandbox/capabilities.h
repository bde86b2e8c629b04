// Privilege drop (child side, last before seccomp): lock securebits so uid 0 inside the user
// namespace never regains capabilities, clear every capability set and the bounding set, and
// set no_new_privs.
#pragma once

#include "common/result.h"

namespace exa::sandbox {

Status dropPrivileges();

}  // namespace exa::sandbox
