// The seed's function routes (type 4): POST /function/deployments/create/<executor_id> (an empty
// id lets the allocator choose), DELETE /function/deployments/remove/<name>,
// POST /function/call_function/<name> (the body is the input), GET /function/<function_id>,
// POST /function/query, and POST /function/<name>/management ({"action", "data"}: every
// replica's reply). The original executor's POST /deployments, DELETE /deployments/<name> and
// POST /call_function/<name> too. Functions on another executor are relayed there.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "agent/execute_forwarder.h"
#include "agent/functions/function_service.h"
#include "agent/http/router.h"
#include "agent/placement.h"

namespace exa::agent {

using GraphsUsing = std::function<std::vector<std::string>(const std::string& function_name)>;

void addFunctionRoutes(Router& router, FunctionService& service, Collection& functions,
                       const Collection& executors, Placement& placement,
                       const ExecuteForwarder& forwarder, GraphsUsing graphs_using);

}  // namespace exa::agent
