// policies/pip_installer.py, compiled into the binary by CMake.
#pragma once

#include <string_view>

namespace exa::policies {

std::string_view pipInstallerSource();

}  // namespace exa::policies
