// The Templates schema language: each keyword passing and failing, violation paths, the seed's
// ip_allowlist schemas verbatim, and the compile-time refusals (unknown keywords, bad regexes).
#include "policies/templates.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace exa::policies {
namespace {

Json json(std::string_view text) {
  auto parsed = parseJson(text);
  EXPECT_TRUE(parsed) << parsed.error().message << " in " << text;
  return parsed ? *parsed : Json();
}

TemplateSchema compiled(std::string_view schema) {
  auto result = TemplateSchema::compile(json(schema), "schema");
  EXPECT_TRUE(result) << result.error().message;
  return result ? std::move(result).value() : TemplateSchema();
}

/// The compile error text, or "" when the schema compiled.
std::string compileError(std::string_view schema) {
  auto result = TemplateSchema::compile(json(schema), "schema");
  return result ? "" : result.error().message;
}

std::vector<TemplateViolation> check(const TemplateSchema& schema, std::string_view value) {
  return schema.validate(json(value), "data");
}

bool passes(const TemplateSchema& schema, std::string_view value) {
  auto violations = check(schema, value);
  EXPECT_TRUE(violations.empty() || !violations[0].path.empty()) << describe(violations);
  return violations.empty();
}

/// The single violation's "path rule", for compact assertions.
std::string only(const std::vector<TemplateViolation>& violations) {
  if (violations.size() != 1) return "expected 1 violation, got: " + describe(violations);
  return violations[0].path + " " + violations[0].rule;
}

// ------------------------------------------------------------------ the seed's ip_allowlist

constexpr const char* kIpPattern = R"("^\\d{1,3}(\\.\\d{1,3}){3}$")";

const Json& seedPolicy() {
  static const Json policy = json(std::string(R"({
    "policy_input_schema": {
        "ip": {"type": "string", "description": "IP address of the incoming request",
               "pattern": )") + kIpPattern + R"(}
    },
    "policy_output_schema": {
        "allowed": {"type": "boolean", "description": "Whether access is allowed"},
        "input_data": {"type": "any", "description": "Original input data"},
        "reason": {"type": "string", "description": "Reason for the decision"}
    },
    "policy_settings_schema": {
        "allowlist_api": {"type": "string",
                          "description": "HTTP API endpoint that returns a JSON allowlist",
                          "pattern": "^https?://.*"}
    },
    "policy_parameters_schema": {
        "local_allowlist": {"type": "array", "description": "List of IPs locally allowed",
                            "max_length": 100,
                            "items": {"type": "string", "pattern": )" + kIpPattern + R"(}}
    },
    "management_commands_schema": [
        {"name": "update_local_allowlist",
         "description": "Replace the local allowlist with a new set of IPs",
         "schema": {"ips": {"type": "array",
                            "items": {"type": "string", "pattern": )" + kIpPattern + R"(}}}},
        {"name": "fetch_remote_allowlist",
         "description": "Refresh the allowlist from the configured remote API", "schema": {}},
        {"name": "get_state",
         "description": "Return current local and cached remote allowlist", "schema": {}}
    ]
  })");
  return policy;
}

TemplateSchema seedSchema(const char* key) {
  auto result = TemplateSchema::compile(seedPolicy()[key], key);
  EXPECT_TRUE(result) << result.error().message;
  return result ? std::move(result).value() : TemplateSchema();
}

TEST(TemplatesTest, PatternNamesThePath) {
  TemplateSchema schema = seedSchema("policy_parameters_schema");
  auto violations = schema.validate(
      json(R"({"local_allowlist": ["127.0.0.1", "10.0.0.2", "x", "300.1.1.1", "1.2.3"]})"),
      "parameters");
  ASSERT_EQ(violations.size(), 2u) << describe(violations);
  EXPECT_EQ(violations[0].path, "parameters.local_allowlist[2]");
  EXPECT_EQ(violations[0].rule, "pattern");
  EXPECT_EQ(violations[0].message, R"("x" does not match ^\d{1,3}(\.\d{1,3}){3}$)");
  EXPECT_EQ(violations[1].path, "parameters.local_allowlist[4]");
  EXPECT_EQ(describe(violations),
            "parameters.local_allowlist[2]: \"x\" does not match ^\\d{1,3}(\\.\\d{1,3}){3}$ "
            "(pattern)\n"
            "parameters.local_allowlist[4]: \"1.2.3\" does not match ^\\d{1,3}(\\.\\d{1,3}){3}$ "
            "(pattern)");
}

TEST(TemplatesTest, SeedInputSchema) {
  TemplateSchema schema = seedSchema("policy_input_schema");
  EXPECT_FALSE(schema.empty());
  EXPECT_TRUE(passes(schema, R"({"ip": "10.0.0.1"})"));
  EXPECT_TRUE(passes(schema, R"({})"));  // the seed marks nothing required
  EXPECT_TRUE(passes(schema, R"({"ip": "10.0.0.1", "extra": [1, 2]})"));
  EXPECT_EQ(only(check(schema, R"({"ip": "10.0.0"})")), "data.ip pattern");
  EXPECT_EQ(only(check(schema, R"({"ip": "10.0.0.1\n"})")), "data.ip pattern");
  EXPECT_EQ(only(check(schema, R"({"ip": 10})")), "data.ip type");
  EXPECT_EQ(only(check(schema, R"({"ip": null})")), "data.ip type");
}

TEST(TemplatesTest, SeedOutputSchema) {
  TemplateSchema schema = seedSchema("policy_output_schema");
  EXPECT_TRUE(passes(schema, R"({"allowed": true, "input_data": {"ip": "1.2.3.4"},
                                 "reason": "allowed"})"));
  EXPECT_TRUE(passes(schema, R"({"allowed": false, "input_data": null, "reason": "denied"})"));
  auto violations = check(schema, R"({"allowed": "yes", "input_data": 1, "reason": 5})");
  ASSERT_EQ(violations.size(), 2u) << describe(violations);
  EXPECT_EQ(violations[0].path, "data.allowed");
  EXPECT_EQ(violations[0].message, R"(expected boolean, got string "yes")");
  EXPECT_EQ(violations[1].path, "data.reason");
  EXPECT_EQ(violations[1].message, "expected string, got integer 5");
}

TEST(TemplatesTest, SeedSettingsSchema) {
  TemplateSchema schema = seedSchema("policy_settings_schema");
  EXPECT_TRUE(passes(schema, R"({"allowlist_api": "https://example.com/api/allowlist"})"));
  EXPECT_TRUE(passes(schema, R"({"allowlist_api": "http://10.0.0.1:8080/x"})"));
  EXPECT_EQ(only(check(schema, R"({"allowlist_api": "ftp://example.com"})")),
            "data.allowlist_api pattern");
  EXPECT_EQ(only(check(schema, R"({"allowlist_api": ["https://a"]})")), "data.allowlist_api type");
}

TEST(TemplatesTest, SeedParametersSchema) {
  TemplateSchema schema = seedSchema("policy_parameters_schema");
  EXPECT_TRUE(passes(schema, R"({"local_allowlist": ["127.0.0.1", "192.168.0.1"]})"));
  EXPECT_TRUE(passes(schema, R"({"local_allowlist": []})"));
  Json hundred_and_one = Json::array();
  for (int i = 0; i < 101; ++i) hundred_and_one.push_back("10.0.0." + std::to_string(i % 256));
  auto violations = schema.validate(Json{{"local_allowlist", hundred_and_one}}, "parameters");
  EXPECT_EQ(only(violations), "parameters.local_allowlist max_length");
  EXPECT_EQ(violations[0].message, "has 101 items, more than max_length 100");
  hundred_and_one.erase(hundred_and_one.begin());
  EXPECT_TRUE(schema.validate(Json{{"local_allowlist", hundred_and_one}}, "p").empty());
  EXPECT_EQ(only(check(schema, R"({"local_allowlist": "127.0.0.1"})")),
            "data.local_allowlist type");
  EXPECT_EQ(only(check(schema, R"({"local_allowlist": [127]})")),
            "data.local_allowlist[0] type");
}

TEST(TemplatesTest, SeedManagementCommandSchemas) {
  const Json& commands = seedPolicy()["management_commands_schema"];
  ASSERT_EQ(commands.size(), 3u);
  for (const Json& command : commands) {
    std::string name = command["name"].get<std::string>();
    auto result = TemplateSchema::compile(command["schema"], name);
    ASSERT_TRUE(result) << result.error().message;
    const TemplateSchema& schema = *result;
    if (name == "update_local_allowlist") {
      EXPECT_FALSE(schema.empty());
      EXPECT_TRUE(schema.validate(json(R"({"ips": ["1.1.1.1"]})"), "data").empty());
      EXPECT_TRUE(schema.validate(json(R"({})"), "data").empty());
      EXPECT_EQ(only(schema.validate(json(R"({"ips": ["1.1.1.1", "nope"]})"), "data")),
                "data.ips[1] pattern");
      EXPECT_EQ(only(schema.validate(json(R"({"ips": {"a": 1}})"), "data")), "data.ips type");
    } else {
      EXPECT_TRUE(schema.empty()) << name;
      EXPECT_TRUE(schema.validate(json(R"({"anything": 1})"), "data").empty());
      EXPECT_EQ(only(schema.validate(json("[]"), "data")), "data type");
    }
  }
}

// ------------------------------------------------------------------ types

TEST(TemplatesTest, EachTypeAcceptsItsValuesOnly) {
  struct Case {
    const char* type;
    const char* good;
    const char* bad;
  };
  const Case cases[] = {
      {"string", R"("s")", "1"},       {"number", "1.5", R"("1")"},
      {"number", "7", "true"},         {"integer", "7", "7.5"},
      {"integer", "-3", "false"},      {"integer", "18446744073709551615", "null"},
      {"boolean", "false", "0"},       {"array", "[1]", R"({"a": 1})"},
      {"object", R"({"a": 1})", "[]"},
  };
  for (const Case& c : cases) {
    TemplateSchema schema = compiled(std::string(R"({"f": {"type": ")") + c.type + "\"}}");
    EXPECT_TRUE(passes(schema, std::string(R"({"f": )") + c.good + "}")) << c.type << c.good;
    EXPECT_EQ(only(check(schema, std::string(R"({"f": )") + c.bad + "}")), "data.f type")
        << c.type << " " << c.bad;
  }
}

TEST(TemplatesTest, IntegerAcceptsWholeFloats) {
  TemplateSchema schema = compiled(R"({"n": {"type": "integer"}})");
  EXPECT_TRUE(passes(schema, R"({"n": 3.0})"));
  EXPECT_TRUE(passes(schema, R"({"n": -0.0})"));
  EXPECT_TRUE(passes(schema, R"({"n": 1e3})"));
  auto violations = check(schema, R"({"n": 3.25})");
  EXPECT_EQ(only(violations), "data.n type");
  EXPECT_EQ(violations[0].message, "expected integer, got number 3.25");
}

TEST(TemplatesTest, AnyAndAbsentTypeAcceptEverything) {
  TemplateSchema schema = compiled(R"({"a": {"type": "any"}, "b": {"description": "x"}})");
  for (const char* value : {"null", "1", "1.5", "true", R"("s")", "[]", "{}"}) {
    std::string doc = std::string(R"({"a": )") + value + R"(, "b": )" + value + "}";
    EXPECT_TRUE(passes(schema, doc)) << doc;
  }
}

TEST(TemplatesTest, NonObjectValueIsOneRootViolation) {
  TemplateSchema schema = compiled(R"({"a": {"type": "string"}})");
  for (const char* value : {"[]", "null", "3", R"("x")"}) {
    auto violations = schema.validate(json(value), "input_data");
    EXPECT_EQ(only(violations), "input_data type") << value;
  }
  EXPECT_EQ(TemplateSchema().validate(json("[1]"), "x")[0].message,
            "expected object, got array of 1 items");
}

// ------------------------------------------------------------------ keywords

TEST(TemplatesTest, RequiredFieldMustBePresent) {
  TemplateSchema schema =
      compiled(R"({"ip": {"type": "string", "required": true}, "note": {"required": false}})");
  EXPECT_TRUE(passes(schema, R"({"ip": "x"})"));
  auto violations = check(schema, R"({"note": 1})");
  EXPECT_EQ(only(violations), "data.ip required");
  EXPECT_EQ(violations[0].message, "is required but missing");
  // Present but null is a type error, not a missing field.
  EXPECT_EQ(only(check(schema, R"({"ip": null})")), "data.ip type");
}

TEST(TemplatesTest, RequiredListOnObjectDescriptor) {
  TemplateSchema schema = compiled(R"({"user": {"type": "object", "required": ["name", "id"],
      "properties": {"name": {"type": "string"}}}})");
  EXPECT_TRUE(passes(schema, R"({"user": {"name": "a", "id": 1}})"));
  EXPECT_TRUE(passes(schema, R"({})"));
  auto violations = check(schema, R"({"user": {}})");
  ASSERT_EQ(violations.size(), 2u) << describe(violations);
  EXPECT_EQ(violations[0].path, "data.user.name");
  EXPECT_EQ(violations[1].path, "data.user.id");
  EXPECT_EQ(violations[1].rule, "required");
}

TEST(TemplatesTest, LongValuesAreCutInMessages) {
  TemplateSchema schema = compiled(R"({"s": {"type": "string", "pattern": "^x"}})");
  std::string text = "\xC3\xA9" + std::string(1 << 20, 'a');  // é then a megabyte
  auto violations = schema.validate(Json{{"s", text}}, "data");
  ASSERT_EQ(only(violations), "data.s pattern");
  EXPECT_EQ(violations[0].message, "\"\xC3\xA9" + std::string(46, 'a') + "\"... does not match ^x");
  TemplateSchema typed = compiled(R"({"n": {"type": "integer"}})");
  violations = typed.validate(Json{{"n", text}}, "data");
  EXPECT_LT(violations.at(0).message.size(), 100u);
}

TEST(TemplatesTest, PatternIsAnUnanchoredSearch) {
  TemplateSchema schema = compiled(R"({"s": {"type": "string", "pattern": "b+c"}})");
  EXPECT_TRUE(passes(schema, R"({"s": "aaabbbcdd"})"));
  EXPECT_EQ(only(check(schema, R"({"s": "aaacdd"})")), "data.s pattern");
}

TEST(TemplatesTest, DollarDoesNotAcceptATrailingNewline) {
  TemplateSchema schema = compiled(R"({"s": {"pattern": "^abc$"}})");
  EXPECT_TRUE(passes(schema, R"({"s": "abc"})"));
  EXPECT_EQ(only(check(schema, R"({"s": "abc\n"})")), "data.s pattern");
}

TEST(TemplatesTest, DigitClassIsAscii) {
  TemplateSchema schema = compiled(R"({"s": {"pattern": "^\\d+$"}})");
  EXPECT_TRUE(passes(schema, R"({"s": "123"})"));
  // Arabic-Indic digits: Python's re would accept them; an IP check must not.
  EXPECT_EQ(only(check(schema, "{\"s\": \"\xD9\xA1\xD9\xA2\"}")), "data.s pattern");
}

TEST(TemplatesTest, DotMatchesOneCodePoint) {
  TemplateSchema schema = compiled(R"({"s": {"pattern": "^.$"}})");
  EXPECT_TRUE(passes(schema, "{\"s\": \"\xC3\xA9\"}"));      // é
  EXPECT_TRUE(passes(schema, "{\"s\": \"\xF0\x9F\x98\x80\"}"));  // an emoji, 4 bytes
}

TEST(TemplatesTest, PatternAppliesOnlyToStringsWhenTypeIsAbsent) {
  TemplateSchema schema = compiled(R"({"s": {"pattern": "^a"}})");
  EXPECT_TRUE(passes(schema, R"({"s": 5})"));
  EXPECT_TRUE(passes(schema, R"({"s": "abc"})"));
  EXPECT_EQ(only(check(schema, R"({"s": "cba"})")), "data.s pattern");
}

TEST(TemplatesTest, InvalidUtf8IsAViolationNotACrash) {
  TemplateSchema schema = compiled(R"({"s": {"type": "string", "pattern": "a"}})");
  Json value = {{"s", std::string("a\xff\xfe")}};  // only reachable when built in code
  auto violations = schema.validate(value, "data");
  EXPECT_EQ(only(violations), "data.s pattern");
  EXPECT_NE(violations[0].message.find("UTF-8"), std::string::npos) << violations[0].message;
}

TEST(TemplatesTest, RunawayPatternIsBounded) {
  TemplateSchema schema = compiled(R"({"s": {"type": "string", "pattern": "^(a+)+$"}})");
  Json value = {{"s", std::string(5000, 'a') + "b"}};
  auto start = std::chrono::steady_clock::now();
  auto violations = schema.validate(value, "data");
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(only(violations), "data.s pattern");
  EXPECT_LT(elapsed, std::chrono::seconds(2));
  // Either the backtracking limit stops it, or PCRE2's optimiser proves there is no match.
  EXPECT_TRUE(violations[0].message.find("regex budget") != std::string::npos ||
              violations[0].message.find("does not match") != std::string::npos)
      << violations[0].message;

  TemplateSchema nested = compiled(R"({"s": {"pattern": "(x+x+)+y"}})");
  value = {{"s", std::string(40, 'x')}};
  start = std::chrono::steady_clock::now();
  violations = nested.validate(value, "data");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(only(violations), "data.s pattern");
}

TEST(TemplatesTest, LongStringsStillMatchLinearPatterns) {
  TemplateSchema schema = compiled(R"({"s": {"pattern": "^(?:ab|cd)*$"}})");
  std::string text;
  for (int i = 0; i < 100000; ++i) text += (i % 2) ? "ab" : "cd";
  EXPECT_TRUE(schema.validate(Json{{"s", text}}, "data").empty());
}

TEST(TemplatesTest, StringLengthsCountCodePoints) {
  TemplateSchema schema =
      compiled(R"({"name": {"type": "string", "min_length": 2, "max_length": 3}})");
  EXPECT_TRUE(passes(schema, "{\"name\": \"\xC3\xA9\xC3\xA9\xC3\xA9\"}"));  // 3 points, 6 bytes
  EXPECT_TRUE(passes(schema, "{\"name\": \"\xF0\x9F\x98\x80\xF0\x9F\x98\x80\"}"));
  EXPECT_TRUE(passes(schema, R"({"name": "ab"})"));
  auto violations = check(schema, R"({"name": "abcd"})");
  EXPECT_EQ(only(violations), "data.name max_length");
  EXPECT_EQ(violations[0].message, "has 4 characters, more than max_length 3");
  violations = check(schema, "{\"name\": \"\xC3\xA9\"}");
  EXPECT_EQ(only(violations), "data.name min_length");
  EXPECT_EQ(violations[0].message, "has 1 characters, fewer than min_length 2");
}

TEST(TemplatesTest, ArrayLengthsCountItems) {
  TemplateSchema schema = compiled(R"({"a": {"type": "array", "min_length": 1, "max_length": 2}})");
  EXPECT_TRUE(passes(schema, R"({"a": [1]})"));
  EXPECT_TRUE(passes(schema, R"({"a": ["x", {}]})"));
  EXPECT_EQ(only(check(schema, R"({"a": []})")), "data.a min_length");
  EXPECT_EQ(only(check(schema, R"({"a": [1, 2, 3]})")), "data.a max_length");
}

TEST(TemplatesTest, MinAndMaxAreInclusive) {
  TemplateSchema schema = compiled(R"({"n": {"type": "number", "min": 0, "max": 1.5}})");
  EXPECT_TRUE(passes(schema, R"({"n": 0})"));
  EXPECT_TRUE(passes(schema, R"({"n": 1.5})"));
  EXPECT_TRUE(passes(schema, R"({"n": 1})"));
  auto violations = check(schema, R"({"n": -0.5})");
  EXPECT_EQ(only(violations), "data.n min");
  EXPECT_EQ(violations[0].message, "-0.5 is less than min 0");
  violations = check(schema, R"({"n": 2})");
  EXPECT_EQ(only(violations), "data.n max");
  EXPECT_EQ(violations[0].message, "2 is greater than max 1.5");
}

TEST(TemplatesTest, LargeIntegerBoundsCompareExactly) {
  TemplateSchema schema = compiled(R"({"n": {"type": "integer", "max": 9007199254740992}})");
  EXPECT_TRUE(passes(schema, R"({"n": 9007199254740992})"));
  EXPECT_EQ(only(check(schema, R"({"n": 9007199254740993})")), "data.n max");
  TemplateSchema unsigned_min = compiled(R"({"n": {"min": 18446744073709551615}})");
  EXPECT_EQ(only(check(unsigned_min, R"({"n": 18446744073709551614})")), "data.n min");
  EXPECT_TRUE(passes(unsigned_min, R"({"n": 18446744073709551615})"));
}

TEST(TemplatesTest, ChoicesUseJsonEquality) {
  TemplateSchema schema =
      compiled(R"({"action": {"type": "string", "choices": ["allow", "block", "review"]},
                   "level": {"choices": [1, 2.5, {"a": 1, "b": [true]}, null]}})");
  EXPECT_TRUE(passes(schema, R"({"action": "block", "level": 1.0})"));
  EXPECT_TRUE(passes(schema, R"({"level": {"b": [true], "a": 1}})"));  // key order is irrelevant
  EXPECT_TRUE(passes(schema, R"({"level": null})"));
  auto violations = check(schema, R"({"action": "deny", "level": {"a": 1}})");
  ASSERT_EQ(violations.size(), 2u) << describe(violations);
  EXPECT_EQ(violations[0].path, "data.action");
  EXPECT_EQ(violations[0].rule, "choices");
  EXPECT_EQ(violations[0].message, R"("deny" is not one of ["allow","block","review"])");
  EXPECT_EQ(violations[1].path, "data.level");
  EXPECT_EQ(only(check(schema, R"({"level": true})")), "data.level choices");
  EXPECT_EQ(only(check(schema, R"({"level": "1"})")), "data.level choices");
}

TEST(TemplatesTest, NestedObjectsAndArraysOfObjects) {
  TemplateSchema schema = compiled(R"({
    "users": {"type": "array", "items": {"type": "object", "properties": {
        "name": {"type": "string", "required": true},
        "address": {"type": "object", "properties": {
            "zip": {"type": "string", "pattern": "^[0-9]{5}$"}}},
        "tags": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}}}}})");
  EXPECT_TRUE(passes(schema, R"({"users": [{"name": "a", "address": {"zip": "12345"},
                                            "tags": [[1, 2], []]}]})"));
  auto violations = check(schema, R"({"users": [
      {"name": "a"},
      {"address": {"zip": "1234"}},
      {"name": "c", "tags": [[1], [2, "x"]]},
      5]})");
  ASSERT_EQ(violations.size(), 4u) << describe(violations);
  EXPECT_EQ(violations[0].path, "data.users[1].name");
  EXPECT_EQ(violations[0].rule, "required");
  EXPECT_EQ(violations[1].path, "data.users[1].address.zip");
  EXPECT_EQ(violations[1].rule, "pattern");
  EXPECT_EQ(violations[2].path, "data.users[2].tags[1][1]");
  EXPECT_EQ(violations[2].rule, "type");
  EXPECT_EQ(violations[3].path, "data.users[3]");
  EXPECT_EQ(violations[3].message, "expected object, got integer 5");
}

TEST(TemplatesTest, OddFieldNamesAreQuotedInPaths) {
  TemplateSchema schema = compiled(R"({"a.b": {"type": "object", "properties": {
      "x y": {"type": "string"}, "with-dash": {"type": "string"}, "": {"type": "string"}}}})");
  auto violations = check(schema, R"({"a.b": {"x y": 1, "with-dash": 2, "": 3}})");
  ASSERT_EQ(violations.size(), 3u) << describe(violations);
  EXPECT_EQ(violations[0].path, R"(data["a.b"]["x y"])");
  EXPECT_EQ(violations[1].path, R"(data["a.b"].with-dash)");
  EXPECT_EQ(violations[2].path, R"(data["a.b"][""])");
  EXPECT_EQ(TemplateSchema(schema).validate(json(R"({"a.b": 1})"), "")[0].path, R"(["a.b"])");
  TemplateSchema plain = compiled(R"({"ip": {"type": "string"}})");
  EXPECT_EQ(plain.validate(json(R"({"ip": 1})"), "")[0].path, "ip");
}

