#include "compiler/model/data.h"

#include <gtest/gtest.h>

namespace orderflow::model {
namespace {

TEST(StringSet, MembershipWithoutCopies) {
  StringSet s({"110001", "400001", "560001", "110001"});
  EXPECT_EQ(s.size(), 3u);
  EXPECT_TRUE(s.contains("400001"));
  EXPECT_FALSE(s.contains("400002"));
  EXPECT_FALSE(s.contains(""));
  StringSet empty;
  EXPECT_FALSE(empty.contains("x"));
}

TEST(StringSet, ManyValues) {
  std::vector<std::string> values;
  for (int i = 0; i < 5000; ++i) values.push_back(std::to_string(100000 + i * 7));
  StringSet s(values);
  for (int i = 0; i < 5000; ++i) ASSERT_TRUE(s.contains(std::to_string(100000 + i * 7)));
  EXPECT_FALSE(s.contains("100001"));
}

TEST(GeoTable, FallsBackToShorterPrefixes) {
  GeoTable g;
  g.add("560001", {12.9758, 77.6045});
  g.add("560", {12.97, 77.59});
  EXPECT_DOUBLE_EQ(g.locate("560001")->lat, 12.9758);
  EXPECT_DOUBLE_EQ(g.locate("560099")->lat, 12.97);
  EXPECT_DOUBLE_EQ(g.locate("560 001")->lat, 12.9758);
  EXPECT_FALSE(g.locate("999999"));
}

TEST(GreatCircle, DelhiToMumbai) {
  double m = great_circle_metres({28.6139, 77.2090}, {18.9388, 72.8354});
  EXPECT_NEAR(m / 1000, 1164, 2);
}

TEST(RateTable, ConvertsBothWays) {
  RateTable r;
  auto sgd = *currency_from_code("SGD");
  auto inr = *currency_from_code("INR");
  r.add(sgd, inr, *parse_decimal("64.20"));
  EXPECT_EQ(r.convert(*parse_decimal("10"), sgd, inr), parse_decimal("642"));
  EXPECT_EQ(r.convert(*parse_decimal("642"), inr, sgd), parse_decimal("10"));
  EXPECT_EQ(r.convert(1, sgd, *currency_from_code("USD")), std::nullopt);
}

}  // namespace
}  // namespace orderflow::model
