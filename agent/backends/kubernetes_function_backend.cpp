#include "agent/backends/kubernetes_function_backend.h"

#include <algorithm>
#include <cctype>

#include "agent/functions/function_service.h"
#include "agent/functions/hosted_function.h"
#include "agent/http/router.h"
#include "common/http_call.h"
#include "common/log.h"
#include "common/random_token.h"
#include "kubernetes/function_manifests.h"
#include "kubernetes/object_names.h"
#include "kubernetes/workload_status.h"

namespace exa::agent {
namespace {

using kubernetes::ApiClient;
using kubernetes::ApiStatus;

/// What must survive when an adopted object is replaced by the desired one.
using KeepFn = void (*)(const Json& live, Json& desired, bool autoscaling);

// Made by this executor for this very function: every ownership label and annotation
// (object_names.h) as this executor writes them for it, so the kind and the original name must
// match too (two names never share an object name, but the annotation settles it without
// trusting the hash).
bool ownsFunction(const Json& object, const std::string& executor_id, const std::string& function) {
  if (!kubernetes::ownedBy(object, executor_id)) return false;
  Json expected = kubernetes::ownershipMetadata(executor_id, "function", function);
  for (const char* part : {"labels", "annotations"})
    for (const auto& [key, value] : expected[part].items())
      if (jsonAt(object, {"metadata", part, key.c_str()}) != value) return false;
  return true;
}

// A path segment for `text`: pchar characters as they are, the rest percent-encoded.
std::string pathSegment(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || std::string_view("-._~!$&'()*+,;=:@").find(static_cast<char>(c)) !=
                               std::string_view::npos) {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

void keepNothing(const Json&, Json&, bool) {}

// Under an HPA the live replica count is the HPA's to set; replacing it would undo its scaling
// on every agent restart. The pods' token stays too: a new one would roll every pod.
void keepDeployment(const Json& live, Json& desired, bool autoscaling) {
  const Json& replicas = jsonAt(live, {"spec", "replicas"});
  if (autoscaling && replicas.is_number_integer()) desired["spec"]["replicas"] = replicas;
  std::string token = kubernetes::functionPodToken(live);
  if (token.empty()) return;
  for (Json& container : desired["spec"]["template"]["spec"]["containers"])
    for (Json& env : container["env"])
      if (env["name"] == kubernetes::kFunctionTokenEnv) env["value"] = token;
}

// clusterIP is immutable, and a replace without it is refused.
void keepClusterIp(const Json& live, Json& desired, bool) {
  for (const char* field : {"clusterIP", "clusterIPs"}) {
    const Json& value = jsonAt(live, {"spec", field});
    if (!value.is_null()) desired["spec"][field] = value;
  }
}

struct Applied {
  bool created = false;  ///< else adopted
  Json object;           ///< as the API server stored it
};

// Creates `manifest`; on AlreadyExists adopts the object when it is this function's (replaces
// it with `manifest`, keeping what `keep` says), refuses it otherwise. A replace that loses a
// race (409 Conflict) starts again from a fresh read.
Result<Applied> createOrAdopt(ApiClient& api, const std::string& collection,
                              const std::string& item, Json manifest,
                              const std::string& executor_id, const std::string& function,
                              KeepFn keep, bool autoscaling) {
  ApiStatus status;
  auto created = api.request("POST", collection, manifest, {}, &status);
  if (created) return Applied{true, std::move(*created)};
  if (status.reason != "AlreadyExists") return created.error();
  for (int attempt = 0;; ++attempt) {
    EXA_ASSIGN_OR_RETURN(Json live, api.request("GET", item));
    if (!ownsFunction(live, executor_id, function))
      return makeError(ErrorCode::kAlreadyExists,
                       item + " exists and was not made by executor " + executor_id +
                           " for function " + function + "; refusing to adopt it");
    Json desired = manifest;
    desired["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"];
    keep(live, desired, autoscaling);
    ApiStatus put_status;
    auto replaced = api.request("PUT", item, desired, {}, &put_status);
    if (replaced) return Applied{false, std::move(*replaced)};
    if (put_status.reason != "Conflict" || attempt >= 2) return replaced.error();
  }
}

policies::CallResult unavailable(const std::string& message) {
  return policies::failure("unavailable", message);
}

// The pod agent's reply to a call (function_routes.cpp): 2xx {"success": true, "data": output},
// else {"success": false, "message", "error": {"type", "message", "exception", "traceback"}}.
policies::CallResult fromPodReply(const std::string& function, long status,
                                  const std::string& body) {
  if (status == 401)
    return unavailable("function " + function + ": its pods refused this agent's token (HTTP 401)");
  auto parsed = parseJson(body);
  bool envelope = parsed && parsed->is_object() && parsed->contains("success");
  policies::CallResult result;
  if (envelope && status / 100 == 2) {
    result.output = parsed->value("data", Json());
    return result;
  }
  if (envelope) {
    const Json& error = jsonAt(*parsed, {"error"});
    std::string type = stringAt(error, {"type"});
    std::string message = stringAt(error, {"message"});
    if (message.empty()) message = stringAt(*parsed, {"message"});
    // An Error the pod's routes answered (toString(ErrorCode)) rather than a call's typed one.
    if (type == "invalid_argument") type = "invalid_input";
    if (type.empty()) type = "unavailable";
    result.error = policies::CallError{type, message, stringAt(error, {"exception"}),
                                       stringAt(error, {"traceback"})};
    return result;
  }
  return unavailable("function " + function + ": HTTP " + std::to_string(status) +
                     " from its pod, not the agent's reply: " + body.substr(0, 200));
}

}  // namespace

Result<FunctionCallMode> parseFunctionCallMode(std::string_view text) {
  if (text == "proxy") return FunctionCallMode::kProxy;
  if (text == "service") return FunctionCallMode::kService;
  return makeError(ErrorCode::kInvalidArgument,
                   "function call mode \"" + std::string(text) + "\": \"proxy\" or \"service\"");
}

KubernetesFunctionBackend::KubernetesFunctionBackend(kubernetes::ApiClient& api,
                                                     std::string namespace_name,
                                                     std::string executor_id,
                                                     kubernetes::PodSettings pod,
                                                     KubernetesFunctionOptions options)
    : api_(api),
      namespace_(std::move(namespace_name)),
      executor_id_(std::move(executor_id)),
      pod_(std::move(pod)),
      options_(std::move(options)) {
  kubernetes::ApiClientOptions proxy_options = api_.options();
  proxy_options.max_attempts = 1;
  proxy_options.request_timeout = options_.call_timeout;
  proxy_api_ = std::make_unique<kubernetes::ApiClient>(api_.credentials(), proxy_options);
  if (!options_.service_url)
    options_.service_url = [](const std::string& service, const std::string& ns) {
      return "http://" + service + "." + ns + ".svc.cluster.local:" +
             std::to_string(kubernetes::kFunctionPort);
    };
}

std::string KubernetesFunctionBackend::deploymentPath(const std::string& function) const {
  return "/apis/apps/v1/namespaces/" + namespace_ + "/deployments/" +
         kubernetes::functionObjectName(function);
}

std::string KubernetesFunctionBackend::servicePath(const std::string& function) const {
  return "/api/v1/namespaces/" + namespace_ + "/services/" +
         kubernetes::functionObjectName(function);
}

std::string KubernetesFunctionBackend::autoscalerPath(const std::string& function) const {
  return "/apis/autoscaling/v2/namespaces/" + namespace_ + "/horizontalpodautoscalers/" +
         kubernetes::functionObjectName(function);
}

void KubernetesFunctionBackend::remember(const std::string& function, std::string token) {
  std::lock_guard lock(mutex_);
  running_[function] = std::move(token);
}

void KubernetesFunctionBackend::forget(const std::string& function) {
  std::lock_guard lock(mutex_);
  running_.erase(function);
}

Result<std::string> KubernetesFunctionBackend::podToken(const std::string& function) {
  {
    std::lock_guard lock(mutex_);
    auto it = running_.find(function);
    if (it != running_.end()) return it->second;
  }
  // Deployed by an earlier run of this agent: the Deployment carries it.
  EXA_ASSIGN_OR_RETURN(Json live, getOwned(deploymentPath(function), function));
  std::string token = kubernetes::functionPodToken(live);
  remember(function, token);
  return token;
}

Result<Json> KubernetesFunctionBackend::getOwned(const std::string& item_path,
                                                 const std::string& function) {
  EXA_ASSIGN_OR_RETURN(Json live, api_.request("GET", item_path));
  if (!ownsFunction(live, executor_id_, function))
    return makeError(ErrorCode::kAlreadyExists,
                     item_path + " was not made by executor " + executor_id_ + " for " + function);
  return live;
}

Status KubernetesFunctionBackend::deploy(const std::string& function, const Json& record) {
  if (pod_.agent_url.empty())
    return makeError(ErrorCode::kInvalidArgument,
                     "function " + function + ": the pods' agent URL is not configured (they "
                     "fetch the function's policy from this agent)");
  Json shape = {{"name", function},
                {"policy_rule_uri", record.value("function_policy_rule_uri", Json())},
                {"policy_rule_parameters", record.value("function_policy_parameters", Json())},
                {"replicas", record.value("replicas", Json(1))},
                {"autoscaling", record.value("autoscaling", Json())}};
  EXA_ASSIGN_OR_RETURN(FunctionRequest request, parseFunctionRequest(shape));
  if (options_.check_policy)
    EXA_TRY(options_.check_policy(request.policy_rule_uri, request.policy_rule_parameters));

  kubernetes::FunctionManifest manifest;
  manifest.name = function;
  manifest.namespace_name = namespace_;
  manifest.executor_id = executor_id_;
  manifest.host_spec = hostedFunctionSpec(
      {request.name, request.policy_rule_uri, request.policy_rule_parameters});
  // A fresh token; an adopted Deployment keeps its own (keepDeployment).
  EXA_ASSIGN_OR_RETURN(manifest.pod_token, randomHexToken());
  manifest.replicas = request.replicas;
  manifest.autoscaling = request.autoscaling.enabled;
  manifest.min_replicas = request.autoscaling.min_replicas;
  manifest.max_replicas = request.autoscaling.max_replicas;
  manifest.target_cpu_utilization_percent = request.autoscaling.target_utilization_percent;

  const std::string ns_path = "/namespaces/" + namespace_;
  struct Step {
    std::string collection;
    std::string item;
    Json object;
    KeepFn keep;
  };
  std::vector<Step> steps = {
      {"/apis/apps/v1" + ns_path + "/deployments", deploymentPath(function),
       kubernetes::functionDeployment(manifest, pod_), keepDeployment},
      {"/api/v1" + ns_path + "/services", servicePath(function),
       kubernetes::functionService(manifest), keepClusterIp}};
  if (manifest.autoscaling)
    steps.push_back({"/apis/autoscaling/v2" + ns_path + "/horizontalpodautoscalers",
                     autoscalerPath(function), kubernetes::functionAutoscaler(manifest),
                     keepNothing});

  // Nothing half-made stays behind a failed deploy (FunctionService drops the record then);
  // adopted objects were running before this call and are left as they were.
  std::vector<std::string> created;
  std::string token;
  auto undo = [&](Error error) -> Status {
    for (auto it = created.rbegin(); it != created.rend(); ++it)
      (void)api_.request("DELETE", *it, nullptr, {{"propagationPolicy", "Background"}});
    error.message = "function " + function + ": " + error.message;
    return error;
  };
  for (const Step& step : steps) {
    auto applied = createOrAdopt(api_, step.collection, step.item, step.object, executor_id_,
                                 function, step.keep, manifest.autoscaling);
    if (!applied) return undo(applied.error());
    if (applied->created) created.push_back(step.item);
    else LOG_I("function {}: adopted {}", function, step.item);
    if (step.item == deploymentPath(function))
      token = kubernetes::functionPodToken(applied->object);
  }
  if (!manifest.autoscaling) {
    // Fixed replicas: an HPA left from an earlier deployment would keep resizing them.
    auto stale = getOwned(autoscalerPath(function), function);
    if (stale) {
      auto deleted = api_.request("DELETE", autoscalerPath(function), nullptr,
                                  {{"propagationPolicy", "Background"}});
      if (!deleted && deleted.error().code != ErrorCode::kNotFound) return undo(deleted.error());
    }
  }
  remember(function, token);
  LOG_I("function {}: deployment {} in namespace {} ({} replicas{})", function,
        kubernetes::functionObjectName(function), namespace_, manifest.replicas,
        manifest.autoscaling ? ", autoscaled" : "");
  return {};
}

void KubernetesFunctionBackend::remove(const std::string& function) {
  forget(function);
  for (const std::string& item :
       {autoscalerPath(function), servicePath(function), deploymentPath(function)}) {
    auto live = getOwned(item, function);
    if (!live) {
      if (live.error().code != ErrorCode::kNotFound)
        LOG_W("function {}: {} left alone: {}", function, item, live.error().describe());
      continue;
    }
    // Background: the object goes now, its pods (through the ReplicaSet) right after.
    auto deleted = api_.request("DELETE", item, nullptr, {{"propagationPolicy", "Background"}});
    if (!deleted && deleted.error().code != ErrorCode::kNotFound)
      LOG_E("function {}: {} not deleted: {}", function, item, deleted.error().describe());
  }
}

bool KubernetesFunctionBackend::runs(const std::string& function) {
  return podToken(function).has_value();
}

Result<KubernetesFunctionBackend::PodReply> KubernetesFunctionBackend::postToPod(
    const std::string& function, const std::string& path, const Json& body) {
  const std::string service = kubernetes::functionObjectName(function);
  auto token = podToken(function);
  if (!token) {
    Error error = std::move(token).error();
    error.message = "function " + function + " is not deployed here: " + error.message;
    return error;
  }
  if (options_.call_mode == FunctionCallMode::kService) {
    HttpCallRequest request;
    request.method = "POST";
    request.url = options_.service_url(service, namespace_) + path;
    request.headers = {{"Content-Type", "application/json"},
                       {"Authorization", "Bearer " + *token}};
    request.body = dumpJson(body);
    HttpCallOptions call_options;
    call_options.total_timeout = options_.call_timeout;
    auto reply = httpCall(request, call_options);
    if (!reply) {
      // Refused or unresolvable: with kube-proxy, a Service without ready endpoints refuses.
      Error error = std::move(reply).error();
      error.message = "function " + function + " has no ready replicas or is unreachable: " +
                      error.message;
      return error;
    }
    return PodReply{reply->status, std::move(reply->body)};
  }
  kubernetes::ApiRequest request;
  request.method = "POST";
  request.path = "/api/v1/namespaces/" + namespace_ + "/services/" + service + ":" +
                 kubernetes::kFunctionPortName + "/proxy" + path;
  request.body = body;
  // The API server takes Authorization for itself and strips it; the pod reads this instead.
  request.headers = {{kProxiedTokenHeader, *token}};
  auto reply = proxy_api_->call(request);
  if (!reply) {
    Error error = std::move(reply).error();
    error.message = "function " + function + ": the API server's service proxy: " + error.message;
    return error;
  }
  auto parsed = parseJson(reply->body);
  bool from_pod = parsed && parsed->is_object() && parsed->contains("success");
  if (!from_pod && parsed && parsed->is_object() && parsed->value("kind", "") == "Status") {
    // The API server answered for itself: no endpoints, no Service, not allowed.
    ApiStatus status = kubernetes::parseApiStatus(reply->status, reply->body);
    if (reply->status == 503)
      return makeError(ErrorCode::kUnavailable, "function " + function +
                                                    " has no ready replicas (" + status.message +
                                                    ")");
    return kubernetes::apiStatusError("function " + function + " through " + request.path,
                                      status);
  }
  return PodReply{reply->status, std::move(reply->body)};
}

policies::CallResult KubernetesFunctionBackend::call(const std::string& function,
                                                     const Json& input, bool check_input) {
  // The pod's route always checks the input against the policy's Templates: a graph's fan-in
  // list reaches a Kubernetes function checked (docs/kubernetes.md "Functions", gaps).
  (void)check_input;
  auto reply = postToPod(function, "/function/call_function/" + pathSegment(function), input);
  if (!reply) {
    policies::CallResult result = unavailable(reply.error().message);
    if (reply.error().code == ErrorCode::kNotFound) result.error->type = "not_found";
    return result;
  }
  return fromPodReply(function, reply->status, reply->body);
}

Json KubernetesFunctionBackend::manage(const std::string& function, const std::string& action,
                                       const Json& data) {
  // Through the Service, so one pod answers: the other replicas and pods started later do not
  // get the command (the local backend reaches every replica and replays it to new ones).
  auto reply = postToPod(function, "/function/" + pathSegment(function) + "/management",
                         Json{{"action", action}, {"data", data}});
  if (!reply) return Json::array({{{"error", unavailable(reply.error().message).error->toJson()}}});
  auto parsed = parseJson(reply->body);
  const Json& replicas = parsed ? jsonAt(*parsed, {"data", "replicas"}) : Json();
  if (reply->status / 100 == 2 && replicas.is_array()) return replicas;
  policies::CallResult failed = fromPodReply(function, reply->status, reply->body);
  if (failed.ok())
    failed = unavailable("function " + function + ": no replies in the pod's answer");
  return Json::array({{{"error", failed.error->toJson()}}});
}

std::string KubernetesFunctionBackend::logs(const std::string& function, size_t tail) {
  const std::string pods_path = "/api/v1/namespaces/" + namespace_ + "/pods";
  auto pods = api_.request(
      "GET", pods_path, nullptr,
      {{"labelSelector",
        kubernetes::labelSelectorText(kubernetes::functionSelector(executor_id_, function))}});
  if (!pods) return "(the pods of function " + function + ": " + pods.error().describe() + ")\n";
  std::vector<std::string> names;
  for (const Json& pod : jsonAt(*pods, {"items"}).is_array() ? (*pods)["items"] : Json::array())
    names.push_back(stringAt(pod, {"metadata", "name"}));
  std::sort(names.begin(), names.end());
  std::string text;
  for (size_t i = 0; i < names.size() && i < options_.max_log_pods; ++i) {
    text += "==> pod " + names[i] + " <==\n";
    kubernetes::ApiRequest request;
    request.path = pods_path + "/" + names[i] + "/log";
    request.query = {{"container", "agent"}, {"tailLines", std::to_string(tail)}};
    auto log = api_.call(request);
    if (!log) {
      text += "(no log: " + log.error().describe() + ")\n";
    } else if (log->status != 200) {
      text += "(no log: " + kubernetes::parseApiStatus(log->status, log->body).message + ")\n";
    } else {
      text += log->body;
      if (!log->body.empty() && log->body.back() != '\n') text += '\n';
    }
  }
  if (names.size() > options_.max_log_pods)
    text += "(" + std::to_string(names.size() - options_.max_log_pods) + " more pods not shown)\n";
  return text;
}

Json KubernetesFunctionBackend::status(const std::string& function) {
  const std::string name = kubernetes::functionObjectName(function);
  Json out = {{"backend", "kubernetes"}, {"namespace", namespace_}, {"deployment", name}};
  auto deployment = getOwned(deploymentPath(function), function);
  if (!deployment) {
    out["state"] = "unavailable";
    out["reason"] = deployment.error().message;
    return out;
  }
  auto pods = api_.request(
      "GET", "/api/v1/namespaces/" + namespace_ + "/pods", nullptr,
      {{"labelSelector",
        kubernetes::labelSelectorText(kubernetes::functionSelector(executor_id_, function))}});
  kubernetes::PodSummary summary = kubernetes::summarizePods(pods ? jsonAt(*pods, {"items"}) : Json::array());
  auto [state, reason] = kubernetes::deploymentState(*deployment, summary);
  out["state"] = state;
  out["reason"] = reason;
  out["desired_replicas"] = intAt(*deployment, {"spec", "replicas"}, 1);
  out["replicas"] = intAt(*deployment, {"status", "replicas"});
  out["ready_replicas"] = intAt(*deployment, {"status", "readyReplicas"});
  out["available_replicas"] = intAt(*deployment, {"status", "availableReplicas"});
  out["updated_replicas"] = intAt(*deployment, {"status", "updatedReplicas"});
  out["restarts"] = summary.restarts;
  out["last_restart_reason"] = summary.last_restart_reason;
  out["pods"] = std::move(summary.pods);
  if (!pods) out["pods_error"] = pods.error().message;
  if (auto hpa = api_.request("GET", autoscalerPath(function)); hpa)
    out["autoscaling"] = kubernetes::autoscalerStatus(*hpa);
  return out;
}

void KubernetesFunctionBackend::stopAll() {
  std::lock_guard lock(mutex_);
  running_.clear();  // the tokens are read back from the Deployments when needed again
}

}  // namespace exa::agent
