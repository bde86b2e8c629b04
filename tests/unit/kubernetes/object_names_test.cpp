#include "kubernetes/object_names.h"

#include <gtest/gtest.h>

#include <regex>

namespace exa::kubernetes {
namespace {

const std::regex kDns1123(R"(^[a-z0-9]([-a-z0-9]*[a-z0-9])?$)");

TEST(ObjectNames, ValidNamesAreKept) {
  EXPECT_EQ(dns1123Name("check-ip-fn"), "check-ip-fn");
  EXPECT_EQ(dns1123Name("job-1a2b3c"), "job-1a2b3c");
}

TEST(ObjectNames, InvalidNamesAreMappedWithAHashSuffix) {
  std::string mapped = dns1123Name("Check_IP fn!");
  EXPECT_TRUE(std::regex_match(mapped, kDns1123)) << mapped;
  EXPECT_EQ(mapped.rfind("check-ip-fn-", 0), 0u) << mapped;
  EXPECT_EQ(mapped.size(), std::string("check-ip-fn-").size() + 8);
  // Deterministic, and names that sanitise alike still differ.
  EXPECT_EQ(dns1123Name("Check_IP fn!"), mapped);
  EXPECT_NE(dns1123Name("check_ip_fn"), dns1123Name("check.ip.fn"));
}

TEST(ObjectNames, LongNamesAreCutToFit) {
  std::string long_name(200, 'a');
  std::string mapped = dns1123Name(long_name);
  EXPECT_EQ(mapped.size(), 63u);
  EXPECT_TRUE(std::regex_match(mapped, kDns1123)) << mapped;
  EXPECT_NE(dns1123Name(long_name + "b"), mapped);
  EXPECT_LE(dns1123Name(long_name, 40).size(), 40u);
}

TEST(ObjectNames, NothingUsableStillGivesAName) {
  for (std::string_view odd : {"", "___", "日本語", "-"}) {
    std::string mapped = dns1123Name(odd);
    EXPECT_TRUE(std::regex_match(mapped, kDns1123)) << mapped;
  }
}

TEST(ObjectNames, OwnershipLabelsRoundTrip) {
  Json meta = ownershipMetadata("executor-001", "function", "Check IP fn");
  EXPECT_EQ(meta["annotations"]["executor-agent.io/name"], "Check IP fn");
  Json object = {{"metadata", meta}};
  EXPECT_TRUE(ownedBy(object, "executor-001"));
  EXPECT_FALSE(ownedBy(object, "executor-002"));
  EXPECT_FALSE(ownedBy(Json{{"metadata", {{"labels", {{"app", "x"}}}}}}, "executor-001"));
  EXPECT_EQ(labelValue("Executor_001.a"), "Executor_001.a");  // label values allow these
  EXPECT_TRUE(std::regex_match(labelValue("bad value!"), kDns1123));
}

}  // namespace
}  // namespace exa::kubernetes
