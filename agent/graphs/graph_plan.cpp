// Graph structure checks: parse the seed's node list and connection map, then check functions,
// entries, cycles, connectivity and the single exit, in that order (see graph_plan.h).
#include "agent/graphs/graph_plan.h"

#include <algorithm>
#include <deque>
#include <map>
#include <utility>

namespace exa::agent {
namespace {

constexpr const char* kIds = "graph_function_ids";
constexpr const char* kEdges = "graph_connection_data";

// Problems of one step, "field: problem" per line, so a client fixes them in one round trip.
class Problems {
 public:
  void add(const std::string& field, const std::string& problem) {
    text_ += (text_.empty() ? "" : "\n") + field + ": " + problem;
  }
  bool empty() const { return text_.empty(); }
  Status status() const {
    if (text_.empty()) return {};
    return makeError(ErrorCode::kInvalidArgument, text_);
  }

 private:
  std::string text_;
};

// The graph as written: nodes by position in graph_function_ids, edges in written order.
struct RawGraph {
  std::vector<std::string> names;
  std::map<std::string, std::size_t> index;
  std::vector<std::vector<std::size_t>> children;
  std::vector<std::vector<std::size_t>> parents;  // fan-in order: order of the source keys
  bool ids_given = false;

  void addNode(const std::string& name) {
    if (index.emplace(name, names.size()).second) names.push_back(name);
  }
};

// Absent and null are the same thing: Python clients send None for "not set".
const Json* present(const Json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

std::string mistyped(const char* expected, const Json& got) {
  return std::string("must be ") + expected + ", got " + got.type_name();
}

std::string joinNames(const RawGraph& raw, const std::vector<std::size_t>& nodes,
                      const char* separator = ", ") {
  std::string text;
  for (std::size_t node : nodes) text += (text.empty() ? "" : separator) + raw.names[node];
  return text;
}

void readFunctionIds(const Json& ids, RawGraph& raw, Problems& problems) {
  if (!ids.is_array()) return problems.add(kIds, mistyped("a list of function ids", ids));
  for (std::size_t i = 0; i < ids.size(); ++i) {
    std::string field = std::string(kIds) + "[" + std::to_string(i) + "]";
    if (!ids[i].is_string()) {
      problems.add(field, mistyped("a string", ids[i]));
      continue;
    }
    const auto& name = ids[i].get_ref<const std::string&>();
    auto known = raw.index.find(name);
    if (name.empty()) {
      problems.add(field, "must not be empty");
    } else if (known != raw.index.end()) {
      problems.add(field, "duplicate node " + name);
    } else {
      raw.addNode(name);
    }
  }
}

// Without graph_function_ids, the nodes are the ones the connections name, first seen first.
void deriveFunctionIds(const Json& edges, RawGraph& raw) {
  for (const auto& [source, targets] : edges.items()) {
    if (!source.empty()) raw.addNode(source);
    if (!targets.is_array()) continue;
    for (const Json& target : targets)
      if (target.is_string() && !target.get_ref<const std::string&>().empty())
        raw.addNode(target.get<std::string>());
  }
}

void readSuccessors(const std::string& source, const Json& targets, RawGraph& raw,
                    Problems& problems) {
  std::string field = std::string(kEdges) + "." + source;
  auto from = raw.index.find(source);
  if (from == raw.index.end())
    problems.add(field, "unknown node " + source + " (not in " + kIds + ")");
  if (targets.is_null()) return;
  if (!targets.is_array()) return problems.add(field, mistyped("a list of node names", targets));
  for (std::size_t i = 0; i < targets.size(); ++i) {
    std::string item = field + "[" + std::to_string(i) + "]";
    if (!targets[i].is_string()) {
      problems.add(item, mistyped("a string", targets[i]));
      continue;
    }
    const auto& name = targets[i].get_ref<const std::string&>();
    auto to = raw.index.find(name);
    if (to == raw.index.end()) {
      problems.add(item, "unknown node " + name + " (not in " + kIds + ")");
    } else if (from != raw.index.end()) {
      auto& children = raw.children[from->second];
      if (std::find(children.begin(), children.end(), to->second) != children.end()) {
        problems.add(item, "duplicate edge " + source + " -> " + name);
        continue;
      }
      children.push_back(to->second);
      raw.parents[to->second].push_back(from->second);
    }
  }
}

Result<RawGraph> parseGraph(const Json& graph) {
  if (!graph.is_object())
    return makeError(ErrorCode::kInvalidArgument, std::string("graph: ") +
                                                      mistyped("an object", graph));
  RawGraph raw;
  Problems problems;
  const Json* edges = present(graph, kEdges);
  if (edges != nullptr && !edges->is_object())
    problems.add(kEdges, mistyped("an object mapping a node to its successors", *edges));
  const Json* ids = present(graph, kIds);
  raw.ids_given = ids != nullptr;
  if (ids != nullptr) readFunctionIds(*ids, raw, problems);
  else if (edges != nullptr && edges->is_object()) deriveFunctionIds(*edges, raw);
  raw.children.resize(raw.names.size());
  raw.parents.resize(raw.names.size());
  if (edges != nullptr && edges->is_object())
    for (const auto& [source, targets] : edges->items())
      readSuccessors(source, targets, raw, problems);
  if (raw.names.empty() && problems.empty())
    problems.add(kIds, "a graph needs at least one node");
  EXA_TRY(problems.status());
  return raw;
}

Status checkFunctions(const RawGraph& raw, const FunctionExists& function_exists) {
  if (!function_exists) return {};
  Problems problems;
  for (std::size_t i = 0; i < raw.names.size(); ++i) {
    if (function_exists(raw.names[i])) continue;
    std::string field = raw.ids_given ? std::string(kIds) + "[" + std::to_string(i) + "]" : kEdges;
    problems.add(field, "node " + raw.names[i] + " is not an existing function");
  }
  return problems.status();
}

// Every node left after Kahn's algorithm has a predecessor that is also left, so walking
// predecessors from any of them must come back to a node already seen: that loop is a cycle.
std::string describeCycle(const RawGraph& raw, const std::vector<std::size_t>& in_degree) {
  std::size_t node = 0;
  while (node < raw.names.size() && in_degree[node] == 0) ++node;
  std::vector<std::size_t> walk;
  while (std::find(walk.begin(), walk.end(), node) == walk.end()) {
    walk.push_back(node);
    for (std::size_t parent : raw.parents[node]) {
      if (in_degree[parent] > 0) {
        node = parent;
        break;
      }
    }
  }
  std::vector<std::size_t> cycle(std::find(walk.begin(), walk.end(), node), walk.end());
  cycle.push_back(node);
  std::reverse(cycle.begin(), cycle.end());  // we walked against the edges
  return joinNames(raw, cycle, " -> ");
}

// Kahn's algorithm seeded in graph_function_ids order, as the original's runner.
Result<std::vector<std::size_t>> topologicalOrder(const RawGraph& raw) {
  std::vector<std::size_t> in_degree(raw.names.size());
  std::deque<std::size_t> ready;
  for (std::size_t node = 0; node < raw.names.size(); ++node) {
    in_degree[node] = raw.parents[node].size();
    if (in_degree[node] == 0) ready.push_back(node);
  }
  if (ready.empty())
    return makeError(ErrorCode::kInvalidArgument,
                     std::string(kEdges) + ": no entry node (every node has a predecessor): " +
                         "cycle " + describeCycle(raw, in_degree));
  std::vector<std::size_t> order;
  while (!ready.empty()) {
    std::size_t node = ready.front();
    ready.pop_front();
    order.push_back(node);
    for (std::size_t child : raw.children[node])
      if (--in_degree[child] == 0) ready.push_back(child);
  }
  if (order.size() != raw.names.size())
    return makeError(ErrorCode::kInvalidArgument, std::string(kEdges) + ": cycle " +
                                                      describeCycle(raw, in_degree) +
                                                      " (a graph must be acyclic)");
  return order;
}

// Connected ignoring direction: a separate piece would never feed the single output.
Status checkConnected(const RawGraph& raw, std::size_t start) {
  std::vector<bool> seen(raw.names.size(), false);
  std::vector<std::size_t> stack = {start};
  seen[start] = true;
  while (!stack.empty()) {
    std::size_t node = stack.back();
    stack.pop_back();
    for (const auto* edges : {&raw.children[node], &raw.parents[node]})
      for (std::size_t next : *edges) {
        if (seen[next]) continue;
        seen[next] = true;
        stack.push_back(next);
      }
  }
  std::vector<std::size_t> unreached;
  for (std::size_t node = 0; node < raw.names.size(); ++node)
    if (!seen[node]) unreached.push_back(node);
  if (unreached.empty()) return {};
  return makeError(ErrorCode::kInvalidArgument,
                   std::string(kEdges) + ": node" + (unreached.size() > 1 ? "s " : " ") +
                       joinNames(raw, unreached) + " not connected to " + raw.names[start] +
                       " (a graph must be one connected DAG)");
}

Result<std::size_t> singleExit(const RawGraph& raw) {
  std::vector<std::size_t> exits;
  for (std::size_t node = 0; node < raw.names.size(); ++node)
    if (raw.children[node].empty()) exits.push_back(node);
  if (exits.size() == 1) return exits.front();
  return makeError(ErrorCode::kInvalidArgument,
                   std::string(kEdges) + ": a graph needs exactly one exit node (a node " +
                       "without successors, whose output is the graph's), found " +
                       std::to_string(exits.size()) + ": " + joinNames(raw, exits));
}

std::size_t levelWidth(const GraphPlan& plan) {
  std::vector<std::size_t> depth(plan.nodes.size(), 0);
  std::map<std::size_t, std::size_t> per_depth;
  for (std::size_t node = 0; node < plan.nodes.size(); ++node) {
    for (std::size_t parent : plan.nodes[node].parents)
      depth[node] = std::max(depth[node], depth[parent] + 1);
    ++per_depth[depth[node]];
  }
  std::size_t width = 1;
  for (const auto& [level, count] : per_depth) width = std::max(width, count);
  return width;
}

GraphPlan buildPlan(const RawGraph& raw, const std::vector<std::size_t>& order,
                    std::size_t exit) {
  std::vector<std::size_t> position(raw.names.size());
  for (std::size_t k = 0; k < order.size(); ++k) position[order[k]] = k;
  auto remap = [&](const std::vector<std::size_t>& nodes) {
    std::vector<std::size_t> out;
    for (std::size_t node : nodes) out.push_back(position[node]);
    return out;
  };
  GraphPlan plan;
  for (std::size_t node : order) {
    plan.nodes.push_back({raw.names[node], raw.names[node], remap(raw.parents[node]),
                          remap(raw.children[node])});
    if (raw.parents[node].empty()) plan.entries.push_back(plan.nodes.size() - 1);
  }
  plan.exit = position[exit];
  plan.width = levelWidth(plan);
  plan.function_ids = raw.names;
  return plan;
}

}  // namespace

std::size_t GraphPlan::find(const std::string& name) const {
  for (std::size_t node = 0; node < nodes.size(); ++node)
    if (nodes[node].name == name) return node;
  return nodes.size();
}

Result<GraphPlan> planGraph(const Json& graph, const FunctionExists& function_exists) {
  EXA_ASSIGN_OR_RETURN(RawGraph raw, parseGraph(graph));
  EXA_TRY(checkFunctions(raw, function_exists));
  EXA_ASSIGN_OR_RETURN(std::vector<std::size_t> order, topologicalOrder(raw));
  EXA_TRY(checkConnected(raw, order.front()));
  EXA_ASSIGN_OR_RETURN(std::size_t exit, singleExit(raw));
  return buildPlan(raw, order, exit);
}

}  // namespace exa::agent
