#include "compiler/syntax/parser.h"

#include <gtest/gtest.h>

namespace orderflow::syntax {
namespace {

struct Parsed {
  SourceManager sources;
  Diagnostics diagnostics;
  ParsedFile file;
};

std::unique_ptr<Parsed> parse(const std::string& text) {
  auto p = std::make_unique<Parsed>();
  FileId id = p->sources.add("test.flow", text);
  p->file = parse_file(p->sources, id, p->diagnostics);
  return p;
}

std::vector<std::string> token_kinds(const std::string& text) {
  SourceManager sources;
  FileId id = sources.add("t.flow", text);
  std::vector<std::string> out;
  for (const Token& t : tokenize(sources, id))
    if (t.token_class != TokenClass::Whitespace) out.push_back(t.kind);
  return out;
}

TEST(Lexer, UnitsStickToNumbers) {
  EXPECT_EQ(token_kinds("5000 INR"), std::vector<std::string>{"MONEY"});
  EXPECT_EQ(token_kinds("19.99 USD"), std::vector<std::string>{"MONEY"});
  EXPECT_EQ(token_kinds("24h"), std::vector<std::string>{"DURATION"});
  EXPECT_EQ(token_kinds("1h30m"), std::vector<std::string>{"DURATION"});
  EXPECT_EQ(token_kinds("30 minutes"), std::vector<std::string>{"DURATION"});
  EXPECT_EQ(token_kinds("15 km"), std::vector<std::string>{"DISTANCE"});
  EXPECT_EQ(token_kinds("800 m"), std::vector<std::string>{"DISTANCE"});
}

TEST(Lexer, ThirtyMIsMinutesAndThirtySpaceMIsMetres) {
  EXPECT_EQ(token_kinds("30m"), std::vector<std::string>{"DURATION"});
  EXPECT_EQ(token_kinds("30 m"), std::vector<std::string>{"DISTANCE"});
}

TEST(Lexer, AUnitNeverEatsTheStartOfAName) {
  EXPECT_EQ(token_kinds("5 max"), (std::vector<std::string>{"INT", "IDENT"}));
  EXPECT_EQ(token_kinds("2 units"), (std::vector<std::string>{"INT", "UNITS"}));
  EXPECT_EQ(token_kinds("50\n  then"), (std::vector<std::string>{"INT", "THEN"}));
}

TEST(Parser, TheTourAcceptancePolicy) {
  auto p = parse(R"(policy acceptance "Marketplace order acceptance"
version "2026.11-3"
owner "ops-risk@brand.example"
use list blocked_pincodes from "data/blocked_pincodes.csv"
const cod_limit = 5000 INR
rule "High-value COD"
  when order.payment.method is cod
   and order.total > cod_limit
  then hold "cod_confirmation" for 24h
       on timeout cancel "COD not confirmed"
rule "Marketplace express goes first"
  when order.channel in [amazon, flipkart] and order.delivery is express
  then set priority high
otherwise accept
)");
  ASSERT_TRUE(p->diagnostics.empty()) << render_text(p->diagnostics, p->sources);
  ASSERT_EQ(p->file.policies.size(), 1u);
  const Policy& policy = p->file.policies[0];
  EXPECT_EQ(policy.kind, "acceptance");
  EXPECT_EQ(policy.version, "2026.11-3");
  EXPECT_EQ(policy.owner, "ops-risk@brand.example");
  ASSERT_EQ(policy.rules.size(), 2u);
  const Rule& cod = policy.rules[0];
  EXPECT_EQ(cod.name, "High-value COD");
  ASSERT_TRUE(cod.when);
  EXPECT_EQ(cod.when->kind, ExprKind::Binary);
  EXPECT_EQ(cod.when->binary_op, BinaryOp::And);
  EXPECT_EQ(cod.when->args[0]->kind, ExprKind::Is);
  ASSERT_EQ(cod.actions.size(), 1u);
  const Decision& d = cod.actions[0].decision;
  EXPECT_EQ(d.kind, DecisionKind::Hold);
  EXPECT_EQ(d.reason, "cod_confirmation");
  ASSERT_TRUE(d.hold_for);
  ASSERT_TRUE(d.on_timeout);
  EXPECT_EQ(d.on_timeout->kind, DecisionKind::Cancel);
  EXPECT_EQ(policy.rules[1].actions[0].kind, ActionKind::SetPriority);
  ASSERT_EQ(policy.otherwise.size(), 1u);
  EXPECT_EQ(p->file.uses.size(), 1u);
  EXPECT_EQ(p->file.consts.size(), 1u);
}

TEST(Parser, RoutingClauses) {
  auto p = parse(R"(policy routing "R"
rule "Standard"
  then route from nodes where node.active
       prefer nearest then cheapest then lowest node.priority
       split at most 2
       keep 2 units safety stock
       else backorder
)");
  ASSERT_TRUE(p->diagnostics.empty()) << render_text(p->diagnostics, p->sources);
  const RouteSpec& r = p->file.policies[0].rules[0].actions[0].route;
  ASSERT_TRUE(r.filter);
  ASSERT_EQ(r.prefer.size(), 3u);
  EXPECT_EQ(r.prefer[2].kind, Preference::Kind::Lowest);
  EXPECT_EQ(r.split, RouteSpec::Split::AtMost);
  ASSERT_TRUE(r.safety_stock);
  ASSERT_TRUE(r.else_decision);
  EXPECT_EQ(r.else_decision->kind, DecisionKind::Backorder);
}

TEST(Parser, TablesMachinesAndRecords) {
  auto p = parse(R"(table sla(channel: Channel, delivery: DeliveryMode) -> duration
  | channel | delivery | sla |
  |---------|----------|-----|
  | amazon  | express  | 12h |
  | *       | *        | 48h |
machine m
  initial new
  new -> accepted | held by acceptance
  delivered -> return_requested on return_request when now < order.delivered_at + 30d
  [new, held] -> cancelled on cancel
  terminal cancelled
extend record Order
  gift_wrap: bool = false
  marketplace_fee: money?
extend enum OrderEvent
  cod_confirmed
)");
  ASSERT_TRUE(p->diagnostics.empty()) << render_text(p->diagnostics, p->sources);
  ASSERT_EQ(p->file.tables.size(), 1u);
  EXPECT_EQ(p->file.tables[0].rows.size(), 4u);
  EXPECT_EQ(p->file.tables[0].rows[1].cells[0].kind, TableCell::Kind::Dashes);
  ASSERT_EQ(p->file.machines.size(), 1u);
  const Machine& m = p->file.machines[0];
  ASSERT_EQ(m.transitions.size(), 3u);
  EXPECT_EQ(m.transitions[0].targets.size(), 2u);
  EXPECT_TRUE(m.transitions[1].guard);
  EXPECT_EQ(m.transitions[2].sources.size(), 2u);
  EXPECT_EQ(m.transitions[2].event->name, "cancel");  // a keyword serves as an event name
  ASSERT_EQ(m.terminals.size(), 1u);
  ASSERT_EQ(p->file.records.size(), 1u);
  EXPECT_TRUE(p->file.records[0].fields[1].optional);
  ASSERT_EQ(p->file.enums.size(), 1u);
  EXPECT_TRUE(p->file.enums[0].extend);
}

TEST(Parser, CommentsAboveAnItemAreItsDocumentation) {
  auto p = parse("# The COD limit.\n# In rupees.\nconst cod_limit = 5000 INR   # trailing\n\n# detached\n\nconst x = 1\n");
  ASSERT_EQ(p->file.consts.size(), 2u);
  EXPECT_EQ(p->file.consts[0].doc, "The COD limit.\nIn rupees.");
  EXPECT_EQ(p->file.consts[1].doc, "");
}

TEST(Parser, ReportsEverySyntaxErrorAndKeepsTheGoodItems) {
  auto p = parse(R"(policy acceptance "A"
rule "Missing then"
  when order.total > 5000 INR
  reject "x"
rule "Equals"
  when order.channel = amazon
  then accept
rule "Good"
  when order.customer.is_new
  then hold "h"
otherwise accept
)");
  EXPECT_TRUE(p->file.had_syntax_errors);
  EXPECT_GE(p->diagnostics.error_count(), 2u);
  bool saw_equals = false;
  for (const auto& d : p->diagnostics.all()) saw_equals |= d.message == "'=' does not compare values";
  EXPECT_TRUE(saw_equals) << render_text(p->diagnostics, p->sources);
  ASSERT_EQ(p->file.policies.size(), 1u);
  bool kept_good = false;
  for (const auto& r : p->file.policies[0].rules) kept_good |= r.name == "Good";
  EXPECT_TRUE(kept_good);
}

TEST(Parser, StrayCharactersAndOpenStrings) {
  auto p = parse("policy acceptance \"A\"\nrule \"x\" when order.customer.is_new && true then accept\nrule \"open\n");
  std::vector<std::string> codes;
  for (const auto& d : p->diagnostics.all()) codes.push_back(d.code);
  EXPECT_NE(std::find(codes.begin(), codes.end(), "E0003"), codes.end());
  EXPECT_NE(std::find(codes.begin(), codes.end(), "E0002"), codes.end());
}

TEST(Parser, DeepNestingIsRefusedNotACrash) {
  std::string deep = "policy acceptance \"A\"\nrule \"x\" when " + std::string(5000, '(') + "true" +
                     std::string(5000, ')') + " then accept\notherwise accept\n";
  auto p = parse(deep);
  ASSERT_FALSE(p->diagnostics.empty());
  EXPECT_EQ(p->diagnostics.all()[0].code, "E0004");
  std::string nots = "policy acceptance \"A\"\nrule \"x\" when ";
  for (int i = 0; i < 3000; ++i) nots += "not ";
  nots += "true then accept\n";
  auto q = parse(nots);
  EXPECT_EQ(q->diagnostics.all().at(0).code, "E0004");
}

// Fuzzing found a 10 MB file of brackets taking check 8.7 s and 1.7 GB
// before it said anything (issue 19). A file over 4 MB is refused unread;
// a large one nested too deeply is refused as it is lexed, keeping no
// tokens (that it is quick is for the benchmark to show, not this test).
TEST(Parser, HugeFilesAreRefusedUnread) {
  std::string huge = "policy acceptance \"A\"\n# " + std::string(5u << 20, 'x') + "\notherwise accept\n";
  auto p = parse(huge);
  ASSERT_EQ(p->diagnostics.all().size(), 1u);
  EXPECT_EQ(p->diagnostics.all()[0].code, "E0008");
  EXPECT_NE(p->diagnostics.all()[0].message.find("at most 4 MB"), std::string::npos);
  std::string deep = "policy acceptance \"A\"\nconst a = " + std::string(1500000, '(') + std::string(1500000, ')');
  auto q = parse(deep);
  ASSERT_EQ(q->diagnostics.all().size(), 1u);
  EXPECT_EQ(q->diagnostics.all()[0].code, "E0004");
  EXPECT_EQ(q->diagnostics.all()[0].range.begin.line, 2u);
}

// A Latin-1 byte is located, and the rest of the file is still read.
TEST(Parser, AByteThatIsNotUtf8IsLocatedAndTheRestIsRead) {
  auto p = parse("policy acceptance \"Caf\xe9\"\nrule \"x\" when order.total > 5 then accept\notherwise accept\n");
  ASSERT_FALSE(p->diagnostics.empty());
  EXPECT_EQ(p->diagnostics.all()[0].code, "E0007");
  EXPECT_EQ(p->diagnostics.all()[0].range.begin.line, 1u);
  EXPECT_EQ(p->diagnostics.all()[0].range.begin.column, 23u);
  EXPECT_EQ(p->file.policies.size(), 1u) << "the policy after the byte is still parsed";
}

TEST(Parser, RuleOutsideAPolicy) {
  auto p = parse("rule \"x\" then accept\n");
  ASSERT_EQ(p->diagnostics.error_count(), 1u);
  EXPECT_EQ(p->diagnostics.all()[0].code, "E0006");
}

TEST(Parser, InlineTestOrders) {
  auto p = parse("test \"t\"\n  order \"\"\"\n  {\"id\": \"A\"}\n  \"\"\"\n  with order.total = 5000 INR\n  at \"2026-11-20T10:00:00Z\"\n  expect hold \"x\" by rule \"R\"\n");
  ASSERT_TRUE(p->diagnostics.empty()) << render_text(p->diagnostics, p->sources);
  ASSERT_EQ(p->file.tests.size(), 1u);
  const syntax::Test& t = p->file.tests[0];
  ASSERT_TRUE(t.order_inline);
  EXPECT_NE(t.order_inline->find("\"id\": \"A\""), std::string::npos);
  EXPECT_EQ(t.assignments.size(), 1u);
  EXPECT_EQ(t.at, "2026-11-20T10:00:00Z");
  ASSERT_EQ(t.expectations.size(), 1u);
  EXPECT_EQ(t.expectations[0].by_rule, "R");
}

}  // namespace
}  // namespace orderflow::syntax
