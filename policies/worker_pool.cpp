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
  checkin(call, std::move(worker));
  return result;
}

std::unique_ptr<PolicyWorker> WorkerPool::checkout(const PolicyCall& call, CallError* error) {
  std::list<std::unique_ptr<PolicyWorker>> doomed;  // destroyed (killed) outside the lock
  {
    std::lock_guard lock(mutex_);
    pruneIdleLocked(doomed);
    if (call.isolation == Isolation::kWarm) {
      auto it = pools_.find(call.identity);
      if (it != pools_.end() && !it->second.idle.empty()) {
        auto worker = std::move(it->second.idle.front().worker);
        idle_memory_ -= it->second.idle.front().memory_bytes;
        it->second.idle.pop_front();
        --idle_total_;
        ++stats_.reused;
        lru_.splice(lru_.begin(), lru_, it->second.lru);
        return worker;
      }
    }
    ++stats_.spawned;
  }
  return PolicyWorker::start(sandbox_, call.load, call.limits, call.call_limits, error);
}

void WorkerPool::checkin(const PolicyCall& call, std::unique_ptr<PolicyWorker> worker) {
  std::list<std::unique_ptr<PolicyWorker>> doomed;
  std::lock_guard lock(mutex_);
  bool reusable = call.isolation == Isolation::kWarm && worker->alive() && !worker->dirty() &&
                  worker->calls() < options_.max_calls_per_worker;
  if (!reusable) {
    ++stats_.retired;
    doomed.push_back(std::move(worker));
    return;
  }
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
  if (it->second.idle.size() > options_.max_idle_per_policy) retireLocked(it->second.idle, doomed);
  evictOverBudgetLocked(doomed);
}

// Retires the oldest idle worker of `idle`.
void WorkerPool::retireLocked(std::list<Idle>& idle,
                              std::list<std::unique_ptr<PolicyWorker>>& doomed) {
  doomed.push_back(std::move(idle.back().worker));
  idle_memory_ -= idle.back().memory_bytes;
  idle.pop_back();
  --idle_total_;
  ++stats_.retired;
}

bool WorkerPool::overBudgetLocked() const {
  return idle_total_ > options_.max_idle_total || idle_memory_ > options_.max_idle_memory_bytes;
}

void WorkerPool::evictOverBudgetLocked(std::list<std::unique_ptr<PolicyWorker>>& doomed) {
  // Least recently used policies give up their idle workers first.
  for (auto key = lru_.rbegin(); overBudgetLocked() && key != lru_.rend(); ++key) {
    auto& idle = pools_.at(*key).idle;
    while (!idle.empty() && overBudgetLocked()) retireLocked(idle, doomed);
  }
}

void WorkerPool::pruneIdleLocked(std::list<std::unique_ptr<PolicyWorker>>& doomed) {
  auto cutoff = std::chrono::steady_clock::now() - options_.idle_timeout;
  for (auto it = pools_.begin(); it != pools_.end();) {
    auto& idle = it->second.idle;
    while (!idle.empty() && idle.back().since < cutoff) retireLocked(idle, doomed);
    if (idle.empty()) {
      lru_.erase(it->second.lru);
      it = pools_.erase(it);
    } else {
      ++it;
    }
  }
}

void WorkerPool::pruneIdle() {
  std::list<std::unique_ptr<PolicyWorker>> doomed;
  std::lock_guard lock(mutex_);
  pruneIdleLocked(doomed);
}

PoolStats WorkerPool::stats() const {
  std::lock_guard lock(mutex_);
  PoolStats s = stats_;
  s.idle = idle_total_;
  return s;
}

}  // namespace exa::policies