TEST(TemplatesTest, ExtraFieldsAreAllowed) {
  TemplateSchema schema = compiled(R"({"o": {"type": "object", "properties": {
      "a": {"type": "integer"}}}})");
  EXPECT_TRUE(passes(schema, R"({"o": {"a": 1, "b": "extra"}, "top": [1]})"));
}

TEST(TemplatesTest, ViolationsAreCapped) {
  TemplateSchema schema = compiled(R"({"a": {"type": "array", "items": {"type": "string"}}})");
  Json many = Json::array();
  for (int i = 0; i < 1000; ++i) many.push_back(i);
  auto violations = schema.validate(Json{{"a", many}}, "data");
  EXPECT_EQ(violations.size(), kMaxTemplateViolations);
  EXPECT_EQ(violations.back().path, "data.a[31]");
}

TEST(TemplatesTest, IgnoredKeywordsAreAccepted) {
  TemplateSchema schema = compiled(R"({"n": {"type": "integer", "title": "N", "description": "d",
                                             "default": 3, "example": "not checked"}})");
  EXPECT_TRUE(passes(schema, R"({"n": 4})"));
  EXPECT_EQ(only(check(schema, R"({"n": "4"})")), "data.n type");
}

TEST(TemplatesTest, EmptyAndNullSchemasAcceptAnyObject) {
  TemplateSchema empty = compiled("{}");
  EXPECT_TRUE(empty.empty());
  EXPECT_TRUE(passes(empty, R"({"x": 1})"));
  auto null_schema = TemplateSchema::compile(Json(), "schema");
  ASSERT_TRUE(null_schema);
  EXPECT_TRUE(null_schema->empty());
  EXPECT_TRUE(TemplateSchema().empty());
  EXPECT_TRUE(TemplateSchema().validate(json(R"({"x": 1})"), "data").empty());
}

