// The local backend: jobs and functions in the jail on this machine. A job runs as a one-shot
// execution in a worker of its own; a function's instances are FunctionReplicas, stepped by an
// autoscaler thread once a second.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "agent/backends/execution_backend.h"
#include "agent/context_store.h"
#include "agent/functions/function_replicas.h"
#include "sandbox/sandbox.h"

namespace exa::agent {

class LocalJobBackend : public JobBackend {
 public:
  explicit LocalJobBackend(ExecuteService& execute) : execute_(execute) {}
  const char* name() const override { return "local"; }
  policies::CallResult run(const Json& job, const OneShot& shot) override;

 private:
  ExecuteService& execute_;
};

class LocalFunctionBackend : public FunctionBackend {
 public:
  /// `max_in_flight`: per function, calls running or waiting at once (FunctionReplicas).
  LocalFunctionBackend(ExecuteService& execute, sandbox::Sandbox& sandbox, ContextStore& contexts,
                       size_t max_in_flight);
  ~LocalFunctionBackend() override;
  const char* name() const override { return "local"; }
  Status deploy(const std::string& function, const Json& record) override;
  void remove(const std::string& function) override;
  bool runs(const std::string& function) override;
  policies::CallResult call(const std::string& function, const Json& input,
                            bool check_input) override;
  Json manage(const std::string& function, const std::string& action, const Json& data) override;
  std::string logs(const std::string& function, size_t tail) override;
  Json status(const std::string& function) override;
  void stopAll() override;

 private:
  std::shared_ptr<FunctionReplicas> find(const std::string& function);
  void autoscaleLoop();

  ExecuteService& execute_;
  sandbox::Sandbox& sandbox_;
  ContextStore& contexts_;
  size_t max_in_flight_;
  std::mutex mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::map<std::string, std::shared_ptr<FunctionReplicas>> running_;
  std::thread autoscaler_;
};

}  // namespace exa::agent
