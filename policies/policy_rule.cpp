// PolicyRule parsing and serialisation. The reader collects every problem in one pass so a client
// fixes its document once, not one round trip per field.
#include "policies/policy_rule.h"

#include <array>
#include <map>
#include <string_view>
#include <utility>

#include "policies/policy_uri.h"

namespace exa::policies {
namespace {

// DESIGN §8's read order (the seed's order with the original's extra keys where it keeps them).
constexpr std::array<const char*, 19> kDocumentKeys = {
    "name", "version", "release_tag", "policy_rule_uri", "metadata", "tags", "code", "code_type",
    "type", "policy_input_schema", "policy_output_schema", "policy_settings_schema",
    "policy_parameters_schema", "policy_settings", "policy_parameters",
    "management_commands_schema", "description", "functionality_data", "resource_estimates"};

constexpr const char* kCodeSha256 = "code_sha256";

bool isKnownKey(std::string_view key) {
  if (key == kCodeSha256) return true;
  for (const char* known : kDocumentKeys)
    if (key == known) return true;
  return false;
}

std::string mistyped(const char* expected, const Json& got) {
  return std::string("must be ") + expected + ", got " + got.type_name();
}

bool isLowerHexSha256(const std::string& text) {
  if (text.size() != 64) return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

const Json& objectOrEmpty(const Json& value) {
  static const Json kEmpty = Json::object();
  return value.is_object() ? value : kEmpty;
}

// Reads one document; problems go to errors_, and the fields that could be read are still filled
// so later checks (the URI, duplicate names) see as much as possible.
class RuleReader {
 public:
  explicit RuleReader(const Json& doc) : doc_(doc) {}

  PolicyRule read();
  std::vector<FieldError>& errors() { return errors_; }

 private:
  void fail(std::string field, std::string message) {
    errors_.push_back({std::move(field), std::move(message)});
  }

  // The value of `key` in `object`, or nullptr when it is absent or null (the same thing here).
  static const Json* present(const Json& object, const char* key) {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return nullptr;
    return &*it;
  }

  std::string readString(const Json& object, const char* key, const std::string& path,
                         bool required);
  Json readObject(const Json& object, const char* key, const std::string& path);
  std::string readIdentity(const char* key, PolicyUriPart part);
  std::string readTags();
  std::string readType();
  std::string readSha256(const Json& object, const std::string& path);
  std::vector<ManagementCommand> readCommands();
  void checkUri(PolicyRule& rule);
  Json readExtra(const Json& object, const std::string& prefix, bool top_level);

  const Json& doc_;
  std::vector<FieldError> errors_;
};

std::string RuleReader::readString(const Json& object, const char* key, const std::string& path,
                                   bool required) {
  const Json* value = present(object, key);
  if (value == nullptr) {
    if (required) fail(path, "required field is missing");
    return "";
  }
  if (!value->is_string()) {
    fail(path, mistyped("a string", *value));
    return "";
  }
  std::string text = value->get<std::string>();
  if (required && text.empty()) fail(path, "must not be empty");
  return text;
}

Json RuleReader::readObject(const Json& object, const char* key, const std::string& path) {
  const Json* value = present(object, key);
  if (value == nullptr) return Json::object();
  if (!value->is_object()) {
    fail(path, mistyped("an object", *value));
    return Json::object();
  }
  return *value;
}

std::string RuleReader::readIdentity(const char* key, PolicyUriPart part) {
  std::size_t errors_before = errors_.size();
  std::string value = readString(doc_, key, key, /*required=*/true);
  if (errors_.size() != errors_before) return value;
  std::string problem = policyUriPartProblem(part, value);
  if (!problem.empty()) fail(key, problem);
  return value;
}

std::string RuleReader::readTags() {
  const Json* value = present(doc_, "tags");
  if (value == nullptr) return "";
  if (value->is_string()) return value->get<std::string>();
  if (!value->is_array()) {
    fail("tags", mistyped("a comma-separated string or a list of strings", *value));
    return "";
  }
  std::string joined;
  for (std::size_t i = 0; i < value->size(); ++i) {
    const Json& tag = (*value)[i];
    std::string path = "tags[" + std::to_string(i) + "]";
    if (!tag.is_string()) {
      fail(path, mistyped("a string", tag));
      continue;
    }
    const auto& text = tag.get_ref<const std::string&>();
    if (text.empty()) fail(path, "must not be empty");
    else if (text.find(',') != std::string::npos)
      fail(path, "must not contain ',' (tags are stored comma-separated)");
    if (!joined.empty()) joined += ',';
    joined += text;
  }
  return joined;
}

std::string RuleReader::readType() {
  std::string type = readString(doc_, "type", "type", /*required=*/false);
  if (type.empty()) return kPythonClassV1;
  if (type != kPythonClassV1)
    fail("type", "unsupported policy type \"" + type + "\" (this agent runs only \"" +
                     kPythonClassV1 + "\")");
  return type;
}

std::string RuleReader::readSha256(const Json& object, const std::string& path) {
  std::string hex = readString(object, kCodeSha256, path, /*required=*/false);
  for (char& c : hex)
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  if (!hex.empty() && !isLowerHexSha256(hex)) {
    fail(path, "must be 64 hex digits (a sha256 of the code archive)");
    return "";
  }
  return hex;
}

std::vector<ManagementCommand> RuleReader::readCommands() {
  constexpr const char* kKey = "management_commands_schema";
  std::vector<ManagementCommand> commands;
  const Json* list = present(doc_, kKey);
  if (list == nullptr) return commands;
  if (!list->is_array()) {
    fail(kKey, mistyped("an array of {name, description, schema}", *list));
    return commands;
  }
  std::map<std::string, std::size_t> first_index;  // name -> where it was first defined
  for (std::size_t i = 0; i < list->size(); ++i) {
    const Json& item = (*list)[i];
    std::string path = std::string(kKey) + "[" + std::to_string(i) + "]";
    if (!item.is_object()) {
      fail(path, mistyped("an object {name, description, schema}", item));
      continue;
    }
    ManagementCommand command;
    command.name = readString(item, "name", path + ".name", /*required=*/true);
    command.description = readString(item, "description", path + ".description", false);
    command.schema = readObject(item, "schema", path + ".schema");
    command.extra = readExtra(item, path + ".", /*top_level=*/false);
    if (!command.name.empty()) {
      auto [it, inserted] = first_index.emplace(command.name, i);
      if (!inserted)
        fail(path + ".name", "duplicate command name \"" + command.name + "\" (also at [" +
                                 std::to_string(it->second) + "])");
    }
    commands.push_back(std::move(command));
  }
  return commands;
}

void RuleReader::checkUri(PolicyRule& rule) {
  bool parts_ok = !rule.name.empty() && !rule.version.empty() && !rule.release_tag.empty();
  for (const FieldError& e : errors_)
    if (e.field == "name" || e.field == "version" || e.field == "release_tag") parts_ok = false;
  if (parts_ok) rule.policy_rule_uri = formatPolicyUri(rule.name, rule.version, rule.release_tag);

  const Json* given = present(doc_, "policy_rule_uri");
  if (given == nullptr) return;
  if (!given->is_string()) {
    fail("policy_rule_uri", mistyped("a string", *given));
    return;
  }
  // Without a derivable URI there is nothing to compare against; the part errors say why.
  const auto& text = given->get_ref<const std::string&>();
  if (parts_ok && text != rule.policy_rule_uri)
    fail("policy_rule_uri", "\"" + text + "\" does not match \"" + rule.policy_rule_uri +
                                "\" derived from name, version and release_tag");
}

Json RuleReader::readExtra(const Json& object, const std::string& prefix, bool top_level) {
  Json extra = Json::object();
  for (auto it = object.begin(); it != object.end(); ++it) {
    const std::string& key = it.key();
    if (top_level ? isKnownKey(key) : (key == "name" || key == "description" || key == "schema"))
      continue;
    if (top_level && !key.empty() && key.front() == '$') {
      fail(prefix + key, "update operators are not fields (partial updates go to PUT "
                         "/policy/<uri> as {\"$set\": {...}})");
      continue;
    }
    extra[key] = it.value();
  }
  return extra;
}

PolicyRule RuleReader::read() {
  PolicyRule rule;
  if (!doc_.is_object()) {
    fail("", "a policy must be a JSON object, got " + std::string(doc_.type_name()));
    return rule;
  }
  rule.name = readIdentity("name", PolicyUriPart::kName);
  rule.version = readIdentity("version", PolicyUriPart::kVersion);
  rule.release_tag = readIdentity("release_tag", PolicyUriPart::kReleaseTag);
  rule.metadata = readObject(doc_, "metadata", "metadata");
  rule.tags = readTags();
  rule.code = readString(doc_, "code", "code", /*required=*/true);
  rule.code_type = readString(doc_, "code_type", "code_type", false);
  rule.type = readType();
  rule.policy_input_schema = readObject(doc_, "policy_input_schema", "policy_input_schema");
  rule.policy_output_schema = readObject(doc_, "policy_output_schema", "policy_output_schema");
  rule.policy_settings_schema =
      readObject(doc_, "policy_settings_schema", "policy_settings_schema");
  rule.policy_parameters_schema =
      readObject(doc_, "policy_parameters_schema", "policy_parameters_schema");
  rule.policy_settings = readObject(doc_, "policy_settings", "policy_settings");
  rule.policy_parameters = readObject(doc_, "policy_parameters", "policy_parameters");
  rule.management_commands_schema = readCommands();
  rule.description = readString(doc_, "description", "description", false);
  rule.functionality_data = readObject(doc_, "functionality_data", "functionality_data");
  rule.resource_estimates = readObject(doc_, "resource_estimates", "resource_estimates");

  // Both places are validated, so a typo in the losing one is still reported.
  std::string top_sha = readSha256(doc_, kCodeSha256);
  std::string metadata_sha = readSha256(rule.metadata, "metadata.code_sha256");
  rule.code_sha256 = top_sha.empty() ? metadata_sha : top_sha;

  checkUri(rule);
  rule.extra = readExtra(doc_, "", /*top_level=*/true);
  return rule;
}

std::string joinErrors(const std::vector<FieldError>& errors) {
  std::string text;
  for (const FieldError& e : errors) {
    if (!text.empty()) text += '\n';
    text += e.field.empty() ? e.message : e.field + ": " + e.message;
  }
  return text;
}

}  // namespace

Result<PolicyRule> parsePolicyRule(const Json& doc) {
  try {
    RuleReader reader(doc);
    PolicyRule rule = reader.read();
    if (!reader.errors().empty())
      return makeError(ErrorCode::kInvalidArgument, joinErrors(reader.errors()));
    return rule;
  } catch (const Json::exception& e) {
    // Every access above is type-checked first; this only guards against a missed case.
    return makeError(ErrorCode::kInternal, std::string("reading policy: ") + e.what());
  }
}

std::vector<FieldError> policyRuleErrors(const Json& doc) {
  try {
    RuleReader reader(doc);
    reader.read();
    return std::move(reader.errors());
  } catch (const Json::exception& e) {
    return {{"", std::string("reading policy: ") + e.what()}};
  }
}

Json toJson(const ManagementCommand& command) {
  Json out = Json::object();
  out["name"] = command.name;
  out["description"] = command.description;
  out["schema"] = objectOrEmpty(command.schema);
  for (auto it = command.extra.begin(); command.extra.is_object() && it != command.extra.end();
       ++it)
    if (!out.contains(it.key())) out[it.key()] = it.value();
  return out;
}

Json toJson(const PolicyRule& rule) {
  Json commands = Json::array();
  for (const ManagementCommand& command : rule.management_commands_schema)
    commands.push_back(toJson(command));

  // Object fields go through objectOrEmpty: a caller may have assigned null after parsing, and
  // the original SDK indexes settings and parameters without checking.
  Json out = Json::object();
  out["name"] = rule.name;
  out["version"] = rule.version;
  out["release_tag"] = rule.release_tag;
  out["policy_rule_uri"] = formatPolicyUri(rule.name, rule.version, rule.release_tag);
  out["metadata"] = objectOrEmpty(rule.metadata);
  out["tags"] = rule.tags;
  out["code"] = rule.code;
  out["code_type"] = rule.code_type;
  out["type"] = rule.type.empty() ? std::string(kPythonClassV1) : rule.type;
  out["policy_input_schema"] = objectOrEmpty(rule.policy_input_schema);
  out["policy_output_schema"] = objectOrEmpty(rule.policy_output_schema);
  out["policy_settings_schema"] = objectOrEmpty(rule.policy_settings_schema);
  out["policy_parameters_schema"] = objectOrEmpty(rule.policy_parameters_schema);
  out["policy_settings"] = objectOrEmpty(rule.policy_settings);
  out["policy_parameters"] = objectOrEmpty(rule.policy_parameters);
  out["management_commands_schema"] = std::move(commands);
  out["description"] = rule.description;
  out["functionality_data"] = objectOrEmpty(rule.functionality_data);
  out["resource_estimates"] = objectOrEmpty(rule.resource_estimates);
  if (!rule.code_sha256.empty()) out[kCodeSha256] = rule.code_sha256;
  // extra never overrides a known key, whoever filled it.
  for (auto it = rule.extra.begin(); rule.extra.is_object() && it != rule.extra.end(); ++it)
    if (!out.contains(it.key())) out[it.key()] = it.value();
  return out;
}

}  // namespace exa::policies