TEST(TemplatesTest, CopiesAndMovesShareTheCompiledSchema) {
  TemplateSchema original = compiled(R"({"ip": {"type": "string", "pattern": "^1"}})");
  TemplateSchema copy = original;
  TemplateSchema moved = std::move(original);
  EXPECT_EQ(only(copy.validate(json(R"({"ip": "2"})"), "d")), "d.ip pattern");
  EXPECT_EQ(only(moved.validate(json(R"({"ip": "2"})"), "d")), "d.ip pattern");
}

TEST(TemplatesTest, ConcurrentValidationIsSafe) {
  TemplateSchema schema = seedSchema("policy_parameters_schema");
  Json good = json(R"({"local_allowlist": ["127.0.0.1", "192.168.0.1"]})");
  Json bad = json(R"({"local_allowlist": ["127.0.0.1", "nope"]})");
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (!schema.validate(good, "p").empty()) ++failures;
        if (schema.validate(bad, "p").size() != 1) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

// ------------------------------------------------------------------ compile-time refusals

TEST(TemplatesTest, UnknownKeywordIsRefused) {
  std::string error = compileError(R"({"list": {"type": "array", "max_lenght": 3}})");
  EXPECT_EQ(error.rfind("schema.list.max_lenght: unknown keyword", 0), 0u) << error;
  error = compileError(R"({"o": {"type": "object", "properties": {"x": {"typo": 1}}}})");
  EXPECT_EQ(error.rfind("schema.o.properties.x.typo: unknown keyword", 0), 0u) << error;
}

TEST(TemplatesTest, BadRegexIsRefusedAtCompile) {
  auto result = TemplateSchema::compile(
      json(R"({"local_allowlist": {"type": "array", "items": {"type": "string",
                                   "pattern": "^(\\d+"}}})"),
      "policy_parameters_schema");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  const std::string& message = result.error().message;
  EXPECT_EQ(message.rfind("policy_parameters_schema.local_allowlist.items.pattern: ", 0), 0u)
      << message;
  EXPECT_NE(message.find("at offset"), std::string::npos) << message;
  EXPECT_NE(compileError(R"({"s": {"pattern": "a{2,1}"}})"), "");
  EXPECT_NE(compileError(R"({"s": {"pattern": "\\C"}})"), "");
  EXPECT_NE(compileError("{\"s\": {\"pattern\": \"" + std::string(5000, 'a') + "\"}}"), "");
}

