// Executing policies over HTTP: the seed's POST /executor/<executor_id>/execute_policy (this
// agent's own id only, until executors are registered), the original executor's
// POST /execute_policy, and POST /policy/<uri>/management for management commands.
#pragma once

#include <string>

#include "agent/execute_service.h"
#include "agent/http/router.h"

namespace exa::agent {

void addExecuteRoutes(Router& router, ExecuteService& service, const std::string& executor_id);

}  // namespace exa::agent
