// A graph's structure (the seed's Type 5 "Policies as a graph"), checked and put in run order.
//
// The seed's shape: `graph_function_ids` lists the nodes (each one a function id) and
// `graph_connection_data` maps a node to the list of its successors:
//   {"graph_function_ids": ["funcA", "funcB", "funcC", "funcD"],
//    "graph_connection_data": {"funcA": ["funcB", "funcC"], "funcB": ["funcD"],
//                              "funcC": ["funcD"]}}
// A node absent from graph_connection_data (or with an empty list) has no successors. When
// graph_function_ids is absent, the nodes are those the connections name, in order of first
// appearance (so a one-line connection map is a complete graph).
//
// Rules (DESIGN.md §8 "Graphs"), checked in this order, each error naming the field and node:
//   1. shape: graph_function_ids a list of unique non-empty strings, graph_connection_data an
//      object of lists of strings, every node it names listed in graph_function_ids, no edge twice;
//   2. every node an existing function (`function_exists`), all missing ones named;
//   3. at least one entry node (no predecessors) — else the cycle that swallowed them is named;
//   4. acyclic — a cycle is named node by node;
//   5. connected (ignoring edge direction) — the unreachable nodes are named;
//   6. exactly one exit node (no successors) — the candidates are named.
// The original checked only 4 and 6, and only when the graph ran (reference §9).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "common/json_util.h"
#include "common/result.h"

namespace exa::agent {

using FunctionExists = std::function<bool(const std::string& function_name)>;

struct GraphNode {
  std::string name;           ///< the node as written in the graph
  std::string function_name;  ///< the function it calls: in the seed's shape, the node's own name
  /// Indices into GraphPlan::nodes in fan-in order: the order in which the predecessors' keys
  /// appear in graph_connection_data (the original's rule, reference §9.5).
  std::vector<std::size_t> parents;
  std::vector<std::size_t> children;  ///< indices, in the order the connections list them
};

struct GraphPlan {
  /// Topological order: Kahn's algorithm seeded in graph_function_ids order (as the original),
  /// so the order, and everything derived from it, is the same on every run.
  std::vector<GraphNode> nodes;
  std::vector<std::size_t> entries;  ///< nodes without predecessors, in plan order
  std::size_t exit = 0;              ///< the one node without successors
  /// Most nodes sharing one depth (longest path from an entry): how many can usefully run at once.
  std::size_t width = 1;
  /// The nodes in graph_function_ids order (derived from the connections when that is absent).
  std::vector<std::string> function_ids;

  /// Index of node `name`, or nodes.size() when absent.
  std::size_t find(const std::string& name) const;
};

/// Checks `graph` (a graph record, stored or as a client sent it) against the rules above.
/// Errors are kInvalidArgument, one "field: problem" line per problem found in the failing step.
Result<GraphPlan> planGraph(const Json& graph, const FunctionExists& function_exists);

}  // namespace exa::agent
