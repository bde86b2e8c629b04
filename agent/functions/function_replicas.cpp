#include "agent/functions/function_replicas.h"

#include "common/log.h"

namespace exa::agent {
namespace {

constexpr size_t kMaxLogLines = 2000;

policies::CallResult failed(std::string type, std::string message) {
  policies::CallResult result;
  result.error = policies::CallError{std::move(type), std::move(message), {}, {}};
  return result;
}

}  // namespace

FunctionReplicas::FunctionReplicas(sandbox::Sandbox& sandbox, ContextStore& contexts,
                                   std::string name,
                                   std::shared_ptr<const ExecuteService::Prepared> prepared,
                                   size_t replicas, Autoscaling autoscaling,
                                   size_t max_in_flight)
    : sandbox_(sandbox),
      contexts_(contexts),
      name_(std::move(name)),
      prepared_(std::move(prepared)),
      initial_replicas_(replicas),
      autoscaling_(autoscaling),
      max_in_flight_(std::max<size_t>(1, max_in_flight)) {}

FunctionReplicas::~FunctionReplicas() {
  std::unique_lock lock(mutex_);
  stopping_ = true;
  idle_.notify_all();
  // Calls in flight hold a replica; the workers are killed when the replicas go.
  idle_.wait(lock, [this] {
    for (const auto& r : replicas_)
      if (r->busy) return false;
    return waiting_ == 0;
  });
}

Result<std::unique_ptr<policies::PolicyWorker>> FunctionReplicas::startWorker() {
  policies::PolicyLoad load = prepared_->call.load;
  load.rule_id = name_;  // a function's rule_id is its name (DESIGN.md §8)
  policies::CallError error;
  auto worker = policies::PolicyWorker::start(sandbox_, load, prepared_->call.limits,
                                              prepared_->call.call_limits, &error);
  if (!worker)
    return makeError(ErrorCode::kPolicyFailed,
                     "function " + name_ + ": replica did not start: " + error.type + ": " +
                         error.message);
  return worker;
}

void FunctionReplicas::addReplicaLocked(std::unique_ptr<policies::PolicyWorker> worker) {
  auto replica = std::make_unique<Replica>();
  replica->worker = std::move(worker);
  replicas_.push_back(std::move(replica));
}

Status FunctionReplicas::start() {
  for (size_t i = 0; i < std::max<size_t>(1, initial_replicas_); ++i) {
    EXA_ASSIGN_OR_RETURN(auto worker, startWorker());
    std::lock_guard lock(mutex_);
    addReplicaLocked(std::move(worker));
  }
  return {};
}

FunctionReplicas::Replica* FunctionReplicas::takeIdleLocked() {
  for (auto& r : replicas_)
    if (!r->busy) {
      r->busy = true;
      return r.get();
    }
  return nullptr;
}

void FunctionReplicas::restart(Replica& replica, const std::string& reason) {
  LOG_W("function {}: a replica died ({}); starting another", name_, reason);
  auto worker = startWorker();
  std::vector<std::pair<std::string, Json>> replay;
  {
    std::lock_guard lock(mutex_);
    ++restarts_;
    last_restart_reason_ = reason;
    replay = replay_;
  }
  if (!worker) {
    LOG_E("{}", worker.error().describe());
    replica.worker.reset();  // stays dead; the next call tries again
    return;
  }
  for (const auto& [action, data] : replay) (void)(*worker)->management(action, data, false);
  replica.worker = std::move(worker).value();
  replica.cpu_us_seen = 0;  // a new cgroup counts from zero
}

policies::CallResult FunctionReplicas::call(const Json& input, bool check_input) {
  if (check_input)
    if (auto e = prepared_->templates->checkInput(input)) return failed(e->type, e->message);
  auto deadline = std::chrono::steady_clock::now() + prepared_->call.call_limits.timeout;
  Replica* replica = nullptr;
  {
    std::unique_lock lock(mutex_);
    size_t busy = 0;
    for (const auto& r : replicas_) busy += r->busy ? 1 : 0;
    if (busy + waiting_ >= max_in_flight_)
      return failed("busy", "function " + name_ + " already has " + std::to_string(busy + waiting_) +
                                " calls in flight; retry later");
    ++waiting_;
    idle_.wait_until(lock, deadline, [&] { return stopping_ || (replica = takeIdleLocked()); });
    --waiting_;
    if (replica == nullptr) {
      idle_.notify_all();
      return failed(stopping_ ? "sandbox_setup" : "busy",
                    "function " + name_ + ": no replica became free before the deadline");
    }
  }
  if (!replica->worker || !replica->worker->alive()) restart(*replica, "dead");
  auto started = std::chrono::steady_clock::now();
  const std::string owner = "function:" + name_;
  policies::CallResult result =
      replica->worker ? replica->worker->eval(prepared_->call.load.parameters, input,
                                              contexts_.get(owner), /*fresh_instance=*/false)
                      : failed("sandbox_setup", "function " + name_ + ": no replica could start");
  if (result.ok()) contexts_.merge(owner, result.context);
  if (replica->worker && !replica->worker->alive())
    restart(*replica, result.error ? result.error->type : "crashed");
  if (result.ok())
    if (auto e = prepared_->templates->checkOutput(result.output)) result = failed(e->type, e->message);
  std::lock_guard lock(mutex_);
  keepLogsLocked(result.logs);
  busy_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  replica->busy = false;
  idle_.notify_all();
  return result;
}

Json FunctionReplicas::manage(const std::string& action, const Json& data) {
  {
    std::lock_guard lock(mutex_);
    replay_.emplace_back(action, data);  // replicas started from now on get it too
  }
  Json replies = Json::array();
  std::unique_lock lock(mutex_);
  for (size_t i = 0; i < replicas_.size(); ++i) {
    Replica& replica = *replicas_[i];
    idle_.wait(lock, [&] { return !replica.busy || stopping_; });
    if (stopping_) break;
    replica.busy = true;
    lock.unlock();
    policies::CallResult r = replica.worker ? replica.worker->management(action, data, false)
                                            : failed("sandbox_setup", "replica is not running");
    Json reply = {{"replica", i}};
    if (r.ok()) reply["output"] = r.output;
    else reply["error"] = r.error->toJson();
    replies.push_back(std::move(reply));
    lock.lock();
    replica.busy = false;
    idle_.notify_all();
  }
  return replies;
}

void FunctionReplicas::keepLogsLocked(const std::string& text) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    log_lines_.emplace_back(text, start, end - start);
    if (log_lines_.size() > kMaxLogLines) log_lines_.pop_front();
    start = end + 1;
  }
}

