// MongoFilter: compiles a MongoDB filter document into a tree of path expressions and runs it
// against JSON records, following the server's matcher (src/mongo/db/matcher/path.cpp) for
// how dotted paths walk through arrays. Values compare in BSON order (bson_order.h) and $regex
// runs on PCRE2 (mongo_regex.h).
#include "agent/registry/mongo_filter.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/registry/bson_order.h"
#include "agent/registry/mongo_regex.h"

namespace exa::agent {
namespace detail {

/// The first error met while matching (a regex over its limits); the tree keeps evaluating
/// but the answer is discarded.
struct EvalState {
  std::optional<Error> error;
};

class FilterExpr {
 public:
  virtual ~FilterExpr() = default;
  /// `root` is the record, or for an $elemMatch on values the array element itself.
  virtual bool eval(const Json& root, EvalState& state) const = 0;
};

}  // namespace detail

namespace {

using detail::EvalState;
using detail::FilterExpr;
using ExprPtr = std::unique_ptr<const FilterExpr>;

// MongoDB refuses filters nested deeper than this; it also bounds our compile recursion.
constexpr int kMaxFilterDepth = 100;

Error invalid(std::string message) {
  return makeError(ErrorCode::kInvalidArgument, std::move(message));
}

// ---- Predicates on one value ---------------------------------------------------------------

class ValuePred {
 public:
  virtual ~ValuePred() = default;
  /// `value` is nullptr where the path is missing.
  virtual bool test(const Json* value, EvalState& state) const = 0;
  /// $size and $elemMatch look at a leaf array as a whole, never at its elements one by one.
  virtual bool wholeArrays() const { return false; }
};
using PredPtr = std::unique_ptr<const ValuePred>;

class EqPred final : public ValuePred {
 public:
  explicit EqPred(Json rhs) : rhs_(std::move(rhs)) {}
  bool test(const Json* value, EvalState&) const override {
    // {a: null} also matches a missing a.
    return value ? compareBson(*value, rhs_) == 0 : rhs_.is_null();
  }

 private:
  Json rhs_;
};

enum class CmpOp { kLt, kLte, kGt, kGte };

class CmpPred final : public ValuePred {
 public:
  CmpPred(CmpOp op, Json rhs) : op_(op), rhs_(std::move(rhs)) {}
  bool test(const Json* value, EvalState&) const override {
    bool inclusive = op_ == CmpOp::kLte || op_ == CmpOp::kGte;
    if (!value) return inclusive && rhs_.is_null();
    // Type bracketing: {$gt: 5} never matches a string, {$gte: "1.0"} never a number.
    if (bsonTypeRank(*value) != bsonTypeRank(rhs_)) return false;
    // NaN equals NaN but is neither less nor greater than any number.
    if (isBsonNaN(*value) || isBsonNaN(rhs_))
      return inclusive && isBsonNaN(*value) && isBsonNaN(rhs_);
    int c = compareBson(*value, rhs_);
    switch (op_) {
      case CmpOp::kLt: return c < 0;
      case CmpOp::kLte: return c <= 0;
      case CmpOp::kGt: return c > 0;
      case CmpOp::kGte: return c >= 0;
    }
    return false;
  }

 private:
  CmpOp op_;
  Json rhs_;
};

class InPred final : public ValuePred {
 public:
  explicit InPred(const Json& values) : values_(values.begin(), values.end()) {
    // Sorted once so a long $in list is a binary search per value.
    auto less = [](const Json& a, const Json& b) { return compareBson(a, b) < 0; };
    std::sort(values_.begin(), values_.end(), less);
    has_null_ = std::any_of(values_.begin(), values_.end(), [](const Json& v) {
      return v.is_null();
    });
  }
  bool test(const Json* value, EvalState&) const override {
    if (!value) return has_null_;
    auto less = [](const Json& a, const Json& b) { return compareBson(a, b) < 0; };
    return std::binary_search(values_.begin(), values_.end(), *value, less);
  }

