#include "compiler/support/suggest.h"

#include <gtest/gtest.h>

namespace orderflow {
namespace {

TEST(Suggest, FindsTyposWithinReach) {
  std::vector<std::string> fields = {"id", "channel", "customer", "payment", "ship_to"};
  EXPECT_EQ(closest_match("custmer", fields), "customer");
  EXPECT_EQ(closest_match("chanel", fields), "channel");
  EXPECT_EQ(closest_match("shpi_to", fields), "ship_to");  // a swap counts once
  EXPECT_EQ(closest_match("warehouse", fields), std::nullopt);
  EXPECT_EQ(did_you_mean("paymnet", fields), "did you mean 'payment'?");
  EXPECT_EQ(did_you_mean("zzz", fields), "");
}

TEST(Suggest, JoinsAlternatives) {
  EXPECT_EQ(join_alternatives({"a"}), "a");
  EXPECT_EQ(join_alternatives({"a", "b", "c"}), "a, b or c");
  EXPECT_EQ(join_alternatives({"a", "b"}, " and "), "a and b");
}

}  // namespace
}  // namespace orderflow
