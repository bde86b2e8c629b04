// /health for operators and load balancers: 200 when a policy could run now, 503 otherwise.
#include "agent/routes/health_routes.h"

namespace exa::agent {

void addHealthRoutes(Router& router, sandbox::Sandbox& sandbox, policies::WorkerPool& pool,
                     const DocumentStore& store) {
  // Liveness with a fixed reply: for load balancers, and the HTTP ceiling in bench/.
  router.add(http::verb::get, "/ping", [](const HttpRequest&, const PathParams&) {
    return jsonReply(http::status::ok, "pong");
  }, Access::kOpen);
  router.add(http::verb::get, "/health", [&](const HttpRequest&, const PathParams&) {
    auto spawns = sandbox.spawnStats();
    auto workers = pool.stats();
    bool zygote = sandbox.zygoteReady();
    Status writable = store.checkWritable();
    bool healthy = zygote && writable;
    Json body = {{"status", healthy ? "healthy" : "unavailable"},
                 {"zygote_ready", zygote},
                 {"store_writable", writable ? Json(true) : Json(writable.error().describe())},
                 {"zygote_starts", sandbox.zygoteStarts()},
                 {"spares_ready", sandbox.sparesReady()},
                 {"spawns", {{"from_spare", spawns.from_spare}, {"cloned", spawns.cloned}}},
                 {"pool", {{"idle", workers.idle}, {"busy", workers.busy},
                           {"spawned", workers.spawned},
                           {"reused", workers.reused}, {"retired", workers.retired}}},
                 {"limits", sandbox.limitsInForce()},
                 {"python", sandbox.runtimeVersion()}};
    return jsonReply(healthy ? http::status::ok : http::status::service_unavailable, body);
  }, Access::kOpen);
}

}  // namespace exa::agent