 private:
  std::vector<Json> values_;
  bool has_null_ = false;
};

class ExistsPred final : public ValuePred {
 public:
  bool test(const Json* value, EvalState&) const override { return value != nullptr; }
};

class RegexPred final : public ValuePred {
 public:
  explicit RegexPred(MongoRegex regex) : regex_(std::move(regex)) {}
  bool test(const Json* value, EvalState& state) const override {
    if (!value || !value->is_string() || state.error) return false;
    auto found = regex_.search(value->get_ref<const std::string&>());
    if (found) return *found;
    state.error = std::move(found).error();
    return false;
  }

 private:
  MongoRegex regex_;
};

class SizePred final : public ValuePred {
 public:
  explicit SizePred(uint64_t size) : size_(size) {}
  bool test(const Json* value, EvalState&) const override {
    return value && value->is_array() && value->size() == size_;
  }
  bool wholeArrays() const override { return true; }

 private:
  uint64_t size_;
};

/// {$elemMatch: {$gte: 80, $lt: 85}}: one element must satisfy every operator.
class ElemMatchValuePred final : public ValuePred {
 public:
  explicit ElemMatchValuePred(ExprPtr conditions) : conditions_(std::move(conditions)) {}
  bool test(const Json* value, EvalState& state) const override {
    if (!value || !value->is_array()) return false;
    for (const Json& element : *value) {
      if (conditions_->eval(element, state)) return true;
    }
    return false;
  }
  bool wholeArrays() const override { return true; }

 private:
  ExprPtr conditions_;
};

/// {$elemMatch: {product: "xyz", score: {$gte: 8}}}: one element must match the sub-filter.
class ElemMatchObjectPred final : public ValuePred {
 public:
  explicit ElemMatchObjectPred(ExprPtr filter) : filter_(std::move(filter)) {}
  bool test(const Json* value, EvalState& state) const override {
    if (!value || !value->is_array()) return false;
    for (const Json& element : *value) {
      if (element.is_object()) {
        if (filter_->eval(element, state)) return true;
      } else if (element.is_array()) {
        // MongoDB reads a nested array as a document whose field names are the indexes.
        Json as_object = Json::object();
        for (size_t i = 0; i < element.size(); ++i) as_object[std::to_string(i)] = element[i];
        if (filter_->eval(as_object, state)) return true;
      }
    }
    return false;
  }
  bool wholeArrays() const override { return true; }

 private:
  ExprPtr filter_;
};

// ---- Paths ---------------------------------------------------------------------------------

struct Segment {
  std::string name;
  long index = -1;  ///< the array offset this segment names, -1 when it is not one
};
using Path = std::vector<Segment>;

Path splitPath(const std::string& dotted) {
  Path path;
  size_t start = 0;
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  while (true) {
    size_t dot = dotted.find('.', start);
    Segment segment{dotted.substr(start, dot == std::string::npos ? dot : dot - start)};
    const std::string& name = segment.name;
    // Only canonical digits name an offset: MongoDB compares them with the array's field
    // names "0", "1", ..., so "01" never does.
    bool digits = !name.empty() && name.size() <= 9 &&
                  std::all_of(name.begin(), name.end(), is_digit);
    if (digits && (name.size() == 1 || name[0] != '0')) segment.index = std::stol(name);
    path.push_back(std::move(segment));
    if (dot == std::string::npos) return path;
    start = dot + 1;
  }
}

/// Produces every value a dotted path reaches in a document, MongoDB's way: through objects,
/// into each document element of an array (not into nested arrays), by offset where a segment
/// is a number, a missing field as nullptr, and a leaf array's elements before the array itself.
/// Stops as soon as `visit` returns true.
template <typename Visit>
class PathWalker {
 public:
  PathWalker(const Path& path, bool expand_leaf_arrays, Visit& visit)
      : path_(path), expand_leaf_arrays_(expand_leaf_arrays), visit_(visit) {}

