// Registration: keeps this agent's executor record on the central Policies System current.
// A background thread creates the record (409: updates it instead), then heartbeats status and
// changed hardware figures every interval. When the central is unreachable it retries with
// jittered exponential backoff capped at the interval (no storm when it returns), and a record
// the central lost (404 on heartbeat) is created again, so nothing is lost across a central
// restart. stop() marks the record unreachable, once, with a short timeout.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "common/json_util.h"
#include "registry-client/central_client.h"

namespace exa::registry_client {

struct RegistrationOptions {
  std::string executor_id;
  std::string host_uri;  ///< executor_host_uri: where the central reaches this agent
  Json metadata = Json::object();
  std::chrono::milliseconds heartbeat{30000};
  std::chrono::milliseconds first_retry{1000};
  /// executor_hardware_info now (called on the registration thread each heartbeat).
  std::function<Json()> hardware;
  /// executor_status now: "healthy" or "busy".
  std::function<std::string()> status;
};

class Registration {
 public:
  Registration(CentralClient& central, RegistrationOptions options);
  ~Registration();
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

  void start();
  /// Ends the thread, then tells the central this executor is unreachable (best effort).
  void stop();
  /// True once the central has the record and the last call to it succeeded.
  bool inSync() const;

 private:
  void run();
  /// One attempt at whatever is due: the full record when not registered, else a heartbeat.
  Status syncOnce();
  Json record();
  std::chrono::milliseconds retryDelay(int failures);

  CentralClient& central_;
  RegistrationOptions options_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool registered_ = false;
  bool in_sync_ = false;
  Json last_hardware_;
  std::minstd_rand jitter_{std::random_device{}()};
};

}  // namespace exa::registry_client
