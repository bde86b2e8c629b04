// The pod side of a function on Kubernetes: `executor-agent serve --host-function <JSON>` runs a
// full agent that deploys that one function locally at start (one local replica: the cluster's
// replicas are the pods) and serves it on its own routes. KubernetesFunctionBackend writes the
// spec into the Deployment (hostedFunctionSpec); serve_command parses it and calls
// deployHostedFunction once its services have started.
#pragma once

#include <mutex>
#include <string>
#include <string_view>

#include "agent/backends/execution_backend.h"
#include "agent/execute_service.h"
#include "agent/functions/function_service.h"
#include "common/json_util.h"
#include "common/result.h"

namespace exa::agent {

/// What a pod needs of the function record: the rest (metadata, tags, replicas, autoscaling)
/// belongs to the creating agent and the cluster.
struct HostedFunction {
  std::string name;
  std::string policy_rule_uri;
  Json policy_rule_parameters = Json::object();
};

/// Parses the --host-function JSON: {"name", "policy_rule_uri", "policy_rule_parameters"?}.
/// Fields are checked as a deployment's (parseFunctionRequest); unknown keys are errors, so a
/// spec from a newer agent fails loudly instead of being half understood.
Result<HostedFunction> parseHostedFunction(std::string_view text);

/// The --host-function JSON for `function` (parseHostedFunction reads it back).
std::string hostedFunctionSpec(const HostedFunction& function);

/// Deploys `function` here with one replica and no autoscaling. Its policy is looked up first
/// through `execute` (which asks the central registry, i.e. the creating agent, for a policy
/// it does not have and stores it), so FunctionService finds it. Already running (started from
/// the store after a container restart): nothing to do; stored but not running: deployed again.
Status deployHostedFunction(FunctionService& service, ExecuteService& execute,
                            const HostedFunction& function);

/// A FunctionBackend that writes what each call's policy printed (stdout, stderr, logging) to
/// the agent's stderr, among its log lines, so the container log (kubectl logs, the adapter's
/// get_logs) holds the function's output as the local backend's log buffer does. stderr, not
/// stdout: whoever started the agent may have closed stdout after its first line (the test
/// harness does), and the agent does not ignore SIGPIPE. Everything else is `inner`'s.
class ContainerLogBackend : public FunctionBackend {
 public:
  explicit ContainerLogBackend(FunctionBackend& inner) : inner_(inner) {}
  const char* name() const override { return inner_.name(); }
  Status deploy(const std::string& function, const Json& record) override {
    return inner_.deploy(function, record);
  }
  void remove(const std::string& function) override { inner_.remove(function); }
  bool runs(const std::string& function) override { return inner_.runs(function); }
  policies::CallResult call(const std::string& function, const Json& input,
                            bool check_input) override;
  Json manage(const std::string& function, const std::string& action, const Json& data) override {
    return inner_.manage(function, action, data);
  }
  std::string logs(const std::string& function, size_t tail) override {
    return inner_.logs(function, tail);
  }
  Json status(const std::string& function) override { return inner_.status(function); }
  void stopAll() override { inner_.stopAll(); }

 private:
  FunctionBackend& inner_;
  std::mutex output_mutex_;  ///< one call's lines stay together
};

}  // namespace exa::agent
