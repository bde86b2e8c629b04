// Kubernetes resource.Quantity text ("3500m", "16Gi", "1.5e9") read exactly. The API server
// reports node capacity in whatever form it was set ("129e6" bytes of memory is as valid as
// "123Mi"), so a reader that only knows the common suffixes, or goes through a double, would
// misreport some nodes.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/json_util.h"
#include "common/result.h"

namespace exa::kubernetes {

/// An exact quantity: ±mantissa × 10^exponent10 × 2^binary_exponent.
struct Quantity {
  bool negative = false;
  uint64_t mantissa = 0;    ///< the significant digits, trailing zeros moved into exponent10
  int64_t exponent10 = 0;   ///< from the fraction, a decimal SI suffix or an e/E exponent
  int binary_exponent = 0;  ///< 10 for Ki, 20 for Mi ... 60 for Ei, else 0

  bool isZero() const { return mantissa == 0; }
  /// ceil(value × 10^scale) as the API server rounds (resource.Quantity.ScaledValue rounds up);
  /// kInvalidArgument when that does not fit in an int64.
  Result<int64_t> scaledValue(int scale) const;
  /// Whole units (bytes, pods, devices), rounded up as Quantity.Value(): "100m" bytes is 1.
  Result<int64_t> value() const { return scaledValue(0); }
  /// Thousandths (millicores), rounded up as Quantity.MilliValue(): "1n" cpu is 1m.
  Result<int64_t> milliValue() const { return scaledValue(3); }
  /// The nearest double, for display only.
  double toDouble() const;
};

/// Parses the Quantity grammar: an optional sign, digits with an optional '.' fraction ("1.",
/// ".5"), then one suffix: none, a decimal SI one (n u m k M G T P E), a binary one (Ki Mi Gi Ti
/// Pi Ei) or a decimal exponent (e3, E-2, e+9). Stricter than the API server where it is lax:
/// no digits ("", "-", ".") is an error, not zero. At most 19 significant digits (every int64);
/// exponents within int32, as the API server. Errors quote the text and say what is wrong.
Result<Quantity> parseQuantity(std::string_view text);

/// A Quantity as JSON holds it: a string, or a number (the API server accepts both on input).
Result<Quantity> quantityFromJson(const Json& value);

}  // namespace exa::kubernetes
