// Bearer tokens the agent makes for others to present (a function's pods, an executor made by
// create-infra): random bytes from the kernel as lower-case hex.
#pragma once

#include <cstddef>
#include <string>

#include "common/result.h"

namespace exa {

/// `bytes` random bytes (getrandom(2), the kernel's CSPRNG) as 2 × `bytes` hex digits.
Result<std::string> randomHexToken(size_t bytes = 32);

}  // namespace exa
