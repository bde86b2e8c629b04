#include "common/json_util.h"

#include <gtest/gtest.h>

namespace exa {
namespace {

TEST(JsonUtilTest, ParsesAndNamesThePosition) {
  EXPECT_EQ((*parseJson(R"({"a": [1, 2]})"))["a"][1], 2);
  auto bad = parseJson("{\"a\": }");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("column 7"), std::string::npos) << bad.error().message;
}

TEST(JsonUtilTest, NumberOutOfRangeIsAnErrorNotACrash) {
  // Found by fuzz/templates_fuzz.cpp: nlohmann throws out_of_range, not parse_error, for these.
  for (const char* text : {"1e400", "[4444444444444e44444]", "{\"a\": -1e99999}"}) {
    auto parsed = parseJson(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(JsonUtilTest, RefusesDeepNesting) {
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  auto parsed = parseJson(deep);
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("nesting deeper than 256"), std::string::npos);
  std::string ok = std::string(256, '[') + std::string(256, ']');
  EXPECT_TRUE(parseJson(ok));
}

TEST(JsonUtilTest, DepthIgnoresBracketsInStrings) {
  EXPECT_EQ(jsonNestingDepth(R"(["[[[[", {"k": "{{\"{"}])", 100), 2);
}

TEST(JsonUtilTest, KeepsKeyOrder) {
  EXPECT_EQ(dumpJson(*parseJson(R"({"z": 1, "a": 2})")), R"({"z":1,"a":2})");
}

}  // namespace
}  // namespace exa
