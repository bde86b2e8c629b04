// Templates schemas: compile() turns the JSON descriptors into a tree of checks with regexes
// JIT-compiled once (policy load); validate() walks a value against that tree (every call).
#include "policies/templates.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>

namespace exa::policies {
namespace {

// Backtracking budget per match. Linear patterns over large strings stay far below it (^.*$
// on 1 MB takes ~2 ms), while catastrophic ones ((a+)+$ on "aaaa…b") stop after ~1.5 ms
// instead of hanging the request thread; with at most 32 violations per call, a hostile array
// costs tens of milliseconds. The JIT honours the match limit; the interpreter fallback (no
// JIT on this CPU) is also bounded in memory by the heap limit.
constexpr uint32_t kMatchLimit = 1'000'000;
constexpr uint32_t kHeapLimitKiB = 16 * 1024;
// The JIT's default 32 KiB machine-stack area runs out on legitimate alternations such as
// ^(?:ab|cd)*$ over a few kilobytes. A per-thread stack of up to 4 MiB (reserved address
// space; pages are touched only by deep matches) takes such patterns past 200 KB of text.
constexpr size_t kJitStackMin = 32 * 1024;
constexpr size_t kJitStackMax = 4 * 1024 * 1024;
constexpr size_t kMaxPatternBytes = 4096;
// Bounds the recursion of both compile and validate (they only descend along the schema), so
// a hostile schema cannot exhaust the stack.
constexpr int kMaxSchemaDepth = 32;
constexpr size_t kExcerptBytes = 48;
constexpr size_t kChoicesExcerptBytes = 200;

constexpr const char* kKnownKeywords =
    "type, required, pattern, min_length, max_length, min, max, choices, items, properties, "
    "description, title, default, example";

enum class Kind : uint8_t { kAny, kString, kNumber, kInteger, kBoolean, kArray, kObject };

struct CodeFree {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};

struct Pattern {
  std::unique_ptr<pcre2_code, CodeFree> code;
  std::string source;
};

struct Field;

struct Node {
  Kind kind = Kind::kAny;
  bool required = false;
  std::optional<uint64_t> min_length;
  std::optional<uint64_t> max_length;
  // long double holds every int64, uint64 and double exactly on x86-64 and aarch64, so bounds
  // compare exactly whatever mix of integer and float the schema and value use.
  std::optional<long double> min;
  std::optional<long double> max;
  Json min_json;  ///< the bounds as written, for messages
  Json max_json;
  std::unique_ptr<Pattern> pattern;
  std::optional<Json> choices;  ///< a non-empty array
  std::unique_ptr<Node> items;
  std::vector<Field> properties;
};

struct Field {
  std::string name;
  std::string label;  ///< ".ip" or "[\"a.b\"]", built at compile time so paths cost a concat
  Node node;
};

}  // namespace

struct TemplateSchema::Impl {
  std::vector<Field> fields;
};

namespace {

// ---------------------------------------------------------------- shared helpers

const char* kindName(Kind kind) {
  switch (kind) {
    case Kind::kAny: return "any";
    case Kind::kString: return "string";
    case Kind::kNumber: return "number";
    case Kind::kInteger: return "integer";
    case Kind::kBoolean: return "boolean";
    case Kind::kArray: return "array";
    case Kind::kObject: return "object";
  }
  return "any";
}

bool isIntegral(const Json& value) {
  if (value.is_number_integer()) return true;  // signed and unsigned
  if (!value.is_number_float()) return false;
  double d = *value.get_ptr<const Json::number_float_t*>();
  return std::isfinite(d) && std::trunc(d) == d;
}

bool matchesKind(Kind kind, const Json& value) {
  switch (kind) {
    case Kind::kAny: return true;
    case Kind::kString: return value.is_string();
    case Kind::kNumber: return value.is_number();  // nlohmann never counts booleans as numbers
    case Kind::kInteger: return isIntegral(value);
    case Kind::kBoolean: return value.is_boolean();
    case Kind::kArray: return value.is_array();
    case Kind::kObject: return value.is_object();
  }
  return false;
}

long double toLongDouble(const Json& number) {
  switch (number.type()) {
    case Json::value_t::number_integer:
      return static_cast<long double>(*number.get_ptr<const Json::number_integer_t*>());
    case Json::value_t::number_unsigned:
      return static_cast<long double>(*number.get_ptr<const Json::number_unsigned_t*>());
    case Json::value_t::number_float:
      return static_cast<long double>(*number.get_ptr<const Json::number_float_t*>());
    default: return 0;
  }
}

// JSON equality: 1 == 1.0 and objects compare regardless of key order. ordered_json's own
// operator== compares objects in insertion order, which would make choices order-sensitive.
bool jsonEqual(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) return toLongDouble(a) == toLongDouble(b);
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end() || !jsonEqual(it.value(), *other)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!jsonEqual(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b;
}

/// Where to cut `text` to at most `limit` bytes without splitting a UTF-8 sequence.
size_t cutPoint(std::string_view text, size_t limit) {
  if (text.size() <= limit) return text.size();
  size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return cut;
}

std::string truncated(std::string text, size_t limit) {
  if (text.size() <= limit) return text;
  text.resize(cutPoint(text, limit));
  return text + "...";
}

/// A string as a JSON literal, cut before dumping so a megabyte-sized value costs no more
/// than a short one.
std::string quotedExcerpt(std::string_view text) {
  size_t cut = cutPoint(text, kExcerptBytes);
  return dumpJson(Json(std::string(text.substr(0, cut)))) + (cut < text.size() ? "..." : "");
}

/// A short rendering of a value for messages; containers are summarised, never dumped whole.
std::string excerpt(const Json& value) {
  if (value.is_array()) return "array of " + std::to_string(value.size()) + " items";
  if (value.is_object()) return "object with " + std::to_string(value.size()) + " fields";
  if (const auto* text = value.get_ptr<const std::string*>()) return quotedExcerpt(*text);
  return truncated(dumpJson(value), kExcerptBytes);
}

std::string typeOf(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "boolean " + excerpt(value);
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "integer " + excerpt(value);
    case Json::value_t::number_float: return "number " + excerpt(value);
    case Json::value_t::string: return "string " + excerpt(value);
    default: return excerpt(value);
  }
}

bool isIdentifier(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && ((c >= '0' && c <= '9') || c == '-'));
    if (!ok) return false;
  }
  return true;
}

