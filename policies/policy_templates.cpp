// Compiling a PolicyRule's schemas and turning violations into typed call errors.
#include "policies/policy_templates.h"

namespace exa::policies {
namespace {

Result<TemplateSchema> compileOne(const Json& schema, const std::string& name) {
  return TemplateSchema::compile(schema.is_null() ? Json::object() : schema, name);
}

std::optional<CallError> check(const std::optional<TemplateSchema>& schema, const Json& value,
                               const char* root, const char* type) {
  if (!schema) return std::nullopt;
  auto violations = schema->validate(value, root);
  if (violations.empty()) return std::nullopt;
  return CallError{type, describe(violations), {}, {}};
}

}  // namespace

Result<PolicyTemplates> PolicyTemplates::compile(const PolicyRule& rule) {
  PolicyTemplates t;
  EXA_ASSIGN_OR_RETURN(t.input_, compileOne(rule.policy_input_schema, "policy_input_schema"));
  EXA_ASSIGN_OR_RETURN(t.output_, compileOne(rule.policy_output_schema, "policy_output_schema"));
  EXA_ASSIGN_OR_RETURN(t.settings_,
                       compileOne(rule.policy_settings_schema, "policy_settings_schema"));
  EXA_ASSIGN_OR_RETURN(t.parameters_,
                       compileOne(rule.policy_parameters_schema, "policy_parameters_schema"));
  for (size_t i = 0; i < rule.management_commands_schema.size(); ++i) {
    const auto& command = rule.management_commands_schema[i];
    EXA_ASSIGN_OR_RETURN(TemplateSchema schema,
                         compileOne(command.schema, "management_commands_schema[" +
                                                        std::to_string(i) + "].schema"));
    t.commands_.emplace(command.name, std::move(schema));
  }
  return t;
}

std::optional<CallError> PolicyTemplates::checkInput(const Json& input) const {
  return check(input_, input, "input_data", "invalid_input");
}

std::optional<CallError> PolicyTemplates::checkSettings(const Json& settings) const {
  return check(settings_, settings, "settings", "invalid_settings");
}

std::optional<CallError> PolicyTemplates::checkParameters(const Json& parameters) const {
  return check(parameters_, parameters, "parameters", "invalid_parameters");
}

std::optional<CallError> PolicyTemplates::checkOutput(const Json& output) const {
  // An output schema describes an object; a policy without one may return anything.
  if (!output_ || output_->empty()) return std::nullopt;
  return check(output_, output, "output", "invalid_output");
}

std::optional<CallError> PolicyTemplates::checkManagement(const std::string& action,
                                                          const Json& data) const {
  if (commands_.empty()) return std::nullopt;
  auto it = commands_.find(action);
  if (it == commands_.end()) {
    std::string valid;
    for (const auto& [name, schema] : commands_) valid += (valid.empty() ? "" : ", ") + name;
    return CallError{"invalid_management",
                     "unknown management action \"" + action + "\"; valid: " + valid, {}, {}};
  }
  auto violations = it->second.validate(data, "data");
  if (violations.empty()) return std::nullopt;
  return CallError{"invalid_management", describe(violations), {}, {}};
}

Json mergeKeys(const Json& stored, const Json& overrides) {
  Json merged = stored.is_object() ? stored : Json::object();
  if (!overrides.is_object()) return merged;
  for (const auto& [key, value] : overrides.items()) {
    if (value.is_null()) {
      merged.erase(key);
    } else {
      merged[key] = value;
    }
  }
  return merged;
}

}  // namespace exa::policies
