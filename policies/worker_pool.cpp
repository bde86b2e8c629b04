// Checkout/checkin of warm workers; eviction by idle time, per-policy and total budgets.
#include "policies/worker_pool.h"

namespace exa::policies {

CallResult WorkerPool::eval(const PolicyCall& call, const Json& parameters, const Json& input,
                            const Json& context) {
  return withWorker(call, [&](PolicyWorker& worker) {
    return worker.eval(parameters, input, context, /*fresh_instance=*/true);
  });
}

CallResult WorkerPool::management(const PolicyCall& call, const std::string& action,
                                  const Json& data) {
  return withWorker(call, [&](PolicyWorker& worker) {
    return worker.management(action, data, /*fresh_instance=*/true);
  });
}

template <typename Fn>
CallResult WorkerPool::withWorker(const PolicyCall& call, Fn&& fn) {
  CallError error;
  auto worker = checkout(call, &error);
  if (!worker) {
    CallResult result;
    result.error = error;
    return result;
  }
  CallResult result = fn(*worker);
  checkin(call, std::move(worker), result);
  return result;
}

void WorkerPool::retire(Doomed& doomed) {
  for (auto& [worker, reason] : doomed) {
    if (options_.on_retire) options_.on_retire(reason);
    reaper_.bury(std::move(worker));  // killed now, reaped off this thread
  }
  doomed.clear();
}

std::unique_ptr<PolicyWorker> WorkerPool::checkout(const PolicyCall& call, CallError* error) {
  Doomed doomed;
  std::unique_ptr<PolicyWorker> warm;
  {
    std::lock_guard lock(mutex_);
    pruneIdleLocked(doomed);
    ++stats_.busy;
    auto it = call.isolation == Isolation::kWarm ? pools_.find(call.identity) : pools_.end();
    if (it != pools_.end() && !it->second.idle.empty()) {
      warm = std::move(it->second.idle.front().worker);
      idle_memory_ -= it->second.idle.front().memory_bytes;
      it->second.idle.pop_front();
      --idle_total_;
      ++stats_.reused;
      lru_.splice(lru_.begin(), lru_, it->second.lru);
    } else {
      ++stats_.spawned;
    }
  }
  retire(doomed);
  if (warm) return warm;
  auto worker = PolicyWorker::start(sandbox_, call.load, call.limits, call.call_limits, error);
  if (!worker) {
    std::lock_guard lock(mutex_);
    --stats_.busy;
  }
  return worker;
}

namespace {

// Why a worker coming back from a call cannot serve another; "" when it can.
std::string unusableReason(const PolicyCall& call, PolicyWorker& worker, const CallResult& result,
                           uint64_t max_calls) {
  if (!worker.alive()) return result.error ? result.error->type : "crashed";
  if (worker.dirty()) return "leftovers";
  if (call.isolation == Isolation::kFresh) return "fresh_isolation";
  if (worker.calls() >= max_calls) return "recycled";
  return {};
}

}  // namespace

void WorkerPool::checkin(const PolicyCall& call, std::unique_ptr<PolicyWorker> worker,
                         const CallResult& result) {
  Doomed doomed;
  std::string unusable = unusableReason(call, *worker, result, options_.max_calls_per_worker);
  {
    std::lock_guard lock(mutex_);
    --stats_.busy;
    if (unusable.empty()) {
      keepIdleLocked(call, std::move(worker), doomed);
    } else {
      ++stats_.retired;
      doomed.emplace_back(std::move(worker), std::move(unusable));
    }
  }
  retire(doomed);
}

void WorkerPool::keepIdleLocked(const PolicyCall& call, std::unique_ptr<PolicyWorker> worker,
                                Doomed& doomed) {
  auto [it, inserted] = pools_.try_emplace(call.identity);
  if (inserted) {
    lru_.push_front(call.identity);
    it->second.lru = lru_.begin();
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  uint64_t memory = call.limits.cgroup.memory_bytes;
  it->second.idle.push_front(Idle{std::move(worker), std::chrono::steady_clock::now(), memory});
  ++idle_total_;
  idle_memory_ += memory;
  if (it->second.idle.size() > options_.max_idle_per_policy)
    retireLocked(it->second.idle, doomed, "policy_cap");
  evictOverBudgetLocked(doomed);
}

// Retires the oldest idle worker of `idle`.
void WorkerPool::retireLocked(std::list<Idle>& idle, Doomed& doomed, const char* reason) {
  doomed.emplace_back(std::move(idle.back().worker), reason);
  idle_memory_ -= idle.back().memory_bytes;
  idle.pop_back();
  --idle_total_;
  ++stats_.retired;
}

bool WorkerPool::overBudgetLocked() const {
  return idle_total_ > options_.max_idle_total || idle_memory_ > options_.max_idle_memory_bytes;
}

void WorkerPool::evictOverBudgetLocked(Doomed& doomed) {
  // Least recently used policies give up their idle workers first.
  for (auto key = lru_.rbegin(); overBudgetLocked() && key != lru_.rend(); ++key) {
    auto& idle = pools_.at(*key).idle;
    while (!idle.empty() && overBudgetLocked()) retireLocked(idle, doomed, "budget");
  }
}

void WorkerPool::pruneIdleLocked(Doomed& doomed) {
  auto cutoff = std::chrono::steady_clock::now() - options_.idle_timeout;
  for (auto it = pools_.begin(); it != pools_.end();) {
    auto& idle = it->second.idle;
    while (!idle.empty() && idle.back().since < cutoff) retireLocked(idle, doomed, "idle_timeout");
    if (idle.empty()) {
      lru_.erase(it->second.lru);
      it = pools_.erase(it);
    } else {
      ++it;
    }
  }
}

void WorkerPool::pruneIdle() {
  Doomed doomed;
  {
    std::lock_guard lock(mutex_);
    pruneIdleLocked(doomed);
  }
  retire(doomed);
}

std::vector<std::pair<std::string, double>> WorkerPool::workersByState() const {
  PoolStats s = stats();
  return {{"idle", static_cast<double>(s.idle)}, {"busy", static_cast<double>(s.busy)}};
}

PoolStats WorkerPool::stats() const {
  std::lock_guard lock(mutex_);
  PoolStats s = stats_;
  s.idle = idle_total_;
  return s;
}

}  // namespace exa::policies
