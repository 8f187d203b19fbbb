// When a clock-reading condition turns true: solved for comparisons that
// move with the clock, bisected for the rest, to the millisecond either way
// (strict comparisons turn one millisecond after the boundary).
#include <gtest/gtest.h>

#include "compiler/check/checker.h"
#include "compiler/interp/interpreter.h"
#include "runtime/canonical/order_json.h"
#include "runtime/engine/deadline.h"
#include "tests/runtime/engine_fixture.h"

namespace orderflow::runtime {
namespace {

constexpr int64_t kYear = 366LL * 24 * 3600 * 1000;

using testing::at;

class Deadline : public ::testing::Test {
 protected:
  // The moment the escalation rule named `rule` of `policy` first holds for
  // the example's Amazon order (placed 2026-11-20T03:42:00Z), looking from `from`.
  std::optional<int64_t> first_moment(const std::string& conditions, const std::string& rule, int64_t from) {
    check::CheckOptions options;
    options.overlay["t/escalation.flow"] = "policy escalation \"T\"\n" + conditions;
    check::CheckOutcome out = check::check_bundle({"t/escalation.flow"}, options);
    EXPECT_TRUE(out.ok());
    if (!out.ok()) return std::nullopt;
    auto bundle = std::shared_ptr<const check::CheckedBundle>(std::move(out.bundle));
    interp::Interpreter engine(bundle);
    auto image = std::get<OrderImage>(decode_order(*bundle, testing::example_order("amazon-express-prepaid.json")));
    const check::Policy* p = bundle->policy(check::PolicyKind::Escalation);
    for (const check::Rule& r : p->rules)
      if (r.name == rule) return next_moment_true(engine, *r.when, p->slot_count, image.data(), from, kYear);
    ADD_FAILURE() << "no rule " << rule;
    return std::nullopt;
  }
};

TEST_F(Deadline, ComparisonsThatMoveWithTheClockTurnToTheMillisecond) {
  std::string rules = R"(
rule "after" when now > order.placed_at + 12h then notify "a"
rule "at or after" when now >= order.placed_at + 12h then notify "a"
rule "sides swapped" when order.placed_at + 12h < now then notify "a"
rule "less than left" when order.placed_at + 30h - now < 2h then notify "a"
rule "at most left" when order.placed_at + 30h - now <= 2h then notify "a"
rule "age" when now - order.placed_at >= 90m then notify "a"
)";
  int64_t from = at("2026-11-20T04:00:00Z");
  EXPECT_EQ(first_moment(rules, "after", from), at("2026-11-20T15:42:00Z") + 1);
  EXPECT_EQ(first_moment(rules, "at or after", from), at("2026-11-20T15:42:00Z"));
  EXPECT_EQ(first_moment(rules, "sides swapped", from), at("2026-11-20T15:42:00Z") + 1);
  EXPECT_EQ(first_moment(rules, "less than left", from), at("2026-11-21T07:42:00Z") + 1);
  EXPECT_EQ(first_moment(rules, "at most left", from), at("2026-11-21T07:42:00Z"));
  EXPECT_EQ(first_moment(rules, "age", from), at("2026-11-20T05:12:00Z"));
}

TEST_F(Deadline, WhatDoesNotMoveWithTheClockIsStillFound) {
  std::string rules = R"(
rule "twice as fast" when (now - order.placed_at) * 2 > 4h then notify "a"
rule "passed" when now > order.placed_at then notify "a"
rule "with another condition" when order.total > 1 INR and now > order.placed_at + 1d then notify "a"
)";
  int64_t from = at("2026-11-20T04:00:00Z");
  EXPECT_EQ(first_moment(rules, "twice as fast", from), at("2026-11-20T05:42:00Z") + 1) << "bisected";
  EXPECT_EQ(first_moment(rules, "passed", from), std::nullopt) << "true already: it does not turn true";
  EXPECT_EQ(first_moment(rules, "with another condition", from), at("2026-11-21T03:42:00Z") + 1);
}

}  // namespace
}  // namespace orderflow::runtime
