// Where jobs (type 3) and functions (type 4) run. JobService and FunctionService keep the
// records, validation, queues and placement; a backend only runs things. The local backend (the
// jail on this machine) implements both today; a Kubernetes backend (batch/v1 Job; apps/v1
// Deployment + v1 Service + autoscaling/v2 HPA, DESIGN.md §6) implements the same two interfaces
// and is chosen at start-up, so the routes and services do not change.
#pragma once

#include <string>

#include "agent/execute_service.h"
#include "common/json_util.h"
#include "common/result.h"
#include "policies/call_result.h"

namespace exa::agent {

class JobBackend {
 public:
  virtual ~JobBackend() = default;
  virtual const char* name() const = 0;
  /// Runs the stored job `job` once, to its end or `shot.timeout`: the output or a typed error.
  /// A result of type "detached" means the backend stopped waiting (detachAll) while the job
  /// runs on elsewhere: the record stays running.
  virtual policies::CallResult run(const Json& job, const OneShot& shot) = 0;
  /// True when a job that was running when the agent stopped is still running (a cluster Job)
  /// and run() on it again attaches to it instead of starting it twice.
  virtual bool reattaches() const { return false; }
  /// Agent shutdown: make the run() calls in progress return "detached" if their jobs outlive
  /// the agent (reattaches() backends); others finish their jobs.
  virtual void detachAll() {}
};

class FunctionBackend {
 public:
  virtual ~FunctionBackend() = default;
  virtual const char* name() const = 0;
  /// Starts the instances of the function stored as `record` (replicas, autoscaling, policy).
  virtual Status deploy(const std::string& function, const Json& record) = 0;
  /// Stops its instances (calls in flight finish first).
  virtual void remove(const std::string& function) = 0;
  virtual bool runs(const std::string& function) = 0;
  /// `check_input` false: a graph's fan-in node (see FunctionReplicas::call).
  virtual policies::CallResult call(const std::string& function, const Json& input,
                                    bool check_input) = 0;
  /// Every instance's reply to a management command, in instance order.
  virtual Json manage(const std::string& function, const std::string& action, const Json& data) = 0;
  /// The last `tail` lines its instances wrote (stdout, stderr, logging).
  virtual std::string logs(const std::string& function, size_t tail) = 0;
  /// Live figures (replicas, busy, restarts, ...) for the record's function_status.
  virtual Json status(const std::string& function) = 0;
  /// Stops every function (agent shutdown; the records stay).
  virtual void stopAll() = 0;
};

}  // namespace exa::agent
