// JSON adapter: nlohmann's exceptions stop here and become Errors naming what was wrong.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
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

/// The value at `path` (object keys, outermost first) in `doc`; null when a step is missing or
/// not an object. For reading documents others wrote (Kubernetes objects, peers' replies)
/// without a chain of contains() checks.
const Json& jsonAt(const Json& doc, std::initializer_list<std::string_view> path);
/// The string at `path`, or "" when it is absent or not a string.
std::string stringAt(const Json& doc, std::initializer_list<std::string_view> path);
/// The integer at `path`, or `fallback` when it is absent or not an integer.
int64_t intAt(const Json& doc, std::initializer_list<std::string_view> path, int64_t fallback = 0);

}  // namespace exa
