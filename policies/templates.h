// The "Templates" schema language of policy JSON (input, output, settings, parameters and each
// management command's data): compiled once when a policy is loaded, then checked per call.
//
// A schema is `{ <field>: <descriptor> }` and applies to an object value. Descriptor keywords:
//   type        string | number | integer | boolean | array | object | any (absent = any).
//               `integer` accepts numbers without a fractional part (3 and 3.0); `number`
//               accepts both; booleans are never numbers; null passes only `any`.
//   required    true: the field must be present (default false). On an object descriptor a
//               JSON-Schema-style list of property names is accepted too (AIOS component.json).
//   pattern     PCRE2 regex, unanchored search (re.search / JSON Schema); UTF mode, `\d` `\w`
//               stay ASCII, `$` matches only at the very end (so "1.2.3.4\n" fails ^...$).
//               Backtracking is capped: a runaway pattern yields a violation, never a hang.
//   min_length / max_length   strings: Unicode code points; arrays: item count.
//   min / max   inclusive numeric bounds.      choices   allowed values (JSON equality).
//   items       descriptor of array elements.  properties   nested schema of an object.
//   description, title, default, example   accepted and ignored.
// Unknown keywords are refused at compile time with their path: a typo such as `max_lenght`
// would otherwise silently disable a check. So are keywords that cannot apply to the declared
// type (`pattern` on a number), bad values, and min > max. With type absent/any, each keyword
// applies only when the value has the matching JSON type. Fields the schema does not name are
// allowed and passed through, as the original system does.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_util.h"

namespace exa::policies {

struct TemplateViolation {
  std::string path;     ///< "parameters.local_allowlist[3]"
  std::string rule;     ///< "pattern", "type", "required", "max_length", ...
  std::string message;  ///< "\"1.2.3\" does not match ^\\d{1,3}(\\.\\d{1,3}){3}$"
};

/// validate() stops collecting after this many violations.
inline constexpr size_t kMaxTemplateViolations = 32;

class TemplateSchema {
 public:
  /// The empty schema: every object passes.
  TemplateSchema() = default;

  /// Compiles a schema once; the error names the schema path and the bad keyword/value
  /// ("policy_parameters_schema.local_allowlist.items.pattern: missing closing parenthesis at
  /// offset 4"). A null schema is the empty schema; any other non-object is refused.
  static Result<TemplateSchema> compile(const Json& schema, std::string_view name);

  /// All violations of `value` (at most kMaxTemplateViolations), each path rooted at `root`
  /// ("input_data", "parameters", ...). `value` must be an object; anything else is one
  /// violation at the root. Thread-safe; allocates nothing when the value passes.
  std::vector<TemplateViolation> validate(const Json& value, std::string_view root) const;

  bool empty() const;  ///< the schema names no field

 private:
  struct Impl;
  explicit TemplateSchema(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

  // Immutable once compiled, so copies share it (a cached Policy can be copied cheaply);
  // the compiled regexes inside are freed with pcre2_code_free when the last copy goes.
  std::shared_ptr<const Impl> impl_;
};

/// "parameters.local_allowlist[3]: \"1.2.3\" does not match ^...$ (pattern)", one line each.
std::string describe(const std::vector<TemplateViolation>& violations);

}  // namespace exa::policies
