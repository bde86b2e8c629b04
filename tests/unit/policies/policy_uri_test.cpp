// Policy URI formatting and the split rule: the name ends at the first ':', the release tag
// starts after the last '-'.
#include "policies/policy_uri.h"

#include <gtest/gtest.h>

#include <string>

namespace exa::policies {
namespace {

TEST(PolicyUriTest, FormatsTheSeedExample) {
  EXPECT_EQ(formatPolicyUri("ip_allowlist", "1.0", "beta"), "ip_allowlist:1.0-beta");
}

TEST(PolicyUriTest, ParsesTheSeedExample) {
  auto parts = parsePolicyUri("ip_allowlist:1.0-beta");
  ASSERT_TRUE(parts) << parts.error().message;
  EXPECT_EQ(parts->name, "ip_allowlist");
  EXPECT_EQ(parts->version, "1.0");
  EXPECT_EQ(parts->release_tag, "beta");
}

TEST(PolicyUriTest, VersionMayContainDashes) {
  auto parts = parsePolicyUri("p:2.0.0-rc.1-stable");
  ASSERT_TRUE(parts) << parts.error().message;
  EXPECT_EQ(parts->version, "2.0.0-rc.1");
  EXPECT_EQ(parts->release_tag, "stable");
}

TEST(PolicyUriTest, ATagWithADashSplitsAtTheLastDash) {
  // Such a tag cannot be stored (parsePolicyRule refuses it), so this reading never misleads.
  auto parts = parsePolicyUri("p:1.0-release-candidate");
  ASSERT_TRUE(parts) << parts.error().message;
  EXPECT_EQ(parts->version, "1.0-release");
  EXPECT_EQ(parts->release_tag, "candidate");
  EXPECT_NE(policyUriPartProblem(PolicyUriPart::kReleaseTag, "release-candidate"), "");
  EXPECT_EQ(policyUriPartProblem(PolicyUriPart::kVersion, "1.0-release"), "");
}

TEST(PolicyUriTest, NameEndsAtTheFirstColon) {
  auto parts = parsePolicyUri("policies.assignment:v0.0:1-beta");
  ASSERT_TRUE(parts) << parts.error().message;
  EXPECT_EQ(parts->name, "policies.assignment");
  EXPECT_EQ(parts->version, "v0.0:1");
  EXPECT_NE(policyUriPartProblem(PolicyUriPart::kName, "a:b"), "");
}

TEST(PolicyUriTest, FormatAndParseAreInverseForValidParts) {
  const PolicyUriParts cases[] = {{"ip_allowlist", "1.0", "beta"},
                                  {"policies.assignment.assignment_sep4", "v0.0.1", "beta"},
                                  {"n", "2.0.0-rc.1", "prod"},
                                  {"über", "1:2", "t"}};
  for (const auto& in : cases) {
    std::string uri = formatPolicyUri(in.name, in.version, in.release_tag);
    auto out = parsePolicyUri(uri);
    ASSERT_TRUE(out) << uri << ": " << out.error().message;
    EXPECT_EQ(out->name, in.name);
    EXPECT_EQ(out->version, in.version);
    EXPECT_EQ(out->release_tag, in.release_tag);
  }
}

TEST(PolicyUriTest, RefusesMissingSeparatorsAndEmptyParts) {
  for (const char* uri : {"", "noversion", "n:1.0", "n-1:0", ":1-b", "n:-b", "n:1-", ":-"}) {
    auto parts = parsePolicyUri(uri);
    ASSERT_FALSE(parts) << uri;
    EXPECT_EQ(parts.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_NE(parsePolicyUri("n:-b").error().message.find("version must not be empty"),
            std::string::npos)
      << parsePolicyUri("n:-b").error().message;
}

TEST(PolicyUriTest, RefusesUrlUnsafeCharacters) {
  for (const char* uri : {"a/b:1-t", "a:1/2-t", "a:1-t/", "a b:1-t", "a:1\t-t", "a:1-t\n",
                          "a\r:1-t", "a\x01:1-t", "a:1-\x7f"}) {
    auto parts = parsePolicyUri(uri);
    ASSERT_FALSE(parts) << uri;
    // The quoted URI in the message stays on one line.
    EXPECT_EQ(parts.error().message.find('\n'), std::string::npos) << parts.error().message;
  }
  std::string with_nul("a:1-t\0x", 7);
  EXPECT_FALSE(parsePolicyUri(with_nul));
}

TEST(PolicyUriTest, CapsPartLength) {
  std::string longest(kMaxPolicyUriPartLength, 'n');
  EXPECT_TRUE(parsePolicyUri(longest + ":1-t"));
  EXPECT_FALSE(parsePolicyUri(longest + "n:1-t"));
  EXPECT_NE(policyUriPartProblem(PolicyUriPart::kVersion, longest + "1"), "");
}

}  // namespace
}  // namespace exa::policies
