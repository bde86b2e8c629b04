// JailHarness: the real sandbox for tests. It starts the zygote from the built executor-agent
// binary, writes policy sources into code dirs and runs them in real jailed workers, so that
// a test exercises exactly what the agent runs.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "policies/policy_worker.h"
#include "policies/worker_pool.h"
#include "sandbox/sandbox.h"
#include "tests/support/temp_dir.h"

namespace exa::testing {

/// Why a jail test cannot run here (not root, no user namespaces), or empty when it can.
std::string jailUnsupportedReason();

/// The real Sandbox with the zygote from the built binary, a runtime dir under `dir`, its own
/// cgroup name, and 256 host uids from `uid_base` + a slot per process id (tests and benches run
/// in parallel, and must never hand two live workers the same uid). Throws on failure.
std::unique_ptr<sandbox::Sandbox> startTestSandbox(const TempDir& dir, uid_t uid_base,
                                                   const std::string& cgroup_name);

class JailHarness {
 public:
  JailHarness();
  sandbox::Sandbox& sandbox() { return *sandbox_; }
  policies::WorkerPool& pool() { return *pool_; }

  /// Writes `source` as function.py of a new code dir; returns the dir.
  std::string writePolicy(const std::string& source);
  /// Wraps a body in `eval(self, parameters, input_data, context)` of an AIOSv1PolicyRule.
  std::string writeEvalPolicy(const std::string& eval_body, const std::string& imports = "");

  /// One eval in a fresh worker of a code dir, with the given limits.
  policies::CallResult run(const std::string& code_dir, const Json& input = Json::object(),
                           sandbox::WorkerLimits limits = defaultLimits(),
                           policies::CallLimits call_limits = defaultCallLimits());
  /// Runs an eval body (see writeEvalPolicy).
  policies::CallResult runEval(const std::string& eval_body, const std::string& imports = "",
                               sandbox::WorkerLimits limits = defaultLimits(),
                               policies::CallLimits call_limits = defaultCallLimits());

  /// A benign policy still runs correctly: the agent survived whatever ran before.
  ::testing::AssertionResult stillUsable();

  static sandbox::WorkerLimits defaultLimits();
  static policies::CallLimits defaultCallLimits();
  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
  std::unique_ptr<sandbox::Sandbox> sandbox_;
  std::unique_ptr<policies::WorkerPool> pool_;
  int next_policy_ = 0;
};

}  // namespace exa::testing