  bool fromObject(const Json& object, size_t i) const {
    const Json* current = &object;
    while (true) {
      auto it = current->find(path_[i].name);
      if (it == current->end()) return visit_(nullptr);
      const Json& value = *it;
      if (i + 1 == path_.size() || value.is_array()) return fromValue(value, i);
      if (!value.is_object()) return visit_(nullptr);  // a scalar with path left: missing
      current = &value;
      ++i;
    }
  }

 private:
  // `value` is what path_[i] named.
  bool fromValue(const Json& value, size_t i) const {
    if (!value.is_array()) return visit_(&value);
    size_t rest = i + 1;
    if (rest == path_.size() && !expand_leaf_arrays_) return visit_(&value);
    if (walkArray(value, rest)) return true;
    if (rest < path_.size()) return false;
    return visit_(&value);
  }

  // Visits what path_[rest..] reaches from each element of `array`.
  bool walkArray(const Json& array, size_t rest) const {
    bool has_more = rest < path_.size();
    long offset = has_more ? path_[rest].index : -1;
    long k = 0;
    for (auto it = array.begin(); it != array.end(); ++it, ++k) {
      const Json& element = *it;
      if (!has_more) {
        if (visit_(&element)) return true;
        continue;
      }
      bool at_offset = offset == k;
      bool offset_is_leaf = rest + 1 == path_.size();
      if (element.is_object()) {
        if (fromObject(element, rest)) return true;
        if (at_offset && (offset_is_leaf ? visit_(&element) : fromObject(element, rest + 1)))
          return true;
      } else if (at_offset) {
        if (offset_is_leaf) {
          if (visit_(&element)) return true;
        } else if (element.is_array() && walkArray(element, rest + 1)) {
          return true;
        }
      }
    }
    return false;
  }

  const Path& path_;
  bool expand_leaf_arrays_;
  Visit& visit_;
};

// ---- Expressions ---------------------------------------------------------------------------

class PathExpr final : public FilterExpr {
 public:
  PathExpr(Path path, PredPtr pred) : path_(std::move(path)), pred_(std::move(pred)) {}
  bool eval(const Json& root, EvalState& state) const override {
    // An empty path is the value itself: operators inside {$elemMatch: {$gt: ...}}.
    if (path_.empty()) return pred_->test(&root, state);
    if (!root.is_object()) return pred_->test(nullptr, state);
    auto visit = [&](const Json* value) { return pred_->test(value, state); };
    PathWalker<decltype(visit)> walker(path_, !pred_->wholeArrays(), visit);
    return walker.fromObject(root, 0);
  }

 private:
  Path path_;
  PredPtr pred_;
};

enum class Logic { kAnd, kOr, kNor };

class LogicExpr final : public FilterExpr {
 public:
  LogicExpr(Logic logic, std::vector<ExprPtr> children)
      : logic_(logic), children_(std::move(children)) {}
  bool eval(const Json& root, EvalState& state) const override {
    for (const auto& child : children_) {
      bool matched = child->eval(root, state);
      if (logic_ == Logic::kAnd && !matched) return false;
      if (logic_ != Logic::kAnd && matched) return logic_ == Logic::kOr;
    }
    return logic_ != Logic::kOr;
  }

 private:
  Logic logic_;
  std::vector<ExprPtr> children_;
};

/// $ne, $nin, $not and {$exists: false} are the negation of the positive match over all the
/// values a path reaches, which is why {a: {$ne: 1}} rejects [1, 2] and accepts a missing a.
class NotExpr final : public FilterExpr {
 public:
  explicit NotExpr(ExprPtr child) : child_(std::move(child)) {}
  bool eval(const Json& root, EvalState& state) const override {
    return !child_->eval(root, state);
  }

