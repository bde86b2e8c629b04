// MongoDB update documents applied to stored JSON records: the registry's PUT routes take either
// a full replacement or update operators, as the seed's curl examples send them.
#pragma once

#include <string>
#include <vector>

#include "common/json_util.h"
#include "common/result.h"

namespace exa::agent {

/// Applies `update` to `doc` and returns the new document (`doc` itself is never modified, so a
/// failed update leaves nothing half-applied). `update` is either a full replacement (no
/// top-level `$` keys) or operators $set $unset $inc $push (with $each, $position, $slice)
/// $pull (a value, an operator condition, or a sub-filter for document elements) $addToSet
/// (with $each), applied in the order written. Dotted paths create intermediate objects as
/// MongoDB does, numeric segments index arrays (padding with nulls), and a new key is appended
/// so the document's key order is kept. Errors name the operator and path: mixing operators
/// and plain keys, an unknown operator, $inc on a non-number, $push on a non-array,
/// conflicting paths in one update ("a" and "a.b"), an empty update, positional `$` paths.
Result<Json> applyUpdate(const Json& doc, const Json& update);

/// The top-level fields an update would change (for recomputing identity URIs): the first
/// segment of every operator path, or every key of a replacement document (a replacement may
/// also drop fields, so callers should treat it as touching all of them).
std::vector<std::string> touchedTopLevelFields(const Json& update);

}  // namespace exa::agent
