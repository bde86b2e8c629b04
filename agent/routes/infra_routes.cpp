#include "agent/routes/infra_routes.h"

#include <memory>
#include <set>

#include "agent/http/error_status.h"
#include "agent/jobs/job_record.h"
#include "common/log.h"
#include "common/random_token.h"
#include "kubernetes/infra_installer.h"
#include "kubernetes/infra_manifests.h"
#include "kubernetes/kubeconfig.h"

namespace exa::agent {
namespace {

struct Deps {
  Collection& executors;
  ExecutorClusters& clusters;
  InfraDefaults defaults;
};

Error invalid(std::string message) {
  return makeError(ErrorCode::kInvalidArgument, std::move(message));
}

struct CreateRequest {
  Json cluster_config;
  std::string context;
  std::string namespace_name;
  std::string image;
  std::string central_url;
  std::string host_uri;  ///< "" = the API server's service proxy
  std::string service_type = "ClusterIP";
};

Result<std::string> optionalString(const Json& body, const char* key) {
  if (!body.contains(key)) return std::string();
  if (!body[key].is_string()) return invalid(std::string(key) + ": expected a string");
  return body[key].get<std::string>();
}

Result<CreateRequest> parseCreate(const Json& body) {
  if (!body.is_object()) return invalid("expected a JSON object with cluster_config");
  static const std::set<std::string> known = {"cluster_config", "context", "namespace", "image",
                                              "central_url", "executor_host_uri", "service_type",
                                              "max_processes"};
  for (const auto& [key, value] : body.items())
    if (!known.count(key)) return invalid(key + ": unknown field");
  if (!body.contains("cluster_config") || !body["cluster_config"].is_object())
    return invalid("cluster_config: required, the kubeconfig as a JSON object");
  // The original's clients send max_processes; the agent sizes itself from its hardware.
  if (body.contains("max_processes") && !body["max_processes"].is_number_integer())
    return invalid("max_processes: expected an integer");
  CreateRequest r;
  r.cluster_config = body["cluster_config"];
  EXA_ASSIGN_OR_RETURN(r.context, optionalString(body, "context"));
  EXA_ASSIGN_OR_RETURN(r.namespace_name, optionalString(body, "namespace"));
  EXA_ASSIGN_OR_RETURN(r.image, optionalString(body, "image"));
  EXA_ASSIGN_OR_RETURN(r.central_url, optionalString(body, "central_url"));
  EXA_ASSIGN_OR_RETURN(r.host_uri, optionalString(body, "executor_host_uri"));
  EXA_ASSIGN_OR_RETURN(std::string type, optionalString(body, "service_type"));
  if (!type.empty()) r.service_type = type;
  if (r.service_type != "ClusterIP" && r.service_type != "NodePort" &&
      r.service_type != "LoadBalancer")
    return invalid("service_type: expected ClusterIP, NodePort or LoadBalancer");
  for (const std::string* url : {&r.central_url, &r.host_uri})
    if (!url->empty() && url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0)
      return invalid("central_url and executor_host_uri: expected an http(s) URL, got " + *url);
  return r;
}

/// The failed report as a reply: the envelope's error, and what happened to each object.
HttpResponse reportReply(const kubernetes::InfraReport& report) {
  // A cluster that refused us is the gateway's failure (502), not the caller's request; an
  // object in the way that is not ours is a conflict the caller must resolve.
  http::status status = report.code == ErrorCode::kAlreadyExists ? http::status::conflict
                        : report.code == ErrorCode::kTimeout    ? http::status::gateway_timeout
                                                                : http::status::bad_gateway;
  HttpResponse response = errorReply(status, "infra_failed", report.error);
  auto body = parseJson(response.body());
  if (body) {
    (*body)["data"] = report.toJson();
    response.body() = dumpJson(*body);
    response.prepare_payload();
  }
  return response;
}

bool namespaceIsOurs(const kubernetes::InfraReport& report) {
  for (const auto& object : report.objects)
    if (object.kind == "Namespace") return object.error.empty();
  return false;
}

HttpResponse create(Deps& d, const std::string& executor_id, const HttpRequest& http_request) {
  auto body = requestJson(http_request);
  if (!body) return errorReply(body.error());
  auto request = parseCreate(*body);
  if (!request) return errorReply(request.error());
  if (auto record = d.executors.get(executor_id); !record)
    return errorReply(makeError(ErrorCode::kNotFound, "executor " + executor_id +
                                                          " is not registered; POST /executor first"));
  auto credentials = kubernetes::loadKubeconfig(request->cluster_config, request->context);
  if (!credentials) return errorReply(invalid("cluster_config: " + credentials.error().message));

  kubernetes::ExecutorInfraSpec spec;
  spec.executor_id = executor_id;
  spec.namespace_name = request->namespace_name.empty()
                            ? kubernetes::executorNamespace(executor_id)
                            : request->namespace_name;
  std::string service = kubernetes::executorObjectName(executor_id);
  spec.central_url = request->central_url.empty() ? d.defaults.central_url : request->central_url;
  if (spec.central_url.empty())
    return errorReply(invalid("central_url: required (this agent has no server.advertise_url "
                              "the executor could reach it at)"));
  spec.central_token = d.defaults.central_token;
  // Run again, create-infra keeps the executor's token: its Secret is adopted, not rewritten.
  auto previous = d.clusters.load(executor_id);
  if (previous) {
    spec.executor_token = previous->executor_token;
  } else {
    auto token = randomHexToken();
    if (!token) return errorReply(token.error());
    spec.executor_token = *token;
  }
  bool through_proxy = request->host_uri.empty();
  spec.host_uri = through_proxy
                      ? kubernetes::serviceProxyUri(credentials->server, spec.namespace_name, service)
                      : request->host_uri;
  spec.service_type = request->service_type;
  spec.pods = d.defaults.pods;
  if (!request->image.empty()) spec.pods.image = request->image;
  if (spec.pods.image.empty())
    return errorReply(invalid("image: required (no kubernetes.image is configured)"));

  kubernetes::ApiClient client(std::move(credentials).value());
  LOG_I("create-infra for executor {} in namespace {}", executor_id, spec.namespace_name);
  kubernetes::InfraReport report =
      kubernetes::installObjects(client, kubernetes::executorInfraObjects(spec), executor_id);
  if (!report.ok) return reportReply(report);

  ExecutorCluster cluster{.kubeconfig = request->cluster_config,
                          .context = request->context,
                          .namespace_name = spec.namespace_name,
                          .service_name = service,
                          .executor_token = spec.executor_token,
                          .host_uri = spec.host_uri,
                          .through_proxy = through_proxy,
                          .namespace_ours = namespaceIsOurs(report)};
  if (Status saved = d.clusters.save(executor_id, cluster); !saved) return errorReply(saved.error());
  Json infra = {{"namespace", spec.namespace_name},
                {"service", service},
                {"reached_through", through_proxy ? "api-server-proxy" : "executor_host_uri"},
                {"created_at", utcNow()}};
  auto updated = d.executors.update(
      executor_id, Json{{"$set", {{"executor_host_uri", spec.host_uri}, {"executor_infra", infra}}}});
  if (!updated) return errorReply(updated.error());
  return jsonReply(http::status::ok, report.toJson());
}

HttpResponse remove(Deps& d, const std::string& executor_id, const HttpRequest& http_request) {
  if (auto record = d.executors.get(executor_id); !record) return errorReply(record.error());
  auto stored = d.clusters.load(executor_id);
  if (!stored)
    return errorReply(makeError(ErrorCode::kNotFound,
                                "executor " + executor_id + " has no infrastructure made here"));
  // The seed's sample body ({"cluster_config": {"provider": ...}}) names no cluster: the stored
  // kubeconfig is the one the objects were made with. A body with a real kubeconfig overrides it
  // (credentials rotated since).
  Json kubeconfig = stored->kubeconfig;
  if (!http_request.body().empty()) {
    auto body = requestJson(http_request);
    if (!body) return errorReply(body.error());
    if (body->is_object() && body->contains("cluster_config") &&
        (*body)["cluster_config"].is_object() && (*body)["cluster_config"].contains("clusters"))
      kubeconfig = (*body)["cluster_config"];
  }
  auto credentials = kubernetes::loadKubeconfig(kubeconfig, stored->context);
  if (!credentials) return errorReply(invalid("cluster_config: " + credentials.error().message));
  kubernetes::ApiClient client(std::move(credentials).value());
  LOG_I("remove-infra for executor {} in namespace {}", executor_id, stored->namespace_name);
  kubernetes::InfraReport report = kubernetes::removeObjects(
      client, kubernetes::RemoveOptions{.namespace_name = stored->namespace_name,
                                        .executor_id = executor_id,
                                        .delete_namespace = stored->namespace_ours,
                                        .wait = d.defaults.remove_wait});
  if (!report.ok) return reportReply(report);
  if (Status forgotten = d.clusters.forget(executor_id); !forgotten)
    return errorReply(forgotten.error());
  auto updated = d.executors.update(
      executor_id, Json{{"$set", {{"executor_status", "unreachable"}, {"executor_host_uri", ""}}},
                        {"$unset", {{"executor_infra", ""}}}});
  if (!updated) return errorReply(updated.error());
  return jsonReply(http::status::ok, report.toJson());
}

}  // namespace

void addInfraRoutes(Router& router, Collection& executors, ExecutorClusters& clusters,
                    InfraDefaults defaults) {
  auto d = std::make_shared<Deps>(Deps{executors, clusters, std::move(defaults)});
  router.add(http::verb::post, "/executor/<executor_id>/create-infra",
             [d](const HttpRequest& r, const PathParams& p) { return create(*d, p.at("executor_id"), r); });
  router.add(http::verb::delete_, "/executor/<executor_id>/remove-infra",
             [d](const HttpRequest& r, const PathParams& p) { return remove(*d, p.at("executor_id"), r); });
}

}  // namespace exa::agent
