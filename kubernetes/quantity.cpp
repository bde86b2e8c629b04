#include "kubernetes/quantity.h"

#include <charconv>
#include <climits>
#include <cmath>
#include <string>

#include <fmt/format.h>

namespace exa::kubernetes {
namespace {

using Wide = unsigned __int128;

constexpr size_t kMaxSignificantDigits = 19;  // every int64 fits; 10^19 - 1 still fits uint64
constexpr int64_t kMaxExactShift = 38;        // 10^38 is the largest power of ten in 128 bits

struct Suffix {
  std::string_view text;
  int exponent10;
  int binary_exponent;
};

constexpr Suffix kSuffixes[] = {
    {"", 0, 0},     {"n", -9, 0},  {"u", -6, 0},  {"m", -3, 0},  {"k", 3, 0},
    {"M", 6, 0},    {"G", 9, 0},   {"T", 12, 0},  {"P", 15, 0},  {"E", 18, 0},
    {"Ki", 0, 10},  {"Mi", 0, 20}, {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50},
    {"Ei", 0, 60},
};

bool isDigit(char c) { return c >= '0' && c <= '9'; }

/// The text as a JSON string, cut short: it comes from a server and goes into messages.
std::string quoted(std::string_view text) {
  constexpr size_t kShown = 64;
  std::string shown(text.substr(0, kShown));
  if (text.size() > kShown) shown += "...";
  return dumpJson(Json(shown));
}

Error bad(std::string_view text, std::string_view why) {
  return makeError(ErrorCode::kInvalidArgument, fmt::format("quantity {}: {}", quoted(text), why));
}

/// "e3", "E-2", "e+9": the exponent, within int32 as the API server parses it.
Result<int64_t> decimalExponent(std::string_view text, std::string_view suffix) {
  std::string_view digits = suffix.substr(1);
  bool negative = false;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  if (digits.empty()) return bad(text, "exponent without digits");
  for (char c : digits) {
    if (!isDigit(c)) return bad(text, fmt::format("bad exponent {}", quoted(suffix)));
  }
  int32_t magnitude = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude);
  if (ec != std::errc() || end != digits.data() + digits.size())
    return bad(text, "exponent out of range");
  return negative ? -int64_t{magnitude} : int64_t{magnitude};
}

Error outOfRange(const Quantity& q, int scale) {
  std::string value = fmt::format("{}{}e{}", q.negative ? "-" : "", q.mantissa, q.exponent10);
  if (q.binary_exponent != 0) value += fmt::format("*2^{}", q.binary_exponent);
  std::string unit = scale == 0 ? "" : fmt::format(" scaled by 10^{}", scale);
  return makeError(ErrorCode::kInvalidArgument,
                   fmt::format("quantity {}{} does not fit in 64 bits", value, unit));
}

}  // namespace

Result<int64_t> Quantity::scaledValue(int scale) const {
  if (mantissa == 0) return int64_t{0};
  const Wide limit = Wide{1} << 63;  // |INT64_MIN|; positive results stay below it
  Wide magnitude = Wide{mantissa} << binary_exponent;  // < 2^124: no overflow
  Wide floor_magnitude = 0;
  bool exact = true;
  int64_t shift = exponent10 + scale;
  if (shift >= 0) {
    // Stops within ~20 steps for any shift: the magnitude grows tenfold each time.
    for (int64_t i = 0; i < shift; ++i) {
      if (magnitude > limit / 10) return outOfRange(*this, scale);
      magnitude *= 10;
    }
    floor_magnitude = magnitude;
  } else if (-shift > kMaxExactShift) {
    exact = false;  // the magnitude is below 2^124 < 10^38: a positive fraction of one
  } else {
    Wide power = 1;
    for (int64_t i = 0; i < -shift; ++i) power *= 10;
    floor_magnitude = magnitude / power;
    exact = magnitude % power == 0;
  }
  if (!negative) {
    Wide ceiling = floor_magnitude + (exact ? 0 : 1);
    if (ceiling >= limit) return outOfRange(*this, scale);
    return static_cast<int64_t>(ceiling);
  }
  // ceil(-m) = -floor(m): "-1n" is 0 millis, as on the API server.
  if (floor_magnitude > limit) return outOfRange(*this, scale);
  if (floor_magnitude == limit) return INT64_MIN;
  return -static_cast<int64_t>(floor_magnitude);
}

double Quantity::toDouble() const {
  long double v = static_cast<long double>(mantissa) *
                  std::pow(10.0L, static_cast<long double>(exponent10)) *
                  std::ldexp(1.0L, binary_exponent);
  return static_cast<double>(negative ? -v : v);
}

Result<Quantity> parseQuantity(std::string_view text) {
  if (text.empty()) return bad(text, "empty");
  Quantity q;
  size_t pos = 0;
  if (text[0] == '+' || text[0] == '-') {
    q.negative = text[0] == '-';
    ++pos;
  }
  size_t start = pos;
  while (pos < text.size() && isDigit(text[pos])) ++pos;
  std::string_view whole = text.substr(start, pos - start);
  std::string_view fraction;
  if (pos < text.size() && text[pos] == '.') {
    start = ++pos;
    while (pos < text.size() && isDigit(text[pos])) ++pos;
    fraction = text.substr(start, pos - start);
  }
  if (whole.empty() && fraction.empty()) return bad(text, "no digits");

  std::string_view suffix = text.substr(pos);
  int64_t exponent = 0;
  bool known = false;
  for (const Suffix& s : kSuffixes) {
    if (suffix == s.text) {
      exponent = s.exponent10;
      q.binary_exponent = s.binary_exponent;
      known = true;
      break;
    }
  }
  // "E" alone is exa; "E" or "e" followed by more is an exponent.
  if (!known && suffix.size() > 1 && (suffix[0] == 'e' || suffix[0] == 'E')) {
    EXA_ASSIGN_OR_RETURN(exponent, decimalExponent(text, suffix));
    known = true;
  }
  if (!known) {
    return bad(text, fmt::format("unknown suffix {} (expected n u m k M G T P E, Ki Mi Gi Ti Pi "
                                 "Ei or an exponent such as e3)",
                                 quoted(suffix)));
  }

  std::string digits = std::string(whole) + std::string(fraction);
  int64_t exponent10 = exponent - static_cast<int64_t>(fraction.size());
  size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return Quantity{};  // zero, whatever its sign or suffix
  size_t last = digits.find_last_not_of('0');
  exponent10 += static_cast<int64_t>(digits.size() - 1 - last);
  std::string_view significant = std::string_view(digits).substr(first, last - first + 1);
  if (significant.size() > kMaxSignificantDigits)
    return bad(text, fmt::format("more than {} significant digits", kMaxSignificantDigits));
  std::from_chars(significant.data(), significant.data() + significant.size(), q.mantissa);
  q.exponent10 = exponent10;
  return q;
}

Result<Quantity> quantityFromJson(const Json& value) {
  if (value.is_string()) return parseQuantity(value.get_ref<const std::string&>());
  if (value.is_number_integer()) return parseQuantity(value.dump());
  // fmt's shortest form reads back as the same double ("1500000000.0", "1.5e-07").
  if (value.is_number_float()) return parseQuantity(fmt::format("{}", value.get<double>()));
  return makeError(ErrorCode::kInvalidArgument,
                   fmt::format("quantity {}: not a string or a number", dumpJson(value)));
}

}  // namespace exa::kubernetes
