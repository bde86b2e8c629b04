#include "agent/systemd_notify.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace exa::agent {
namespace {

using namespace std::chrono_literals;

// Plays systemd: a datagram socket bound in a temp dir, named by NOTIFY_SOCKET.
class FakeNotifySocket {
 public:
  FakeNotifySocket() {
    char dir_template[] = "/tmp/exa-notify-XXXXXX";
    const char* made = ::mkdtemp(dir_template);
    EXPECT_NE(made, nullptr);
    dir_ = made != nullptr ? made : "";
    path_ = dir_ + "/notify";
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd_, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path_.copy(address.sun_path, sizeof address.sun_path - 1);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0)
        << std::strerror(errno);
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }

  ~FakeNotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
    if (fd_ >= 0) ::close(fd_);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  /// The next datagram, or "" when none arrives within `timeout`.
  std::string receive(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return "";
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }

  /// Every datagram received within `window`.
  std::vector<std::string> receiveFor(std::chrono::milliseconds window) {
    std::vector<std::string> got;
    auto end = std::chrono::steady_clock::now() + window;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left <= 0ms) return got;
      std::string message = receive(left);
      if (!message.empty()) got.push_back(message);
    }
  }

 private:
  std::string dir_;
  std::string path_;
  int fd_ = -1;
};

size_t countPings(const std::vector<std::string>& messages) {
  size_t n = 0;
  for (const auto& m : messages)
    if (m.find("WATCHDOG=1") != std::string::npos) ++n;
  return n;
}

TEST(SystemdNotifyTest, ReadySendsReadyAndStatus) {
  FakeNotifySocket systemd;
  notifyReady("x");
  std::string message = systemd.receive(2000ms);
  EXPECT_NE(message.find("READY=1"), std::string::npos) << message;
  EXPECT_NE(message.find("STATUS=x"), std::string::npos) << message;
}

TEST(SystemdNotifyTest, StatusCannotInjectOtherAssignments) {
  FakeNotifySocket systemd;
  notifyStatus("bad\nREADY=1");
  std::string message = systemd.receive(2000ms);
  EXPECT_EQ(message, "STATUS=bad READY=1");
}

TEST(SystemdNotifyTest, StoppingSendsStopping) {
  FakeNotifySocket systemd;
  notifyStopping();
  EXPECT_NE(systemd.receive(2000ms).find("STOPPING=1"), std::string::npos);
}

TEST(SystemdNotifyTest, WatchdogPingsWhileHealthyAndStopsWhenNot) {
  FakeNotifySocket systemd;
  ::setenv("WATCHDOG_USEC", "200000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  std::atomic<bool> healthy{true};
  Watchdog watchdog([&] { return healthy.load(); });
  ASSERT_TRUE(watchdog.enabled());
  EXPECT_EQ(watchdog.interval(), 200ms);

  // Every 100 ms: about ten pings a second; two is a bound a loaded machine still meets.
  EXPECT_GE(countPings(systemd.receiveFor(1000ms)), 2u);

  healthy = false;
  // A ping may already be on its way from a check made just before the switch: let it land.
  systemd.receiveFor(300ms);
  EXPECT_EQ(countPings(systemd.receiveFor(600ms)), 0u);

  // A check that recovers resumes the pings.
  healthy = true;
  EXPECT_GE(countPings(systemd.receiveFor(1000ms)), 1u);
}

TEST(SystemdNotifyTest, WatchdogIsOffForAnotherProcess) {
  FakeNotifySocket systemd;
  ::setenv("WATCHDOG_USEC", "200000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
  Watchdog watchdog([] { return true; });
  EXPECT_FALSE(watchdog.enabled());
  EXPECT_EQ(countPings(systemd.receiveFor(300ms)), 0u);
}

TEST(SystemdNotifyTest, EverythingIsANoOpOutsideSystemd) {
  ::unsetenv("NOTIFY_SOCKET");
  ::setenv("WATCHDOG_USEC", "200000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  notifyReady("x");
  notifyStatus("y");
  notifyStopping();
  Watchdog watchdog([] { return true; });
  EXPECT_FALSE(watchdog.enabled());
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
}

}  // namespace
}  // namespace exa::agent
