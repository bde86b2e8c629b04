// JSON adapter: nlohmann's exceptions stop here and become Errors naming what was wrong.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace exa {

using Json = nlohmann::ordered_json;

/// Strict JSON parse; the error names the byte position.
Result<Json> parseJson(std::string_view text);

/// Serialises without throwing: invalid UTF-8 is replaced rather than failing the call.
std::string dumpJson(const Json& value);

}  // namespace exa
