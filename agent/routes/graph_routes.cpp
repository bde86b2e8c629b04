#include "agent/routes/graph_routes.h"

#include "agent/graphs/graph_record.h"
#include "agent/graphs/graph_runner.h"
#include "agent/http/error_status.h"
#include "agent/routes/collection_routes.h"
#include "agent/registry/mongo_update.h"

namespace exa::agent {
namespace {

constexpr std::chrono::seconds kDefaultGraphTimeout{60};

ErrorCode codeForCallError(const std::string& type) {
  if (type == "timeout") return ErrorCode::kTimeout;
  if (type.rfind("invalid_", 0) == 0 && type != "invalid_output") return ErrorCode::kInvalidArgument;
  if (type == "not_found") return ErrorCode::kNotFound;
  if (type == "busy" || type == "sandbox_setup") return ErrorCode::kUnavailable;
  return ErrorCode::kPolicyFailed;
}

// Calls one node's function: on its local replicas, or relayed to the executor running it.
NodeCall nodeCall(FunctionService& functions, Collection& records,
                  const ExecuteForwarder& forwarder, const GraphPlan& plan,
                  const std::string& request_id) {
  return [&functions, &records, &forwarder, &plan, request_id](
             const std::string& node, const std::string& function_name, const Json& input,
             std::chrono::steady_clock::time_point) -> Result<Json> {
    size_t index = plan.find(node);
    bool fan_in = index < plan.nodes.size() && plan.nodes[index].parents.size() > 1;
    if (functions.runsHere(function_name)) {
      auto result = functions.backend().call(function_name, input, /*check_input=*/!fan_in);
      if (result.ok()) return result.output;
      return makeError(codeForCallError(result.error->type),
                       result.error->type + ": " + result.error->message);
    }
    EXA_ASSIGN_OR_RETURN(Json record, records.get(function_name));
    HttpResponse reply = forwarder.relay(record.value("function_executor_id", ""),
                                         "/function/call_function/" + function_name, input, request_id);
    auto body = parseJson(reply.body());
    if (reply.result_int() / 100 == 2 && body && (*body)["success"] == true) return (*body)["data"];
    std::string message = body && (*body)["message"].is_string() ? (*body)["message"].get<std::string>()
                                                                 : reply.body();
    return makeError(ErrorCode::kUnavailable, "HTTP " + std::to_string(reply.result_int()) + ": " + message);
  };
}

HttpResponse execute(Collection& graphs, FunctionService& functions, Collection& records,
                     const ExecuteForwarder& forwarder, const HttpRequest& request) {
  auto body = requestJson(request);
  if (!body) return errorReply(body.error());
  if (!body->is_object() || !(*body)["graph_uri"].is_string())
    return errorReply(http::status::bad_request, "invalid_argument", "graph_uri: required string");
  auto graph = graphs.get((*body)["graph_uri"]);
  if (!graph) return errorReply(graph.error());
  auto exists = [&](const std::string& name) { return static_cast<bool>(records.get(name)); };
  auto plan = planGraph(*graph, exists);
  if (!plan) return errorReply(plan.error());
  auto templates = GraphTemplates::compile(*graph);
  if (!templates) return errorReply(templates.error());
  Json input = body->value("input_data", Json::object());
  if (auto e = templates->checkInput(input)) return errorReply(*e);
  auto timeout = kDefaultGraphTimeout;
  if ((*body)["timeout_seconds"].is_number_integer() && (*body)["timeout_seconds"].get<int64_t>() > 0)
    timeout = std::chrono::seconds((*body)["timeout_seconds"].get<int64_t>());
  auto output = GraphRunner().run(
      *plan, input, std::chrono::steady_clock::now() + timeout,
      nodeCall(functions, records, forwarder, *plan, std::string(request[kRequestIdHeader])));
  if (!output) return errorReply(output.error());
  if (auto e = templates->checkOutput(*output)) return errorReply(*e);
  return jsonReply(http::status::ok, *output);
}

// A graph as it would be stored, checked against the functions that exist now.
Status checkGraph(const Json& doc, Collection& records) {
  EXA_ASSIGN_OR_RETURN(Json normalized, normalizeGraph(doc));
  auto exists = [&](const std::string& name) { return static_cast<bool>(records.get(name)); };
  EXA_TRY(planGraph(normalized, exists));
  return {};
}

}  // namespace

std::vector<std::string> graphsUsing(const Collection& graphs, const std::string& function_name) {
  std::vector<std::string> uris;
  auto found = graphs.query(graphsUsingFunctionFilter(function_name));
  if (found)
    for (const auto& g : *found) uris.push_back(g.value("graph_uri", ""));
  return uris;
}

void addGraphRoutes(Router& router, Collection& graphs, FunctionService& functions,
                    Collection& records, const ExecuteForwarder& forwarder) {
  router.add(http::verb::post, "/graphs", [&](const HttpRequest& request, const PathParams&) {
    auto body = requestJson(request);
    if (!body) return errorReply(body.error());
    if (Status ok = checkGraph(*body, records); !ok) return errorReply(ok.error());
    auto created = graphs.create(*body);
    return created ? jsonReply(http::status::created, *created) : errorReply(created.error());
  });
  router.add(http::verb::get, "/graphs/<uri>", [&](const HttpRequest&, const PathParams& p) {
    auto doc = graphs.get(p.at("uri"));
    return doc ? jsonReply(http::status::ok, *doc) : errorReply(doc.error());
  }, Access::kRead);
  router.add(http::verb::put, "/graphs/<uri>", [&](const HttpRequest& request, const PathParams& p) {
    auto body = requestJson(request);
    if (!body) return errorReply(body.error());
    auto current = graphs.get(p.at("uri"));
    if (!current) return errorReply(current.error());
    auto next = applyUpdate(*current, *body);  // what the update will store, checked first
    if (!next) return errorReply(next.error());
    next->erase("graph_uri");
    if (Status ok = checkGraph(*next, records); !ok) return errorReply(ok.error());
    auto updated = graphs.update(p.at("uri"), *body);
    return updated ? jsonReply(http::status::ok, *updated) : errorReply(updated.error());
  });
  router.add(http::verb::delete_, "/graphs/<uri>", [&](const HttpRequest&, const PathParams& p) {
    auto removed = graphs.remove(p.at("uri"));
    return removed ? jsonReply(http::status::ok, Json{{"graph_uri", p.at("uri")}})
                   : errorReply(removed.error());
  });
  router.add(http::verb::post, "/graphs/query", [&](const HttpRequest& request, const PathParams&) {
    return queryReply(graphs, request);
  }, Access::kRead);
  router.add(http::verb::post, "/graph/execute_graph",
             [&](const HttpRequest& request, const PathParams&) {
               return execute(graphs, functions, records, forwarder, request);
             });
}

}  // namespace exa::agent
