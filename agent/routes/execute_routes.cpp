// Body parsing and status mapping for execution.
#include "agent/routes/execute_routes.h"

#include "agent/http/error_status.h"

namespace exa::agent {
namespace {

HttpResponse replyFor(const policies::CallResult& result) {
  if (!result.ok()) return errorReply(*result.error);
  return jsonReply(http::status::ok, result.output);
}

// The seed's execute body: {"policy_rule_uri": str, "input_data": any, "parameters": object?}.
Result<Json> executeCall(const HttpRequest& request) {
  EXA_ASSIGN_OR_RETURN(Json body, requestJson(request));
  if (!body.is_object() || !body.contains("policy_rule_uri") || !body["policy_rule_uri"].is_string())
    return makeError(ErrorCode::kInvalidArgument, "policy_rule_uri: required string");
  return Json{{"policy_rule_uri", body["policy_rule_uri"]},
              {"input_data", body.value("input_data", Json::object())},
              {"parameters", body.contains("parameters") ? body["parameters"] : Json()}};
}

HttpResponse executeHere(ExecuteService& service, const Json& call) {
  return replyFor(service.execute(call["policy_rule_uri"].get<std::string>(), call["input_data"],
                                  call["parameters"]));
}

}  // namespace

void addExecuteRoutes(Router& router, ExecuteService& service, const ExecuteForwarder& forwarder,
                      const std::string& executor_id) {
  router.add(http::verb::post, "/execute_policy",
             [&](const HttpRequest& request, const PathParams&) {
               auto call = executeCall(request);
               if (!call) return errorReply(call.error());
               return executeHere(service, *call);
             });
  router.add(http::verb::post, "/executor/<executor_id>/execute_policy",
             [&service, &forwarder, executor_id](const HttpRequest& request, const PathParams& p) {
               auto call = executeCall(request);
               if (!call) return errorReply(call.error());
               if (p.at("executor_id") == executor_id) return executeHere(service, *call);
               return forwarder.forward(p.at("executor_id"), *call,
                                        std::string(request[kRequestIdHeader]));
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
