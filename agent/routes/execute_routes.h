// Executing policies over HTTP: the seed's POST /executor/<executor_id>/execute_policy (run here
// for this agent's own id, forwarded to the registered executor otherwise), the original
// executor's POST /execute_policy, and POST /policy/<uri>/management for management commands.
#pragma once

#include <string>

#include "agent/execute_forwarder.h"
#include "agent/execute_service.h"
#include "agent/http/router.h"

namespace exa::agent {

void addExecuteRoutes(Router& router, ExecuteService& service, const ExecuteForwarder& forwarder,
                      const std::string& executor_id);

}  // namespace exa::agent