/// ".name" for ordinary names; ["a.b"] when a dot form would be ambiguous.
std::string labelFor(const std::string& name) {
  if (isIdentifier(name)) return "." + name;
  return "[" + dumpJson(Json(name)) + "]";
}

size_t codePoints(const std::string& text) {
  size_t count = 0;
  for (char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

// ---------------------------------------------------------------- regex matching

enum class Match { kYes, kNo, kTooCostly, kBadUtf8, kFailed };

// pcre2_match needs scratch memory; one set per thread keeps validate() allocation-free and
// lets concurrent requests share a compiled schema.
class MatchScratch {
 public:
  MatchScratch() {
    data_ = pcre2_match_data_create(1, nullptr);
    context_ = pcre2_match_context_create(nullptr);
    if (context_ != nullptr) {
      pcre2_set_match_limit(context_, kMatchLimit);
      pcre2_set_heap_limit(context_, kHeapLimitKiB);
      jit_stack_ = pcre2_jit_stack_create(kJitStackMin, kJitStackMax, nullptr);
      // Without a JIT (or without memory for its stack) the 32 KiB default stack still works.
      if (jit_stack_ != nullptr) pcre2_jit_stack_assign(context_, nullptr, jit_stack_);
    }
  }
  ~MatchScratch() {
    pcre2_jit_stack_free(jit_stack_);
    pcre2_match_context_free(context_);
    pcre2_match_data_free(data_);
  }
  MatchScratch(const MatchScratch&) = delete;
  MatchScratch& operator=(const MatchScratch&) = delete;

  Match search(const pcre2_code* code, const std::string& subject, int* rc_out) {
    // No context means no limits; refusing is safer than matching unbounded.
    if (data_ == nullptr || context_ == nullptr) {
      *rc_out = PCRE2_ERROR_NOMEMORY;
      return Match::kFailed;
    }
    int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0, 0,
                         data_, context_);
    *rc_out = rc;
    if (rc >= 0) return Match::kYes;
    if (rc == PCRE2_ERROR_NOMATCH) return Match::kNo;
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
        rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT ||
        rc == PCRE2_ERROR_NOMEMORY) {
      return Match::kTooCostly;
    }
    if (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21) return Match::kBadUtf8;
    return Match::kFailed;
  }

 private:
  pcre2_match_data* data_ = nullptr;
  pcre2_match_context* context_ = nullptr;
  pcre2_jit_stack* jit_stack_ = nullptr;
};

