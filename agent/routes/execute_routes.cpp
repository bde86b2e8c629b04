// Body parsing and status mapping for execution.
#include "agent/routes/execute_routes.h"

#include "agent/http/error_status.h"

namespace exa::agent {
namespace {

HttpResponse replyFor(const policies::CallResult& result) {
  if (!result.ok()) return errorReply(*result.error);
  return jsonReply(http::status::ok, result.output);
}

HttpResponse executeBody(ExecuteService& service, const HttpRequest& request) {
  auto body = requestJson(request);
  if (!body) return errorReply(body.error());
  if (!body->is_object() || !(*body).contains("policy_rule_uri") ||
      !(*body)["policy_rule_uri"].is_string())
    return errorReply(http::status::bad_request, "invalid_argument",
                      "policy_rule_uri: required string");
  Json input = body->value("input_data", Json::object());
  Json parameters = body->contains("parameters") ? (*body)["parameters"] : Json();
  return replyFor(service.execute((*body)["policy_rule_uri"].get<std::string>(), input, parameters));
}

}  // namespace

void addExecuteRoutes(Router& router, ExecuteService& service, const std::string& executor_id) {
  router.add(http::verb::post, "/execute_policy",
             [&](const HttpRequest& request, const PathParams&) {
               return executeBody(service, request);
             });
  router.add(http::verb::post, "/executor/<executor_id>/execute_policy",
             [&service, executor_id](const HttpRequest& request, const PathParams& p) {
               if (p.at("executor_id") != executor_id)
                 return errorReply(http::status::not_found, "not_found",
                                   "unknown executor " + p.at("executor_id"));
               return executeBody(service, request);
             });
  router.add(http::verb::post, "/policy/<uri>/management",
             [&](const HttpRequest& request, const PathParams& p) {
               auto body = requestJson(request);
               if (!body) return errorReply(body.error());
               if (!body->is_object() || !body->contains("action") ||
                   !(*body)["action"].is_string())
                 return errorReply(http::status::bad_request, "invalid_argument",
                                   "action: required string");
               return replyFor(service.manage(p.at("uri"), (*body)["action"].get<std::string>(),
                                              body->value("data", Json::object())));
             });
}

}  // namespace exa::agent
