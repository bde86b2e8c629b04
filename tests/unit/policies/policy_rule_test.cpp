// PolicyRule parsing against the seed's onboarding example: round trips, defaults, and that every
// problem in a document is reported with its field path.
#include "policies/policy_rule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include "common/json_util.h"
#include "policies/policy_uri.h"

namespace exa::policies {
namespace {

// Verbatim from the seed, "Preparing Policy for onboarding", step 5 (three of its lines run past
// 100 columns; the text is kept exact rather than rewrapped).
constexpr const char* kSeedPolicy = R"json(
{
    "name": "ip_allowlist",
    "version": "1.0",
    "release_tag": "beta",
    "metadata": {
      "author_name": "Prasanna",
      "author_email": "openvision.ai",
      "organization": "openvision.ai",
      "country": "US",
      "license": "MIT",
      "category": "network_access_control",
      "use_case": "Control access to internal systems by validating request IPs against a dynamic and local allowlist.",
      "geographic_scope": "Global",
      "audience": ["network_admins", "security_teams"],
      "integration_notes": "Ensure the allowlist API returns a JSON object with a top-level 'allowlist' key containing a list of IPs. ",
      "tested_environments": ["Ubuntu 22.04", "Amazon Linux 2"],
      "execution_environment": "Python 3.10+",
      "compliance_tags": ["ISO27001", "SOC2"]
   },
    "tags": "network,security,ip,access,allowlist",
    "code": "https://example.com/code/ip_allowlist_policy.zip",
    "type": "python_class_v1",
    "policy_input_schema": {
        "ip": {
            "type": "string",
            "description": "IP address of the incoming request",
            "pattern": "^\\d{1,3}(\\.\\d{1,3}){3}$"
        }
    },
    "policy_output_schema": {
        "allowed": {
            "type": "boolean",
            "description": "Whether access is allowed"
        },
        "input_data": {
            "type": "any",
            "description": "Original input data"
        },
        "reason": {
            "type": "string",
            "description": "Reason for the decision"
        }
    },
    "policy_settings_schema": {
        "allowlist_api": {
            "type": "string",
            "description": "HTTP API endpoint that returns a JSON allowlist",
            "pattern": "^https?://.*"
        }
    },
    "policy_parameters_schema": {
        "local_allowlist": {
            "type": "array",
            "description": "List of IPs locally allowed",
            "max_length": 100,
            "items": {
                "type": "string",
                "pattern": "^\\d{1,3}(\\.\\d{1,3}){3}$"
            }
        }
    },
    "policy_settings": {
        "allowlist_api": "https://example.com/api/allowlist"
    },
    "policy_parameters": {
        "local_allowlist": ["127.0.0.1", "192.168.0.1"]
    },
    "management_commands_schema": [
        {
            "name": "update_local_allowlist",
            "description": "Replace the local allowlist with a new set of IPs",
            "schema": {
                "ips": {
                    "type": "array",
                    "items": {"type": "string", "pattern": "^\\d{1,3}(\\.\\d{1,3}){3}$"}
                }
            }
        },
        {
            "name": "fetch_remote_allowlist",
            "description": "Refresh the allowlist from the configured remote API",
            "schema": {}
        },
        {
            "name": "get_state",
            "description": "Return current local and cached remote allowlist",
            "schema": {}
        }
    ],
    "description": "Policy that checks whether a given IP is allowed based on a local list and a remote allowlist API."
}
)json";

Json seedDoc() { return *parseJson(kSeedPolicy); }

// The field names of the errors, in report order.
std::vector<std::string> errorFields(const Json& doc) {
  std::vector<std::string> fields;
  for (const FieldError& e : policyRuleErrors(doc)) fields.push_back(e.field);
  return fields;
}

std::string errorText(const Json& doc) {
  auto parsed = parsePolicyRule(doc);
  return parsed ? std::string() : parsed.error().message;
}

Json minimalDoc() {
  return Json{{"name", "p"}, {"version", "1"}, {"release_tag", "t"}, {"code", "file:///c.zip"}};
}

TEST(PolicyRuleTest, SeedPolicyParses) {
  auto rule = parsePolicyRule(seedDoc());
  ASSERT_TRUE(rule) << rule.error().message;
  EXPECT_EQ(rule->name, "ip_allowlist");
  EXPECT_EQ(rule->version, "1.0");
  EXPECT_EQ(rule->release_tag, "beta");
  EXPECT_EQ(rule->policy_rule_uri, "ip_allowlist:1.0-beta");
  EXPECT_EQ(rule->tags, "network,security,ip,access,allowlist");
  EXPECT_EQ(rule->code, "https://example.com/code/ip_allowlist_policy.zip");
  EXPECT_EQ(rule->type, "python_class_v1");
  EXPECT_EQ(rule->metadata["audience"][1], "security_teams");
  EXPECT_EQ(rule->policy_input_schema["ip"]["pattern"], "^\\d{1,3}(\\.\\d{1,3}){3}$");
  EXPECT_EQ(rule->policy_settings["allowlist_api"], "https://example.com/api/allowlist");
  EXPECT_EQ(rule->policy_parameters["local_allowlist"][1], "192.168.0.1");
  ASSERT_EQ(rule->management_commands_schema.size(), 3u);
  EXPECT_EQ(rule->management_commands_schema[0].name, "update_local_allowlist");
  EXPECT_EQ(rule->management_commands_schema[0].schema["ips"]["type"], "array");
  EXPECT_EQ(rule->management_commands_schema[2].name, "get_state");
  EXPECT_EQ(rule->management_commands_schema[2].schema, Json::object());
  EXPECT_EQ(rule->code_type, "");
  EXPECT_EQ(rule->functionality_data, Json::object());
  EXPECT_EQ(rule->code_sha256, "");
  EXPECT_TRUE(rule->extra.empty());
}

TEST(PolicyRuleTest, SeedPolicyRoundTrips) {
  Json seed = seedDoc();
  Json out = toJson(*parsePolicyRule(seed));
  for (auto it = seed.begin(); it != seed.end(); ++it)
    EXPECT_EQ(out[it.key()], it.value()) << it.key();
  EXPECT_EQ(out["policy_rule_uri"], "ip_allowlist:1.0-beta");
  // Parsing what we wrote gives the same document: reads can be stored back unchanged.
  auto again = parsePolicyRule(out);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(dumpJson(toJson(*again)), dumpJson(out));
}

TEST(PolicyRuleTest, ReadsReturnEveryKeyInOrderWithDefaults) {
  Json out = toJson(*parsePolicyRule(minimalDoc()));
  std::vector<std::string> keys;
  for (auto it = out.begin(); it != out.end(); ++it) keys.push_back(it.key());
  std::vector<std::string> expected = {
      "name", "version", "release_tag", "policy_rule_uri", "metadata", "tags", "code",
      "code_type", "type", "policy_input_schema", "policy_output_schema",
      "policy_settings_schema", "policy_parameters_schema", "policy_settings",
      "policy_parameters", "management_commands_schema", "description", "functionality_data",
      "resource_estimates"};
  EXPECT_EQ(keys, expected);
  EXPECT_EQ(out["policy_settings"], Json::object());
  EXPECT_EQ(out["policy_parameters"], Json::object());
  EXPECT_EQ(out["resource_estimates"], Json::object());
  EXPECT_EQ(out["management_commands_schema"], Json::array());
  EXPECT_EQ(out["type"], "python_class_v1");
  EXPECT_EQ(out["tags"], "");
  EXPECT_EQ(out["code_type"], "");
}

TEST(PolicyRuleTest, NullMeansAbsent) {
  Json doc = minimalDoc();
  doc["policy_settings"] = nullptr;
  doc["policy_parameters"] = nullptr;
  doc["management_commands_schema"] = nullptr;
  doc["description"] = nullptr;
  doc["type"] = nullptr;
  auto rule = parsePolicyRule(doc);
  ASSERT_TRUE(rule) << rule.error().message;
  Json out = toJson(*rule);
  EXPECT_EQ(out["policy_settings"], Json::object());
  EXPECT_EQ(out["policy_parameters"], Json::object());
  EXPECT_EQ(out["type"], "python_class_v1");
  doc["name"] = nullptr;
  EXPECT_EQ(errorFields(doc), std::vector<std::string>{"name"});
}

TEST(PolicyRuleTest, ToJsonNeverEmitsNullObjects) {
  PolicyRule rule = *parsePolicyRule(minimalDoc());
  rule.policy_settings = nullptr;
  rule.metadata = nullptr;
  Json out = toJson(rule);
  EXPECT_EQ(out["policy_settings"], Json::object());
  EXPECT_EQ(out["metadata"], Json::object());
}

TEST(PolicyRuleTest, EachMissingRequiredFieldIsNamed) {
  for (const char* key : {"name", "version", "release_tag", "code"}) {
    Json doc = seedDoc();
    doc.erase(key);
    auto errors = policyRuleErrors(doc);
    ASSERT_EQ(errors.size(), 1u) << key;
    EXPECT_EQ(errors[0].field, key);
    EXPECT_EQ(errors[0].message, "required field is missing");
    doc[key] = "";
    EXPECT_EQ(errorFields(doc), std::vector<std::string>{key});
  }
}

TEST(PolicyRuleTest, EachMistypedFieldIsNamed) {
  const std::vector<std::pair<const char*, Json>> cases = {
      {"name", 1},
      {"version", 1.0},
      {"release_tag", Json::array()},
      {"code", Json::object()},
      {"metadata", "author"},
      {"tags", 5},
      {"code_type", true},
      {"type", 1},
      {"policy_input_schema", "x"},
      {"policy_output_schema", Json::array()},
      {"policy_settings_schema", 3},
      {"policy_parameters_schema", false},
      {"policy_settings", Json::array({1})},
      {"policy_parameters", "p"},
      {"management_commands_schema", Json::object()},
      {"description", Json::object()},
      {"functionality_data", ""},
      {"resource_estimates", 1},
      {"code_sha256", 256},
      {"policy_rule_uri", 7},
  };
  for (const auto& [key, bad] : cases) {
    Json doc = seedDoc();
    doc[key] = bad;
    auto errors = policyRuleErrors(doc);
    ASSERT_EQ(errors.size(), 1u) << key << ": " << errorText(doc);
    EXPECT_EQ(errors[0].field, key);
    EXPECT_NE(errors[0].message.find(std::string("got ") + bad.type_name()), std::string::npos)
        << errors[0].message;
  }
}

TEST(PolicyRuleTest, SeveralErrorsAreAllReported) {
  Json doc = seedDoc();
  doc.erase("name");
  doc["version"] = 1.0;
  doc["metadata"] = "x";
  doc["management_commands_schema"][1].erase("name");
  doc["policy_parameters"] = Json::array();
  std::vector<std::string> expected = {"name", "version", "metadata", "policy_parameters",
                                       "management_commands_schema[1].name"};
  auto fields = errorFields(doc);
  std::sort(fields.begin(), fields.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(fields, expected);

  auto parsed = parsePolicyRule(doc);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  const std::string& text = parsed.error().message;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 4) << text;
  EXPECT_NE(text.find("name: required field is missing"), std::string::npos) << text;
  EXPECT_NE(text.find("version: must be a string, got number"), std::string::npos) << text;
  EXPECT_NE(text.find("management_commands_schema[1].name: required"), std::string::npos) << text;
}

TEST(PolicyRuleTest, ManagementCommandsAreChecked) {
  Json doc = seedDoc();
  auto& commands = doc["management_commands_schema"];
  commands[0]["schema"] = "ips";
  commands[1]["description"] = 3;
  commands[2]["name"] = "update_local_allowlist";
  commands.push_back(5);
  auto errors = policyRuleErrors(doc);
  ASSERT_EQ(errors.size(), 4u) << errorText(doc);
  EXPECT_EQ(errors[0].field, "management_commands_schema[0].schema");
  EXPECT_EQ(errors[1].field, "management_commands_schema[1].description");
  EXPECT_EQ(errors[2].field, "management_commands_schema[2].name");
  EXPECT_EQ(errors[2].message, "duplicate command name \"update_local_allowlist\" (also at [0])");
  EXPECT_EQ(errors[3].field, "management_commands_schema[3]");
}

TEST(PolicyRuleTest, ManagementCommandDefaultsAndExtraKeys) {
  Json doc = minimalDoc();
  doc["management_commands_schema"] = Json::array({Json{{"name", "reset"}, {"timeout_s", 5}}});
  auto rule = parsePolicyRule(doc);
  ASSERT_TRUE(rule) << rule.error().message;
  Json command = toJson(*rule)["management_commands_schema"][0];
  EXPECT_EQ(dumpJson(command), R"({"name":"reset","description":"","schema":{},"timeout_s":5})");
}

TEST(PolicyRuleTest, UriIsDerivedAndAGivenOneMustAgree) {
  Json doc = seedDoc();
  doc["policy_rule_uri"] = "ip_allowlist:1.0-beta";
  EXPECT_TRUE(parsePolicyRule(doc));
  doc["policy_rule_uri"] = "ip_allowlist:2.0-stable";
  auto errors = policyRuleErrors(doc);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "policy_rule_uri");
  EXPECT_NE(errors[0].message.find("\"ip_allowlist:2.0-stable\""), std::string::npos);
  EXPECT_NE(errors[0].message.find("\"ip_allowlist:1.0-beta\""), std::string::npos);
  // A broken part is reported once, as itself, not again as a URI mismatch.
  doc["version"] = "";
  EXPECT_EQ(errorFields(doc), std::vector<std::string>{"version"});
}

