// systemd's readiness protocol (sd_notify) and its watchdog, for `executor-agent serve` under the
// packaged unit (Type=notify, WatchdogSec=). Outside systemd (NOTIFY_SOCKET unset) all of this
// does nothing, so the same binary runs the same way from a shell, a test or a container.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace exa::agent {

/// READY=1 with a one-line STATUS: systemd considers the unit started only now, so units
/// ordered after it (and `systemctl start`) wait until the agent actually listens.
void notifyReady(const std::string& status);
/// STOPPING=1: shows "deactivating" while the agent drains instead of looking hung.
void notifyStopping();
/// STATUS= only: the line `systemctl status` shows.
void notifyStatus(const std::string& status);

/// Sends WATCHDOG=1 every half watchdog interval while `healthy()` returns true. When the check
/// says false (or hangs), the pings stop and systemd restarts the unit once WatchdogSec= passes
/// without one: a wedged agent is replaced instead of answering nothing forever. A check that
/// recovers within the interval resumes the pings, so a short hiccup costs no restart.
/// Without a watchdog for this process (WATCHDOG_USEC/WATCHDOG_PID, NOTIFY_SOCKET) no thread
/// is started.
class Watchdog {
 public:
  explicit Watchdog(std::function<bool()> healthy);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  bool enabled() const { return interval_.count() > 0; }
  /// The watchdog timeout systemd gave us (0 when disabled); pings go out twice per interval.
  std::chrono::microseconds interval() const { return interval_; }

 private:
  void run();

  std::function<bool()> healthy_;
  std::chrono::microseconds interval_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace exa::agent
