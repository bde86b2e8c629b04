// Graph records: every field checked in one pass, the structure planned, other keys kept.
#include "agent/graphs/graph_record.h"

#include <array>
#include <string_view>
#include <utility>

#include "policies/policy_uri.h"

namespace exa::agent {
namespace {

using policies::PolicyUriPart;

constexpr std::array<const char*, 11> kGraphKeys = {
    "graph_uri", "graph_name", "graph_version", "graph_release_tag", "graph_metadata",
    "graph_function_ids", "graph_connection_data", "graph_search_tags", "graph_description",
    "graph_input_schema", "graph_output_schema"};

bool isKnownKey(std::string_view key) {
  for (const char* known : kGraphKeys)
    if (key == known) return true;
  return false;
}

const Json* present(const Json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

std::string mistyped(const char* expected, const Json& got) {
  return std::string("must be ") + expected + ", got " + got.type_name();
}

// Reads one graph document; problems accumulate so the client sees them all at once.
class GraphReader {
 public:
  explicit GraphReader(const Json& doc) : doc_(doc) {}

  Result<Json> read();

 private:
  void fail(const std::string& field, const std::string& problem) {
    addLine(field + ": " + problem);
  }
  void addLine(const std::string& line) { errors_ += (errors_.empty() ? "" : "\n") + line; }

  std::string readIdentity(const char* key, PolicyUriPart part);
  std::string readUri(const std::string& derived);
  Json readMetadata();
  Json readTags();
  Json readString(const char* key);
  Json readSchema(const char* key);
  void readExtra(Json& out);

  const Json& doc_;
  std::string errors_;
};

std::string GraphReader::readIdentity(const char* key, PolicyUriPart part) {
  const Json* value = present(doc_, key);
  if (value == nullptr) {
    fail(key, "required field is missing");
    return "";
  }
  if (!value->is_string()) {
    fail(key, mistyped("a string", *value));
    return "";
  }
  std::string text = value->get<std::string>();
  std::string problem = policies::policyUriPartProblem(part, text);
  if (!problem.empty()) {
    fail(key, problem);
    return "";
  }
  return text;
}

std::string GraphReader::readUri(const std::string& derived) {
  const Json* given = present(doc_, "graph_uri");
  if (given == nullptr) return derived;
  if (!given->is_string()) {
    fail("graph_uri", mistyped("a string", *given));
  } else if (!derived.empty() && given->get_ref<const std::string&>() != derived) {
    fail("graph_uri", "\"" + given->get<std::string>() + "\" does not match \"" + derived +
                          "\" derived from graph_name, graph_version and graph_release_tag");
  }
  return derived;
}

Json GraphReader::readMetadata() {
  const Json* value = present(doc_, "graph_metadata");
  if (value == nullptr) return Json::object();
  if (!value->is_object() && !value->is_string())
    fail("graph_metadata", mistyped("an object or a string", *value));
  return *value;
}

Json GraphReader::readTags() {
  const Json* value = present(doc_, "graph_search_tags");
  if (value == nullptr) return Json::array();
  if (!value->is_array()) {
    fail("graph_search_tags", mistyped("a list of strings", *value));
    return Json::array();
  }
  for (std::size_t i = 0; i < value->size(); ++i)
    if (!(*value)[i].is_string())
      fail("graph_search_tags[" + std::to_string(i) + "]", mistyped("a string", (*value)[i]));
  return *value;
}

Json GraphReader::readString(const char* key) {
  const Json* value = present(doc_, key);
  if (value == nullptr) return "";
  if (!value->is_string()) fail(key, mistyped("a string", *value));
  return *value;
}

Json GraphReader::readSchema(const char* key) {
  const Json* value = present(doc_, key);
  if (value == nullptr) return Json::object();
  if (!value->is_object()) {
    fail(key, mistyped("an object (a Templates schema)", *value));
    return Json::object();
  }
  auto compiled = policies::TemplateSchema::compile(*value, key);
  if (!compiled) addLine(compiled.error().message);  // already names "<key>.<path>"
  return *value;
}

void GraphReader::readExtra(Json& out) {
  for (const auto& [key, value] : doc_.items()) {
    if (isKnownKey(key)) continue;
    if (!key.empty() && key.front() == '$') {
      fail(key, "update operators are not fields (partial updates go to PUT "
                "/graphs/<graph_uri> as {\"$set\": {...}})");
      continue;
    }
    out[key] = value;
  }
}

Result<Json> GraphReader::read() {
  if (!doc_.is_object())
    return makeError(ErrorCode::kInvalidArgument,
                     std::string("a graph must be a JSON object, got ") + doc_.type_name());
  std::string name = readIdentity("graph_name", PolicyUriPart::kName);
  std::string version = readIdentity("graph_version", PolicyUriPart::kVersion);
  std::string tag = readIdentity("graph_release_tag", PolicyUriPart::kReleaseTag);
  bool parts_ok = !name.empty() && !version.empty() && !tag.empty();
  std::string uri = readUri(parts_ok ? policies::formatPolicyUri(name, version, tag) : "");

  Json out = Json::object();
  out["graph_uri"] = uri;
  out["graph_name"] = present(doc_, "graph_name") ? doc_["graph_name"] : Json("");
  out["graph_version"] = present(doc_, "graph_version") ? doc_["graph_version"] : Json("");
  out["graph_release_tag"] =
      present(doc_, "graph_release_tag") ? doc_["graph_release_tag"] : Json("");
  out["graph_metadata"] = readMetadata();
  // Structure without function existence (see the header): shape, entries, cycles, one exit.
  auto plan = planGraph(doc_, FunctionExists());
  if (!plan) addLine(plan.error().message);
  out["graph_function_ids"] = plan ? Json(plan->function_ids) : Json::array();
  const Json* edges = present(doc_, "graph_connection_data");
  out["graph_connection_data"] = edges != nullptr ? *edges : Json::object();
  out["graph_search_tags"] = readTags();
  out["graph_description"] = readString("graph_description");
  out["graph_input_schema"] = readSchema("graph_input_schema");
  out["graph_output_schema"] = readSchema("graph_output_schema");
  readExtra(out);
  if (!errors_.empty()) return makeError(ErrorCode::kInvalidArgument, errors_);
  return out;
}

std::optional<policies::CallError> check(const policies::TemplateSchema& schema,
                                         const Json& value, const char* root, const char* type) {
  auto violations = schema.validate(value, root);
  if (violations.empty()) return std::nullopt;
  return policies::CallError{type, policies::describe(violations), {}, {}};
}

}  // namespace

Result<Json> normalizeGraph(const Json& doc) {
  try {
    return GraphReader(doc).read();
  } catch (const Json::exception& e) {
    // Every access is type-checked first; this only guards against a missed case.
    return makeError(ErrorCode::kInternal, std::string("reading graph: ") + e.what());
  }
}

CollectionSpec graphCollection() {
  return {"graphs",
          [](const Json& doc) -> Result<std::pair<std::string, Json>> {
            EXA_ASSIGN_OR_RETURN(Json graph, normalizeGraph(doc));
            std::string uri = graph["graph_uri"].get<std::string>();
            return std::make_pair(std::move(uri), std::move(graph));
          },
          {"graph_uri"}};
}

Json graphsUsingFunctionFilter(const std::string& function_name) {
  // MongoDB array semantics: equality with an element matches the list that holds it.
  return Json{{"graph_function_ids", function_name}};
}

Result<GraphTemplates> GraphTemplates::compile(const Json& graph) {
  GraphTemplates templates;
  for (auto [key, schema] : {std::pair{"graph_input_schema", &templates.input_},
                             std::pair{"graph_output_schema", &templates.output_}}) {
    const Json* value = graph.is_object() ? present(graph, key) : nullptr;
    EXA_ASSIGN_OR_RETURN(*schema, policies::TemplateSchema::compile(
                                      value != nullptr ? *value : Json::object(), key));
  }
  return templates;
}

std::optional<policies::CallError> GraphTemplates::checkInput(const Json& input) const {
  return check(input_, input, "input_data", "invalid_input");
}

std::optional<policies::CallError> GraphTemplates::checkOutput(const Json& output) const {
  // As for a policy: an output schema describes an object; a graph without one may return any.
  if (output_.empty()) return std::nullopt;
  return check(output_, output, "output", "invalid_output");
}

}  // namespace exa::agent
