// libFuzzer target for the Templates schema language: the input is "<schema JSON>\0<value JSON>"
// (without a NUL byte the one text serves as both). Compile and validate must never crash,
// hang or leak, whatever the schema, the regexes in it, or the value.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/json_util.h"
#include "policies/templates.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t split = input.find('\0');
  std::string_view schema_text = input.substr(0, split);
  std::string_view value_text = split == std::string_view::npos ? input : input.substr(split + 1);

  auto schema_json = exa::parseJson(schema_text);
  if (!schema_json) return 0;
  auto schema = exa::policies::TemplateSchema::compile(*schema_json, "schema");
  if (!schema) {
    // Refusals must always say where: "schema...: reason".
    if (schema.error().message.rfind("schema", 0) != 0) __builtin_trap();
    return 0;
  }
  auto value = exa::parseJson(value_text);
  if (!value) return 0;

  auto violations = schema->validate(*value, "data");
  if (violations.size() > exa::policies::kMaxTemplateViolations) __builtin_trap();
  if (!violations.empty() && !value->is_object() && violations.size() != 1) __builtin_trap();
  (void)exa::policies::describe(violations);
  // A value that passes must not depend on the root name.
  if (violations.empty() && !schema->validate(*value, "").empty()) __builtin_trap();
  return 0;
}
