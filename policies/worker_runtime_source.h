// policies/worker_runtime.py, compiled into the binary by CMake.
#pragma once

#include <string_view>

namespace exa::policies {

std::string_view workerRuntimeSource();

}  // namespace exa::policies
