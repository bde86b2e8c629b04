// YAML text → Json, for kubeconfig files (kubectl writes YAML). yaml-cpp's exceptions stop here.
#pragma once

#include <string_view>

#include "common/json_util.h"
#include "common/result.h"

namespace exa::kubernetes {

/// Caps that keep a hostile file from exhausting memory: aliases let a few bytes of YAML expand
/// into an exponential tree ("billion laughs"), and deep nesting recurses.
inline constexpr size_t kMaxYamlNodes = 100000;
inline constexpr int kMaxYamlDepth = 64;

/// Converts the first YAML document. Plain scalars resolve as YAML 1.2 core schema does
/// (null, true/false, integers, floats, else string); quoted scalars are always strings.
/// Errors are kInvalidArgument naming the line and column.
Result<Json> yamlToJson(std::string_view text);

}  // namespace exa::kubernetes
