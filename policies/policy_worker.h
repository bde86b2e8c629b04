// PolicyWorker: the agent's side of one jailed worker with a policy loaded. It speaks the
// worker protocol (init, eval, management, shutdown), enforces the per-call deadline and the
// reply cap, and turns every way a worker can end into a typed CallError.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/json_util.h"
#include "policies/call_result.h"
#include "sandbox/frame_channel.h"
#include "sandbox/sandbox.h"

namespace exa::policies {

/// What a worker loads: the code, and what its constructor receives.
struct PolicyLoad {
  std::string code_dir;  ///< host dir holding function.py; copied read-only to /policy
  std::string rule_id;
  Json settings = Json::object();
  Json parameters = Json::object();
};

struct CallLimits {
  std::chrono::milliseconds timeout{10000};  ///< wall clock per call, load included
  size_t max_reply_bytes = 16ull << 20;
  size_t max_log_bytes = 64ull << 10;
};

class PolicyWorker {
 public:
  /// Spawns a jailed worker and loads the policy (import + constructor) within the deadline.
  /// On failure the error says why (policy_error with the traceback, timeout, ...).
  static std::unique_ptr<PolicyWorker> start(sandbox::Sandbox& sandbox, const PolicyLoad& load,
                                             const sandbox::WorkerLimits& limits,
                                             const CallLimits& call_limits, CallError* error);
  ~PolicyWorker();

  /// eval(parameters, input, context); `fresh_instance` builds a new AIOSv1PolicyRule first.
  CallResult eval(const Json& parameters, const Json& input, const Json& context,
                  bool fresh_instance);
  CallResult management(const std::string& action, const Json& data, bool fresh_instance);

  /// False once the worker died, was killed, broke the protocol or hit a limit.
  bool alive() const { return alive_; }
  /// True when a call left something behind (thread, child, /tmp file).
  bool dirty() const { return dirty_; }
  /// eval and management calls served (the load is not counted).
  uint64_t calls() const { return calls_; }
  pid_t pid() const { return worker_.process.pid(); }
  const sandbox::WorkerProcess& process() const { return worker_; }

 private:
  PolicyWorker(sandbox::WorkerProcess worker, CallLimits limits)
      : worker_(std::move(worker)), limits_(limits) {}
  CallResult call(const Json& request, sandbox::Deadline deadline = std::nullopt);
  CallResult diagnoseEnd(std::string fallback_type, std::string what);

  sandbox::WorkerProcess worker_;
  CallLimits limits_;
  bool alive_ = true;
  bool dirty_ = false;
  uint64_t calls_ = 0;
};

}  // namespace exa::policies
