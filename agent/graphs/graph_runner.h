// Runs a planned graph: each node's function once, independent branches in parallel.
//
// What a node receives (the original's wire format, reference §9.5, kept so that functions
// written for the original system work unchanged):
//   - an entry node (no predecessors): the graph's input, as given; every entry gets the same;
//   - a node with one predecessor: that predecessor's output, unwrapped (the value itself);
//   - a node with several predecessors (fan-in): a JSON ARRAY of the predecessors' outputs,
//     ordered by the order in which the predecessors' keys appear in graph_connection_data —
//     not by completion order nor by graph_function_ids. For
//       {"funcA": ["funcB", "funcC"], "funcB": ["funcD"], "funcC": ["funcD"]}
//     funcD receives [outB, outC]; a document listing "funcC" before "funcB" gives [outC, outB].
//     The stored record keeps its key order (ordered_json end to end), which this relies on.
// The graph's output is the exit node's output. Since the fan-in order depends only on the
// document, the output is the same on every run for the same node outputs.
//
// Failure: the first failing node (in plan order, among those that failed) fails the run with
// its own ErrorCode and message, prefixed "graph node <name>: "; nodes not started by then are
// never started. The deadline covers the whole graph: when it passes, nothing more starts and the
// run fails with kTimeout naming the nodes still running (and those never started). run() returns
// only after every call it started has returned, so a NodeCall must honour the deadline it gets
// (the worker pool kills a policy at its deadline); a call may capture references to the caller.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "agent/graphs/graph_plan.h"
#include "common/json_util.h"
#include "common/result.h"

namespace exa::agent {

/// Runs one node: calls `function_name` with `input`, to finish by `deadline`. Called from
/// several threads at once; must not throw (an exception becomes the node's kInternal error).
using NodeCall = std::function<Result<Json>(const std::string& node,
                                            const std::string& function_name, const Json& input,
                                            std::chrono::steady_clock::time_point deadline)>;

/// Threads per run never exceed this, whatever the graph's width: a run's threads only wait on
/// node calls, and the agent's own call capacity is bounded elsewhere (the worker pools).
inline constexpr std::size_t kMaxGraphThreads = 8;

class GraphRunner {
 public:
  explicit GraphRunner(std::size_t max_threads = kMaxGraphThreads)
      : max_threads_(max_threads == 0 ? 1 : max_threads) {}

  /// The exit node's output, or the error described above. Runs nodes on the calling thread
  /// and min(plan.width, max_threads) - 1 helper threads, created for this run and joined
  /// before it returns.
  Result<Json> run(const GraphPlan& plan, const Json& input,
                   std::chrono::steady_clock::time_point deadline, const NodeCall& call) const;

 private:
  std::size_t max_threads_;
};

/// The input `node` gets, given its predecessors' outputs (indexed like plan.nodes): the format
/// described above. Exposed so the execute route and tests can show what a node will see.
Json nodeInput(const GraphPlan& plan, std::size_t node, const Json& graph_input,
               const std::vector<Json>& outputs);

}  // namespace exa::agent
