// Thin adapters: parse the body, call the registry, map its error to a status.
#include "agent/routes/policy_routes.h"

#include "agent/http/error_status.h"

namespace exa::agent {

void addPolicyRoutes(Router& router, PolicyRegistry& registry) {
  router.add(http::verb::post, "/policy", [&](const HttpRequest& request, const PathParams&) {
    auto body = requestJson(request);
    if (!body) return errorReply(body.error());
    auto created = registry.create(*body);
    return created ? jsonReply(http::status::created, *created) : errorReply(created.error());
  });
  router.add(http::verb::get, "/policy/<uri>", [&](const HttpRequest&, const PathParams& p) {
    auto doc = registry.get(p.at("uri"));
    return doc ? jsonReply(http::status::ok, *doc) : errorReply(doc.error());
  }, Access::kRead);
  router.add(http::verb::put, "/policy/<uri>", [&](const HttpRequest& request, const PathParams& p) {
    auto body = requestJson(request);
    if (!body) return errorReply(body.error());
    auto updated = registry.update(p.at("uri"), *body);
    return updated ? jsonReply(http::status::ok, *updated) : errorReply(updated.error());
  });
  router.add(http::verb::delete_, "/policy/<uri>", [&](const HttpRequest&, const PathParams& p) {
    auto removed = registry.remove(p.at("uri"));
    return removed ? jsonReply(http::status::ok, Json{{"policy_rule_uri", p.at("uri")}})
                   : errorReply(removed.error());
  });
  router.add(http::verb::post, "/policy/query", [&](const HttpRequest& request, const PathParams&) {
    auto body = requestJson(request);
    if (!body) return errorReply(body.error());
    auto found = registry.query(*body);
    if (!found) return errorReply(found.error());
    Json list = Json::array();
    for (auto& doc : *found) list.push_back(std::move(doc));
    return jsonReply(http::status::ok, list);
  }, Access::kRead);
}

}  // namespace exa::agent