TEST(PolicyRuleTest, ToJsonDerivesTheUriFromTheFields) {
  PolicyRule rule = *parsePolicyRule(seedDoc());
  rule.version = "2.0";
  rule.policy_rule_uri = "stale";
  EXPECT_EQ(toJson(rule)["policy_rule_uri"], "ip_allowlist:2.0-beta");
}

TEST(PolicyRuleTest, UriPartsFollowTheSplitRule) {
  Json doc = minimalDoc();
  doc["version"] = "2.0.0-rc.1";  // versions may carry '-'
  auto rule = parsePolicyRule(doc);
  ASSERT_TRUE(rule) << rule.error().message;
  EXPECT_EQ(rule->policy_rule_uri, "p:2.0.0-rc.1-t");
  auto parts = parsePolicyUri(rule->policy_rule_uri);
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->version, "2.0.0-rc.1");
  EXPECT_EQ(parts->release_tag, "t");

  const std::vector<std::pair<const char*, const char*>> bad = {
      {"name", "ns:p"}, {"release_tag", "release-candidate"}, {"name", "a/b"},
      {"version", "1 0"}, {"release_tag", "beta\n"}, {"name", "p\x01"}};
  for (const auto& [key, value] : bad) {
    Json broken = minimalDoc();
    broken[key] = value;
    EXPECT_EQ(errorFields(broken), std::vector<std::string>{key}) << key << "=" << value;
  }
}

