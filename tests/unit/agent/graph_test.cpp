// Graphs (seed Type 5): the seed's example planned and run with fake node calls, the original's
// fan-in format and order, parallel branches, every structural refusal naming its node, failure
// and deadline handling, and the record's normalisation naming its fields.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "agent/graphs/graph_plan.h"
#include "agent/graphs/graph_record.h"
#include "agent/graphs/graph_runner.h"
#include "agent/registry/mongo_filter.h"

namespace exa::agent {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

Json json(std::string_view text) {
  auto parsed = parseJson(text);
  EXPECT_TRUE(parsed) << parsed.error().message << " in " << text;
  return parsed ? *parsed : Json();
}

// The seed's sample graph onboarding payload, verbatim (tests/fixtures/seed_graph_payload.json).
const std::string& seedGraph() {
  static const std::string text = [] {
    std::ifstream in(std::string(EXA_SOURCE_DIR) + "/tests/fixtures/seed_graph_payload.json");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  return text;
}

bool anyFunction(const std::string&) { return true; }

GraphPlan plan(std::string_view graph) {
  auto planned = planGraph(json(graph), anyFunction);
  EXPECT_TRUE(planned) << planned.error().message;
  return planned ? std::move(planned).value() : GraphPlan();
}

/// The planning error's message, or "" when the graph planned.
std::string planError(std::string_view graph, const FunctionExists& exists = anyFunction) {
  auto planned = planGraph(json(graph), exists);
  if (planned) return "";
  EXPECT_EQ(planned.error().code, ErrorCode::kInvalidArgument);
  return planned.error().message;
}

Result<Json> echo(const std::string& node, const Json& input) {
  return Json{{"node", node}, {"input", input}};
}

NodeCall echoCall() {
  return [](const std::string& node, const std::string&, const Json& input,
            Clock::time_point) { return echo(node, input); };
}

Result<Json> runGraph(const GraphPlan& graph, const NodeCall& call,
                      std::chrono::milliseconds budget = 10s) {
  return GraphRunner().run(graph, json(R"({"ip": "192.168.1.1"})"), Clock::now() + budget, call);
}

// ------------------------------------------------------------------ planning

TEST(GraphPlan, SeedGraphPlansInTopologicalOrder) {
  GraphPlan graph = plan(seedGraph());
  ASSERT_EQ(graph.nodes.size(), 4u);
  std::vector<std::string> names;
  for (const auto& node : graph.nodes) names.push_back(node.name);
  EXPECT_EQ(names, (std::vector<std::string>{"funcA", "funcB", "funcC", "funcD"}));
  EXPECT_EQ(graph.entries, (std::vector<std::size_t>{0}));
  EXPECT_EQ(graph.nodes[graph.exit].name, "funcD");
  EXPECT_EQ(graph.nodes[3].parents, (std::vector<std::size_t>{1, 2}));
  EXPECT_EQ(graph.nodes[3].function_name, "funcD");
  EXPECT_EQ(graph.width, 2u);
}

TEST(GraphPlan, FunctionIdsDefaultToTheConnectedNodes) {
  GraphPlan graph = plan(R"({"graph_connection_data": {"x": ["y"], "y": ["z"]}})");
  EXPECT_EQ(graph.function_ids, (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_EQ(plan(R"({"graph_function_ids": ["only"]})").nodes.size(), 1u);
}

TEST(GraphPlan, RefusalsNameTheNode) {
  EXPECT_EQ(planError(R"({"graph_function_ids": ["funcA", "funcB", "funcC"],
      "graph_connection_data": {"funcA": ["funcB"], "funcB": ["funcC"], "funcC": ["funcB"]}})"),
            "graph_connection_data: cycle funcB -> funcC -> funcB (a graph must be acyclic)");
  EXPECT_EQ(planError(R"({"graph_function_ids": ["funcA", "funcB", "funcC", "funcD"],
      "graph_connection_data": {"funcA": ["funcB"], "funcC": ["funcD"]}})"),
            "graph_connection_data: nodes funcC, funcD not connected to funcA (a graph must be "
            "one connected DAG)");
  EXPECT_EQ(planError(R"({"graph_connection_data": {"funcA": ["funcB", "funcC"]}})"),
            "graph_connection_data: a graph needs exactly one exit node (a node without "
            "successors, whose output is the graph's), found 2: funcB, funcC");
  EXPECT_EQ(planError(R"({"graph_connection_data": {"funcA": ["funcB"], "funcB": ["funcA"]}})"),
            "graph_connection_data: no entry node (every node has a predecessor): cycle "
            "funcA -> funcB -> funcA");
  EXPECT_EQ(planError(R"({"graph_connection_data": {"funcA": ["funcA"]}})"),
            "graph_connection_data: no entry node (every node has a predecessor): cycle "
            "funcA -> funcA");
}

TEST(GraphPlan, UnknownFunctionsAreAllNamed) {
  auto exists = [](const std::string& name) { return name != "funcX" && name != "funcY"; };
  EXPECT_EQ(planError(R"({"graph_function_ids": ["funcA", "funcX", "funcY"],
      "graph_connection_data": {"funcA": ["funcX"], "funcX": ["funcY"]}})", exists),
            "graph_function_ids[1]: node funcX is not an existing function\n"
            "graph_function_ids[2]: node funcY is not an existing function");
}

TEST(GraphPlan, ShapeErrorsNameTheField) {
  EXPECT_EQ(planError(R"({"graph_function_ids": ["funcA", "funcB"],
      "graph_connection_data": {"funcA": ["funcB", "funcX", 3, "funcB"], "funcZ": []}})"),
            "graph_connection_data.funcA[1]: unknown node funcX (not in graph_function_ids)\n"
            "graph_connection_data.funcA[2]: must be a string, got number\n"
            "graph_connection_data.funcA[3]: duplicate edge funcA -> funcB\n"
            "graph_connection_data.funcZ: unknown node funcZ (not in graph_function_ids)");
  EXPECT_EQ(planError(R"({"graph_function_ids": ["a", "a", ""], "graph_connection_data": []})"),
            "graph_connection_data: must be an object mapping a node to its successors, got "
            "array\ngraph_function_ids[1]: duplicate node a\n"
            "graph_function_ids[2]: must not be empty");
  EXPECT_EQ(planError(R"({"graph_function_ids": []})"),
            "graph_function_ids: a graph needs at least one node");
  EXPECT_EQ(planError("[]"), "graph: must be an object, got array");
}

