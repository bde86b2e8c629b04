// FunctionService: the seed's functions (type 4). A deployment stores the Function record (the
// seed's fields, plus replicas, autoscaling and parameters) and has the backend start its
// instances (FunctionBackend: the local jail today); stored functions are started again when the
// agent starts. A
// function placed on another executor is created there (relayed by the routes) and recorded
// here with that executor, so calls to it are relayed too. Removing a function a graph uses is
// refused (409 naming the graphs).
#pragma once

#include <string>
#include <vector>

#include "agent/backends/execution_backend.h"
#include "agent/functions/function_replicas.h"
#include "agent/registry/collection.h"

namespace exa::agent {

/// The store collection "functions", keyed by function_id (the name).
CollectionSpec functionCollection();

/// A validated deployment request; errors are kInvalidArgument naming the field.
struct FunctionRequest {
  std::string name;
  std::string policy_rule_uri;
  Json policy_rule_parameters = Json::object();
  size_t replicas = 1;
  Autoscaling autoscaling;
  Json autoscaling_json = Json::object();
  Json node_selector = Json::object();
  Json function_metadata = Json::object();
  Json function_tags = Json::array();
};
Result<FunctionRequest> parseFunctionRequest(const Json& body);

class FunctionService {
 public:
  FunctionService(Collection& functions, const Collection& policies, FunctionBackend& backend,
                  ContextStore& contexts, std::string executor_id);

  /// Starts the stored functions of this executor.
  Status start();

  /// Deploys here; the stored record. kAlreadyExists for a taken name.
  Result<Json> deploy(const FunctionRequest& request);
  /// Records a function deployed on another executor (after the routes relayed the create).
  Result<Json> recordRemote(const FunctionRequest& request, const Json& executor);
  /// Stops its replicas and deletes the record; `graphs_using` names graphs that need it.
  Status remove(const std::string& name, const std::vector<std::string>& graphs_using);
  /// The record with the live replica status under "function_status".
  Result<Json> get(const std::string& name);
  /// The function's instances run on this agent's backend (else: unknown, or elsewhere).
  bool runsHere(const std::string& name) { return backend_.runs(name); }
  FunctionBackend& backend() { return backend_; }
  const std::string& ownId() const { return executor_id_; }

 private:
  Collection& functions_;
  const Collection& policies_;
  FunctionBackend& backend_;
  ContextStore& contexts_;
  std::string executor_id_;
};

}  // namespace exa::agent
