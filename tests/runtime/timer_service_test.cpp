// The Asio timer service fires the engine's durable timers by itself: an
// overdue hold times out as soon as the service runs, and when no timer is
// left the service has nothing to wait for.
#include <gmock/gmock.h>

#include <boost/asio/io_context.hpp>

#include "runtime/engine/timer_service.h"
#include "tests/runtime/engine_fixture.h"

namespace orderflow::runtime::testing {
namespace {

using TimerServiceTest = EngineTest;

TEST_P(TimerServiceTest, FiresDueTimersWithoutBeingAsked) {
  submit(example_order("flipkart-cod-high-value.json"), "2026-11-20T05:10:00Z");
  submit(example_order("shopify-cod-repeat-rto.json"), "2026-11-20T05:20:00Z");
  ASSERT_EQ(order("FK-OD33120099812").state, "held");
  // The clock is two days on: both orders' timers are due (the system clock is later still).
  clock_.set(at("2026-11-22T06:00:00Z"));
  boost::asio::io_context io;
  std::vector<Ack> fired;
  TimerService service(io, *engine_, clock_, [&](const std::vector<Ack>& acks) {
    fired.insert(fired.end(), acks.begin(), acks.end());
  });
  service.rearm();
  io.run_for(std::chrono::seconds(5));
  EXPECT_EQ(order("FK-OD33120099812").state, "cancelled");
  EXPECT_FALSE(fired.empty());
  EXPECT_TRUE(store_->due_timers(clock_.now(), 10).empty());
}

INSTANTIATE_TEST_SUITE_P(Engines, TimerServiceTest, ::testing::Values("interp"));

}  // namespace
}  // namespace orderflow::runtime::testing
