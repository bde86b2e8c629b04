#include "common/result.h"

#include <gtest/gtest.h>

#include <string>

namespace exa {
namespace {

Result<int> half(int n) {
  if (n % 2 != 0) return makeError(ErrorCode::kInvalidArgument, "odd: " + std::to_string(n));
  return n / 2;
}

Result<int> quarter(int n) {
  EXA_ASSIGN_OR_RETURN(int h, half(n));
  return half(h);
}

Status checkEven(int n) {
  EXA_TRY(half(n));
  return {};
}

TEST(ResultTest, CarriesValueOrError) {
  EXPECT_EQ(*half(8), 4);
  auto odd = half(3);
  ASSERT_FALSE(odd);
  EXPECT_EQ(odd.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(odd.error().message, "odd: 3");
}

TEST(ResultTest, MacrosPropagateTheFirstError) {
  EXPECT_EQ(*quarter(8), 2);
  auto bad = quarter(6);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "odd: 3");
  EXPECT_TRUE(checkEven(2));
  EXPECT_FALSE(checkEven(5));
}

TEST(ResultTest, SysErrorKeepsErrnoText) {
  errno = ENOENT;
  Error e = sysError("open(/nope)");
  EXPECT_EQ(e.sys_errno, ENOENT);
  EXPECT_EQ(e.describe(), "open(/nope): No such file or directory");
}

}  // namespace
}  // namespace exa
