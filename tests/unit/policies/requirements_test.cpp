#include "policies/requirements.h"

#include <gtest/gtest.h>

#include "policies/stdlib_modules.h"

namespace exa::policies {
namespace {

TEST(RequirementsTest, SkipsStandardLibraryNames) {
  auto plan = planRequirements("logging\nrequests>=2.0\n# a comment\n\n  json  \nTinyPkg==0.1 # ours\n");
  ASSERT_TRUE(plan) << plan.error().describe();
  EXPECT_EQ(plan->install, (std::vector<std::string>{"requests>=2.0", "TinyPkg==0.1"}));
  EXPECT_EQ(plan->skipped_stdlib, (std::vector<std::string>{"logging", "json"}));
}

TEST(RequirementsTest, RefusesOptionsThatChangeThePackageSource) {
  for (const char* line : {"--index-url https://evil.example/simple", "-e git+https://x/y", "-r other.txt"}) {
    auto plan = planRequirements(line);
    ASSERT_FALSE(plan) << line;
    EXPECT_NE(plan.error().message.find("refused"), std::string::npos);
  }
}

TEST(RequirementsTest, KnowsTheStandardLibrary) {
  EXPECT_TRUE(isStdlibModule("logging"));
  EXPECT_TRUE(isStdlibModule("json"));
  EXPECT_TRUE(isStdlibModule("asyncio"));
  EXPECT_FALSE(isStdlibModule("requests"));
  EXPECT_FALSE(isStdlibModule("numpy"));
}

}  // namespace
}  // namespace exa::policies