Match search(const Pattern& pattern, const std::string& subject, int* rc) {
  thread_local MatchScratch scratch;
  return scratch.search(pattern.code.get(), subject, rc);
}

std::string pcreMessage(int code) {
  std::array<PCRE2_UCHAR, 256> buffer{};
  int n = pcre2_get_error_message(code, buffer.data(), buffer.size());
  if (n < 0) return "PCRE2 error " + std::to_string(code);
  return std::string(reinterpret_cast<const char*>(buffer.data()), static_cast<size_t>(n));
}

// ---------------------------------------------------------------- compile

Error compileError(const std::string& path, const std::string& message) {
  return makeError(ErrorCode::kInvalidArgument, path + ": " + message);
}

Result<Kind> parseKind(const Json& value, const std::string& path) {
  static constexpr std::array<Kind, 7> kKinds = {Kind::kAny,     Kind::kString, Kind::kNumber,
                                                 Kind::kInteger, Kind::kBoolean, Kind::kArray,
                                                 Kind::kObject};
  if (value.is_string()) {
    const std::string& text = *value.get_ptr<const std::string*>();
    for (Kind kind : kKinds) {
      if (text == kindName(kind)) return kind;
    }
  }
  return compileError(path, excerpt(value) +
                                " is not a type; use one of string, number, integer, boolean, "
                                "array, object, any");
}

Result<uint64_t> parseCount(const Json& value, const std::string& path) {
  if (isIntegral(value) && toLongDouble(value) >= 0 && toLongDouble(value) < 1.8e19L)
    return static_cast<uint64_t>(toLongDouble(value));
  return compileError(path, excerpt(value) + " is not a non-negative integer");
}

Result<long double> parseBound(const Json& value, const std::string& path) {
  if (value.is_number() && std::isfinite(toLongDouble(value))) return toLongDouble(value);
  return compileError(path, excerpt(value) + " is not a number");
}

Result<std::unique_ptr<Pattern>> compilePattern(const Json& value, const std::string& path) {
  if (!value.is_string()) return compileError(path, excerpt(value) + " is not a string");
  const std::string& source = *value.get_ptr<const std::string*>();
  if (source.size() > kMaxPatternBytes)
    return compileError(path, "longer than " + std::to_string(kMaxPatternBytes) + " bytes");
  int error_code = 0;
  PCRE2_SIZE offset = 0;
  // UTF: `.` and lengths work on code points. No UCP: \d stays [0-9], as an IP check expects.
  // DOLLAR_ENDONLY: "1.2.3.4\n" must not pass ^...$ (JSON Schema semantics, unlike Python).
  // NEVER_BACKSLASH_C: \C could split a UTF-8 sequence.
  uint32_t options = PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(source.data()), source.size(),
                                   options, &error_code, &offset, nullptr);
  if (code == nullptr)
    return compileError(path, pcreMessage(error_code) + " at offset " + std::to_string(offset));
  auto pattern = std::make_unique<Pattern>();
  pattern->code.reset(code);
  pattern->source = source;
  // A failed JIT compile (no JIT support, W^X policy) falls back to the interpreter.
  (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  return pattern;
}

