// Placement: which executor runs a job or a function. A named executor must be this agent or a
// registered one; an empty id asks the allocator policy (run in the jail like any policy), given
// {"job": {name, policy_rule_uri, node_selector}, "executors": [records]}, with this agent always
// among the candidates with its live figures (docs/execution-types.md).
#pragma once

#include <functional>
#include <string>

#include "agent/execute_service.h"
#include "agent/registry/collection.h"

namespace exa::agent {

/// What the allocator is told about the work to place.
struct PlacementRequest {
  std::string name;
  std::string policy_rule_uri;
  Json node_selector = Json::object();
};

class Placement {
 public:
  /// `self` gives this agent's executor record (id, status, metadata, hardware) right now.
  Placement(const Collection& executors, ExecuteService& execute, std::string own_id,
            std::string allocator_uri, std::function<Json()> self)
      : executors_(executors),
        execute_(execute),
        own_id_(std::move(own_id)),
        allocator_uri_(std::move(allocator_uri)),
        self_(std::move(self)) {}

  /// The executor for `request`: `executor_id` when given (kNotFound when unknown), else the
  /// allocator's choice (kUnavailable naming its reason when nothing fits).
  Result<std::string> place(const PlacementRequest& request, const std::string& executor_id);
  const std::string& ownId() const { return own_id_; }

 private:
  Result<Json> candidates();

  const Collection& executors_;
  ExecuteService& execute_;
  std::string own_id_;
  std::string allocator_uri_;
  std::function<Json()> self_;
};

}  // namespace exa::agent
