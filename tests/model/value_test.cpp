#include <gtest/gtest.h>

#include "compiler/model/ops.h"
#include "compiler/model/value.h"

namespace orderflow::model {
namespace {

TEST(Decimal, ParsesExactlyAndRefusesToRound) {
  EXPECT_EQ(parse_decimal("7500.00"), 7'500'000'000);
  EXPECT_EQ(parse_decimal("0.1"), 100'000);
  EXPECT_EQ(parse_decimal("-12.5"), -12'500'000);
  EXPECT_EQ(parse_decimal("1.1234560"), 1'123'456);  // trailing zero beyond six digits is fine
  EXPECT_EQ(parse_decimal("1.1234567"), std::nullopt);
  EXPECT_EQ(parse_decimal("12a"), std::nullopt);
  EXPECT_EQ(parse_decimal(""), std::nullopt);
  EXPECT_EQ(parse_decimal("99999999999999999999"), std::nullopt);
}

TEST(Decimal, FormatsShortestExactForm) {
  EXPECT_EQ(format_decimal(7'500'000'000), "7500");
  EXPECT_EQ(format_decimal(7'500'000'000, 2), "7500.00");
  EXPECT_EQ(format_decimal(-1'500'000), "-1.5");
  EXPECT_EQ(format_decimal(1), "0.000001");
}

TEST(Decimal, ArithmeticIsExactAndChecked) {
  EXPECT_EQ(decimal_mul(*parse_decimal("0.1"), *parse_decimal("3")), parse_decimal("0.3"));
  EXPECT_EQ(decimal_div(*parse_decimal("1"), *parse_decimal("3")), parse_decimal("0.333333"));
  EXPECT_EQ(decimal_div(*parse_decimal("2"), *parse_decimal("3")), parse_decimal("0.666667"));  // half away from zero
  EXPECT_EQ(decimal_add(INT64_MAX, 1), std::nullopt);
  EXPECT_EQ(decimal_div(1, 0), std::nullopt);
}

TEST(Currency, KnowsIsoCodesAndMinorUnits) {
  auto inr = currency_from_code("INR");
  ASSERT_TRUE(inr);
  EXPECT_EQ(currency_name(*inr), "INR");
  EXPECT_EQ(currency_minor_digits(*inr), 2);
  EXPECT_EQ(currency_minor_digits(*currency_from_code("JPY")), 0);
  EXPECT_EQ(currency_minor_digits(*currency_from_code("KWD")), 3);
  EXPECT_EQ(currency_from_code("XYZ"), std::nullopt);
  EXPECT_EQ(currency_from_code("inr"), std::nullopt);
}

TEST(Time, ParsesIso8601WithZones) {
  EXPECT_EQ(parse_time("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_time("2026-11-20"), parse_time("2026-11-20T00:00:00Z"));
  EXPECT_EQ(parse_time("2026-11-20T10:15:00+05:30"), parse_time("2026-11-20T04:45:00Z"));
  EXPECT_EQ(parse_time("2025-04-02T11:30:45-05:00"), parse_time("2025-04-02T16:30:45Z"));
  EXPECT_EQ(*parse_time("2026-11-20T10:15:00.250Z") - *parse_time("2026-11-20T10:15:00Z"), 250);
  EXPECT_EQ(parse_time("2026-02-30"), std::nullopt);
  EXPECT_EQ(parse_time("2026-11-20T25:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_time("yesterday"), std::nullopt);
  EXPECT_EQ(format_time(*parse_time("2026-11-20T10:15:00+05:30")), "2026-11-20T04:45:00Z");
  EXPECT_EQ(format_time(-1000), "1969-12-31T23:59:59Z");
}

TEST(Duration, ParsesAndFormatsTheLanguagesSpelling) {
  EXPECT_EQ(parse_duration("90s"), 90'000);
  EXPECT_EQ(parse_duration("30m"), 1'800'000);
  EXPECT_EQ(parse_duration("24h"), 86'400'000);
  EXPECT_EQ(parse_duration("1h30m"), 5'400'000);
  EXPECT_EQ(parse_duration("30 minutes"), 1'800'000);
  EXPECT_EQ(parse_duration("7d"), 7 * 86'400'000LL);
  EXPECT_EQ(parse_duration("2 weeks"), 14 * 86'400'000LL);
  EXPECT_EQ(parse_duration("5 parsecs"), std::nullopt);
  EXPECT_EQ(format_duration(86'400'000), "24h");
  EXPECT_EQ(format_duration(2 * 86'400'000), "48h");
  EXPECT_EQ(format_duration(30LL * 86'400'000), "30d");
  EXPECT_EQ(format_duration(5'400'000), "1h30m");
  EXPECT_EQ(format_duration(-7'200'000), "-2h");
}

TEST(Ops, MoneyNeedsARateAcrossCurrencies) {
  auto inr = *currency_from_code("INR");
  auto sgd = *currency_from_code("SGD");
  Value a = Value::money(*parse_decimal("100"), inr);
  Value b = Value::money(*parse_decimal("1"), sgd);
  auto r = compare_values(CompareForm::Money, a, b, nullptr);
  ASSERT_TRUE(std::holds_alternative<OpFailure>(r));
  EXPECT_EQ(std::get<OpFailure>(r).message, "no exchange rate from SGD to INR");
}

TEST(Ops, IntegerOverflowIsAFailureNotWrapAround) {
  auto r = apply_arith(ArithForm::IntMul, Value::integer(INT64_MAX), Value::integer(2), nullptr, nullptr);
  ASSERT_TRUE(std::holds_alternative<OpFailure>(r));
}

TEST(Ops, TimeArithmetic) {
  Value t = Value::time(*parse_time("2026-11-20T10:00:00Z"));
  Value d = Value::duration(*parse_duration("2h"));
  auto later = std::get<Value>(apply_arith(ArithForm::TimeAdd, t, d, nullptr, nullptr));
  EXPECT_EQ(format_time(later.i), "2026-11-20T12:00:00Z");
  auto gap = std::get<Value>(apply_arith(ArithForm::TimeDiff, later, t, nullptr, nullptr));
  EXPECT_EQ(gap.kind, Value::Kind::Duration);
  EXPECT_EQ(gap.i, 7'200'000);
  auto scaled = std::get<Value>(apply_arith(ArithForm::DurationScale, d, Value::decimal(*parse_decimal("1.5")), nullptr, nullptr));
  EXPECT_EQ(scaled.i, 10'800'000);
}

}  // namespace
}  // namespace orderflow::model
