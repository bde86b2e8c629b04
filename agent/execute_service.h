// ExecuteService: a stateless (type 2) execution of a stored policy. The rule comes from the
// registry, its code through the content-addressed cache, its Templates are checked before the
// call and after, the parameters merged key by key over the stored ones, and the call runs on a
// warm worker of that policy (code digest + settings). The policy's context (the seed's
// "external cache") is kept here, passed to eval and merged back from each reply.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "agent/registry/policy_registry.h"
#include "policies/code_cache.h"
#include "policies/policy_templates.h"
#include "policies/worker_pool.h"

namespace exa::agent {

struct ExecuteLimits {
  sandbox::WorkerLimits worker;
  policies::CallLimits call;
  size_t max_context_bytes = 64 * 1024;
};

class ExecuteService {
 public:
  ExecuteService(PolicyRegistry& registry, policies::CodeCache& cache,
                 policies::WorkerPool& pool, ExecuteLimits limits)
      : registry_(registry), cache_(cache), pool_(pool), limits_(limits) {}

  /// `parameters` overrides the stored ones key by key (null: none).
  policies::CallResult execute(const std::string& uri, const Json& input, const Json& parameters);
  /// Type 2 management: a fresh instance, nothing persists (DESIGN.md §8).
  policies::CallResult manage(const std::string& uri, const std::string& action, const Json& data);

 private:
  struct Prepared {
    policies::PolicyCall call;
    std::shared_ptr<const policies::PolicyTemplates> templates;
  };
  std::variant<Prepared, policies::CallError> prepare(const std::string& uri,
                                                      const Json& parameters);
  void mergeContext(const std::string& uri, const Json& context);
  Json context(const std::string& uri);

  PolicyRegistry& registry_;
  policies::CodeCache& cache_;
  policies::WorkerPool& pool_;
  ExecuteLimits limits_;
  std::mutex mutex_;  // guards contexts_
  std::map<std::string, Json> contexts_;
};

}  // namespace exa::agent
