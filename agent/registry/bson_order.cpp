// compareBson: MongoDB's order across BSON types, as BSONObj::woCompare applies it, on nlohmann
// JSON values; integers and doubles are compared exactly rather than through double.
#include "agent/registry/bson_order.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace exa::agent {
namespace {

template <typename T>
int sign(T a, T b) {
  return a < b ? -1 : (a > b ? 1 : 0);
}

double doubleOf(const Json& v) { return *v.get_ptr<const Json::number_float_t*>(); }

// Exact: converting a 64-bit integer to double would make 2^53 + 1 equal 2^53.
int compareIntDouble(Int128 i, double d) {
  if (std::isnan(d)) return 1;  // NaN sorts below every number
  if (d >= 18446744073709551616.0) return -1;  // 2^64: above every uint64
  if (d < -9223372036854775808.0) return 1;  // below every int64
  double whole = std::trunc(d);
  Int128 whole_int = static_cast<Int128>(whole);
  if (i != whole_int) return sign(i, whole_int);
  return d > whole ? -1 : (d < whole ? 1 : 0);
}

int compareNumbers(const Json& a, const Json& b) {
  bool a_int = a.is_number_integer();
  bool b_int = b.is_number_integer();
  if (a_int && b_int) return sign(exactInteger(a), exactInteger(b));
  if (a_int) return compareIntDouble(exactInteger(a), doubleOf(b));
  if (b_int) return -compareIntDouble(exactInteger(b), doubleOf(a));
  double x = doubleOf(a);
  double y = doubleOf(b);
  if (std::isnan(x) || std::isnan(y)) return std::isnan(x) ? (std::isnan(y) ? 0 : -1) : 1;
  return sign(x, y);
}

}  // namespace

int bsonTypeRank(const Json& v) {
  switch (v.type()) {
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float: return 10;
    case Json::value_t::string: return 15;
    case Json::value_t::object: return 20;
    case Json::value_t::array: return 25;
    case Json::value_t::binary: return 30;
    case Json::value_t::boolean: return 40;
    case Json::value_t::null:
    case Json::value_t::discarded: return 5;
  }
  return 5;
}

bool isBsonNaN(const Json& v) { return v.is_number_float() && std::isnan(doubleOf(v)); }

Int128 exactInteger(const Json& v) {
  if (const auto* u = v.get_ptr<const Json::number_unsigned_t*>()) return *u;
  return *v.get_ptr<const Json::number_integer_t*>();
}

int compareBson(const Json& a, const Json& b) {
  int rank_a = bsonTypeRank(a);
  int rank_b = bsonTypeRank(b);
  if (rank_a != rank_b) return sign(rank_a, rank_b);
  switch (rank_a) {
    case 10: return compareNumbers(a, b);
    case 15: {
      // std::string::compare is memcmp: bytewise, which is MongoDB's order without collation.
      int c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
      return sign(c, 0);
    }
    case 20: {
      // As BSONObj::woCompare: per element, the value's type class, then the name, then value.
      auto ia = a.begin();
      auto ib = b.begin();
      for (; ia != a.end() && ib != b.end(); ++ia, ++ib) {
        int rank_cmp = sign(bsonTypeRank(ia.value()), bsonTypeRank(ib.value()));
        if (rank_cmp != 0) return rank_cmp;
        int key_cmp = sign(ia.key().compare(ib.key()), 0);
        if (key_cmp != 0) return key_cmp;
        int value_cmp = compareBson(ia.value(), ib.value());
        if (value_cmp != 0) return value_cmp;
      }
      return ia == a.end() ? (ib == b.end() ? 0 : -1) : 1;
    }
    case 25: {
      size_t n = std::min(a.size(), b.size());
      for (size_t i = 0; i < n; ++i) {
        int rank_cmp = sign(bsonTypeRank(a[i]), bsonTypeRank(b[i]));
        if (rank_cmp != 0) return rank_cmp;
        int value_cmp = compareBson(a[i], b[i]);
        if (value_cmp != 0) return value_cmp;
      }
      return sign(a.size(), b.size());
    }
    case 30: {
      // BinData: length first, then subtype, then bytes.
      const auto& x = a.get_binary();
      const auto& y = b.get_binary();
      if (x.size() != y.size()) return sign(x.size(), y.size());
      if (x.subtype() != y.subtype()) return sign(x.subtype(), y.subtype());
      if (x == y) return 0;
      return std::lexicographical_compare(x.begin(), x.end(), y.begin(), y.end()) ? -1 : 1;
    }
    case 40: return sign(a.get<bool>(), b.get<bool>());
    default: return 0;  // null
  }
}

}  // namespace exa::agent
