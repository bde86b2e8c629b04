#include "agent/context_store.h"

#include "policies/policy_templates.h"

namespace exa::agent {
namespace {

constexpr std::string_view kContexts = "contexts";

}  // namespace

Json& ContextStore::cachedLocked(const std::string& owner) {
  auto it = cache_.find(owner);
  if (it != cache_.end()) return it->second;
  auto stored = store_.get(kContexts, owner);
  Json context = stored && (*stored)["context"].is_object() ? (*stored)["context"] : Json::object();
  return cache_.emplace(owner, std::move(context)).first->second;
}

Json ContextStore::get(const std::string& owner) {
  std::lock_guard lock(mutex_);
  return cachedLocked(owner);
}

void ContextStore::merge(const std::string& owner, const Json& reply) {
  if (!reply.is_object()) return;
  std::lock_guard lock(mutex_);
  Json& current = cachedLocked(owner);
  Json merged = policies::mergeKeys(current, reply);
  // Unchanged (most policies never touch it): no write on the hot path.
  if (merged == current) return;
  if (dumpJson(merged).size() > max_bytes_) return;
  // "policy_rule_uri" is the key the first version of this collection used for every owner.
  Json record = {{"policy_rule_uri", owner}, {"context", merged}};
  Status saved = store_.replace(kContexts, owner, record);
  if (!saved && saved.error().code == ErrorCode::kNotFound) saved = store_.insert(kContexts, owner, record);
  if (saved) current = std::move(merged);
}

void ContextStore::erase(const std::string& owner) {
  std::lock_guard lock(mutex_);
  cache_.erase(owner);
  (void)store_.remove(kContexts, owner);
}

}  // namespace exa::agent
