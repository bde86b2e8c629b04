// The PolicyRule record (seed "Schema of the structures" plus the original's extra keys, DESIGN §8
// "Records are documents"): parsed from a client's or the store's JSON, written back with every
// key the original SDK indexes. Used by the registry routes and by the code loader.
//
// Parsing rules, and why:
// - Required: name, version, release_tag (they make the URI) and code (nothing runs without it).
//   Everything else has a default, because the seed's onboarding payload omits the original's
//   code_type/functionality_data/resource_estimates and the original rejected it for that.
// - null anywhere means "absent": Python clients send None for "not set". Object fields become {}
//   (so reads never hand the SDK a null settings/parameters), a null required field is missing.
// - Strings must be JSON strings: `"version": 1.0` is refused, since coercing a number loses how
//   it was written ("1.10" would read back as "1.1").
// - tags: the seed's comma-separated string; a list of strings (the form functions and graphs
//   use) is joined with ",", so the stored value stays what `$regex` queries and the original
//   SDK expect. Elements that are empty or contain ',' are refused (they would not split back).
// - type: "python_class_v1", the only loader this agent has; "" (the original's placeholder) means
//   that default. Anything else is refused at onboarding rather than failing at the first call.
// - management_commands_schema: an array of {"name", "description", "schema"}; names are required
//   and unique (commands dispatch by name, a duplicate would make one unreachable).
// - code_sha256: 64 hex digits, lower-cased; accepted top-level or as metadata.code_sha256, and
//   the top-level one wins. Either one, if present, must be well-formed.
// - policy_rule_uri is derived; one given in the input must equal the derived one. URI parts
//   follow policy_uri.h (no ':' in a name, no '-' in a release tag, nothing URL-unsafe).
// - Unknown top-level keys are kept in order in `extra` (the original's documents carried them),
//   except keys starting with '$': those are update operators sent to the wrong route.
#pragma once

#include <string>
#include <vector>

#include "common/json_util.h"
#include "common/result.h"

namespace exa::policies {

struct ManagementCommand {
  std::string name;
  std::string description;
  Json schema = Json::object();
  Json extra = Json::object();  ///< unknown keys of this command, kept like top-level ones
};

struct PolicyRule {
  std::string name, version, release_tag;
  std::string policy_rule_uri;  ///< always derived by parsePolicyRule, never trusted from input
  Json metadata = Json::object();
  std::string tags;
  std::string code;
  std::string code_type;
  std::string type = "python_class_v1";
  std::string code_sha256;  ///< lower-case hex sha256 of the code archive; "" when not pinned
  Json policy_input_schema = Json::object();
  Json policy_output_schema = Json::object();
  Json policy_settings_schema = Json::object();
  Json policy_parameters_schema = Json::object();
  Json policy_settings = Json::object();
  Json policy_parameters = Json::object();
  std::vector<ManagementCommand> management_commands_schema;
  std::string description;
  Json functionality_data = Json::object();
  Json resource_estimates = Json::object();
  Json extra = Json::object();  ///< unknown top-level keys, in input order
};

inline constexpr const char* kPythonClassV1 = "python_class_v1";

/// One problem with a policy document; `field` is a path like "management_commands_schema[1].name"
/// ("" for the document itself).
struct FieldError {
  std::string field;
  std::string message;
};

/// Parses a PolicyRule document. Every missing required field (name, version, release_tag, code)
/// and every mistyped field is reported, not just the first. A policy_rule_uri in the input that
/// disagrees with the derived one is an error naming both. The kInvalidArgument Error's message
/// lists the FieldErrors as "field: message", one per line.
Result<PolicyRule> parsePolicyRule(const Json& doc);

/// The structured form of parsePolicyRule's errors, for the HTTP layer; empty when `doc` parses.
std::vector<FieldError> policyRuleErrors(const Json& doc);

/// Every key of DESIGN §8 in the seed's order, defaults filled (object fields are never null),
/// then code_sha256 when pinned, then `extra`. policy_rule_uri is re-derived from the fields.
Json toJson(const PolicyRule& rule);

Json toJson(const ManagementCommand& command);

}  // namespace exa::policies
