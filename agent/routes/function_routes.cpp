#include "agent/routes/function_routes.h"

#include "agent/http/error_status.h"
#include "agent/routes/collection_routes.h"
#include "agent/routes/execute_routes.h"

namespace exa::agent {
namespace {

HttpResponse replyFor(const policies::CallResult& result) {
  if (!result.ok()) return errorReply(*result.error);
  return jsonReply(http::status::ok, result.output);
}

std::string requestId(const HttpRequest& request) {
  return std::string(request[kRequestIdHeader]);
}

struct Deps {
  FunctionService& service;
  Collection& functions;
  const Collection& executors;
  Placement& placement;
  const ExecuteForwarder& forwarder;
  GraphsUsing graphs_using;
};

HttpResponse create(Deps& d, const std::string& executor_id, const HttpRequest& request) {
  auto body = requestJson(request);
  if (!body) return errorReply(body.error());
  auto fn = parseFunctionRequest(*body);
  if (!fn) return errorReply(fn.error());
  auto placed = d.placement.place({fn->name, fn->policy_rule_uri, fn->node_selector}, executor_id);
  if (!placed) return errorReply(placed.error());
  if (*placed == d.service.ownId()) {
    auto record = d.service.deploy(*fn);
    return record ? jsonReply(http::status::created, *record) : errorReply(record.error());
  }
  HttpResponse remote = d.forwarder.relay(*placed, "/function/deployments/create/" + *placed,
                                          *body, requestId(request));
  if (remote.result_int() / 100 == 2) {
    // Recorded here as well, so that calls made here reach it.
    auto executor = d.executors.get(*placed);
    if (executor) (void)d.service.recordRemote(*fn, *executor);
  }
  return remote;
}

HttpResponse remove(Deps& d, const std::string& name) {
  auto removed = d.service.remove(name, d.graphs_using ? d.graphs_using(name) : std::vector<std::string>{});
  if (!removed) return errorReply(removed.error());
  return jsonReply(http::status::ok, "Deployment '" + name + "' removed successfully.");
}

// The function's executor when it is not this agent ("" when it is, or it is unknown).
std::string remoteExecutor(Deps& d, const std::string& name) {
  if (d.service.runsHere(name)) return {};
  auto record = d.functions.get(name);
  if (!record) return {};
  std::string executor = record->value("function_executor_id", "");
  return executor == d.service.ownId() ? std::string() : executor;
}

HttpResponse call(Deps& d, const std::string& name, const HttpRequest& request) {
  auto input = requestJson(request);
  if (!input) return errorReply(input.error());
  if (d.service.runsHere(name)) return replyFor(d.service.backend().call(name, *input, true));
  std::string executor = remoteExecutor(d, name);
  if (executor.empty())
    return errorReply(http::status::not_found, "not_found", "no function " + name + " here");
  return d.forwarder.relay(executor, "/function/call_function/" + name, *input, requestId(request));
}

HttpResponse manage(Deps& d, const std::string& name, const HttpRequest& request) {
  auto body = requestJson(request);
  if (!body) return errorReply(body.error());
  if (!body->is_object() || !(*body)["action"].is_string())
    return errorReply(http::status::bad_request, "invalid_argument", "action: required string");
  if (d.service.runsHere(name))
    return jsonReply(http::status::ok,
                     Json{{"replicas", d.service.backend().manage(name, (*body)["action"],
                                                                  body->value("data", Json::object()))}});
  std::string executor = remoteExecutor(d, name);
  if (executor.empty())
    return errorReply(http::status::not_found, "not_found", "no function " + name + " here");
  return d.forwarder.relay(executor, "/function/" + name + "/management", *body, requestId(request));
}

// GET /function/get_logs/<name>?tail=N (default 100): the text under `data`, and under `logs`
// too, where the original put it.
HttpResponse logs(Deps& d, const std::string& name, const HttpRequest& request) {
  std::string_view target = request.target();
  size_t tail = 100;
  if (auto at = target.find("tail="); at != std::string_view::npos) {
    try {
      tail = std::stoul(std::string(target.substr(at + 5)));
    } catch (const std::exception&) {
      return errorReply(http::status::bad_request, "invalid_argument", "tail: a number of lines");
    }
  }
  if (!d.service.runsHere(name)) {
    std::string executor = remoteExecutor(d, name);
    return errorReply(http::status::not_found, "not_found",
                      executor.empty() ? "no function " + name + " here"
                                       : "function " + name + " runs on executor " + executor);
  }
  std::string text = d.service.backend().logs(name, tail);
  HttpResponse response = jsonReply(http::status::ok, text);
  Json body = *parseJson(response.body());
  body["logs"] = text;
  response.body() = dumpJson(body);
  response.prepare_payload();
  return response;
}

}  // namespace

void addFunctionRoutes(Router& router, FunctionService& service, Collection& functions,
                       const Collection& executors, Placement& placement,
                       const ExecuteForwarder& forwarder, GraphsUsing graphs_using) {
  auto d = std::make_shared<Deps>(
      Deps{service, functions, executors, placement, forwarder, std::move(graphs_using)});
  router.add(http::verb::post, "/function/deployments/create/<executor_id>",
             [d](const HttpRequest& r, const PathParams& p) { return create(*d, p.at("executor_id"), r); });
  for (const char* empty : {"/function/deployments/create/", "/function/deployments/create"})
    router.add(http::verb::post, empty,
               [d](const HttpRequest& r, const PathParams&) { return create(*d, "", r); });
  // The original executor's deployment route: always here.
  router.add(http::verb::post, "/deployments", [d](const HttpRequest& r, const PathParams&) {
    return create(*d, d->service.ownId(), r);
  });
  for (const char* path : {"/function/deployments/remove/<name>", "/deployments/<name>"})
    router.add(http::verb::delete_, path,
               [d](const HttpRequest&, const PathParams& p) { return remove(*d, p.at("name")); });
  for (const char* path : {"/function/call_function/<name>", "/call_function/<name>"})
    router.add(http::verb::post, path,
               [d](const HttpRequest& r, const PathParams& p) { return call(*d, p.at("name"), r); });
  router.add(http::verb::post, "/function/<name>/management",
             [d](const HttpRequest& r, const PathParams& p) { return manage(*d, p.at("name"), r); });
  router.add(http::verb::get, "/function/get_logs/<name>",
             [d](const HttpRequest& r, const PathParams& p) { return logs(*d, p.at("name"), r); },
             Access::kRead);
  router.add(http::verb::get, "/function/<function_id>",
             [d](const HttpRequest&, const PathParams& p) {
               auto record = d->service.get(p.at("function_id"));
               return record ? jsonReply(http::status::ok, *record) : errorReply(record.error());
             }, Access::kRead);
  router.add(http::verb::post, "/function/query", [d](const HttpRequest& request, const PathParams&) {
    return queryReply(d->functions, request);
  }, Access::kRead);
}

}  // namespace exa::agent
