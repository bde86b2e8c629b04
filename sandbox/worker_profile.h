// The worker seccomp profile (sandbox/profiles/python_worker.json), compiled into the binary.
#pragma once

#include <string_view>

namespace exa::sandbox {

std::string_view builtinWorkerProfile();

}  // namespace exa::sandbox