TEST(TemplatesTest, KeywordForAnotherTypeIsRefused) {
  EXPECT_EQ(compileError(R"({"n": {"type": "number", "pattern": "x"}})"),
            "schema.n.pattern: pattern does not apply to type number");
  EXPECT_NE(compileError(R"({"s": {"type": "string", "items": {}}})"), "");
  EXPECT_NE(compileError(R"({"s": {"type": "string", "min": 1}})"), "");
  EXPECT_NE(compileError(R"({"s": {"type": "boolean", "max_length": 1}})"), "");
  EXPECT_NE(compileError(R"({"s": {"type": "array", "properties": {}}})"), "");
  EXPECT_NE(compileError(R"({"s": {"type": "string", "required": ["a"]}})"), "");
}

TEST(TemplatesTest, BadKeywordValuesAreRefused) {
  const char* bad[] = {
      R"({"f": {"type": "str"}})",
      R"({"f": {"type": ["string", "null"]}})",
      R"({"f": "string"})",
      R"({"f": {"max_length": -1}})",
      R"({"f": {"max_length": 1.5}})",
      R"({"f": {"max_length": "3"}})",
      R"({"f": {"min_length": 3, "max_length": 2}})",
      R"({"f": {"min": 3, "max": 2}})",
      R"({"f": {"min": true}})",
      R"({"f": {"choices": []}})",
      R"({"f": {"choices": "a"}})",
      R"({"f": {"type": "string", "choices": ["a", 1]}})",
      R"({"f": {"items": "string"}})",
      R"({"f": {"properties": []}})",
      R"({"f": {"required": "yes"}})",
      R"({"f": {"type": "array", "items": {"required": true}}})",
      R"({"f": {"type": "object", "required": [1]}})",
      R"({"f": {"pattern": 5}})",
  };
  for (const char* schema : bad) EXPECT_NE(compileError(schema), "") << schema;
  EXPECT_EQ(compileError(R"({"f": {"type": "str"}})"),
            "schema.f.type: \"str\" is not a type; use one of string, number, integer, boolean, "
            "array, object, any");
  EXPECT_EQ(compileError(R"({"f": {"type": "array", "items": {"required": false}}})"), "");
}

TEST(TemplatesTest, SchemaMustBeAnObject) {
  auto result = TemplateSchema::compile(json(R"(["ip"])"), "policy_input_schema");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message,
            "policy_input_schema: schema must be an object of field descriptors, got array of 1 "
            "items");
}

TEST(TemplatesTest, TooDeepSchemaIsRefused) {
  std::string schema = R"({"f": )";
  for (int i = 0; i < 40; ++i) schema += R"({"type": "array", "items": )";
  schema += "{}";
  for (int i = 0; i < 40; ++i) schema += "}";
  schema += "}";
  EXPECT_NE(compileError(schema).find("nested deeper than"), std::string::npos);
}

}  // namespace
}  // namespace exa::policies
