#include "kubernetes/yaml_json.h"

#include <charconv>
#include <regex>
#include <string>

#include <yaml-cpp/yaml.h>

namespace exa::kubernetes {
namespace {

struct Converter {
  size_t nodes = 0;
  std::string error;

  // Only untagged plain scalars ("?") get type resolution; "!" marks a quoted scalar.
  Json scalar(const YAML::Node& node) {
    const std::string& text = node.Scalar();
    if (node.Tag() != "?") return text;
    if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL")
      return nullptr;
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
    static const std::regex kInt("[-+]?[0-9]+");
    static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
    if (std::regex_match(text, kInt)) {
      long long value = 0;
      const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
      auto [end, ec] = std::from_chars(begin, text.data() + text.size(), value);
      if (ec == std::errc() && end == text.data() + text.size()) return value;
      return text;  // out of range: keep the digits rather than lose them
    }
    if (std::regex_match(text, kFloat)) return std::stod(text);
    return text;
  }

  bool convert(const YAML::Node& node, int depth, Json* out) {
    if (++nodes > kMaxYamlNodes) {
      error = "more than " + std::to_string(kMaxYamlNodes) + " nodes (alias expansion?)";
      return false;
    }
    if (depth > kMaxYamlDepth) {
      error = "nested deeper than " + std::to_string(kMaxYamlDepth);
      return false;
    }
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        *out = nullptr;
        return true;
      case YAML::NodeType::Scalar:
        *out = scalar(node);
        return true;
      case YAML::NodeType::Sequence:
        *out = Json::array();
        for (const auto& item : node) {
          Json value;
          if (!convert(item, depth + 1, &value)) return false;
          out->push_back(std::move(value));
        }
        return true;
      case YAML::NodeType::Map:
        *out = Json::object();
        for (const auto& entry : node) {
          if (!entry.first.IsScalar()) {
            error = "a mapping key that is not a scalar";
            return false;
          }
          Json value;
          if (!convert(entry.second, depth + 1, &value)) return false;
          (*out)[entry.first.Scalar()] = std::move(value);
        }
        return true;
    }
    return true;
  }
};

}  // namespace

Result<Json> yamlToJson(std::string_view text) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    Converter converter;
    Json out;
    if (!converter.convert(root, 0, &out))
      return makeError(ErrorCode::kInvalidArgument, "YAML refused: " + converter.error);
    return out;
  } catch (const YAML::Exception& e) {
    return makeError(ErrorCode::kInvalidArgument,
                     "YAML line " + std::to_string(e.mark.line + 1) + " column " +
                         std::to_string(e.mark.column + 1) + ": " + e.msg);
  } catch (const std::exception& e) {
    return makeError(ErrorCode::kInvalidArgument, std::string("YAML: ") + e.what());
  }
}

}  // namespace exa::kubernetes
