// The seed's graph routes (type 5): POST /graphs, GET|PUT|DELETE /graphs/<graph_uri>,
// POST /graphs/query, and POST /graph/execute_graph ({"graph_uri", "input_data",
// "timeout_seconds"?}). A graph is planned (every node an existing function, acyclic, connected,
// one exit) before it is stored and again before each run; a run checks graph_input_schema,
// calls the functions (independent branches in parallel, fan-in as the original: docs/graphs.md)
// and checks graph_output_schema. A failing node fails the run naming the node.
#pragma once

#include <string>
#include <vector>

#include "agent/execute_forwarder.h"
#include "agent/functions/function_service.h"
#include "agent/http/router.h"

namespace exa::agent {

void addGraphRoutes(Router& router, Collection& graphs, FunctionService& functions,
                    Collection& function_records, const ExecuteForwarder& forwarder);

/// The graph_uri of every stored graph that uses `function_name`.
std::vector<std::string> graphsUsing(const Collection& graphs, const std::string& function_name);

}  // namespace exa::agent
