// FunctionService: the seed's functions (type 4) on the local backend. A deployment stores the
// Function record (the seed's fields, plus replicas, autoscaling and parameters) and starts its
// replicas (FunctionReplicas); stored functions are started again when the agent starts. A
// function placed on another executor is created there (relayed by the routes) and recorded
// here with that executor, so calls to it are relayed too. Removing a function a graph uses is
// refused (409 naming the graphs).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/context_store.h"
#include "agent/execute_service.h"
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
  FunctionService(Collection& functions, const Collection& policies, ExecuteService& execute,
                  sandbox::Sandbox& sandbox, ContextStore& contexts, std::string executor_id);
  ~FunctionService();

  /// Starts the stored functions of this executor and the autoscaler.
  Status start();
  void stop();

  /// Deploys here; the stored record. kAlreadyExists for a taken name.
  Result<Json> deploy(const FunctionRequest& request);
  /// Records a function deployed on another executor (after the routes relayed the create).
  Result<Json> recordRemote(const FunctionRequest& request, const Json& executor);
  /// Stops its replicas and deletes the record; `graphs_using` names graphs that need it.
  Status remove(const std::string& name, const std::vector<std::string>& graphs_using);
  /// The record with the live replica status under "function_status".
  Result<Json> get(const std::string& name);
  /// nullptr when `name` is not running here (unknown, or on another executor).
  std::shared_ptr<FunctionReplicas> local(const std::string& name);
  const std::string& ownId() const { return executor_id_; }

 private:
  Result<std::shared_ptr<FunctionReplicas>> launch(const std::string& name, const Json& record);
  void autoscaleLoop();

  Collection& functions_;
  const Collection& policies_;
  ExecuteService& execute_;
  sandbox::Sandbox& sandbox_;
  ContextStore& contexts_;
  std::string executor_id_;
  std::mutex mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::map<std::string, std::shared_ptr<FunctionReplicas>> running_;
  std::thread autoscaler_;
};

}  // namespace exa::agent
