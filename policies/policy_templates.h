// A policy's Templates, compiled once: input, output, settings, parameters and each management
// command's data. Also the merge rule for settings and parameters (DESIGN.md §3): the stored
// values, overridden key by key by the request's.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "common/json_util.h"
#include "policies/call_result.h"
#include "policies/policy_rule.h"
#include "policies/templates.h"

namespace exa::policies {

class PolicyTemplates {
 public:
  /// The error names the schema at fault ("policy_parameters_schema.local_allowlist.pattern: ...").
  static Result<PolicyTemplates> compile(const PolicyRule& rule);

  /// Each returns the typed error a caller reports (`invalid_input`, `invalid_settings`,
  /// `invalid_parameters`, `invalid_output`, `invalid_management`), or nothing when valid.
  std::optional<CallError> checkInput(const Json& input) const;
  std::optional<CallError> checkSettings(const Json& settings) const;
  std::optional<CallError> checkParameters(const Json& parameters) const;
  std::optional<CallError> checkOutput(const Json& output) const;
  /// An action not in management_commands_schema is refused, naming the valid ones (when the
  /// policy declares any commands at all).
  std::optional<CallError> checkManagement(const std::string& action, const Json& data) const;

 private:
  PolicyTemplates() = default;
  std::optional<TemplateSchema> input_, output_, settings_, parameters_;
  std::map<std::string, TemplateSchema> commands_;
};

/// `stored` overridden key by key by `overrides` (top-level keys only; a key set to null in the
/// overrides is removed). Non-object arguments count as empty.
Json mergeKeys(const Json& stored, const Json& overrides);

}  // namespace exa::policies
