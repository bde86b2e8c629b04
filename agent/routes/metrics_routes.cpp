#include "agent/routes/metrics_routes.h"

namespace exa::agent {

void addMetricsRoute(Router& router, AgentMetrics& metrics) {
  router.add(
      http::verb::get, "/metrics",
      [&metrics](const HttpRequest&, const PathParams&) {
        HttpResponse response{http::status::ok, 11};
        response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        response.set(http::field::server, "executor-agent");
        response.body() = metrics.render();
        response.prepare_payload();
        return response;
      },
      Access::kRead);
}

}  // namespace exa::agent
