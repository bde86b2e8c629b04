// The embedded interpreter of the zygote: Debian's python3.11 in isolated mode (no
// environment variables, no user site), common stdlib modules pre-imported so that workers
// forked from it pay only for the policy's own imports.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace exa::policies {

/// Initialises the interpreter; the calling thread keeps the GIL for the process lifetime.
Status initInterpreter();

/// Imports the modules policies commonly use, compiles the worker runtime, freezes the heap.
Status prepareForForking();

/// Directories the interpreter imports from (sys.path) plus the shared-library dir that
/// extension modules link against; bound read-only into every jail.
std::vector<std::string> runtimePaths();

std::string runtimeVersion();

}  // namespace exa::policies
