// Shared fixture of the security tests: each test runs an attack as a real policy in the real
// jail, asserts that it failed, and asserts that the same sandbox still runs a benign policy.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "tests/support/jail_harness.h"

namespace exa::security {

class JailAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = exa::testing::jailUnsupportedReason();
    if (!why.empty()) GTEST_SKIP() << why;
    harness_ = std::make_unique<exa::testing::JailHarness>();
  }
  void TearDown() override {
    if (harness_) {
      EXPECT_TRUE(harness_->stillUsable());
    }
  }

  /// Runs an eval body that must succeed, returning its output.
  Json probe(const std::string& body, const std::string& imports = "") {
    auto result = harness_->runEval(body, imports);
    EXPECT_TRUE(result.ok()) << result.toJson().dump();
    return result.output;
  }

  std::unique_ptr<exa::testing::JailHarness> harness_;
};

}  // namespace exa::security
