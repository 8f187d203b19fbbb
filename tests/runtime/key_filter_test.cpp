// The filter that spares the store a look for intake keys and order ids
// never seen: it may say "maybe" wrongly, now and then, but never "no" to
// a text it was given, or the engine would take a redelivered order twice.
#include "runtime/engine/key_filter.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace orderflow::runtime {
namespace {

TEST(KeyFilter, NeverSaysNoToATextItWasGiven) {
  KeyFilter filter(100'000);
  for (int i = 0; i < 100'000; ++i) filter.add(fmt::format("shopify|{}|order", 450789469 + i));
  for (int i = 0; i < 100'000; ++i)
    ASSERT_TRUE(filter.may_contain(fmt::format("shopify|{}|order", 450789469 + i))) << i;
  EXPECT_EQ(filter.added(), 100'000u);
  EXPECT_FALSE(filter.crowded());
}

TEST(KeyFilter, MostlySaysNoToTextsItWasNotGiven) {
  KeyFilter filter(100'000);
  for (int i = 0; i < 100'000; ++i) filter.add(fmt::format("AMZ-407-{:07}", i));
  int maybe = 0;
  for (int i = 0; i < 100'000; ++i) maybe += filter.may_contain(fmt::format("AMZ-408-{:07}", i));
  EXPECT_LT(maybe, 3'000) << "more than 3% false maybes: the filter spares little";
}

TEST(KeyFilter, SaysWhenItHoldsMoreThanItWasMadeFor) {
  KeyFilter filter(10);
  for (int i = 0; i < 11; ++i) filter.add(std::to_string(i));
  EXPECT_TRUE(filter.crowded());
}

}  // namespace
}  // namespace orderflow::runtime
