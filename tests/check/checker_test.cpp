#include "compiler/check/checker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/check/check_helpers.h"

namespace orderflow::check {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using orderflow::testing::check_text;
using orderflow::testing::codes;
using orderflow::testing::rendered;
using orderflow::testing::TempBundle;

const char* kHeader = "policy acceptance \"A\"\n";

CheckOutcome acceptance(const std::string& rules) {
  return check_text(std::string(kHeader) + rules + "\notherwise accept\n");
}

TEST(Checker, TheStandardLibraryIsCleanOnItsOwn) {
  auto out = acceptance("");
  EXPECT_TRUE(out.ok()) << rendered(out);
  EXPECT_TRUE(out.diagnostics.empty()) << rendered(out);
  ASSERT_TRUE(out.bundle->machine);
  EXPECT_EQ(out.bundle->machine->name, "order_lifecycle");
}

TEST(Checker, MoneyComparedWithAPlainNumber) {
  auto out = acceptance("rule \"r\" when order.total > 5000 then reject \"x\"");
  ASSERT_THAT(codes(out), ElementsAre("E0301"));
  const Diagnostic& d = out.diagnostics.all()[0];
  EXPECT_EQ(d.message, "cannot compare money with a plain number");
  EXPECT_EQ(d.hint, "write the currency, for example 5000 INR");
  EXPECT_EQ(d.range.begin.column, 29u);  // under the 5000
}

TEST(Checker, MoneyComparedWithACurrencyLessConstant) {
  auto out = acceptance("const limit = 5000\nrule \"r\" when order.total > limit then reject \"x\"");
  EXPECT_THAT(codes(out), ElementsAre("E0301"));
}

TEST(Checker, DurationComparedWithDistance) {
  auto out = acceptance("rule \"r\" when order.time_in_state > 15 km then reject \"x\"");
  EXPECT_THAT(codes(out), ElementsAre("E0302"));
  EXPECT_EQ(out.diagnostics.all()[0].message, "cannot compare a duration with a distance");
}

TEST(Checker, MinutesWrittenWhereMetresWereMeant) {
  auto out = check_text(R"(policy routing "R"
rule "r" then route from nodes where distance(node, order.ship_to) < 800m else backorder
)");
  ASSERT_THAT(codes(out), Contains("E0302"));
  EXPECT_THAT(rendered(out), ::testing::HasSubstr("`800m` is minutes; for metres write `800 m` with a space"));
}

TEST(Checker, MisspelledFieldGetsASuggestion) {
  auto out = acceptance("rule \"r\" when order.custmer.is_new then reject \"x\"");
  ASSERT_THAT(codes(out), ElementsAre("E0102"));
  EXPECT_EQ(out.diagnostics.all()[0].message, "order has no field 'custmer'");
  EXPECT_EQ(out.diagnostics.all()[0].hint, "did you mean 'customer'?");
}

TEST(Checker, UnknownEnumValueAndName) {
  auto out = acceptance("rule \"r\" when order.payment.method is cdo then reject \"x\"\n"
                        "rule \"s\" when ordr.total > 5 INR then reject \"y\"");
  EXPECT_THAT(codes(out), ElementsAre("E0103", "E0101"));
  EXPECT_EQ(out.diagnostics.all()[0].hint, "did you mean 'cod'?");
  EXPECT_EQ(out.diagnostics.all()[1].hint, "did you mean 'order'?");
}

TEST(Checker, EnumValuesResolveByTheExpectedType) {
  // `store` is both a channel and a node kind.
  auto out = check_text(R"(policy routing "R"
rule "r" when order.channel is store
  then route from nodes where node.kind is store else backorder
)");
  EXPECT_TRUE(out.ok()) << rendered(out);
  auto bare = acceptance("rule \"r\" when store then reject \"x\"");
  EXPECT_THAT(codes(bare), ElementsAre("E0107"));
}

TEST(Checker, MissingOtherwiseInAcceptance) {
  auto out = check_text("policy acceptance \"A\"\nrule \"r\" when order.customer.is_new then accept\n");
  EXPECT_THAT(codes(out), ElementsAre("E0201"));
}

TEST(Checker, RuleThatCanNeverDecide) {
  auto out = acceptance("rule \"Everything\" then accept\nrule \"Default express\" when order.delivery is express then hold \"x\"");
  ASSERT_THAT(codes(out), ElementsAre("W0401"));
  EXPECT_EQ(out.diagnostics.all()[0].message,
            "rule \"Default express\" can never decide: rule \"Everything\" above always matches");
  EXPECT_TRUE(out.ok());  // a warning does not stop a bundle
}

TEST(Checker, RuleCoveredByABroaderThresholdAbove) {
  auto out = acceptance("rule \"Big\" when order.total > 5000 INR then hold \"big\"\n"
                        "rule \"Bigger\" when order.total > 10000 INR and order.customer.is_new then reject \"x\"\n"
                        "rule \"Smaller\" when order.total > 1000 INR then hold \"small\"");
  EXPECT_THAT(codes(out), ElementsAre("W0401"));
  EXPECT_THAT(out.diagnostics.all()[0].message, ::testing::HasSubstr("rule \"Bigger\" can never decide"));
}

TEST(Checker, AnnotatingRulesDoNotShadow) {
  auto out = acceptance("rule \"p\" then set priority high\nrule \"r\" when order.customer.is_new then reject \"x\"");
  EXPECT_TRUE(out.diagnostics.empty()) << rendered(out);
}

TEST(Checker, DuplicateRuleNames) {
  auto out = acceptance("rule \"r\" when order.customer.is_new then reject \"x\"\nrule \"r\" when order.customer.rto_count > 2 then reject \"y\"");
  EXPECT_THAT(codes(out), ElementsAre("E0109"));
}

TEST(Checker, HoldForNeedsATimeoutAndViceVersa) {
  auto out = acceptance("rule \"r\" when order.customer.is_new then hold \"x\" for 2h");
  EXPECT_THAT(codes(out), ElementsAre("E0204"));
  auto wrong = acceptance("rule \"r\" when order.customer.is_new then hold \"x\" for 2h on timeout backorder");
  EXPECT_THAT(codes(wrong), Contains("E0204"));
}

TEST(Checker, DecisionsBelongToTheirPolicy) {
  auto out = check_text(R"(policy escalation "E"
rule "r" when order.state is held then cancel "no")");
  EXPECT_THAT(codes(out), Contains("E0202"));
  auto routing = check_text("policy routing \"R\"\nrule \"r\" then accept\n");
  EXPECT_THAT(codes(routing), Contains("E0202"));
}

TEST(Checker, NonExhaustiveTableNamesTheInput) {
  auto out = check_text(R"(table sla(channel: Channel, delivery: DeliveryMode) -> duration
  | channel  | delivery | sla |
  | amazon   | *        | 24h |
  | *        | express  | 12h |
)");
  ASSERT_THAT(codes(out), ElementsAre("E0502"));
  EXPECT_THAT(out.diagnostics.all()[0].message,
              ::testing::HasSubstr("table sla has no row for channel = flipkart, delivery = standard"));
}

TEST(Checker, UnreachableTableRow) {
  auto out = check_text(R"(table fee(total: money) -> decimal
  | total       | fee |
  | < 500 INR   | 40  |
  | < 400 INR   | 30  |
  | *           | 0   |
)");
  EXPECT_THAT(codes(out), ElementsAre("W0501"));
  EXPECT_EQ(out.diagnostics.all()[0].range.begin.line, 4u);
}

TEST(Checker, NumericTableRangesAreCheckedAtTheirEdges) {
  auto gap = check_text(R"(table band(qty: int) -> string
  | qty   | band    |
  | < 10  | "small" |
  | > 10  | "large" |
)");
  ASSERT_THAT(codes(gap), ElementsAre("E0502"));
  EXPECT_THAT(gap.diagnostics.all()[0].message, ::testing::HasSubstr("qty = 10"));
}

TEST(Checker, MachineProblems) {
  auto out = check_text(R"(machine m
  initial new
  new -> accepted | held | rejected | cancelled by acceptance
  held -> accepted on release
  accepted -> shipped on ship
  lost -> shipped on deliver
  shipped -> delivered on shipp
  terminal rejected, cancelled, delivered
)");
  auto c = codes(out);
  EXPECT_THAT(c, Contains("W0601"));  // lost
  EXPECT_THAT(c, Contains("E0608"));  // shipp
  EXPECT_THAT(rendered(out), ::testing::HasSubstr("did you mean 'ship'?"));
  auto dead = check_text("machine m\n  initial new\n  new -> limbo on release\n  new -> done on cancel\n  terminal done\n");
  EXPECT_THAT(codes(dead), Contains("E0602"));
}

TEST(Checker, DecisionWithoutATransition) {
  auto out = check_text(R"(policy routing "R"
rule "r" then route from nodes else hold "no_node"
machine m
  initial new
  new -> accepted by acceptance
  accepted -> allocated | backordered by routing
  allocated -> done on ship
  backordered -> allocated on restock
  [new, accepted] -> done on cancel
  held -> accepted on release
  held -> accepted on timeout
  terminal done
)");
  ASSERT_THAT(codes(out), Contains("E0604"));
  EXPECT_THAT(rendered(out), ::testing::HasSubstr("no `by routing` transition to 'held'"));
}

TEST(Checker, ExtendRecordAddsFieldsWithoutACompilerChange) {
  auto out = acceptance("rule \"r\" when order.gift_wrap and order.marketplace_fee > 50 INR then hold \"gift\"");
  EXPECT_THAT(codes(out), ElementsAre("E0102", "E0102"));
  auto extended = check_text(std::string(kHeader) +
                             "rule \"r\" when order.gift_wrap and order.marketplace_fee > 50 INR then hold \"gift\"\n"
                             "otherwise accept\n"
                             "extend record Order\n  gift_wrap: bool = false\n  marketplace_fee: money?\n");
  EXPECT_TRUE(extended.ok()) << rendered(extended);
  const auto& order = extended.bundle->schema.record_def(extended.bundle->order_record);
  EXPECT_GE(order.find("gift_wrap"), 0);
}

TEST(Checker, IsMissingOnARequiredFieldIsAlwaysFalse) {
  auto out = acceptance("rule \"r\" when order.id is missing then reject \"x\"");
  EXPECT_THAT(codes(out), ElementsAre("W0308"));
}

TEST(Checker, WhereClauseThatForgetsItsVariable) {
  auto out = acceptance(
      "rule \"r\" when any line in order.lines where line.quantity > 20 and order.customer.is_new then hold \"x\"");
  EXPECT_THAT(codes(out), ElementsAre("W0403"));
}

TEST(Checker, DataFilesMissingOrMalformed) {
  TempBundle b;
  b.write("a.flow", "policy acceptance \"A\"\nuse list blocked from \"data/blocked.csv\"\n"
                    "use geo pins from \"data/pins.csv\"\nuse list nums of int from \"data/nums.csv\"\notherwise accept\n");
  b.write("data/pins.csv", "postal_code,lat,lon\n110001,28.6,77.2\n400001,north,72.8\n");
  b.write("data/nums.csv", "1\n2\n3,4\n");
  auto out = b.check();
  auto c = codes(out);
  EXPECT_THAT(c, Contains("E0701"));
  EXPECT_THAT(c, Contains("E0703"));
  EXPECT_THAT(c, Contains("E0702"));
  std::string text = rendered(out);
  EXPECT_THAT(text, ::testing::HasSubstr("pins.csv:3:8: error[E0703]: 'north' is not a latitude"));
  EXPECT_THAT(text, ::testing::HasSubstr("nums.csv:3:3: error[E0702]: expected one value a line, found 2"));
}

TEST(Checker, EveryErrorInOneRunAcrossFiles) {
  TempBundle b;
  b.write("a.flow", "policy acceptance \"A\"\nrule \"r\" when order.totl > 5 INR then reject \"x\"\n");
  b.write("b.flow", "const x = 5 XYZ\n");
  b.write("c.flow", "policy routing \"R\"\nrule \"s\" when order.delivery is fast then backorder\n");
  auto out = b.check();
  EXPECT_FALSE(out.ok());
  auto c = codes(out);
  EXPECT_THAT(c, Contains("E0201"));
  EXPECT_THAT(c, Contains("E0102"));
  EXPECT_THAT(c, Contains("E0309"));
  EXPECT_THAT(c, Contains("E0103"));
}

TEST(Checker, ABundleWithErrorsYieldsNoBundle) {
  auto out = acceptance("rule \"r\" when order.total > 5000 then reject \"x\"");
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(out.bundle, nullptr);
}

TEST(Checker, TypedDumpDoesNotDependOnLayout) {
  auto a = acceptance("rule \"r\" when order.total > 5000 INR and order.customer.is_new then hold \"x\"");
  auto b = acceptance("rule \"r\"\n   when order.total>5000 INR\n    and order.customer.is_new\n   then hold \"x\"   # note");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(dump_typed(*a.bundle), dump_typed(*b.bundle));
}

TEST(Checker, ContentHashChangesWithTheText) {
  auto a = acceptance("rule \"r\" when order.customer.is_new then hold \"x\"");
  auto b = acceptance("rule \"r\" when order.customer.is_new then hold \"y\"");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a.bundle->content_hash.size(), 64u);
  EXPECT_NE(a.bundle->content_hash, b.bundle->content_hash);
}

}  // namespace
}  // namespace orderflow::check
