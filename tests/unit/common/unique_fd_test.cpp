#include "common/unique_fd.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace exa {
namespace {

bool isOpen(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

TEST(UniqueFdTest, ClosesOnDestruction) {
  int raw;
  {
    auto pipe = makePipe();
    ASSERT_TRUE(pipe);
    raw = pipe->first.get();
    EXPECT_TRUE(isOpen(raw));
  }
  EXPECT_FALSE(isOpen(raw));
}

TEST(UniqueFdTest, MoveTransfersOwnership) {
  auto pair = makeSocketPair(SOCK_STREAM);
  ASSERT_TRUE(pair);
  int raw = pair->first.get();
  UniqueFd moved = std::move(pair->first);
  EXPECT_FALSE(pair->first.valid());
  EXPECT_EQ(moved.get(), raw);
  EXPECT_TRUE(isOpen(raw));
}

TEST(UniqueFdTest, PairsAreCloseOnExec) {
  auto pair = makeSocketPair(SOCK_SEQPACKET);
  ASSERT_TRUE(pair);
  EXPECT_TRUE(::fcntl(pair->first.get(), F_GETFD) & FD_CLOEXEC);
  auto pipe = makePipe();
  ASSERT_TRUE(pipe);
  EXPECT_TRUE(::fcntl(pipe->second.get(), F_GETFD) & FD_CLOEXEC);
}

}  // namespace
}  // namespace exa