// ------------------------------------------------------------------ running

TEST(GraphRunner, SeedGraphRunsWithTheOriginalsFanInFormat) {
  auto output = runGraph(plan(seedGraph()), echoCall());
  ASSERT_TRUE(output) << output.error().message;
  EXPECT_EQ(dumpJson(*output),
            R"({"node":"funcD","input":[)"
            R"({"node":"funcB","input":{"node":"funcA","input":{"ip":"192.168.1.1"}}},)"
            R"({"node":"funcC","input":{"node":"funcA","input":{"ip":"192.168.1.1"}}}]})");
}

TEST(GraphRunner, FanInFollowsConnectionKeyOrderNotCompletionOrIdOrder) {
  // funcC's key is written first, funcB is listed first in graph_function_ids and finishes
  // first: funcD still gets [outC, outB], as in the original.
  GraphPlan graph = plan(R"({"graph_function_ids": ["funcA", "funcB", "funcC", "funcD"],
      "graph_connection_data": {"funcA": ["funcB", "funcC"], "funcC": ["funcD"],
                                "funcB": ["funcD"]}})");
  NodeCall call = [](const std::string& node, const std::string&, const Json& input,
                     Clock::time_point) {
    if (node == "funcC") std::this_thread::sleep_for(50ms);
    return node == "funcD" ? Result<Json>(input) : Result<Json>(Json(node));
  };
  auto output = runGraph(graph, call);
  ASSERT_TRUE(output) << output.error().message;
  EXPECT_EQ(dumpJson(*output), R"(["funcC","funcB"])");
}

TEST(GraphRunner, DiamondRunsBothMiddleNodesAtOnce) {
  std::mutex mu;
  std::condition_variable arrived;
  int in_flight = 0;
  NodeCall call = [&](const std::string& node, const std::string&, const Json& input,
                      Clock::time_point) -> Result<Json> {
    if (node == "funcB" || node == "funcC") {
      std::unique_lock lock(mu);
      ++in_flight;
      arrived.notify_all();
      // Serial execution would leave the first one waiting here alone: fail, don't hang.
      if (!arrived.wait_for(lock, 5s, [&] { return in_flight >= 2; }))
        return makeError(ErrorCode::kTimeout, node + " never saw its sibling in flight");
    }
    return echo(node, input);
  };
  auto output = runGraph(plan(seedGraph()), call);
  ASSERT_TRUE(output) << output.error().message;
  EXPECT_EQ((*output)["node"], "funcD");
}

