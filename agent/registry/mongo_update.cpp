// applyUpdate: MongoDB replacement and operator updates on a copy of a stored record; the
// registry's PUT routes call it and then re-validate and re-key the result.
#include "agent/registry/mongo_update.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>

#include "agent/registry/bson_order.h"
#include "agent/registry/mongo_filter.h"

namespace exa::agent {
namespace {

using Parts = std::vector<std::string>;

// {$set: {"a.100000000": 1}} must not allocate gigabytes of nulls; MongoDB caps this too.
constexpr size_t kMaxArrayPadding = 10'000;

Error invalid(std::string message) {
  return makeError(ErrorCode::kInvalidArgument, std::move(message));
}

/// Where an error happened: "$inc metrics.orders".
struct Target {
  const std::string& op;
  const std::string& path;
  std::string describe() const { return op + " " + path; }
};

Result<Parts> splitUpdatePath(const Target& at) {
  Parts parts;
  size_t start = 0;
  while (true) {
    size_t dot = at.path.find('.', start);
    std::string part = at.path.substr(start, dot == std::string::npos ? dot : dot - start);
    if (part.empty()) return invalid(at.describe() + ": empty field name in path");
    // The positional forms need the query that selected the record; our routes update by id.
    if (part == "$" || part.starts_with("$["))
      return invalid(at.describe() + ": positional operators are not supported");
    parts.push_back(std::move(part));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

bool arrayIndex(const std::string& part, size_t& index) {
  if (part.empty() || part.size() > 9) return false;
  if (!std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  index = std::stoul(part);
  return true;
}

std::string shortDump(const Json& value) {
  std::string text = dumpJson(value);
  return text.size() > 80 ? text.substr(0, 77) + "..." : text;
}

Error cannotCreate(const Target& at, const Parts& parts, size_t i, const Json& container) {
  std::string holder = i == 0 ? "the document" : "element {" + parts[i - 1] + ": " +
                                                     shortDump(container) + "}";
  return invalid(at.describe() + ": cannot create field '" + parts[i] + "' in " + holder);
}

Status padArray(Json& array, size_t index, const Target& at) {
  if (index >= array.size() + kMaxArrayPadding)
    return invalid(at.describe() + ": array index " + std::to_string(index) + " is too far " +
                   "past the end (" + std::to_string(array.size()) + " elements)");
  while (array.size() <= index) array.push_back(nullptr);
  return {};
}

/// The slot parts[i] names inside `container`. With `create`, a missing field becomes an empty
/// object (MongoDB creates objects even for numeric names) and a short array is padded;
/// without, anything missing is nullptr.
Result<Json*> childSlot(Json& container, const Parts& parts, size_t i, bool create,
                        const Target& at) {
  const std::string& part = parts[i];
  if (container.is_object()) {
    auto it = container.find(part);
    if (it != container.end()) return &*it;
    if (!create) return static_cast<Json*>(nullptr);
    return &(container[part] = Json::object());  // appended: existing keys keep their order
  }
  size_t index = 0;
  if (container.is_array() && arrayIndex(part, index)) {
    if (index < container.size()) return &container[index];
    if (!create) return static_cast<Json*>(nullptr);
    EXA_TRY(padArray(container, index, at));
    container[index] = Json::object();
    return &container[index];
  }
  if (!create) return static_cast<Json*>(nullptr);
  return cannotCreate(at, parts, i, container);
}

/// The object or array that holds the last part, or nullptr when absent and not `create`.
Result<Json*> parentSlot(Json& doc, const Parts& parts, bool create, const Target& at) {
  Json* current = &doc;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    EXA_ASSIGN_OR_RETURN(current, childSlot(*current, parts, i, create, at));
    if (!current) return current;
  }
  size_t index = 0;
  if (current->is_object() || (current->is_array() && arrayIndex(parts.back(), index)))
    return current;
  if (!create) return static_cast<Json*>(nullptr);
  return cannotCreate(at, parts, parts.size() - 1, *current);
}

/// The existing value at the path, or nullptr.
Result<Json*> findSlot(Json& doc, const Parts& parts, const Target& at) {
  EXA_ASSIGN_OR_RETURN(Json* parent, parentSlot(doc, parts, false, at));
  if (!parent) return parent;
  return childSlot(*parent, parts, parts.size() - 1, false, at);
}

/// The slot at the path, created (as null) if missing.
Result<Json*> makeSlot(Json& doc, const Parts& parts, const Target& at) {
  EXA_ASSIGN_OR_RETURN(Json* parent, parentSlot(doc, parts, true, at));
  if (parent->is_object()) {
    auto it = parent->find(parts.back());
    if (it != parent->end()) return &*it;
    return &((*parent)[parts.back()] = nullptr);
  }
  size_t index = 0;
  arrayIndex(parts.back(), index);  // parentSlot checked it
  if (index >= parent->size()) EXA_TRY(padArray(*parent, index, at));
  return &(*parent)[index];
}

// ---- Operators ------------------------------------------------------------------------------

Status applySet(Json& doc, const Parts& parts, const Json& value, const Target& at) {
  EXA_ASSIGN_OR_RETURN(Json* slot, makeSlot(doc, parts, at));
  *slot = value;
  return {};
}

Status applyUnset(Json& doc, const Parts& parts, const Target& at) {
  EXA_ASSIGN_OR_RETURN(Json* parent, parentSlot(doc, parts, false, at));
  if (!parent) return {};
  if (parent->is_object()) {
    parent->erase(parts.back());
    return {};
  }
  // Removing from an array would shift the other elements; MongoDB leaves a null.
  size_t index = 0;
  if (arrayIndex(parts.back(), index) && index < parent->size()) (*parent)[index] = nullptr;
  return {};
}

Status applyInc(Json& doc, const Parts& parts, const Json& amount, const Target& at) {
  if (!amount.is_number())
    return invalid(at.describe() + ": cannot increment by non-numeric " + shortDump(amount));
  EXA_ASSIGN_OR_RETURN(Json* slot, findSlot(doc, parts, at));
  if (!slot) {
    EXA_ASSIGN_OR_RETURN(slot, makeSlot(doc, parts, at));
    *slot = amount;
    return {};
  }
  if (!slot->is_number())
    return invalid(at.describe() + ": cannot increment a " + std::string(slot->type_name()) +
                   " value");
  if (slot->is_number_integer() && amount.is_number_integer()) {
    Int128 sum = exactInteger(*slot) + exactInteger(amount);
    if (sum < std::numeric_limits<int64_t>::min() || sum > std::numeric_limits<uint64_t>::max())
      return invalid(at.describe() + ": integer overflow");
    // Non-negative integers are unsigned, as nlohmann parses them.
    *slot = sum >= 0 ? Json(static_cast<uint64_t>(sum)) : Json(static_cast<int64_t>(sum));
  } else {
    *slot = slot->get<double>() + amount.get<double>();
  }
  return {};
}

Result<int64_t> integerArgument(const Json& value, const std::string& what) {
  if (value.is_number_integer()) {
    Int128 v = exactInteger(value);
    if (v <= std::numeric_limits<int64_t>::max()) return static_cast<int64_t>(v);
  }
  if (value.is_number_float()) {
    double d = value.get<double>();
    if (d == static_cast<double>(static_cast<int64_t>(d))) return static_cast<int64_t>(d);
  }
  return invalid(what + " needs an integer, got " + shortDump(value));
}

/// The array at the path, created empty if missing; an error for any other type.
Result<Json*> arraySlot(Json& doc, const Parts& parts, const Target& at) {
  EXA_ASSIGN_OR_RETURN(Json* existing, findSlot(doc, parts, at));
  if (existing && !existing->is_array())
    return invalid(at.describe() + ": the field must be an array but is a " +
                   std::string(existing->type_name()));
  if (existing) return existing;
  EXA_ASSIGN_OR_RETURN(Json* slot, makeSlot(doc, parts, at));
  *slot = Json::array();
  return slot;
}

Status applyPush(Json& doc, const Parts& parts, const Json& arg, const Target& at) {
  Json values = Json::array({arg});
  std::optional<int64_t> position;
  std::optional<int64_t> slice;
  if (arg.is_object() && arg.contains("$each")) {
    for (auto it = arg.begin(); it != arg.end(); ++it) {
      const std::string clause = at.describe() + " " + it.key();
      if (it.key() == "$each") {
        if (!it->is_array()) return invalid(clause + ": needs an array");
        values = *it;
      } else if (it.key() == "$position") {
        EXA_ASSIGN_OR_RETURN(position, integerArgument(*it, clause));
      } else if (it.key() == "$slice") {
        EXA_ASSIGN_OR_RETURN(slice, integerArgument(*it, clause));
      } else {
        return invalid(clause + ": unsupported $push modifier (use $each, $position, $slice)");
      }
    }
  }
  EXA_ASSIGN_OR_RETURN(Json* array, arraySlot(doc, parts, at));
  auto size = static_cast<int64_t>(array->size());
  int64_t insert_at = size;
  if (position) insert_at = *position >= 0 ? std::min(*position, size)
                                           : std::max<int64_t>(0, size + *position);
  array->insert(array->begin() + insert_at, values.begin(), values.end());
  if (slice) {
    auto n = static_cast<int64_t>(array->size());
    int64_t keep = std::min<int64_t>(n, *slice >= 0 ? *slice : -*slice);
    if (*slice >= 0) array->erase(array->begin() + keep, array->end());
    else array->erase(array->begin(), array->begin() + (n - keep));
  }
  return {};
}

Status applyAddToSet(Json& doc, const Parts& parts, const Json& arg, const Target& at) {
  Json values = Json::array({arg});
  if (arg.is_object() && arg.contains("$each")) {
    if (arg.size() != 1) return invalid(at.describe() + ": only $each may modify $addToSet");
    if (!arg["$each"].is_array()) return invalid(at.describe() + " $each: needs an array");
    values = arg["$each"];
  }
  EXA_ASSIGN_OR_RETURN(Json* array, arraySlot(doc, parts, at));
  for (const Json& value : values) {
    // BSON equality: 1 and 1.0 are the same member; the $each list is deduplicated too.
    bool present = std::any_of(array->begin(), array->end(),
                               [&](const Json& member) { return bsonEqual(member, value); });
    if (!present) array->push_back(value);
  }
  return {};
}

Status applyPull(Json& doc, const Parts& parts, const Json& condition, const Target& at) {
  EXA_ASSIGN_OR_RETURN(Json* existing, findSlot(doc, parts, at));
  if (!existing) return {};
  if (!existing->is_array())
    return invalid(at.describe() + ": cannot pull from a " + std::string(existing->type_name()));
  // Each element is tested as {key: [element]} against {key: {$elemMatch: condition}}: that is
  // MongoDB's $pull — operators test the element itself (no array expansion), a plain document
  // is a sub-filter over document elements, anything else is BSON equality.
  std::string key = parts.back().starts_with('$') ? "value" : parts.back();
  Json wrapped = condition.is_object() ? condition : Json{{"$eq", condition}};
  auto filter = MongoFilter::compile(Json{{key, {{"$elemMatch", wrapped}}}});
  if (!filter) return invalid(at.describe() + ": " + filter.error().message);
  Json kept = Json::array();
  for (Json& element : *existing) {
    Json probe = Json::object();
    probe[key] = Json::array({element});
    EXA_ASSIGN_OR_RETURN(bool matched, filter->matches(probe));
    if (!matched) kept.push_back(std::move(element));
  }
  *existing = std::move(kept);
  return {};
}

Status applyOperator(Json& doc, const std::string& op, const Parts& parts, const Json& arg,
                     const Target& at) {
  if (op == "$set") return applySet(doc, parts, arg, at);
  if (op == "$unset") return applyUnset(doc, parts, at);
  if (op == "$inc") return applyInc(doc, parts, arg, at);
  if (op == "$push") return applyPush(doc, parts, arg, at);
  if (op == "$addToSet") return applyAddToSet(doc, parts, arg, at);
  return applyPull(doc, parts, arg, at);
}

bool isSupported(const std::string& op) {
  return op == "$set" || op == "$unset" || op == "$inc" || op == "$push" || op == "$pull" ||
         op == "$addToSet";
}

bool isPrefix(const Parts& shorter, const Parts& longer) {
  return shorter.size() <= longer.size() &&
         std::equal(shorter.begin(), shorter.end(), longer.begin());
}

struct Step {
  const std::string* op;
  const std::string* path;
  const Json* arg;
  Parts parts;
};

/// Checks the whole update before touching the document.
Result<std::vector<Step>> planOperators(const Json& update) {
  std::vector<Step> steps;
  for (auto it = update.begin(); it != update.end(); ++it) {
    const std::string& op = it.key();
    if (!op.starts_with('$'))
      return invalid("update mixes operators (" + update.begin().key() + ") and plain fields (" +
                     op + ")");
    if (!isSupported(op))
      return invalid("unknown update operator " + op +
                     " (supported: $set $unset $inc $push $pull $addToSet)");
    if (!it->is_object()) return invalid(op + ": needs a document of paths, got " +
                                          shortDump(*it));
    for (auto field = it->begin(); field != it->end(); ++field) {
      Target at{op, field.key()};
      EXA_ASSIGN_OR_RETURN(Parts parts, splitUpdatePath(at));
      for (const Step& other : steps) {
        if (isPrefix(other.parts, parts) || isPrefix(parts, other.parts))
          return invalid(at.describe() + ": conflicts with " + *other.op + " " + *other.path +
                         " in the same update");
      }
      steps.push_back(Step{&op, &field.key(), &field.value(), std::move(parts)});
    }
  }
  return steps;
}

}  // namespace

Result<Json> applyUpdate(const Json& doc, const Json& update) {
  if (!update.is_object()) return invalid("update must be a JSON object");
  if (update.empty())
    return invalid("empty update: send a replacement document or update operators");
  try {
    bool has_operator = false;
    for (auto it = update.begin(); it != update.end(); ++it)
      has_operator = has_operator || it.key().starts_with('$');
    if (!has_operator) return Json(update);  // a replacement
    EXA_ASSIGN_OR_RETURN(auto steps, planOperators(update));
    Json result = doc;
    for (const Step& step : steps) {
      EXA_TRY(applyOperator(result, *step.op, step.parts, *step.arg,
                            Target{*step.op, *step.path}));
    }
    return result;
  } catch (const std::exception& e) {
    // Only allocation failure can get here: every nlohmann call is on a checked type.
    return makeError(ErrorCode::kInternal, std::string("applying update: ") + e.what());
  }
}

std::vector<std::string> touchedTopLevelFields(const Json& update) {
  std::vector<std::string> fields;
  if (!update.is_object()) return fields;
  auto add = [&](const std::string& path) {
    std::string top = path.substr(0, path.find('.'));
    if (std::find(fields.begin(), fields.end(), top) == fields.end()) fields.push_back(top);
  };
  for (auto it = update.begin(); it != update.end(); ++it) {
    if (!it.key().starts_with('$')) {
      add(it.key());
    } else if (it->is_object()) {
      for (auto field = it->begin(); field != it->end(); ++field) add(field.key());
    }
  }
  return fields;
}

}  // namespace exa::agent