Status compileNode(const Json& desc, Node& node, const std::string& path, bool is_field,
                   int depth);

Status compileProperties(const Json& value, Node& node, const std::string& path, int depth) {
  if (!value.is_object())
    return compileError(path, "must be an object of field descriptors, got " + excerpt(value));
  node.properties.reserve(value.size());
  for (auto it = value.begin(); it != value.end(); ++it) {
    Field& field = node.properties.emplace_back();
    field.name = it.key();
    field.label = labelFor(field.name);
    EXA_TRY(compileNode(it.value(), field.node, path + field.label, true, depth + 1));
  }
  return {};
}

Status compileChoices(const Json& value, Node& node, const std::string& path) {
  if (!value.is_array() || value.empty())
    return compileError(path, "must be a non-empty array of allowed values");
  for (size_t i = 0; i < value.size(); ++i) {
    if (!matchesKind(node.kind, value[i]))
      return compileError(path + "[" + std::to_string(i) + "]",
                          excerpt(value[i]) + " is not of type " + kindName(node.kind));
  }
  node.choices = value;
  return {};
}

/// `required` on an object descriptor: JSON-Schema-style names of mandatory properties.
Status applyRequiredList(const Json& names, Node& node, const std::string& path) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (!names[i].is_string())
      return compileError(path + "[" + std::to_string(i) + "]", "must be a property name");
    const std::string& name = *names[i].get_ptr<const std::string*>();
    bool found = false;
    for (Field& field : node.properties) {
      if (field.name == name) field.node.required = found = true;
    }
    if (!found) {
      Field& field = node.properties.emplace_back();
      field.name = name;
      field.label = labelFor(name);
      field.node.required = true;
    }
  }
  return {};
}

Status checkApplies(Kind kind, std::initializer_list<Kind> targets, const std::string& keyword,
                    const std::string& path) {
  if (kind == Kind::kAny) return {};
  for (Kind target : targets) {
    if (kind == target) return {};
  }
  return compileError(path, keyword + " does not apply to type " + kindName(kind));
}

Status compileNode(const Json& desc, Node& node, const std::string& path, bool is_field,
                   int depth) {
  if (depth > kMaxSchemaDepth)
    return compileError(path, "nested deeper than " + std::to_string(kMaxSchemaDepth) + " levels");
  if (!desc.is_object())
    return compileError(path, "descriptor must be an object such as {\"type\": \"string\"}, got " +
                                  excerpt(desc));
  if (auto type = desc.find("type"); type != desc.end()) {
    EXA_ASSIGN_OR_RETURN(node.kind, parseKind(*type, path + ".type"));
  }
  const Json* required_list = nullptr;
  for (auto it = desc.begin(); it != desc.end(); ++it) {
    const std::string& key = it.key();
    const Json& value = it.value();
    const std::string at = path + labelFor(key);
    if (key == "type" || key == "description" || key == "title" || key == "default" ||
        key == "example") {
      continue;
    } else if (key == "required") {
      if (value.is_array()) {
        EXA_TRY(checkApplies(node.kind, {Kind::kObject}, "a required list", at));
        required_list = &value;
      } else if (!value.is_boolean()) {
        return compileError(at, "must be true or false (or a list of property names)");
      } else if (*value.get_ptr<const bool*>() && !is_field) {
        return compileError(at, "array items cannot be missing; required applies to fields");
      } else {
        node.required = *value.get_ptr<const bool*>();
      }
    } else if (key == "pattern") {
      EXA_TRY(checkApplies(node.kind, {Kind::kString}, key, at));
      EXA_ASSIGN_OR_RETURN(node.pattern, compilePattern(value, at));
    } else if (key == "min_length" || key == "max_length") {
      EXA_TRY(checkApplies(node.kind, {Kind::kString, Kind::kArray}, key, at));
      EXA_ASSIGN_OR_RETURN(uint64_t count, parseCount(value, at));
      (key == "min_length" ? node.min_length : node.max_length) = count;
    } else if (key == "min" || key == "max") {
      EXA_TRY(checkApplies(node.kind, {Kind::kNumber, Kind::kInteger}, key, at));
      EXA_ASSIGN_OR_RETURN(long double bound, parseBound(value, at));
      (key == "min" ? node.min : node.max) = bound;
      (key == "min" ? node.min_json : node.max_json) = value;
    } else if (key == "choices") {
      EXA_TRY(compileChoices(value, node, at));
    } else if (key == "items") {
      EXA_TRY(checkApplies(node.kind, {Kind::kArray}, key, at));
      node.items = std::make_unique<Node>();
      EXA_TRY(compileNode(value, *node.items, at, false, depth + 1));
    } else if (key == "properties") {
      EXA_TRY(checkApplies(node.kind, {Kind::kObject}, key, at));
      EXA_TRY(compileProperties(value, node, at, depth));
    } else {
      return compileError(at, "unknown keyword; known: " + std::string(kKnownKeywords));
    }
  }
  if (node.min_length && node.max_length && *node.min_length > *node.max_length)
    return compileError(path, "min_length is greater than max_length: no value could pass");
  if (node.min && node.max && *node.min > *node.max)
    return compileError(path, "min is greater than max: no value could pass");
  // After the loop: "required" may precede "properties" in the descriptor.
  if (required_list != nullptr) {
    EXA_TRY(applyRequiredList(*required_list, node, path + ".required"));
  }
  return {};
}

