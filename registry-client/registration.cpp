#include "registry-client/registration.h"

#include <algorithm>

#include "common/log.h"

namespace exa::registry_client {
namespace {

int64_t unixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Registration::Registration(CentralClient& central, RegistrationOptions options)
    : central_(central), options_(std::move(options)) {}

Registration::~Registration() { stop(); }

void Registration::start() { thread_ = std::thread([this] { run(); }); }

void Registration::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  bool registered;
  {
    std::lock_guard lock(mutex_);
    registered = registered_;
  }
  if (!registered) return;
  Status told = central_.updateExecutor(
      options_.executor_id,
      Json{{"executor_status", "unreachable"}, {"executor_last_heartbeat", unixSeconds()}});
  if (!told) LOG_W("could not mark executor unreachable: {}", told.error().describe());
}

bool Registration::inSync() const {
  std::lock_guard lock(mutex_);
  return in_sync_;
}

Json Registration::record() {
  last_hardware_ = options_.hardware ? options_.hardware() : Json::object();
  return Json{{"executor_id", options_.executor_id},
              {"executor_host_uri", options_.host_uri},
              {"executor_metadata", options_.metadata},
              {"executor_hardware_info", last_hardware_},
              {"executor_status", options_.status ? options_.status() : "healthy"},
              {"executor_last_heartbeat", unixSeconds()}};
}

Status Registration::syncOnce() {
  bool registered;
  {
    std::lock_guard lock(mutex_);
    registered = registered_;
  }
  if (!registered) {
    Json full = record();
    Status created = central_.createExecutor(full);
    if (!created && created.error().code == ErrorCode::kAlreadyExists) {
      // Ours from an earlier run (or a restart): bring every field up to date.
      Json fields = full;
      fields.erase("executor_id");
      created = central_.updateExecutor(options_.executor_id, fields);
    }
    EXA_TRY(created);
    LOG_I("registered as executor {} at {} ({})", options_.executor_id, central_.url(),
          options_.host_uri);
    std::lock_guard lock(mutex_);
    registered_ = true;
    return {};
  }
  Json fields = {{"executor_status", options_.status ? options_.status() : "healthy"},
                 {"executor_last_heartbeat", unixSeconds()}};
  Json hardware = options_.hardware ? options_.hardware() : Json::object();
  if (hardware != last_hardware_) fields["executor_hardware_info"] = hardware;
  Status beat = central_.updateExecutor(options_.executor_id, fields);
  if (!beat && beat.error().code == ErrorCode::kNotFound) {
    LOG_W("central {} lost executor {}; registering again", central_.url(), options_.executor_id);
    std::lock_guard lock(mutex_);
    registered_ = false;
  }
  EXA_TRY(beat);
  last_hardware_ = std::move(hardware);
  return {};
}

std::chrono::milliseconds Registration::retryDelay(int failures) {
  // 1 s, 2 s, 4 s ... capped at the heartbeat interval, each scaled by a random 0.5-1.0 so
  // that a fleet whose central comes back does not call it in lockstep.
  std::chrono::milliseconds delay = options_.first_retry * (int64_t{1} << std::min(failures - 1, 16));
  delay = std::min(delay, options_.heartbeat);
  std::uniform_real_distribution<double> scale(0.5, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(delay.count() * scale(jitter_)));
}

void Registration::run() {
  int failures = 0;
  while (true) {
    Status synced = syncOnce();
    if (synced) {
      if (failures > 0) LOG_I("central {} reachable again", central_.url());
      failures = 0;
    } else if (failures++ == 0) {
      LOG_W("central registration: {}; retrying", synced.error().describe());
    }
    auto next = failures == 0 ? options_.heartbeat : retryDelay(failures);
    std::unique_lock lock(mutex_);
    in_sync_ = failures == 0;
    if (wake_.wait_for(lock, next, [this] { return stopping_; })) return;
  }
}

}  // namespace exa::registry_client
