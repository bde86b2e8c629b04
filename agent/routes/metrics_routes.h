// GET /metrics: the agent's Prometheus metrics in the text exposition format (not a JSON
// envelope: scrapers expect the text as it is). A read route: open unless reads are protected.
#pragma once

#include "agent/http/router.h"
#include "agent/metrics/agent_metrics.h"

namespace exa::agent {

void addMetricsRoute(Router& router, AgentMetrics& metrics);

}  // namespace exa::agent
