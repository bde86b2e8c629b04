// MongoDB query filters over stored JSON records: the registry's query routes compile the
// client's filter once and run it against every record of a collection; the $pull of
// mongo_update.cpp reuses it for its conditions.
#pragma once

#include <memory>

// compareBson and bsonEqual are the order and equality the operators below use; users of the
// filter get them from here too.
#include "agent/registry/bson_order.h"
#include "common/json_util.h"
#include "common/result.h"

namespace exa::agent {

namespace detail {
class FilterExpr;  // the compiled tree; defined in mongo_filter.cpp
}  // namespace detail

/// A compiled MongoDB filter document. Copies share the compiled tree, which is immutable, so
/// one filter may be matched from several threads at once.
class MongoFilter {
 public:
  /// Compiles a filter document once (regexes compiled with PCRE2 with match, depth and heap
  /// limits, `$options` i m s x). Errors name the operator and its path, e.g.
  /// "tags.$regex: missing closing parenthesis at offset 3" or "unknown operator $foo at
  /// version"; the HTTP layer turns them into 400s.
  static Result<MongoFilter> compile(const Json& filter);

  /// MongoDB's semantics: dotted paths (into objects and arrays, numeric segments index arrays),
  /// implicit $eq, array fields match if any element matches (and the whole array for array
  /// equality), $eq $ne $gt $gte $lt $lte (only within one BSON type class: numbers with
  /// numbers across int/double, strings with strings in binary order, documents and arrays in
  /// BSON order, booleans; mismatched types never match), $in $nin $exists $regex (+$options;
  /// a bare /regex/ is not JSON so only the operator form) $not $and $or $nor $all $size
  /// $elemMatch. A runaway regex returns an error rather than hanging.
  Result<bool> matches(const Json& doc) const;

 private:
  explicit MongoFilter(std::shared_ptr<const detail::FilterExpr> root);

  std::shared_ptr<const detail::FilterExpr> root_;
};

}  // namespace exa::agent
