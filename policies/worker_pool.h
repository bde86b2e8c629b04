// WorkerPool: warm jailed workers for stateless (type 2) calls, keyed by policy identity (code
// digest + settings). A worker only ever serves the one policy it loaded; each call builds a
// fresh AIOSv1PolicyRule instance in it. Workers are retired after N calls, after an idle time,
// on any failure, and when a call leaves something behind (thread, child process, /tmp file).
// `fresh` isolation gives a new worker per call. Idle workers are bounded per policy and in
// total; the least recently used policies lose theirs first.
#pragma once

#include <chrono>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "policies/policy_worker.h"
#include "policies/worker_reaper.h"

namespace exa::policies {

struct PoolOptions {
  size_t max_idle_per_policy = 4;
  size_t max_idle_total = 64;
  /// Sum of the memory limits of idle workers: what they may claim if all woke at once.
  uint64_t max_idle_memory_bytes = 4ull << 30;
  uint64_t max_calls_per_worker = 10000;
  std::chrono::seconds idle_timeout{300};
  /// Told why each worker was retired (killed): the call's error type when it died in a call
  /// (timeout, memory_exceeded, crashed, ...), or leftovers, recycled, fresh_isolation,
  /// idle_timeout, policy_cap, budget. Called outside the pool's lock.
  std::function<void(const std::string& reason)> on_retire;
};

enum class Isolation { kWarm, kFresh };

/// One stateless execution request.
struct PolicyCall {
  std::string identity;  ///< code digest + settings; the pool key
  PolicyLoad load;
  sandbox::WorkerLimits limits;
  CallLimits call_limits;
  Isolation isolation = Isolation::kWarm;
};

struct PoolStats {
  uint64_t spawned = 0;
  uint64_t reused = 0;
  uint64_t retired = 0;
  size_t idle = 0;
  size_t busy = 0;  ///< checked out, running a call
};

class WorkerPool {
 public:
  WorkerPool(sandbox::Sandbox& sandbox, PoolOptions options)
      : sandbox_(sandbox), options_(options) {}

  CallResult eval(const PolicyCall& call, const Json& parameters, const Json& input,
                  const Json& context);
  /// Type 2 management: runs on a fresh instance, nothing persists (DESIGN.md §8).
  CallResult management(const PolicyCall& call, const std::string& action, const Json& data);

  PoolStats stats() const;
  /// {"idle", n}, {"busy", n}: for the workers gauge.
  std::vector<std::pair<std::string, double>> workersByState() const;
  /// Retires idle workers past their idle timeout; cheap, called on every checkout too.
  void pruneIdle();

 private:
  struct Idle {
    std::unique_ptr<PolicyWorker> worker;
    std::chrono::steady_clock::time_point since;
    uint64_t memory_bytes;  ///< the worker's memory limit
  };
  struct Pool {
    std::list<Idle> idle;  // most recently returned at the front
    std::list<std::string>::iterator lru;
  };

  /// Workers to kill, each with the reason it goes; killed (and reported) outside the lock.
  using Doomed = std::list<std::pair<std::unique_ptr<PolicyWorker>, std::string>>;

  std::unique_ptr<PolicyWorker> checkout(const PolicyCall& call, CallError* error);
  void checkin(const PolicyCall& call, std::unique_ptr<PolicyWorker> worker,
               const CallResult& result);
  void keepIdleLocked(const PolicyCall& call, std::unique_ptr<PolicyWorker> worker,
                      Doomed& doomed);
  /// Reports each doomed worker's reason, then kills them; called without the lock.
  void retire(Doomed& doomed);
  template <typename Fn>
  CallResult withWorker(const PolicyCall& call, Fn&& fn);
  void evictOverBudgetLocked(Doomed& doomed);
  void pruneIdleLocked(Doomed& doomed);
  void retireLocked(std::list<Idle>& idle, Doomed& doomed, const char* reason);
  bool overBudgetLocked() const;

  sandbox::Sandbox& sandbox_;
  PoolOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, Pool> pools_;
  std::list<std::string> lru_;  // pool keys, most recently used at the front
  size_t idle_total_ = 0;
  uint64_t idle_memory_ = 0;
  PoolStats stats_;
  WorkerReaper reaper_;  // last: destroyed first, burying what is still queued
};

}  // namespace exa::policies