TEST(PolicyRuleTest, ExtraKeysAreKeptInOrder) {
  Json doc = seedDoc();
  doc["zeta"] = Json{{"b", 1}, {"a", 2}};
  doc["owner"] = "team-net";
  doc["alpha"] = Json::array({1, 2});
  auto rule = parsePolicyRule(doc);
  ASSERT_TRUE(rule) << rule.error().message;
  EXPECT_EQ(dumpJson(rule->extra), R"({"zeta":{"b":1,"a":2},"owner":"team-net","alpha":[1,2]})");
  Json out = toJson(*rule);
  std::vector<std::string> tail;
  for (auto it = out.begin(); it != out.end(); ++it)
    if (it.key() == "zeta" || it.key() == "owner" || it.key() == "alpha") tail.push_back(it.key());
  EXPECT_EQ(tail, (std::vector<std::string>{"zeta", "owner", "alpha"}));
  EXPECT_EQ(out.size(), 19u + 3u);
  EXPECT_EQ(std::prev(out.end()).key(), "alpha");
}

TEST(PolicyRuleTest, ExtraNeverOverridesAKnownKey) {
  PolicyRule rule = *parsePolicyRule(seedDoc());
  rule.extra["name"] = "evil";
  EXPECT_EQ(toJson(rule)["name"], "ip_allowlist");
}

