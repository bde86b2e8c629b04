// FunctionReplicas: one function's (type 4) long-lived workers. Each replica holds one
// AIOSv1PolicyRule instance, built once when it starts; calls go to an idle replica (waiting, up
// to the call's deadline, when all are busy); a replica that dies is replaced, the restart counted
// with its reason, and the management commands sent so far replayed to it, so a replacement is in
// the state its siblings reached. Local autoscaling moves the replica count between min and max:
// up when the busy share of the replicas' time over the last tick passes the target or calls are
// waiting, down after three quiet ticks below half the target. Utilization is the replicas' CPU
// time from their cgroups over the tick (DESIGN.md §8 "Autoscaling"); where no cgroup exists
// (rlimits only), the share of their wall-clock time spent in calls stands in.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "agent/context_store.h"
#include "agent/execute_service.h"
#include "policies/policy_worker.h"
#include "sandbox/sandbox.h"

namespace exa::agent {

struct Autoscaling {
  bool enabled = false;
  size_t min_replicas = 1;
  size_t max_replicas = 1;
  double target_utilization_percent = 80;
};

class FunctionReplicas {
 public:
  /// `max_in_flight`: calls running or waiting at once; more are refused with `busy` (429) at
  /// once, so a flood of one function cannot hold every HTTP thread (as for type 2 calls).
  FunctionReplicas(sandbox::Sandbox& sandbox, ContextStore& contexts, std::string name,
                   std::shared_ptr<const ExecuteService::Prepared> prepared, size_t replicas,
                   Autoscaling autoscaling, size_t max_in_flight);
  ~FunctionReplicas();

  /// Starts the initial replicas; the first failure (e.g. the constructor raised) is returned.
  Status start();
  /// `check_input` false skips the policy's input Templates: a graph's fan-in node gets a list
  /// of its parents' outputs (the original's format), which no input schema describes.
  policies::CallResult call(const Json& input, bool check_input = true);
  /// Runs the command on every replica; each replica's reply (or error) in replica order.
  Json manage(const std::string& action, const Json& data);
  /// {"replicas", "busy", "waiting", "restarts", "last_restart_reason"}.
  Json status();
  /// The last `tail` lines the replicas' policy wrote (stdout, stderr, logging), oldest first.
  std::string logs(size_t tail);
  /// One autoscaling step (the service calls it every second).
  void autoscaleTick(std::chrono::duration<double> tick);

 private:
  struct Replica {
    std::unique_ptr<policies::PolicyWorker> worker;
    bool busy = false;
    uint64_t cpu_us_seen = 0;  ///< its cgroup's CPU time at the last tick
  };
  /// Percent of the replicas' capacity used over the last tick (see above); resets the counts.
  double utilizationLocked(std::chrono::duration<double> tick);
  Result<std::unique_ptr<policies::PolicyWorker>> startWorker();
  /// Replaces a dead replica's worker (called with the replica marked busy, lock not held).
  void restart(Replica& replica, const std::string& reason);
  Replica* takeIdleLocked();
  void addReplicaLocked(std::unique_ptr<policies::PolicyWorker> worker);
  void keepLogsLocked(const std::string& text);

  sandbox::Sandbox& sandbox_;
  ContextStore& contexts_;
  const std::string name_;
  std::shared_ptr<const ExecuteService::Prepared> prepared_;
  size_t initial_replicas_;
  Autoscaling autoscaling_;
  size_t max_in_flight_;

  std::mutex mutex_;
  std::condition_variable idle_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  size_t waiting_ = 0;
  uint64_t restarts_ = 0;
  std::string last_restart_reason_;
  std::vector<std::pair<std::string, Json>> replay_;  ///< management commands, in order
  double busy_seconds_ = 0;  ///< accumulated since the last tick
  std::deque<std::string> log_lines_;  ///< the newest kMaxLogLines lines
  int quiet_ticks_ = 0;
  bool stopping_ = false;
};

}  // namespace exa::agent
