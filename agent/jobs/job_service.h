// JobService: type 3 jobs on the local backend. A submission is stored as a pending record
// before it is queued (so it survives a crash), picked up by one of a fixed number of runner
// threads, and run once, in a worker of its own with its own deadline, the job id as rule_id and
// a snapshot of this node in context.node. A bounded queue refuses work it could not start
// soon. On start, recover() re-queues pending jobs and marks jobs that were running when the
// agent died as failed ("interrupted", with the attempt count) — unless the backend runs them
// elsewhere (a cluster Job), in which case they are followed again: a job is never lost, and
// never run twice without saying so. Which executor runs a job is Placement's decision.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/backends/execution_backend.h"
#include "agent/execute_service.h"
#include "agent/jobs/job_record.h"
#include "agent/registry/collection.h"

namespace exa::agent {

struct JobOptions {
  std::string executor_id;  ///< this agent's
  size_t runners = 2;
  size_t max_queued = 1000;
  std::chrono::seconds default_timeout{600};
};

class JobService {
 public:
  /// `backend` runs the jobs; `node` is what a job sees as context.node.
  JobService(Collection& jobs, JobBackend& backend, JobOptions options,
             std::function<Json()> node);
  ~JobService();
  JobService(const JobService&) = delete;
  JobService& operator=(const JobService&) = delete;

  /// Recovers the store's jobs (see above), then starts the runners.
  Status start();
  /// Stops taking jobs and waits for the running ones.
  void stop();

  const std::string& ownId() const { return options_.executor_id; }
  /// Stores and queues a job for this agent; the pending record. kResourceExhausted when full.
  Result<Json> enqueue(const JobRequest& request);

 private:
  void runnerLoop();
  void run(const std::string& job_id);
  void finish(const std::string& job_id, const policies::CallResult& result);

  Collection& jobs_;
  JobBackend& backend_;
  JobOptions options_;
  std::function<Json()> node_;
  std::mutex mutex_;
  std::condition_variable queued_;
  std::deque<std::string> queue_;
  std::set<std::string> reattaching_;  ///< queued jobs that were running at the last stop
  bool stopping_ = false;
  std::vector<std::thread> runners_;
};

}  // namespace exa::agent
