#include "sandbox/frame_channel.h"

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "common/unique_fd.h"

namespace exa::sandbox {
namespace {

TEST(FrameChannelTest, RoundTripsFrames) {
  auto pair = makeSocketPair(SOCK_STREAM);
  ASSERT_TRUE(pair);
  ASSERT_TRUE(writeFrame(pair->first.get(), "hello"));
  ASSERT_TRUE(writeFrame(pair->first.get(), ""));
  EXPECT_EQ(*readFrame(pair->second.get(), 100), "hello");
  EXPECT_EQ(*readFrame(pair->second.get(), 100), "");
}

TEST(FrameChannelTest, LargeFrameCrossesManyWrites) {
  auto pair = makeSocketPair(SOCK_STREAM);
  ASSERT_TRUE(pair);
  std::string big(8 << 20, 'x');
  std::thread writer([&] { ASSERT_TRUE(writeFrame(pair->first.get(), big)); });
  auto got = readFrame(pair->second.get(), big.size());
  writer.join();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->size(), big.size());
}

TEST(FrameChannelTest, RefusesFrameOverCap) {
  auto pair = makeSocketPair(SOCK_STREAM);
  ASSERT_TRUE(pair);
  ASSERT_TRUE(writeFrame(pair->first.get(), std::string(101, 'x')));
  auto got = readFrame(pair->second.get(), 100);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kResourceExhausted);
}

TEST(FrameChannelTest, TimesOutWithoutData) {
  auto pair = makeSocketPair(SOCK_STREAM);
  ASSERT_TRUE(pair);
  auto got = readFrame(pair->second.get(), 100, Clock::now() + std::chrono::milliseconds(20));
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kTimeout);
}

TEST(FrameChannelTest, ReportsPeerGone) {
  auto pair = makeSocketPair(SOCK_STREAM);
  ASSERT_TRUE(pair);
  pair->first.reset();
  auto got = readFrame(pair->second.get(), 100);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kUnavailable);
  // A truncated frame (header promising more than arrives) is also "peer gone".
  auto again = makeSocketPair(SOCK_STREAM);
  ASSERT_TRUE(again);
  const unsigned char header[] = {0, 0, 0, 10, 'a'};
  ASSERT_EQ(::write(again->first.get(), header, sizeof header), 5);
  again->first.reset();
  EXPECT_EQ(readFrame(again->second.get(), 100).error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace exa::sandbox
