// ExecuteService: a stateless (type 2) execution of a stored policy. The rule comes from the
// registry, its code through the content-addressed cache, its Templates are checked before the
// call and after, the parameters merged key by key over the stored ones, and the call runs on a
// warm worker of that policy (code digest + settings). The policy's context (the seed's
// "external cache") is kept here and in the store (it survives restarts and worker recycling),
// passed to eval and merged back key by key from each reply.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "agent/context_store.h"
#include "agent/registry/policy_registry.h"
#include "policies/code_cache.h"
#include "policies/policy_templates.h"
#include "policies/worker_pool.h"

namespace exa::agent {

struct ExecuteLimits {
  sandbox::WorkerLimits worker;
  policies::CallLimits call;
  /// Calls of one policy running at once; more are refused with `busy` (429) at once rather than
  /// queued, so that a flood of one policy cannot hold every HTTP thread and starve the others.
  size_t max_in_flight_per_policy = 4;
  /// Policy URI globs (fnmatch) whose workers get the host's network: an operator's decision
  /// (DESIGN.md §8 "Network"), never the policy's.
  std::vector<std::string> host_network_policies;
};

/// A one-shot execution (a type 3 job): its own rule_id and deadline, a worker of its own that
/// is discarded afterwards, its own context (nothing merged into the policy's), and outside the
/// per-policy in-flight cap (jobs have their own bounded runners).
struct OneShot {
  std::string rule_id;
  std::chrono::milliseconds timeout{600000};
  Json context = Json::object();
};

/// Told the outcome ("" = success, else the CallError type) and duration of every execution.
using ExecutionObserver = std::function<void(std::string_view error_type, double seconds)>;

class ExecuteService {
 public:
  ExecuteService(const Collection& registry, ContextStore& contexts, policies::CodeCache& cache,
                 policies::WorkerPool& pool, ExecuteLimits limits, ExecutionObserver observer = {})
      : registry_(registry),
        contexts_(contexts),
        cache_(cache),
        pool_(pool),
        limits_(std::move(limits)),
        observer_(std::move(observer)) {}

  /// `parameters` overrides the stored ones key by key (null: none).
  policies::CallResult execute(const std::string& uri, const Json& input, const Json& parameters);
  policies::CallResult executeOneShot(const std::string& uri, const Json& input,
                                      const Json& parameters, const OneShot& shot);

  /// With a central registry: how a policy missing from the local registry is fetched (and
  /// stored locally, which is then its cache). Set before serving.
  void resolveMissingWith(std::function<Result<Json>(const std::string& uri)> resolver) {
    resolve_missing_ = std::move(resolver);
  }
  /// Type 2 management: a fresh instance, nothing persists (DESIGN.md §8).
  policies::CallResult manage(const std::string& uri, const std::string& action, const Json& data);

  /// A stored rule ready to load: the call (code, settings, merged parameters, limits) and its
  /// compiled Templates.
  struct Prepared {
    policies::PolicyCall call;
    std::shared_ptr<const policies::PolicyTemplates> templates;
  };
  /// For long-lived (type 4) replicas: the rule of `uri` with `parameters` merged and checked.
  std::variant<std::shared_ptr<const Prepared>, policies::CallError> prepare(
      const std::string& uri, const Json& parameters);

 private:
  std::variant<std::shared_ptr<const Prepared>, policies::CallError> prepareRule(
      const std::string& uri, const Json& document);
  /// Takes one of `uri`'s in-flight slots; false when all are taken.
  bool acquire(const std::string& uri);
  void release(const std::string& uri);
  policies::CallResult executeOnce(const std::string& uri, const Json& input,
                                   const Json& parameters);
  bool hostNetworkFor(const std::string& uri) const;

  const Collection& registry_;
  ContextStore& contexts_;
  policies::CodeCache& cache_;
  policies::WorkerPool& pool_;
  ExecuteLimits limits_;
  ExecutionObserver observer_;
  std::function<Result<Json>(const std::string& uri)> resolve_missing_;
  std::mutex mutex_;  // guards in_flight_ and prepared_
  std::map<std::string, size_t> in_flight_;
  /// Per policy URI: the stored text it was prepared from, and the result. Reused while the
  /// stored text is unchanged, so a warm call does not parse the rule, recompile its Templates
  /// or look up its code.
  struct PreparedEntry {
    std::string text;
    std::shared_ptr<const Prepared> prepared;
  };
  std::map<std::string, PreparedEntry> prepared_;
};

}  // namespace exa::agent