std::string FunctionReplicas::logs(size_t tail) {
  std::lock_guard lock(mutex_);
  std::string text;
  size_t from = log_lines_.size() > tail ? log_lines_.size() - tail : 0;
  for (size_t i = from; i < log_lines_.size(); ++i) text += log_lines_[i] + "\n";
  return text;
}

Json FunctionReplicas::status() {
  std::lock_guard lock(mutex_);
  size_t busy = 0;
  for (const auto& r : replicas_) busy += r->busy ? 1 : 0;
  return Json{{"replicas", replicas_.size()}, {"busy", busy}, {"waiting", waiting_},
              {"restarts", restarts_}, {"last_restart_reason", last_restart_reason_}};
}

double FunctionReplicas::utilizationLocked(std::chrono::duration<double> tick) {
  uint64_t cpu_us = 0;
  bool measured = false;
  for (auto& r : replicas_) {
    if (!r->worker || !r->worker->process().cgroup) continue;
    uint64_t now = r->worker->process().cgroup->cpuUsageMicros();
    if (now == 0) continue;
    measured = true;
    // A replica new since the last tick, or a replacement, starts its count here.
    cpu_us += now >= r->cpu_us_seen && r->cpu_us_seen != 0 ? now - r->cpu_us_seen : 0;
    r->cpu_us_seen = now;
  }
  double capacity = tick.count() * static_cast<double>(std::max<size_t>(1, replicas_.size()));
  double busy = busy_seconds_;
  busy_seconds_ = 0;
  return 100.0 * (measured ? cpu_us / 1e6 : busy) / capacity;
}

void FunctionReplicas::autoscaleTick(std::chrono::duration<double> tick) {
  if (!autoscaling_.enabled) return;
  size_t count;
  bool grow = false, shrink = false;
  std::unique_ptr<Replica> doomed;  // a replica scaled away is killed after the lock is released
  std::vector<std::pair<std::string, Json>> replay;
  {
    std::lock_guard lock(mutex_);
    count = replicas_.size();
    double utilization = utilizationLocked(tick);
    bool hot = utilization > autoscaling_.target_utilization_percent || waiting_ > 0;
    quiet_ticks_ = utilization < autoscaling_.target_utilization_percent / 2 && !hot ? quiet_ticks_ + 1 : 0;
    grow = hot && count < autoscaling_.max_replicas;
    shrink = !hot && quiet_ticks_ >= 3 && count > autoscaling_.min_replicas;
    if (shrink) {
      // Only an idle replica goes; it is removed under the lock, killed outside it.
      for (auto it = replicas_.begin(); it != replicas_.end(); ++it)
        if (!(*it)->busy) {
          doomed = std::move(*it);
          replicas_.erase(it);
          quiet_ticks_ = 0;
          LOG_I("function {}: scaled down to {} replicas", name_, replicas_.size());
          break;
        }
      return;
    }
    replay = replay_;
  }
  if (!grow) return;
  auto worker = startWorker();
  if (!worker) {
    LOG_W("{}", worker.error().describe());
    return;
  }
  for (const auto& [action, data] : replay) (void)(*worker)->management(action, data, false);
  std::lock_guard lock(mutex_);
  addReplicaLocked(std::move(worker).value());
  LOG_I("function {}: scaled up to {} replicas", name_, replicas_.size());
  idle_.notify_all();
}

}  // namespace exa::agent
