// WorkerReaper: finishes retired workers off the request path. The pool SIGKILLs a worker the
// moment it retires it (nothing it started outlives that), then hands the object here: waiting
// for the exit and removing the cgroup leaf (the kernel's RCU grace period on a cgroup v1 rmdir)
// take ~1.4 ms that a caller waiting for its reply should not pay.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "policies/policy_worker.h"

namespace exa::policies {

class WorkerReaper {
 public:
  WorkerReaper();
  /// Buries everything still queued, then stops.
  ~WorkerReaper();
  WorkerReaper(const WorkerReaper&) = delete;
  WorkerReaper& operator=(const WorkerReaper&) = delete;

  /// Kills `worker` now and destroys it (reap, cgroup removal) on the reaper thread.
  void bury(std::unique_ptr<PolicyWorker> worker);

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable queued_;
  std::deque<std::unique_ptr<PolicyWorker>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace exa::policies
