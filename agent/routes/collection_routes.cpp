// Thin adapters: parse the body, call the collection, map its error to a status.
#include "agent/routes/collection_routes.h"

#include "agent/http/error_status.h"

namespace exa::agent {
namespace {

template <typename Fn>
HttpResponse withBody(const HttpRequest& request, Fn&& fn) {
  auto body = requestJson(request);
  if (!body) return errorReply(body.error());
  return fn(*body);
}

}  // namespace

HttpResponse queryReply(const Collection& collection, const HttpRequest& request) {
  return withBody(request, [&](const Json& filter) {
    auto found = collection.query(filter);
    if (!found) return errorReply(found.error());
    Json list = Json::array();
    for (auto& doc : *found) list.push_back(std::move(doc));
    return jsonReply(http::status::ok, list);
  });
}

void addCollectionRoutes(Router& router, const std::string& base, Collection& c) {
  router.add(http::verb::post, base, [&c](const HttpRequest& request, const PathParams&) {
    return withBody(request, [&](const Json& body) {
      auto created = c.create(body);
      return created ? jsonReply(http::status::created, *created) : errorReply(created.error());
    });
  });
  router.add(http::verb::post, base + "/query", [&c](const HttpRequest& request, const PathParams&) {
    return queryReply(c, request);
  }, Access::kRead);
  router.add(http::verb::get, base + "/<id>", [&c](const HttpRequest&, const PathParams& p) {
    auto doc = c.get(p.at("id"));
    return doc ? jsonReply(http::status::ok, *doc) : errorReply(doc.error());
  }, Access::kRead);
  router.add(http::verb::put, base + "/<id>", [&c](const HttpRequest& request, const PathParams& p) {
    return withBody(request, [&](const Json& body) {
      auto updated = c.update(p.at("id"), body);
      return updated ? jsonReply(http::status::ok, *updated) : errorReply(updated.error());
    });
  });
  router.add(http::verb::delete_, base + "/<id>", [&c](const HttpRequest&, const PathParams& p) {
    auto removed = c.remove(p.at("id"));
    return removed ? jsonReply(http::status::ok, Json{{"deleted", p.at("id")}})
                   : errorReply(removed.error());
  });
}

}  // namespace exa::agent