// ---------------------------------------------------------------- validate

/// Walks a value along the compiled schema. The path is a stack of pointers to precompiled
/// labels and array indexes; it becomes a string only when a violation is reported.
class Walker {
 public:
  Walker(std::string_view root, std::vector<TemplateViolation>& out) : root_(root), out_(out) {}

  void checkFields(const std::vector<Field>& fields, const Json& object) {
    for (const Field& field : fields) {
      if (full()) return;
      auto found = object.find(field.name);
      push(&field.label, 0);
      if (found == object.end()) {
        if (field.node.required) report("required", "is required but missing");
      } else {
        check(field.node, *found);
      }
      pop();
    }
  }

  void check(const Node& node, const Json& value) {
    if (!matchesKind(node.kind, value)) {
      report("type", std::string("expected ") + kindName(node.kind) + ", got " + typeOf(value));
      return;
    }
    if (node.choices && !inChoices(*node.choices, value)) {
      report("choices", excerpt(value) + " is not one of " +
                            truncated(dumpJson(*node.choices), kChoicesExcerptBytes));
    }
    switch (value.type()) {
      case Json::value_t::string: checkString(node, *value.get_ptr<const std::string*>()); break;
      case Json::value_t::number_integer:
      case Json::value_t::number_unsigned:
      case Json::value_t::number_float: checkNumber(node, value); break;
      case Json::value_t::array: checkArray(node, value); break;
      case Json::value_t::object: checkFields(node.properties, value); break;
      default: break;
    }
  }

  void report(const char* rule, std::string message) {
    if (full()) return;
    out_.push_back(TemplateViolation{path(), rule, std::move(message)});
  }

 private:
  struct Segment {
    const std::string* label;  ///< null for an array index
    size_t index;
  };

  bool full() const { return out_.size() >= kMaxTemplateViolations; }
  void push(const std::string* label, size_t index) { path_[depth_++] = Segment{label, index}; }
  void pop() { --depth_; }

  std::string path() const {
    std::string text(root_);
    for (size_t i = 0; i < depth_; ++i) {
      if (path_[i].label == nullptr) {
        text += "[" + std::to_string(path_[i].index) + "]";
      } else {
        // With no root, "ip" reads better than ".ip".
        bool bare = text.empty() && (*path_[i].label)[0] == '.';
        text.append(*path_[i].label, bare ? 1 : 0);
      }
    }
    return text;
  }

  static bool inChoices(const Json& choices, const Json& value) {
    for (const Json& choice : choices) {
      if (jsonEqual(choice, value)) return true;
    }
    return false;
  }

