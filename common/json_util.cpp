// parseJson/dumpJson: the only place nlohmann's parse and dump exceptions are caught.
#include "common/json_util.h"

#include <algorithm>

namespace exa {

int jsonNestingDepth(std::string_view text, int cap) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > cap) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

Result<Json> parseJson(std::string_view text, int max_depth) {
  if (jsonNestingDepth(text, max_depth) > max_depth)
    return makeError(ErrorCode::kInvalidArgument,
                     "invalid JSON: nesting deeper than " + std::to_string(max_depth));
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    // parse_error, but also out_of_range for numbers like 1e400: any of them is bad input.
    return makeError(ErrorCode::kInvalidArgument, std::string("invalid JSON: ") + e.what());
  }
}

std::string dumpJson(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

const Json& jsonAt(const Json& doc, std::initializer_list<std::string_view> path) {
  static const Json kNull;
  const Json* node = &doc;
  for (std::string_view key : path) {
    if (!node->is_object()) return kNull;
    auto it = node->find(std::string(key));
    if (it == node->end()) return kNull;
    node = &*it;
  }
  return *node;
}

std::string stringAt(const Json& doc, std::initializer_list<std::string_view> path) {
  const Json& value = jsonAt(doc, path);
  return value.is_string() ? value.get<std::string>() : std::string();
}

int64_t intAt(const Json& doc, std::initializer_list<std::string_view> path, int64_t fallback) {
  const Json& value = jsonAt(doc, path);
  return value.is_number_integer() ? value.get<int64_t>() : fallback;
}

}  // namespace exa
