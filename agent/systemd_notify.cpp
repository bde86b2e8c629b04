// sd_notify wrapper: readiness, status and the watchdog thread.
#include "agent/systemd_notify.h"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "common/log.h"

namespace exa::agent {
namespace {

// sd_notify messages are newline-separated assignments: a newline inside a status would let
// text that came from elsewhere (an error message) inject READY=1 or MAINPID=.
std::string oneLine(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

void send(const std::string& message) {
  // unset_environment=0: NOTIFY_SOCKET stays for later calls (status, watchdog, stopping). It
  // does not leak to the jail: the zygote is exec'd with an explicit environment.
  int rc = ::sd_notify(0, message.c_str());
  if (rc < 0) LOG_W("sd_notify({}): {}", message.substr(0, message.find('\n')), std::strerror(-rc));
}

}  // namespace

void notifyReady(const std::string& status) { send("READY=1\nSTATUS=" + oneLine(status)); }

void notifyStopping() { send("STOPPING=1\nSTATUS=stopping: draining requests"); }

void notifyStatus(const std::string& status) { send("STATUS=" + oneLine(status)); }

Watchdog::Watchdog(std::function<bool()> healthy) : healthy_(std::move(healthy)) {
  // Without a notify socket the pings would go nowhere; don't spend a thread on them.
  if (std::getenv("NOTIFY_SOCKET") == nullptr) return;
  uint64_t usec = 0;
  // > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID (if set) names this process, so a
  // child that inherited the variables does not ping on our behalf.
  if (::sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  interval_ = std::chrono::microseconds(usec);
  thread_ = std::thread([this] { run(); });
  LOG_I("systemd watchdog: {} ms, pinging every {} ms while healthy", usec / 1000, usec / 2000);
}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Watchdog::run() {
  // Half the interval, as sd_watchdog_enabled(3) advises: one late ping does not kill us.
  const auto period = interval_ / 2;
  bool was_healthy = true;
  std::unique_lock lock(mutex_);
  while (!stop_) {
    lock.unlock();
    // The check runs unlocked: if it hangs, so do the pings, and systemd restarts us (the
    // destructor would wait too, but a hung agent is killed rather than destroyed).
    bool healthy = healthy_();
    if (healthy) send("WATCHDOG=1");
    if (healthy != was_healthy) {
      if (healthy) {
        LOG_I("health check passes again; systemd watchdog pings resumed");
      } else {
        LOG_W("health check failed; systemd watchdog pings paused (restart after {} ms)",
              interval_.count() / 1000);
      }
      was_healthy = healthy;
    }
    lock.lock();
    wake_.wait_for(lock, period, [this] { return stop_; });
  }
}

}  // namespace exa::agent