TEST(PolicyRuleTest, OperatorKeysAreRefused) {
  Json doc = seedDoc();
  doc["$set"] = Json{{"description", "x"}};
  EXPECT_EQ(errorFields(doc), std::vector<std::string>{"$set"});
}

TEST(PolicyRuleTest, CodeSha256InBothPlaces) {
  const std::string a(64, 'a');
  const std::string b(64, 'b');
  Json doc = seedDoc();
  doc["metadata"]["code_sha256"] = a;
  EXPECT_EQ(parsePolicyRule(doc)->code_sha256, a);

  doc["code_sha256"] = std::string(64, 'B');  // top-level wins, lower-cased
  auto rule = parsePolicyRule(doc);
  ASSERT_TRUE(rule) << rule.error().message;
  EXPECT_EQ(rule->code_sha256, b);
  Json out = toJson(*rule);
  EXPECT_EQ(out["code_sha256"], b);
  EXPECT_EQ(std::prev(out.end()).key(), "code_sha256");
  EXPECT_EQ(out["metadata"]["code_sha256"], a);  // metadata is stored as given
  EXPECT_FALSE(toJson(*parsePolicyRule(seedDoc())).contains("code_sha256"));

  doc["code_sha256"] = "abc";
  doc["metadata"]["code_sha256"] = std::string(64, 'g');
  EXPECT_EQ(errorFields(doc), (std::vector<std::string>{"code_sha256", "metadata.code_sha256"}));
}

