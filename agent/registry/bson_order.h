// MongoDB's BSON comparison order on JSON values. The query filters (mongo_filter.cpp) compare
// with it and the update operators (mongo_update.cpp) test array membership with it, so a
// filter and an update always agree on which values are equal: 1 == 1.0, "1" != 1.
#pragma once

#include "common/json_util.h"

namespace exa::agent {

/// Holds every JSON integer exactly, int64 and uint64 alike, with room for the sum of two.
using Int128 = __int128;

/// MongoDB's BSON sort order on JSON values: <0, 0 or >0. Type classes first (null < numbers <
/// strings < documents < arrays < booleans), then values: numbers exactly across int and double
/// (NaN equals NaN and sorts first), strings bytewise, documents and arrays element by element.
int compareBson(const Json& a, const Json& b);

/// Equality as MongoDB sees it: 1 == 1.0, key order of documents matters.
inline bool bsonEqual(const Json& a, const Json& b) { return compareBson(a, b) == 0; }

/// The value's BSON type class, ordered as compareBson orders them. $gt and friends only
/// compare within one class ("type bracketing"), so callers need the class on its own.
int bsonTypeRank(const Json& value);

/// A floating-point NaN: equal to itself in BSON order, yet neither less nor greater than any
/// number, which the range operators must special-case.
bool isBsonNaN(const Json& value);

/// The exact value of an integer JSON number, whether nlohmann stored it signed or unsigned.
/// `value` must be one (is_number_integer()).
Int128 exactInteger(const Json& value);

}  // namespace exa::agent
