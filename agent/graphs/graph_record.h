// The bundled registry's graphs (the seed's Graph, Type 5): a Collection whose normaliser checks
// every field and the structure, so a stored graph is one that can be planned.
//
// Fields, in the seed's order (all kept on read, defaults filled):
//   graph_uri              derived "{graph_name}:{graph_version}-{graph_release_tag}"; one given
//                          in the input must equal it
//   graph_name, graph_version, graph_release_tag   required non-empty strings, the policy URI
//                          part rules (policy_uri.h: no '/', whitespace or control characters;
//                          no ':' in the name, no '-' in the tag), so the URI splits back
//   graph_metadata         object or string (the seed types it str, its example sends an
//                          object, the original stored either); default {}
//   graph_function_ids     list of node (function) ids; default: the nodes the connections name
//   graph_connection_data  {node: [successor, ...]}; default {}
//   graph_search_tags      list of strings; default []
//   graph_description      string; default ""
//   graph_input_schema, graph_output_schema   Templates schemas (policies/templates.h),
//                          compiled here so a bad one is refused at onboarding; default {}
// Unknown top-level keys are kept in order (DESIGN.md §8); '$' keys are refused (an update sent
// to the create route). null means absent. Every problem is reported at once, one
// "field: problem" line each, as kInvalidArgument.
//
// Function existence is NOT checked here: the normaliser runs under the store's write lock and
// must not read other collections. The routes call planGraph(doc, exists) before a create or an
// update, and again before a run.
#pragma once

#include <optional>
#include <string>

#include "agent/graphs/graph_plan.h"
#include "agent/registry/collection.h"
#include "policies/call_result.h"
#include "policies/templates.h"

namespace exa::agent {

/// The stored form of a graph document (errors as described above).
Result<Json> normalizeGraph(const Json& doc);

CollectionSpec graphCollection();

/// A query filter matching the graphs that use `function_name`: removing that function is then
/// a 409 naming their graph_uri (DESIGN.md §8). Complete because the normaliser requires every
/// connected node to be listed in graph_function_ids.
Json graphsUsingFunctionFilter(const std::string& function_name);

/// A graph's input and output schemas, compiled once, checked with the policies' Templates.
class GraphTemplates {
 public:
  /// The error names the schema path ("graph_input_schema.ip.pattern: ...").
  static Result<GraphTemplates> compile(const Json& graph);

  /// `invalid_input` naming the field (paths rooted at "input_data"), as a policy's input check:
  /// the input must be an object. The execute route answers 400 with it.
  std::optional<policies::CallError> checkInput(const Json& input) const;
  /// `invalid_output` (paths rooted at "output"); without an output schema anything passes.
  /// The execute route answers 502 with it.
  std::optional<policies::CallError> checkOutput(const Json& output) const;

 private:
  policies::TemplateSchema input_, output_;
};

}  // namespace exa::agent