  void checkLengths(const Node& node, size_t length, const char* unit) {
    if (node.max_length && length > *node.max_length) {
      report("max_length", "has " + std::to_string(length) + " " + unit + ", more than " +
                               "max_length " + std::to_string(*node.max_length));
    }
    if (node.min_length && length < *node.min_length) {
      report("min_length", "has " + std::to_string(length) + " " + unit + ", fewer than " +
                               "min_length " + std::to_string(*node.min_length));
    }
  }

  void checkString(const Node& node, const std::string& text) {
    if (node.min_length || node.max_length) checkLengths(node, codePoints(text), "characters");
    if (node.pattern == nullptr) return;
    int rc = 0;
    switch (search(*node.pattern, text, &rc)) {
      case Match::kYes: break;
      case Match::kNo:
        report("pattern", quotedExcerpt(text) + " does not match " + node.pattern->source);
        break;
      case Match::kTooCostly:
        report("pattern", "matching " + node.pattern->source + " exceeded the regex budget " +
                              "(backtracking steps or stack); simplify the pattern (nested " +
                              "quantifiers?) or shorten the value");
        break;
      case Match::kBadUtf8: report("pattern", "is not valid UTF-8: " + pcreMessage(rc)); break;
      case Match::kFailed: report("pattern", "could not be matched: " + pcreMessage(rc)); break;
    }
  }

  void checkNumber(const Node& node, const Json& value) {
    if (!node.min && !node.max) return;
    long double number = toLongDouble(value);
    if (std::isnan(number)) {
      report("type", "is not a finite number");
    } else if (node.min && number < *node.min) {
      report("min", excerpt(value) + " is less than min " + dumpJson(node.min_json));
    } else if (node.max && number > *node.max) {
      report("max", excerpt(value) + " is greater than max " + dumpJson(node.max_json));
    }
  }

  void checkArray(const Node& node, const Json& value) {
    if (node.min_length || node.max_length) checkLengths(node, value.size(), "items");
    if (node.items == nullptr) return;
    for (size_t i = 0; i < value.size() && !full(); ++i) {
      push(nullptr, i);
      check(*node.items, value[i]);
      pop();
    }
  }

  std::string_view root_;
  std::vector<TemplateViolation>& out_;
  // One segment per field and per array level; compile depth bounds how many there can be.
  std::array<Segment, 2 * kMaxSchemaDepth + 4> path_;  // only [0, depth_) is ever read
  size_t depth_ = 0;
};

}  // namespace

Result<TemplateSchema> TemplateSchema::compile(const Json& schema, std::string_view name) {
  const std::string root(name);
  if (schema.is_null()) return TemplateSchema();
  if (!schema.is_object())
    return compileError(root, "schema must be an object of field descriptors, got " +
                                  excerpt(schema));
  auto impl = std::make_shared<Impl>();
  impl->fields.reserve(schema.size());
  for (auto it = schema.begin(); it != schema.end(); ++it) {
    Field& field = impl->fields.emplace_back();
    field.name = it.key();
    field.label = labelFor(field.name);
    EXA_TRY(compileNode(it.value(), field.node, root + field.label, true, 1));
  }
  return TemplateSchema(std::move(impl));
}

std::vector<TemplateViolation> TemplateSchema::validate(const Json& value,
                                                        std::string_view root) const {
  std::vector<TemplateViolation> violations;
  Walker walker(root, violations);
  if (!value.is_object()) {
    walker.report("type", "expected object, got " + typeOf(value));
    return violations;
  }
  if (impl_ != nullptr) walker.checkFields(impl_->fields, value);
  return violations;
}

bool TemplateSchema::empty() const { return impl_ == nullptr || impl_->fields.empty(); }

std::string describe(const std::vector<TemplateViolation>& violations) {
  std::string text;
  for (const TemplateViolation& violation : violations) {
    if (!text.empty()) text += '\n';
    text += violation.path + ": " + violation.message + " (" + violation.rule + ")";
  }
  return text;
}

}  // namespace exa::policies
