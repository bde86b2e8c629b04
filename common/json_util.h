// JSON adapter: nlohmann's exceptions stop here and become Errors naming what was wrong.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace exa {

using Json = nlohmann::ordered_json;

/// Deeper documents are refused before parsing: dumping or comparing them recurses, and a
/// hostile peer could otherwise overflow our stack.
inline constexpr int kMaxJsonDepth = 256;

/// Strict JSON parse; the error names the byte position, or the depth cap.
Result<Json> parseJson(std::string_view text, int max_depth = kMaxJsonDepth);

/// Nesting depth of arrays/objects in JSON text (strings skipped); stops counting past `cap`.
int jsonNestingDepth(std::string_view text, int cap);

/// Serialises without throwing: invalid UTF-8 is replaced rather than failing the call.
std::string dumpJson(const Json& value);

}  // namespace exa
