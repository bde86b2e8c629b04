#include "sandbox/handoff.h"

#include <sys/socket.h>

#include <gtest/gtest.h>

#include <thread>

#include "common/json_util.h"
#include "common/unique_fd.h"

namespace exa::sandbox {
namespace {

TEST(HandoffTest, RoundTripsLimitsAndCode) {
  auto pair = makeSocketPair(SOCK_STREAM);
  ASSERT_TRUE(pair);
  JailLimits limits;
  limits.tmp_bytes = 1 << 20;
  limits.rlimit_nofile = 32;
  CodeTree code{{{"function.py", false, "class AIOSv1PolicyRule: pass\n"},
                 {"lib", true, {}},
                 {"lib/data.bin", false, std::string("\0\1\2", 3)}}};
  std::thread sender([&] { ASSERT_TRUE(sendHandoff(pair->first.get(), limits, code, std::nullopt)); });
  auto got = receiveHandoff(pair->second.get(), 1 << 20, 16);
  sender.join();
  ASSERT_TRUE(got) << got.error().describe();
  EXPECT_EQ(got->limits.tmp_bytes, 1u << 20);
  EXPECT_EQ(got->limits.rlimit_nofile, 32u);
  ASSERT_EQ(got->code.entries.size(), 3u);
  EXPECT_EQ(got->code.entries[2].path, "lib/data.bin");
  EXPECT_EQ(got->code.entries[2].content, std::string("\0\1\2", 3));
  EXPECT_TRUE(got->code.entries[1].is_dir);
}

TEST(HandoffTest, RefusesPathsLeavingPolicy) {
  for (const char* path : {"../escape.py", "/etc/passwd", "a/../../b", "a//b", "./x"}) {
    auto pair = makeSocketPair(SOCK_STREAM);
    ASSERT_TRUE(pair);
    Json header = {{"op", "handoff"},
                   {"limits", Json::parse(toJson(JailLimits{}))},
                   {"entries", {{{"path", path}, {"dir", true}}}}};
    ASSERT_TRUE(writeFrame(pair->first.get(), dumpJson(header)));
    auto got = receiveHandoff(pair->second.get(), 1 << 20, 16);
    ASSERT_FALSE(got) << path;
    EXPECT_EQ(got.error().code, ErrorCode::kProtocol) << path;
  }
}

TEST(HandoffTest, EnforcesCaps) {
  auto pair = makeSocketPair(SOCK_STREAM);
  ASSERT_TRUE(pair);
  CodeTree code{{{"a.py", false, std::string(100, 'x')}, {"b.py", false, "y"}}};
  ASSERT_TRUE(sendHandoff(pair->first.get(), JailLimits{}, code, std::nullopt));
  auto too_big = receiveHandoff(pair->second.get(), 50, 16);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().code, ErrorCode::kResourceExhausted);
}

}  // namespace
}  // namespace exa::sandbox