TEST(GraphRunner, WideGraphIsCappedAndKeepsOrder) {
  std::string edges = R"({"a": [)";
  for (int i = 0; i < 12; ++i) edges += (i ? "," : "") + ("\"m" + std::to_string(i) + "\"");
  edges += "]";
  for (int i = 0; i < 12; ++i) edges += ",\"m" + std::to_string(i) + "\": [\"z\"]";
  GraphPlan graph = plan(R"({"graph_connection_data": )" + edges + "}}");
  EXPECT_EQ(graph.width, 12u);
  std::atomic<int> running{0}, peak{0};
  NodeCall call = [&](const std::string& node, const std::string&, const Json& input,
                      Clock::time_point) -> Result<Json> {
    int now = ++running;
    for (int seen = peak; now > seen && !peak.compare_exchange_weak(seen, now);) {}
    std::this_thread::sleep_for(5ms);
    --running;
    return node == "z" ? input : Json(node);
  };
  auto output = runGraph(graph, call);
  ASSERT_TRUE(output) << output.error().message;
  EXPECT_EQ(output->size(), 12u);
  EXPECT_EQ((*output)[11], "m11");
  EXPECT_LE(peak.load(), static_cast<int>(kMaxGraphThreads));
}

TEST(GraphRunner, FailingNodeFailsTheRunAndStopsDownstream) {
  std::atomic<bool> downstream_called{false};
  NodeCall call = [&](const std::string& node, const std::string&, const Json& input,
                      Clock::time_point) -> Result<Json> {
    if (node == "funcB") return makeError(ErrorCode::kPolicyFailed, "ValueError: boom");
    if (node == "funcD") downstream_called = true;
    return echo(node, input);
  };
  auto output = runGraph(plan(seedGraph()), call);
  ASSERT_FALSE(output);
  EXPECT_EQ(output.error().code, ErrorCode::kPolicyFailed);
  EXPECT_EQ(output.error().message, "graph node funcB: ValueError: boom");
  EXPECT_FALSE(downstream_called);
}

TEST(GraphRunner, ThrowingCallIsTheNodesError) {
  NodeCall call = [](const std::string& node, const std::string&, const Json& input,
                     Clock::time_point) -> Result<Json> {
    if (node == "funcC") throw std::runtime_error("bad");
    return echo(node, input);
  };
  auto output = runGraph(plan(seedGraph()), call);
  ASSERT_FALSE(output);
  EXPECT_EQ(output.error().code, ErrorCode::kInternal);
  EXPECT_EQ(output.error().message, "graph node funcC: node call threw: bad");
}

TEST(GraphRunner, DeadlineIsATimeoutNamingRunningNodes) {
  std::atomic<bool> downstream_called{false};
  for (auto overrun : {0ms, 100ms}) {  // a call that honours its deadline, and one that is late
    NodeCall call = [&](const std::string& node, const std::string&, const Json& input,
                        Clock::time_point deadline) -> Result<Json> {
      if (node == "funcD") downstream_called = true;
      if (node != "funcB") return echo(node, input);
      std::this_thread::sleep_until(deadline + overrun);
      if (overrun == 0ms) return makeError(ErrorCode::kTimeout, "policy call timed out");
      return echo(node, input);
    };
    auto started = Clock::now();
    auto output = runGraph(plan(seedGraph()), call, 150ms);
    ASSERT_FALSE(output);
    EXPECT_EQ(output.error().code, ErrorCode::kTimeout);
    EXPECT_EQ(output.error().message,
              "graph deadline exceeded with node(s) still running: funcB; never started: funcD");
    EXPECT_LT(Clock::now() - started, 2s);
  }
  EXPECT_FALSE(downstream_called);
  auto late = GraphRunner().run(plan(seedGraph()), Json::object(), Clock::now(), echoCall());
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, ErrorCode::kTimeout);
}

TEST(GraphRunner, NodeInputFormats) {
  GraphPlan graph = plan(seedGraph());
  std::vector<Json> outputs = {"a", "b", "c", Json()};
  Json input = {{"ip", "1.2.3.4"}};
  EXPECT_EQ(nodeInput(graph, 0, input, outputs), input);
  EXPECT_EQ(nodeInput(graph, 1, input, outputs), "a");
  EXPECT_EQ(nodeInput(graph, 3, input, outputs), json(R"(["b", "c"])"));
}

// ------------------------------------------------------------------ the record

TEST(GraphRecord, SeedPayloadNormalizes) {
  auto normalized = graphCollection().normalize(json(seedGraph()));
  ASSERT_TRUE(normalized) << normalized.error().message;
  EXPECT_EQ(normalized->first, "ip_risk_analysis:1.0-stable");
  const Json& doc = normalized->second;
  std::vector<std::string> keys;
  for (const auto& item : doc.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{
                      "graph_uri", "graph_name", "graph_version", "graph_release_tag",
                      "graph_metadata", "graph_function_ids", "graph_connection_data",
                      "graph_search_tags", "graph_description", "graph_input_schema",
                      "graph_output_schema"}));
  Json seed = json(seedGraph());
  for (const auto& [key, value] : seed.items()) EXPECT_EQ(doc[key], value) << key;
  EXPECT_EQ(graphCollection().derived_fields, (std::vector<std::string>{"graph_uri"}));
}

