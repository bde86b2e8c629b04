#include "agent/functions/hosted_function.h"

#include <cstdio>

#include "common/log.h"

namespace exa::agent {
namespace {

constexpr const char* kKnownKeys[] = {"name", "policy_rule_uri", "policy_rule_parameters"};

}  // namespace

Result<HostedFunction> parseHostedFunction(std::string_view text) {
  auto parsed = parseJson(text);
  if (!parsed)
    return makeError(ErrorCode::kInvalidArgument, "--host-function: " + parsed.error().message);
  const Json& spec = *parsed;
  if (!spec.is_object())
    return makeError(ErrorCode::kInvalidArgument, "--host-function: must be a JSON object");
  for (const auto& [key, value] : spec.items()) {
    bool known = false;
    for (const char* k : kKnownKeys) known = known || key == k;
    if (!known)
      return makeError(ErrorCode::kInvalidArgument, "--host-function: unknown key \"" + key + "\"");
  }
  // The same checks as a deployment request, so a pod refuses exactly what the routes refuse.
  auto request = parseFunctionRequest(spec);
  if (!request)
    return makeError(ErrorCode::kInvalidArgument, "--host-function: " + request.error().message);
  return HostedFunction{request->name, request->policy_rule_uri, request->policy_rule_parameters};
}

std::string hostedFunctionSpec(const HostedFunction& function) {
  return dumpJson(Json{{"name", function.name},
                       {"policy_rule_uri", function.policy_rule_uri},
                       {"policy_rule_parameters", function.policy_rule_parameters}});
}

Status deployHostedFunction(FunctionService& service, ExecuteService& execute,
                            const HostedFunction& function) {
  if (service.runsHere(function.name)) {
    LOG_I("hosted function {} already runs (restarted from the store)", function.name);
    return {};
  }
  auto prepared = execute.prepare(function.policy_rule_uri, function.policy_rule_parameters);
  if (auto* error = std::get_if<policies::CallError>(&prepared))
    return makeError(error->type == "not_found" ? ErrorCode::kNotFound
                                                : ErrorCode::kInvalidArgument,
                     "hosted function " + function.name + ": policy " +
                         function.policy_rule_uri + ": " + error->message);
  // A record the store kept from before a container restart, whose replica did not start
  // again: replaced, so the spec given now is the one that runs.
  if (service.get(function.name)) EXA_TRY(service.remove(function.name, {}));
  FunctionRequest request;
  request.name = function.name;
  request.policy_rule_uri = function.policy_rule_uri;
  request.policy_rule_parameters = function.policy_rule_parameters;
  request.replicas = 1;  // the pods are the replicas; the HPA scales them
  request.autoscaling.enabled = false;
  auto deployed = service.deploy(request);
  if (!deployed) {
    Error error = std::move(deployed).error();
    error.message = "hosted function " + function.name + ": " + error.message;
    return error;
  }
  LOG_I("hosting function {} ({})", function.name, function.policy_rule_uri);
  return {};
}

policies::CallResult ContainerLogBackend::call(const std::string& function, const Json& input,
                                               bool check_input) {
  policies::CallResult result = inner_.call(function, input, check_input);
  if (!result.logs.empty()) {
    // One fwrite: stdio locks the stream per call, so the log's own lines cannot cut into it.
    std::string text = result.logs;
    if (text.back() != '\n') text += '\n';
    std::lock_guard lock(output_mutex_);
    std::fwrite(text.data(), 1, text.size(), stderr);
  }
  return result;
}

}  // namespace exa::agent
