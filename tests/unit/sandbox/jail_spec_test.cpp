#include "sandbox/jail_spec.h"

#include <gtest/gtest.h>

namespace exa::sandbox {
namespace {

TEST(JailSpecTest, RoundTripsThroughJson) {
  JailSpec spec;
  spec.outside_uid = 1048577;
  spec.outside_gid = 1048578;
  spec.root_mountpoint = "/run/executor-agent/root";
  spec.runtime_paths = {"/usr/lib/python3.11", "/usr/lib/python3/dist-packages"};
  spec.code_max_bytes = 1234;
  auto back = jailSpecFromJson(toJson(spec));
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(back->outside_uid, spec.outside_uid);
  EXPECT_EQ(back->outside_gid, spec.outside_gid);
  EXPECT_EQ(back->runtime_paths, spec.runtime_paths);
  EXPECT_EQ(back->code_max_bytes, 1234u);
}

TEST(JailSpecTest, LimitsRoundTripThroughJson) {
  JailLimits limits;
  limits.tmp_bytes = 4096;
  limits.rlimit_as = 99;
  auto back = jailLimitsFromJson(toJson(limits));
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(back->tmp_bytes, 4096u);
  EXPECT_EQ(back->rlimit_as, 99u);
  EXPECT_EQ(back->rlimit_nofile, limits.rlimit_nofile);
}

TEST(JailSpecTest, NamesTheMissingField) {
  auto bad = jailSpecFromJson(R"({"outside_uid": 1})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("outside_gid"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace exa::sandbox