 private:
  ExprPtr child_;
};

class ConstExpr final : public FilterExpr {
 public:
  explicit ConstExpr(bool value) : value_(value) {}
  bool eval(const Json&, EvalState&) const override { return value_; }

 private:
  bool value_;
};

ExprPtr onPath(const Path& path, PredPtr pred) {
  return std::make_unique<PathExpr>(path, std::move(pred));
}
ExprPtr negate(ExprPtr child) { return std::make_unique<NotExpr>(std::move(child)); }
ExprPtr allOf(std::vector<ExprPtr> children) {
  if (children.size() == 1) return std::move(children.front());
  return std::make_unique<LogicExpr>(Logic::kAnd, std::move(children));
}

// ---- Compiler ------------------------------------------------------------------------------

bool isOperatorDocument(const Json& value) {
  return value.is_object() && !value.empty() && value.begin().key().starts_with('$');
}

bool isTopLevelOperator(const std::string& name) {
  return name == "$and" || name == "$or" || name == "$nor" || name == "$comment" ||
         name == "$where" || name == "$expr" || name == "$text" || name == "$jsonSchema";
}

// MongoDB reads $exists by truthiness: 0, false and null mean "must be missing".
bool truthy(const Json& value) {
  if (value.is_boolean()) return value.get<bool>();
  if (value.is_number()) return compareBson(value, Json(0)) != 0;
  return !value.is_null();
}

Result<ExprPtr> compileFilter(const Json& filter, const std::string& prefix, int depth);
Result<ExprPtr> compileOperators(const Path& path, const std::string& where, const Json& ops,
                                 int depth);

Result<ExprPtr> compileLogic(const std::string& name, const Json& clauses,
                             const std::string& prefix, int depth) {
  if (!clauses.is_array() || clauses.empty())
    return invalid(prefix + name + ": needs a non-empty array of filter documents");
  std::vector<ExprPtr> children;
  for (size_t i = 0; i < clauses.size(); ++i) {
    if (!clauses[i].is_object())
      return invalid(prefix + name + "." + std::to_string(i) + ": must be a filter document");
    EXA_ASSIGN_OR_RETURN(auto child, compileFilter(clauses[i], prefix, depth + 1));
    children.push_back(std::move(child));
  }
  Logic logic = name == "$and" ? Logic::kAnd : (name == "$or" ? Logic::kOr : Logic::kNor);
  return ExprPtr(std::make_unique<LogicExpr>(logic, std::move(children)));
}

Result<ExprPtr> compileFilter(const Json& filter, const std::string& prefix, int depth) {
  if (depth > kMaxFilterDepth)
    return invalid("filter nested deeper than " + std::to_string(kMaxFilterDepth) + " levels");
  if (!filter.is_object()) return invalid(prefix + "filter must be a JSON object");
  std::vector<ExprPtr> clauses;
  for (auto it = filter.begin(); it != filter.end(); ++it) {
    const std::string& key = it.key();
    if (key == "$and" || key == "$or" || key == "$nor") {
      EXA_ASSIGN_OR_RETURN(auto clause, compileLogic(key, it.value(), prefix, depth));
      clauses.push_back(std::move(clause));
    } else if (key == "$comment") {
      continue;
    } else if (key.starts_with('$')) {
      return invalid(prefix.empty() ? "unknown top-level operator " + key
                                    : "unknown operator " + key + " at " +
                                          prefix.substr(0, prefix.size() - 1));
    } else if (isOperatorDocument(it.value())) {
      EXA_ASSIGN_OR_RETURN(auto clause,
                           compileOperators(splitPath(key), prefix + key, it.value(), depth + 1));
      clauses.push_back(std::move(clause));
    } else {
      // Implicit $eq, also for documents: {a: {b: 1}} is equality with {b: 1}.
      clauses.push_back(onPath(splitPath(key), std::make_unique<EqPred>(it.value())));
    }
  }
  if (clauses.empty()) return ExprPtr(std::make_unique<ConstExpr>(true));
  return allOf(std::move(clauses));
}

Result<ExprPtr> compileElemMatch(const Path& path, const std::string& where, const Json& arg,
                                 int depth) {
  if (!arg.is_object()) return invalid(where + ": needs a document");
  // Operators apply to each element as a value; anything else (fields, $and, ...) is a filter
  // over document elements.
  if (isOperatorDocument(arg) && !isTopLevelOperator(arg.begin().key())) {
    EXA_ASSIGN_OR_RETURN(auto conditions, compileOperators(Path{}, where, arg, depth + 1));
    return onPath(path, std::make_unique<ElemMatchValuePred>(std::move(conditions)));
  }
  EXA_ASSIGN_OR_RETURN(auto filter, compileFilter(arg, where + ".", depth + 1));
  return onPath(path, std::make_unique<ElemMatchObjectPred>(std::move(filter)));
}

Result<ExprPtr> compileAll(const Path& path, const std::string& where, const Json& arg,
                           int depth) {
  if (!arg.is_array()) return invalid(where + ": needs an array");
  if (arg.empty()) return ExprPtr(std::make_unique<ConstExpr>(false));
  bool elem_match = arg[0].is_object() && !arg[0].empty() &&
                    arg[0].begin().key() == "$elemMatch";
  std::vector<ExprPtr> children;
  for (const Json& item : arg) {
    if (elem_match) {
      if (!item.is_object() || item.size() != 1 || !item.contains("$elemMatch"))
        return invalid(where + ": $elemMatch must be used for every element or none");
      EXA_ASSIGN_OR_RETURN(auto child, compileElemMatch(path, where + ".$elemMatch",
                                                         item["$elemMatch"], depth));
      children.push_back(std::move(child));
    } else if (isOperatorDocument(item)) {
      return invalid(where + ": no $ expressions allowed except $elemMatch");
    } else {
      children.push_back(onPath(path, std::make_unique<EqPred>(item)));
    }
  }
  return allOf(std::move(children));
}

Result<PredPtr> compileRegex(const std::string& where, const Json& ops) {
  const Json& pattern = *ops.find("$regex");
  if (!pattern.is_string()) return invalid(where + ".$regex: needs a string");
  std::string options;
  if (auto it = ops.find("$options"); it != ops.end()) {
    if (!it->is_string()) return invalid(where + ".$options: needs a string");
    options = it->get<std::string>();
  }
  EXA_ASSIGN_OR_RETURN(auto regex, MongoRegex::compile(pattern.get<std::string>(), options,
                                                       where + ".$regex"));
  return PredPtr(std::make_unique<RegexPred>(std::move(regex)));
}

Result<uint64_t> sizeArgument(const std::string& where, const Json& arg) {
  if (arg.is_number_unsigned()) return arg.get<uint64_t>();
  if (arg.is_number_integer() && arg.get<int64_t>() >= 0) return uint64_t(arg.get<int64_t>());
  if (arg.is_number_float()) {
    double d = arg.get<double>();
    if (d >= 0 && d < 9007199254740992.0 && std::trunc(d) == d) return uint64_t(d);
  }
  return invalid(where + ": needs a non-negative whole number");
}

// One operator of an operator document; `ops` is the whole document ($regex reads $options).
Result<ExprPtr> compileOperator(const Path& path, const std::string& where,
                                const std::string& op, const Json& arg, const Json& ops,
                                int depth) {
  const std::string at = where.empty() ? op : where + "." + op;
  static const std::pair<const char*, CmpOp> kComparisons[] = {
      {"$lt", CmpOp::kLt}, {"$lte", CmpOp::kLte}, {"$gt", CmpOp::kGt}, {"$gte", CmpOp::kGte}};
  for (const auto& [name, cmp] : kComparisons) {
    if (op == name) return onPath(path, std::make_unique<CmpPred>(cmp, arg));
  }
  if (op == "$eq") return onPath(path, std::make_unique<EqPred>(arg));
  if (op == "$ne") return negate(onPath(path, std::make_unique<EqPred>(arg)));
  if (op == "$in" || op == "$nin") {
    if (!arg.is_array()) return invalid(at + ": needs an array");
    for (const Json& item : arg) {
      if (isOperatorDocument(item)) return invalid(at + ": cannot nest $ operators");
    }
    ExprPtr in = onPath(path, std::make_unique<InPred>(arg));
    return op == "$in" ? std::move(in) : negate(std::move(in));
  }
  if (op == "$exists") {
    ExprPtr exists = onPath(path, std::make_unique<ExistsPred>());
    return truthy(arg) ? std::move(exists) : negate(std::move(exists));
  }
  if (op == "$regex") {
    EXA_ASSIGN_OR_RETURN(auto pred, compileRegex(where, ops));
    return onPath(path, std::move(pred));
  }
  if (op == "$not") {
    if (!arg.is_object() || arg.empty()) return invalid(at + ": needs an operator document");
    if (!isOperatorDocument(arg))
      return invalid(at + ": needs an operator document, not " + dumpJson(arg));
    EXA_ASSIGN_OR_RETURN(auto inner, compileOperators(path, where, arg, depth + 1));
    return negate(std::move(inner));
  }
  if (op == "$all") return compileAll(path, at, arg, depth);
  if (op == "$size") {
    EXA_ASSIGN_OR_RETURN(uint64_t size, sizeArgument(at, arg));
    return onPath(path, std::make_unique<SizePred>(size));
  }
  if (op == "$elemMatch") return compileElemMatch(path, at, arg, depth);
  return invalid("unknown operator " + op + (where.empty() ? "" : " at " + where));
}

Result<ExprPtr> compileOperators(const Path& path, const std::string& where, const Json& ops,
                                 int depth) {
  if (depth > kMaxFilterDepth)
    return invalid("filter nested deeper than " + std::to_string(kMaxFilterDepth) + " levels");
  if (ops.contains("$options") && !ops.contains("$regex"))
    return invalid((where.empty() ? "" : where + ".") + "$options: needs a $regex");
  std::vector<ExprPtr> clauses;
  for (auto it = ops.begin(); it != ops.end(); ++it) {
    if (it.key() == "$options") continue;  // read with $regex
    EXA_ASSIGN_OR_RETURN(auto clause,
                         compileOperator(path, where, it.key(), it.value(), ops, depth));
    clauses.push_back(std::move(clause));
  }
  return allOf(std::move(clauses));
}

}  // namespace

MongoFilter::MongoFilter(std::shared_ptr<const detail::FilterExpr> root)
    : root_(std::move(root)) {}

Result<MongoFilter> MongoFilter::compile(const Json& filter) {
  try {
    EXA_ASSIGN_OR_RETURN(auto root, compileFilter(filter, "", 0));
    return MongoFilter(std::shared_ptr<const detail::FilterExpr>(std::move(root)));
  } catch (const std::exception& e) {
    // Only allocation failure can get here: nlohmann is called on values of checked types.
    return makeError(ErrorCode::kInternal, std::string("compiling filter: ") + e.what());
  }
}

Result<bool> MongoFilter::matches(const Json& doc) const {
  if (!root_) return makeError(ErrorCode::kInternal, "matching with a moved-from MongoFilter");
  if (!doc.is_object()) return invalid("a filter matches documents, not " + dumpJson(doc));
  try {
    EvalState state;
    bool matched = root_->eval(doc, state);
    if (state.error) return std::move(*state.error);
    return matched;
  } catch (const std::exception& e) {
    return makeError(ErrorCode::kInternal, std::string("matching filter: ") + e.what());
  }
}

}  // namespace exa::agent
