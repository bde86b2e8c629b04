// Top-level standard-library module names of the embedded Python (sys.stdlib_module_names),
// captured at build time from Debian's /usr/bin/python3.
#pragma once

#include <string_view>

namespace exa::policies {

bool isStdlibModule(std::string_view name);

}  // namespace exa::policies