TEST(PolicyRuleTest, TagsListIsJoined) {
  Json doc = minimalDoc();
  doc["tags"] = Json::array({"network", "security"});
  auto rule = parsePolicyRule(doc);
  ASSERT_TRUE(rule) << rule.error().message;
  EXPECT_EQ(rule->tags, "network,security");
  EXPECT_EQ(toJson(*rule)["tags"], "network,security");

  doc["tags"] = Json::array({"ok", 1, "a,b", ""});
  EXPECT_EQ(errorFields(doc), (std::vector<std::string>{"tags[1]", "tags[2]", "tags[3]"}));
}

TEST(PolicyRuleTest, OnlyPythonClassV1Runs) {
  Json doc = minimalDoc();
  doc["type"] = "";
  EXPECT_EQ(parsePolicyRule(doc)->type, "python_class_v1");
  doc["type"] = "python_class_v2";
  auto errors = policyRuleErrors(doc);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "type");
  EXPECT_NE(errors[0].message.find("python_class_v2"), std::string::npos);
}

TEST(PolicyRuleTest, DocumentMustBeAnObject) {
  for (const Json& doc : {Json::array(), Json(nullptr), Json("policy")}) {
    auto errors = policyRuleErrors(doc);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].field, "");
    EXPECT_EQ(errorText(doc), errors[0].message);
  }
}

}  // namespace
}  // namespace exa::policies
