// ContextStore: the seed's "external cache" of a policy (type 2) or a function (type 4), kept by
// the agent rather than the worker so that it survives worker recycling, replica restarts and
// agent restarts (DESIGN.md §8 "Context"). Cached in memory, persisted in the store's "contexts"
// collection, merged key by key from each reply under one lock (merges never lose a key), capped.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "agent/registry/document_store.h"
#include "common/json_util.h"

namespace exa::agent {

class ContextStore {
 public:
  ContextStore(DocumentStore& store, size_t max_bytes) : store_(store), max_bytes_(max_bytes) {}

  /// The owner's context ("<policy uri>" or "function:<name>"); {} when it has none.
  Json get(const std::string& owner);
  /// Merges `reply` (a call's returned context) key by key; written only when it changed, and
  /// not grown past the cap (the call's result stands either way).
  void merge(const std::string& owner, const Json& reply);
  /// Forgets the owner's context (a removed function).
  void erase(const std::string& owner);

 private:
  Json& cachedLocked(const std::string& owner);

  DocumentStore& store_;
  size_t max_bytes_;
  std::mutex mutex_;
  std::map<std::string, Json> cache_;
};

}  // namespace exa::agent
