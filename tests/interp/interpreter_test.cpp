#include "compiler/interp/interpreter.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/testing/policy_tests.h"
#include "tests/interp/eval_helpers.h"

namespace orderflow::interp {
namespace {

using engine::Verdict;
using ::testing::HasSubstr;
using orderflow::testing::Harness;
using orderflow::testing::order_json;

Harness acceptance(const std::string& body) {
  return Harness::of_text("policy acceptance \"A\"\nversion \"7\"\n" + body + "\n");
}

TEST(Interpreter, FirstDecidingRuleWinsAndAnnotationsBeforeItApply) {
  auto h = acceptance(R"(
rule "Tag everything" then tag "seen"
rule "Express first" when order.delivery is express then set priority high
rule "Big" when order.total > 500 INR then hold "big"
rule "Bigger" when order.total > 800 INR then reject "bigger"
rule "Late tag" then tag "late"
otherwise accept)");
  auto o = h.accept(order_json(R"("delivery":"express")"));
  EXPECT_EQ(o.verdict, Verdict::Hold);
  EXPECT_EQ(o.reason, "big");
  EXPECT_EQ(o.deciding_rule_name, "Big");
  EXPECT_EQ(o.tags, std::vector<std::string>{"seen"});
  ASSERT_TRUE(o.priority);
  ASSERT_EQ(o.trace.size(), 3u);
  EXPECT_TRUE(o.trace[2].decided);
}

TEST(Interpreter, OtherwiseDecidesWhenNoRuleDoes) {
  auto h = acceptance("rule \"Big\" when order.total > 5000 INR then hold \"big\"\notherwise reject \"nothing\"");
  auto o = h.accept(order_json());
  EXPECT_EQ(o.verdict, Verdict::Reject);
  EXPECT_EQ(o.deciding_rule, -1);
  EXPECT_EQ(o.deciding_rule_name, "otherwise");
}

TEST(Interpreter, MissingValuesMakeComparisonsFalse) {
  auto h = acceptance(R"(
rule "Deadline soon" when order.dispatch_by < time("2030-01-01") then hold "soon"
rule "Not soon" when not (order.dispatch_by < time("2030-01-01")) then hold "not soon"
otherwise accept)");
  // Without dispatch_by the comparison is false, so `not` of it is true.
  auto o = h.accept(order_json());
  EXPECT_EQ(o.reason, "not soon");
  auto p = h.accept(order_json(R"("dispatch_by":"2026-11-21T00:00:00Z")"));
  EXPECT_EQ(p.reason, "soon");
}

TEST(Interpreter, IsMissingAndIsPresent) {
  auto h = acceptance(R"(
rule "No address" when order.ship_to is missing then hold "address"
rule "Has email" when order.customer.email is present then tag "email"
otherwise accept)");
  EXPECT_EQ(h.accept(R"({"id":"X","channel":"web","placed_at":"2026-11-20T10:00:00Z","total":{"amount":"1","currency":"INR"},"payment":{"method":"card"},"customer":{},"lines":[{"sku":"A","quantity":1,"unit_price":{"amount":"1","currency":"INR"}}]})").reason,
            "address");
  auto o = h.accept(order_json(R"("customer":{"email":"a@b.in"})"));
  EXPECT_EQ(o.verdict, Verdict::Accept);
  EXPECT_EQ(o.tags, std::vector<std::string>{"email"});
}

TEST(Interpreter, ThreeValuedBooleans) {
  // is_new defaults to false; a missing optional bool makes `or` depend on the other side.
  auto h = Harness::of_text(R"(policy acceptance "A"
extend record Customer
  vip: bool?
rule "VIP or big" when order.customer.vip or order.total > 500 INR then tag "vip_or_big"
rule "VIP and big" when order.customer.vip and order.total > 500 INR then tag "vip_and_big"
otherwise accept
)");
  auto o = h.accept(order_json());
  EXPECT_EQ(o.tags, std::vector<std::string>{"vip_or_big"});
}

TEST(Interpreter, QuantifiersOverLines) {
  auto h = acceptance(R"(
rule "Bulk" when any line in order.lines where line.quantity > 50 then reject "bulk"
rule "All cheap" when all line in order.lines where line.unit_price < 100 INR then tag "cheap"
rule "Many units" when sum(order.lines.quantity) >= 10 then hold "units"
otherwise accept)");
  auto bulk = h.accept(order_json(R"("lines":[{"sku":"A","quantity":2,"unit_price":{"amount":"10","currency":"INR"}},{"sku":"B","quantity":60,"unit_price":{"amount":"10","currency":"INR"}}])"));
  EXPECT_EQ(bulk.reason, "bulk");
  ASSERT_FALSE(bulk.trace[0].facts.empty());
  EXPECT_THAT(bulk.trace[0].facts[0], HasSubstr("line 2 (B) does"));
  auto units = h.accept(order_json(R"("lines":[{"sku":"A","quantity":4,"unit_price":{"amount":"10","currency":"INR"}},{"sku":"B","quantity":6,"unit_price":{"amount":"10","currency":"INR"}}])"));
  EXPECT_EQ(units.reason, "units");
  EXPECT_EQ(units.tags, std::vector<std::string>{"cheap"});
}

TEST(Interpreter, QuantifiersOverNothing) {
  // An order always has a line; its tags may be none. All over nothing is true, any is false.
  auto h = acceptance(R"(
rule "Any" when any t in order.tags where t == "x" then reject "any"
rule "All" when all t in order.tags where t == "x" then tag "all"
otherwise accept)");
  auto none = h.accept(order_json(R"("tags":[])"));
  EXPECT_EQ(none.verdict, Verdict::Accept);
  EXPECT_EQ(none.tags, std::vector<std::string>{"all"});
}

// An order in US dollars: its total and its line both.
std::string usd_order(const std::string& total) {
  return order_json(fmt::format(R"("total":{{"amount":"{0}","currency":"USD"}},"lines":[{{"sku":"TEE","quantity":1,)"
                                R"("unit_price":{{"amount":"{0}","currency":"USD"}}}}])",
                                total));
}

TEST(Interpreter, NoExchangeRateHoldsWithPolicyError) {
  auto h = acceptance("const limit = 5000 INR\nrule \"COD\" when order.total > limit then hold \"big\"\notherwise accept");
  auto o = h.accept(usd_order("80"));
  EXPECT_EQ(o.verdict, Verdict::Hold);
  EXPECT_EQ(o.reason, "policy_error");
  EXPECT_TRUE(o.policy_error);
  EXPECT_THAT(o.error, HasSubstr("no exchange rate from INR to USD"));
  EXPECT_EQ(o.trace.back().error, "no exchange rate from INR to USD");
}

TEST(Interpreter, ExchangeRatesFromTheBundle) {
  orderflow::testing::TempBundle b;
  b.write("a.flow", "policy acceptance \"A\"\nuse rates fx from \"fx.csv\"\nconst limit = 5000 INR\n"
                    "rule \"Big\" when order.total > limit then hold \"big\"\notherwise accept\n");
  b.write("fx.csv", "from,to,rate\nUSD,INR,84\n");
  auto h = Harness::of(b.check());
  EXPECT_EQ(h.accept(usd_order("60")).verdict, Verdict::Hold);  // 5040 INR
  EXPECT_EQ(h.accept(usd_order("59")).verdict, Verdict::Accept);
}

TEST(Interpreter, OverflowIsAPolicyErrorNotACrash) {
  auto h = acceptance("rule \"Huge\" when order.customer.rto_count * 9223372036854775807 > 1 then reject \"x\"\notherwise accept");
  auto o = h.accept(order_json(R"("customer":{"rto_count":5})"));
  EXPECT_TRUE(o.policy_error);
  EXPECT_EQ(o.reason, "policy_error");
}

TEST(Interpreter, DecisionTables) {
  auto h = Harness::of_text(R"(policy acceptance "A"
table dispatch_sla(channel: Channel, delivery: DeliveryMode) -> duration
  | channel  | delivery | sla |
  | amazon   | express  | 12h |
  | amazon   | *        | 24h |
  | *        | same_day | 4h  |
  | *        | *        | 48h |
rule "Late" when now > order.placed_at + dispatch_sla(order.channel, order.delivery) then tag "late"
otherwise accept
)");
  auto at = [&](const std::string& extra, const std::string& now) { return h.accept(order_json(extra), now).tags; };
  EXPECT_TRUE(at(R"("channel":"amazon","delivery":"express")", "2026-11-20T21:59:00Z").empty());
  EXPECT_EQ(at(R"("channel":"amazon","delivery":"express")", "2026-11-20T22:01:00Z").size(), 1u);
  EXPECT_TRUE(at(R"("channel":"amazon","delivery":"standard")", "2026-11-21T09:59:00Z").empty());
  EXPECT_EQ(at(R"("channel":"shopee","delivery":"same_day")", "2026-11-20T14:01:00Z").size(), 1u);
  EXPECT_TRUE(at(R"("channel":"shopee","delivery":"standard")", "2026-11-22T09:00:00Z").empty());
}

TEST(Interpreter, ComputedDefaultsSuchAsTimeInState) {
  auto h = Harness::of_text(R"(policy escalation "E"
rule "Held too long" when order.state is held and order.time_in_state > 12h then escalate to "risk-lead"
)");
  auto held = order_json(R"("state":"held","state_since":"2026-11-20T00:00:00Z")");
  EXPECT_TRUE(h.run(check::PolicyKind::Escalation, held, "2026-11-20T11:00:00Z").notifications.empty());
  auto late = h.run(check::PolicyKind::Escalation, held, "2026-11-20T13:00:00Z");
  ASSERT_EQ(late.notifications.size(), 1u);
  EXPECT_TRUE(late.notifications[0].escalation);
  EXPECT_EQ(late.notifications[0].who, "risk-lead");
  // Without state_since the time in state is unknown, so nothing fires.
  EXPECT_TRUE(h.run(check::PolicyKind::Escalation, order_json(R"("state":"held")"), "2026-12-01T00:00:00Z")
                  .notifications.empty());
}

TEST(Interpreter, EscalationFiresEveryMatchingRule) {
  auto h = Harness::of_text(R"(policy escalation "E"
rule "Close" when order.state in [accepted, allocated] and order.dispatch_by - now < 2h then notify "ops-oncall" priority high
rule "Breached" when order.state in [accepted, allocated, packed] and now > order.dispatch_by then notify "ops-manager"
     tag "sla_breached"
)");
  auto o = h.run(check::PolicyKind::Escalation,
                 order_json(R"("state":"accepted","dispatch_by":"2026-11-20T12:00:00Z")"), "2026-11-20T12:30:00Z");
  ASSERT_EQ(o.notifications.size(), 2u);
  EXPECT_EQ(o.notifications[0].who, "ops-oncall");
  EXPECT_EQ(o.notifications[1].who, "ops-manager");
  EXPECT_EQ(o.tags, std::vector<std::string>{"sla_breached"});
  EXPECT_EQ(o.verdict, Verdict::None);
}

TEST(Interpreter, StringFunctionsAndHours) {
  auto h = acceptance(R"(
rule "North" when prefix(order.ship_to.postal_code, 2) in ["11", "12"] then tag "north"
rule "Evening" when hour(order.placed_at) >= 14 then tag "evening"
rule "Long id" when length(order.id) > 3 and starts_with(order.id, "T-") then tag "id"
otherwise accept)");
  auto o = h.accept(order_json(R"("placed_at":"2026-11-20T15:30:00Z","ship_to":{"postal_code":"110001"})"));
  EXPECT_EQ(o.tags, (std::vector<std::string>{"north", "evening"}));
  auto p = h.accept(order_json(R"("id":"T-123")"));
  EXPECT_EQ(p.tags, std::vector<std::string>{"id"});
}

TEST(Interpreter, ExplainShowsTheValuesBehindEachCondition) {
  auto h = acceptance("const cod_limit = 5000 INR\nrule \"High-value COD\" when order.payment.method is cod and order.total > cod_limit then hold \"cod\"\notherwise accept");
  auto o = h.accept(order_json(R"("payment":{"method":"cod"},"total":{"amount":"7500","currency":"INR"})"));
  ASSERT_EQ(o.trace.size(), 1u);
  EXPECT_THAT(o.trace[0].facts, ::testing::ElementsAre(
                                    "order.payment.method is cod: true (order.payment.method = cod)",
                                    "order.total > cod_limit: true (order.total = 7500.00 INR, cod_limit = 5000.00 INR)"));
  std::string text = engine::explain_text(*h.bundle, o, nullptr);
  EXPECT_THAT(text, HasSubstr("acceptance policy \"A\", version 7"));
  EXPECT_THAT(text, HasSubstr("Decision: hold \"cod\" (rule \"High-value COD\")"));
}

TEST(Interpreter, TheTestsOfTheExampleBundlePass) {
  auto out = check::check_bundle({std::string(ORDERFLOW_SOURCE_DIR) + "/examples/marketplace"});
  auto h = Harness::of(std::move(out));
  ASSERT_TRUE(h.interpreter);
  auto results = runtime::run_policy_tests(*h.interpreter);
  EXPECT_GE(results.size(), 20u);
  for (const auto& r : results) EXPECT_TRUE(r.passed) << r.name << ": " << (r.failures.empty() ? "" : r.failures[0]);
  for (const jit::JitEngine* jit : {h.compiled.baseline.get(), h.compiled.optimised.get()}) {
    auto compiled = runtime::run_policy_tests(*jit);
    ASSERT_EQ(compiled.size(), results.size());
    for (size_t i = 0; i < results.size(); ++i) EXPECT_EQ(compiled[i].passed, results[i].passed) << results[i].name;
  }
}

}  // namespace
}  // namespace orderflow::interp
