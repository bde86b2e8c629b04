#include "agent/execute_forwarder.h"

#include "agent/http/error_status.h"
#include "agent/http/router.h"
#include "common/http_call.h"
#include "common/log.h"

namespace exa::agent {
namespace {

HttpResponse badGateway(const std::string& type, const std::string& message) {
  return errorReply(http::status::bad_gateway, type, message);
}

// The remote's reply as ours: its status and JSON body, untouched, so its error types survive.
HttpResponse relayReply(const HttpCallResponse& remote, const std::string& executor_id) {
  auto body = parseJson(remote.body);
  if (!body || remote.status < 200 || remote.status > 599)
    return badGateway("bad_executor_reply", "executor " + executor_id + " answered " +
                                                std::to_string(remote.status) +
                                                " without a JSON body");
  // The original executor answers 202; our callers get 200 for every successful execution.
  auto status = remote.status / 100 == 2 ? http::status::ok
                                          : static_cast<http::status>(remote.status);
  HttpResponse response{status, 11};
  response.set(http::field::content_type, "application/json");
  response.set(http::field::server, "executor-agent");
  response.body() = remote.body;
  response.prepare_payload();
  return response;
}

}  // namespace

HttpResponse ExecuteForwarder::forward(const std::string& executor_id, const Json& call,
                                       const std::string& request_id) const {
  return relay(executor_id, "/execute_policy", call, request_id);
}

HttpResponse ExecuteForwarder::relay(const std::string& executor_id, const std::string& path,
                                     const Json& body, const std::string& request_id) const {
  auto record = executors_.get(executor_id);
  if (!record) return errorReply(record.error());
  const Json& host = (*record)["executor_host_uri"];
  if (!host.is_string() || host.get<std::string>().empty())
    return badGateway("executor_unreachable", "executor " + executor_id + " has no executor_host_uri");
  std::string url = host.get<std::string>();
  while (!url.empty() && url.back() == '/') url.pop_back();
  std::string token = options_.peer_token;
  if (clusters_ != nullptr) {
    if (auto cluster = clusters_->load(executor_id)) {
      if (cluster->through_proxy && url == cluster->host_uri)
        return relayThroughCluster(executor_id, *cluster, path, body, request_id);
      token = cluster->executor_token;
    }
  }
  url += path;

  HttpCallRequest request{"POST", url, {{"Content-Type", "application/json"}}, dumpJson(body)};
  if (!request_id.empty()) request.headers.emplace_back("X-Request-Id", request_id);
  if (!token.empty()) request.headers.emplace_back("Authorization", "Bearer " + token);
  HttpCallOptions call_options;
  call_options.total_timeout = options_.timeout;
  call_options.ca_bundle = options_.ca_bundle;
  auto remote = httpCall(request, call_options);
  if (remote) return relayReply(*remote, executor_id);
  const Error& e = remote.error();
  LOG_W("forward to executor {}: {}", executor_id, e.describe());
  std::string message = "executor " + executor_id + ": " + e.message;
  if (e.code == ErrorCode::kTimeout)
    return errorReply(http::status::gateway_timeout, "timeout", message);
  if (e.code == ErrorCode::kPermissionDenied) return badGateway("forward_refused", message);
  return badGateway("executor_unreachable", message);
}

HttpResponse ExecuteForwarder::relayThroughCluster(const std::string& executor_id,
                                                   const ExecutorCluster& cluster,
                                                   const std::string& path, const Json& body,
                                                   const std::string& request_id) const {
  auto client = clusters_->client(executor_id);
  if (!client) return badGateway("executor_unreachable", client.error().describe());
  kubernetes::ApiRequest request;
  request.method = "POST";
  request.path = "/api/v1/namespaces/" + cluster.namespace_name + "/services/" +
                 cluster.service_name + ":http/proxy" + path;
  request.body = body;
  request.headers = {{kProxiedTokenHeader, cluster.executor_token}};
  if (!request_id.empty()) request.headers.emplace_back("X-Request-Id", request_id);
  auto remote = (*client)->call(request);
  if (!remote) {
    LOG_W("forward to executor {} through its cluster: {}", executor_id, remote.error().describe());
    std::string message = "executor " + executor_id + ": " + remote.error().message;
    if (remote.error().code == ErrorCode::kTimeout)
      return errorReply(http::status::gateway_timeout, "timeout", message);
    return badGateway("executor_unreachable", message);
  }
  return relayReply(HttpCallResponse{.status = remote->status, .body = remote->body}, executor_id);
}

}  // namespace exa::agent