TEST(GraphRecord, DefaultsAndUnknownKeys) {
  auto doc = normalizeGraph(json(R"({"graph_name": "g", "graph_version": "2.0-rc.1",
      "graph_release_tag": "beta", "graph_connection_data": {"f": ["h"]}, "owner": "ops",
      "graph_metadata": "plain text", "graph_description": null})"));
  ASSERT_TRUE(doc) << doc.error().message;
  EXPECT_EQ(dumpJson(*doc),
            R"({"graph_uri":"g:2.0-rc.1-beta","graph_name":"g","graph_version":"2.0-rc.1",)"
            R"("graph_release_tag":"beta","graph_metadata":"plain text",)"
            R"("graph_function_ids":["f","h"],"graph_connection_data":{"f":["h"]},)"
            R"("graph_search_tags":[],"graph_description":"","graph_input_schema":{},)"
            R"("graph_output_schema":{},"owner":"ops"})");
}

TEST(GraphRecord, ErrorsNameEveryField) {
  auto doc = normalizeGraph(json(R"({"graph_version": 1.0, "graph_release_tag": "a/b",
      "graph_uri": "x", "graph_metadata": 3, "graph_search_tags": ["ok", 1],
      "graph_description": [], "graph_input_schema": {"ip": {"type": "string", "max_lenght": 3}},
      "graph_output_schema": "none", "graph_connection_data": {"f": ["g", "funcX"]},
      "graph_function_ids": ["f", "g"], "$set": {}})"));
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().code, ErrorCode::kInvalidArgument);
  const std::string& message = doc.error().message;
  for (const char* expected : {
           "graph_name: required field is missing",
           "graph_version: must be a string, got number",
           "graph_release_tag: must not contain '/'",
           "graph_metadata: must be an object or a string, got number",
           "graph_connection_data.f[1]: unknown node funcX (not in graph_function_ids)",
           "graph_search_tags[1]: must be a string, got number",
           "graph_description: must be a string, got array",
           "graph_input_schema.ip",
           "max_lenght",
           "graph_output_schema: must be an object (a Templates schema), got string",
           "$set: update operators are not fields"})
    EXPECT_NE(message.find(expected), std::string::npos) << expected << " not in:\n" << message;
  auto mismatch = normalizeGraph(json(R"({"graph_name": "g", "graph_version": "1",
      "graph_release_tag": "t", "graph_uri": "g:2-t", "graph_function_ids": ["f"]})"));
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().message,
            "graph_uri: \"g:2-t\" does not match \"g:1-t\" derived from graph_name, "
            "graph_version and graph_release_tag");
}

TEST(GraphRecord, SchemasCheckInputAndOutput) {
  auto templates = GraphTemplates::compile(json(seedGraph()));
  ASSERT_TRUE(templates) << templates.error().message;
  EXPECT_FALSE(templates->checkInput(json(R"({"ip": "192.168.1.1"})")));
  auto bad_input = templates->checkInput(json(R"({"ip": "1.2.3"})"));
  ASSERT_TRUE(bad_input);
  EXPECT_EQ(bad_input->type, "invalid_input");
  EXPECT_EQ(bad_input->message.rfind("input_data.ip: ", 0), 0u) << bad_input->message;
  EXPECT_FALSE(templates->checkOutput(json(R"({"decision": "allow", "reason": "ok"})")));
  auto bad_output = templates->checkOutput(json(R"({"decision": "maybe"})"));
  ASSERT_TRUE(bad_output);
  EXPECT_EQ(bad_output->type, "invalid_output");
  EXPECT_EQ(bad_output->message.rfind("output.decision: ", 0), 0u) << bad_output->message;
  auto none = GraphTemplates::compile(json(R"({"graph_name": "g"})"));
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->checkOutput(json("[1, 2]")));
}

TEST(GraphRecord, FunctionUseFilterFindsTheGraphsUsingAFunction) {
  auto doc = normalizeGraph(json(seedGraph()));
  ASSERT_TRUE(doc) << doc.error().message;
  for (auto [function, used] : {std::pair{"funcB", true}, std::pair{"funcE", false}}) {
    auto filter = MongoFilter::compile(graphsUsingFunctionFilter(function));
    ASSERT_TRUE(filter) << filter.error().message;
    auto matches = filter->matches(*doc);
    ASSERT_TRUE(matches) << matches.error().message;
    EXPECT_EQ(*matches, used) << function;
  }
}

}  // namespace
}  // namespace exa::agent
