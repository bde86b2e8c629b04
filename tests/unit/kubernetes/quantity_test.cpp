// parseQuantity against the forms the API server accepts and reports (resource.Quantity), with
// its rounding: Value() and MilliValue() round up.
#include "kubernetes/quantity.h"

#include <climits>
#include <string>

#include <gtest/gtest.h>

namespace exa::kubernetes {
namespace {

int64_t valueOf(const std::string& text) {
  auto q = parseQuantity(text);
  EXPECT_TRUE(q) << text << ": " << q.error().describe();
  if (!q) return -1;
  auto v = q->value();
  EXPECT_TRUE(v) << text << ": " << v.error().describe();
  return v ? *v : -1;
}

int64_t milliOf(const std::string& text) {
  auto q = parseQuantity(text);
  EXPECT_TRUE(q) << text << ": " << q.error().describe();
  if (!q) return -1;
  auto v = q->milliValue();
  EXPECT_TRUE(v) << text << ": " << v.error().describe();
  return v ? *v : -1;
}

std::string errorOf(const std::string& text) {
  auto q = parseQuantity(text);
  EXPECT_FALSE(q) << text << " parsed";
  if (q) return "";
  EXPECT_EQ(q.error().code, ErrorCode::kInvalidArgument);
  return q.error().message;
}

TEST(Quantity, CpuForms) {
  EXPECT_EQ(milliOf("3500m"), 3500);
  EXPECT_DOUBLE_EQ(parseQuantity("3500m")->toDouble(), 3.5);
  EXPECT_EQ(milliOf("4"), 4000);
  EXPECT_EQ(milliOf("3920m"), 3920);
  EXPECT_EQ(milliOf("0.5"), 500);
  EXPECT_EQ(milliOf(".5"), 500);
  EXPECT_EQ(milliOf("1."), 1000);
  EXPECT_EQ(milliOf("0.1m"), 1);  // rounded up, as MilliValue()
  EXPECT_EQ(milliOf("1n"), 1);
  EXPECT_EQ(milliOf("250000u"), 250);
  EXPECT_EQ(milliOf("1500000000n"), 1500);
  EXPECT_EQ(milliOf("1e3"), 1000000);
  EXPECT_EQ(milliOf("96"), 96000);
}

TEST(Quantity, MemoryForms) {
  EXPECT_EQ(valueOf("16Gi"), int64_t{16} << 30);
  EXPECT_EQ(valueOf("16384Mi"), int64_t{16} << 30);
  EXPECT_EQ(valueOf("16777216Ki"), int64_t{16} << 30);
  EXPECT_EQ(valueOf("1.5e9"), 1500000000);
  EXPECT_EQ(valueOf("1.5E9"), 1500000000);
  EXPECT_EQ(valueOf("15e+8"), 1500000000);
  EXPECT_EQ(valueOf("128974848"), 128974848);
  EXPECT_EQ(valueOf("129e6"), 129000000);
  EXPECT_EQ(valueOf("129M"), 129000000);
  EXPECT_EQ(valueOf("123Mi"), 128974848);
  EXPECT_EQ(valueOf("1.5Gi"), 1610612736);
  EXPECT_EQ(valueOf("0.1Ki"), 103);  // 102.4 rounded up
  EXPECT_EQ(valueOf("100m"), 1);     // a tenth of a byte: a classic typo, rounded up
  EXPECT_EQ(valueOf("1k"), 1000);
  EXPECT_EQ(valueOf("2T"), 2000000000000);
  EXPECT_EQ(valueOf("1P"), 1000000000000000);
  EXPECT_EQ(valueOf("1E"), 1000000000000000000);  // "E" alone is exa, not an exponent
  EXPECT_EQ(valueOf("1Ei"), int64_t{1} << 60);
  EXPECT_EQ(valueOf("7Ei"), int64_t{7} << 60);
  EXPECT_EQ(valueOf("12e-1"), 2);
  EXPECT_EQ(valueOf("110"), 110);
  EXPECT_EQ(valueOf("0"), 0);
  EXPECT_EQ(valueOf("000"), 0);
  EXPECT_EQ(valueOf("0.000Gi"), 0);
  EXPECT_EQ(valueOf("00012.50"), 13);
}

TEST(Quantity, SignsAndExtremes) {
  EXPECT_EQ(valueOf("+5"), 5);
  EXPECT_EQ(valueOf("-5"), -5);
  EXPECT_EQ(milliOf("-1.5"), -1500);
  EXPECT_EQ(valueOf("-1.5"), -1);  // ceil(-1.5)
  EXPECT_EQ(milliOf("-1n"), 0);
  EXPECT_EQ(valueOf("-0"), 0);
  EXPECT_FALSE(parseQuantity("-0")->negative);
  EXPECT_EQ(valueOf("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(valueOf("-9223372036854775808"), INT64_MIN);
  EXPECT_EQ(valueOf("-8Ei"), INT64_MIN);
  EXPECT_EQ(valueOf("1e-400"), 1);  // far below one: still rounded up
  EXPECT_EQ(valueOf("1e-38"), 1);
  EXPECT_EQ(valueOf("1000000000000000000000e-3"), 1000000000000000000);

  auto huge = parseQuantity("8Ei");
  ASSERT_TRUE(huge);
  EXPECT_FALSE(huge->value());
  EXPECT_NE(huge->value().error().message.find("does not fit in 64 bits"), std::string::npos);
  EXPECT_FALSE(parseQuantity("9223372036854775808")->value());
  EXPECT_FALSE(parseQuantity("1e19")->value());
  EXPECT_FALSE(parseQuantity("1e2000000000")->value());
  EXPECT_TRUE(parseQuantity("9223372036854775")->milliValue());
  EXPECT_FALSE(parseQuantity("9223372036854776")->milliValue());
  EXPECT_TRUE(parseQuantity("1e2000000000")) << "in int32: parsed, just not representable";
}

TEST(Quantity, ExactRepresentation) {
  auto q = parseQuantity("1.500Gi");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->mantissa, 15u);
  EXPECT_EQ(q->exponent10, -1);
  EXPECT_EQ(q->binary_exponent, 30);
  auto m = parseQuantity("3500m");
  EXPECT_EQ(m->mantissa, 35u);
  EXPECT_EQ(m->exponent10, -1);
  EXPECT_TRUE(parseQuantity("0Mi")->isZero());
}

TEST(Quantity, BadTextIsRefusedWithAReason) {
  EXPECT_NE(errorOf("").find("empty"), std::string::npos);
  EXPECT_NE(errorOf("-").find("no digits"), std::string::npos);
  EXPECT_NE(errorOf(".").find("no digits"), std::string::npos);
  EXPECT_NE(errorOf("abc").find("no digits"), std::string::npos);
  EXPECT_NE(errorOf("Gi").find("no digits"), std::string::npos);
  EXPECT_NE(errorOf(" 1").find("no digits"), std::string::npos);
  EXPECT_NE(errorOf("1K").find(R"(unknown suffix "K")"), std::string::npos);
  EXPECT_NE(errorOf("1ki").find("unknown suffix"), std::string::npos);
  EXPECT_NE(errorOf("1Mb").find("unknown suffix"), std::string::npos);
  EXPECT_NE(errorOf("1 ").find("unknown suffix"), std::string::npos);
  EXPECT_NE(errorOf("1.2.3").find(R"(unknown suffix ".3")"), std::string::npos);
  EXPECT_NE(errorOf("--1").find("no digits"), std::string::npos);
  EXPECT_NE(errorOf("1e").find("unknown suffix"), std::string::npos);
  EXPECT_NE(errorOf("1e-").find("exponent without digits"), std::string::npos);
  EXPECT_NE(errorOf("1e1.5").find("bad exponent"), std::string::npos);
  EXPECT_NE(errorOf("1e3m").find("bad exponent"), std::string::npos);
  EXPECT_NE(errorOf("1e99999999999").find("exponent out of range"), std::string::npos);
  EXPECT_NE(errorOf("1Gi5").find("unknown suffix"), std::string::npos);
  EXPECT_NE(errorOf("12345678901234567891").find("more than 19 significant digits"),
            std::string::npos);
  // The message quotes the text (escaped, cut short) so a log line shows what the server sent.
  EXPECT_EQ(errorOf("4 cores"),
            R"(quantity "4 cores": unknown suffix " cores" (expected n u m k M G T P E, Ki Mi )"
            R"(Gi Ti Pi Ei or an exponent such as e3))");
  EXPECT_NE(errorOf("1\n").find(R"("1\n")"), std::string::npos);
}

TEST(Quantity, FromJson) {
  EXPECT_EQ(*quantityFromJson(Json("2Gi"))->value(), int64_t{2} << 30);
  EXPECT_EQ(*quantityFromJson(Json(110))->value(), 110);
  EXPECT_EQ(*quantityFromJson(Json(-3))->value(), -3);
  EXPECT_EQ(*quantityFromJson(Json(1.5e9))->value(), 1500000000);
  EXPECT_EQ(*quantityFromJson(Json(0.25))->milliValue(), 250);
  EXPECT_EQ(*quantityFromJson(Json(1e-7))->milliValue(), 1);
  auto object = quantityFromJson(Json::object());
  ASSERT_FALSE(object);
  EXPECT_EQ(object.error().message, "quantity {}: not a string or a number");
  EXPECT_FALSE(quantityFromJson(Json(nullptr)));
  EXPECT_FALSE(quantityFromJson(Json(true)));
}

}  // namespace
}  // namespace exa::kubernetes
