// Routing semantics: filters, preferences, safety stock, splits, fallbacks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/interp/eval_helpers.h"

namespace orderflow::interp {
namespace {

using engine::Verdict;
using orderflow::testing::Harness;
using orderflow::testing::order_json;
using orderflow::testing::TempBundle;

// Three nodes in a line north of Bengaluru; A nearest, C farthest.
const char* kNodes =
    "id,kind,active,lat,lon,region,cost_per_order\n"
    "A,dark_store,true,12.98,77.60,IN,40\n"
    "B,warehouse,true,13.10,77.60,IN,20\n"
    "C,warehouse,true,13.30,77.60,IN,20\n"
    "D,warehouse,false,12.97,77.60,IN,1\n";
const char* kPins = "postal_code,lat,lon\n560001,12.9716,77.5946\n";

Harness routing(const std::string& rules, const std::string& stock) {
  TempBundle b;
  b.write("routing.flow", "policy routing \"R\"\nuse geo pins from \"pins.csv\"\nuse nodes from \"nodes.csv\"\n"
                          "use stock from \"stock.csv\"\n" + rules + "\n");
  b.write("pins.csv", kPins);
  b.write("nodes.csv", kNodes);
  b.write("stock.csv", "node,sku,on_hand,reserved,safety_stock\n" + stock);
  return Harness::of(b.check());
}

std::string lines(const std::string& items) { return "\"lines\":[" + items + "]"; }
std::string line(const std::string& sku, int qty) {
  return "{\"sku\":\"" + sku + "\",\"quantity\":" + std::to_string(qty) +
         ",\"unit_price\":{\"amount\":\"100\",\"currency\":\"INR\"}}";
}

std::vector<std::string> nodes_of(const engine::Outcome& o) {
  std::vector<std::string> out;
  for (const auto& s : o.shipments) out.emplace_back(s.node_id);
  return out;
}

TEST(Routing, NearestNodeWithStockWins) {
  auto h = routing("rule \"r\" then route from nodes where node.active prefer nearest no split else backorder",
                   "A,TEE,1,0,0\nB,TEE,10,0,0\nC,TEE,10,0,0\nD,TEE,99,0,0\n");
  auto o = h.run(check::PolicyKind::Routing, order_json(lines(line("TEE", 2))));
  EXPECT_EQ(o.verdict, Verdict::Route);
  EXPECT_THAT(nodes_of(o), ::testing::ElementsAre("B"));  // A has 1, D is inactive
}

TEST(Routing, ReservedAndSafetyStockAreNotAvailable) {
  auto h = routing("rule \"r\" then route from nodes where node.active prefer nearest no split keep 3 units safety stock else backorder",
                   "A,TEE,10,6,0\nB,TEE,10,0,5\nC,TEE,10,0,0\n");
  // A: 10 - 6 - 3 = 1; B: 10 - 0 - max(5, 3) = 5; C: 10 - 3 = 7.
  EXPECT_THAT(nodes_of(h.run(check::PolicyKind::Routing, order_json(lines(line("TEE", 5))))), ::testing::ElementsAre("B"));
  EXPECT_THAT(nodes_of(h.run(check::PolicyKind::Routing, order_json(lines(line("TEE", 6))))), ::testing::ElementsAre("C"));
  EXPECT_EQ(h.run(check::PolicyKind::Routing, order_json(lines(line("TEE", 8)))).verdict, Verdict::Backorder);
}

TEST(Routing, CheapestThenNearest) {
  auto h = routing("rule \"r\" then route from nodes where node.active prefer cheapest then nearest no split else backorder",
                   "A,TEE,10,0,0\nB,TEE,10,0,0\nC,TEE,10,0,0\n");
  EXPECT_THAT(nodes_of(h.run(check::PolicyKind::Routing, order_json(lines(line("TEE", 1))))), ::testing::ElementsAre("B"));
}

TEST(Routing, SplitUsesTheFewestNodesThenTheBestRanked) {
  auto h = routing("rule \"r\" then route from nodes where node.active prefer nearest split at most 2 else backorder",
                   "A,X,5,0,0\nB,Y,5,0,0\nC,X,5,0,0\nC,Y,5,0,0\n");
  // C alone can ship both lines: one shipment beats two nearer ones.
  auto one = h.run(check::PolicyKind::Routing, order_json(lines(line("X", 1) + "," + line("Y", 1))));
  EXPECT_THAT(nodes_of(one), ::testing::ElementsAre("C"));
  // Z only at A; X, Y at C: two shipments, A and C.
  auto h2 = routing("rule \"r\" then route from nodes where node.active prefer nearest split at most 2 else backorder",
                    "A,Z,5,0,0\nB,Y,5,0,0\nC,X,5,0,0\nC,Y,5,0,0\n");
  auto two = h2.run(check::PolicyKind::Routing, order_json(lines(line("X", 1) + "," + line("Y", 1) + "," + line("Z", 1))));
  EXPECT_THAT(nodes_of(two), ::testing::ElementsAre("A", "C"));
  ASSERT_EQ(two.lines_of(1).size(), 2u);
  // Three nodes needed but only two allowed.
  auto h3 = routing("rule \"r\" then route from nodes where node.active prefer nearest split at most 2 else backorder",
                    "A,X,5,0,0\nB,Y,5,0,0\nC,Z,5,0,0\n");
  EXPECT_EQ(h3.run(check::PolicyKind::Routing, order_json(lines(line("X", 1) + "," + line("Y", 1) + "," + line("Z", 1)))).verdict,
            Verdict::Backorder);
}

TEST(Routing, LinesOfTheSameSkuShipTogether) {
  auto h = routing("rule \"r\" then route from nodes where node.active prefer nearest split at most 3 else backorder",
                   "A,X,3,0,0\nB,X,4,0,0\n");
  auto o = h.run(check::PolicyKind::Routing, order_json(lines(line("X", 2) + "," + line("X", 2))));
  EXPECT_THAT(nodes_of(o), ::testing::ElementsAre("B"));
}

TEST(Routing, ElseContinueFallsThroughAndElseDecisionStops) {
  auto h = routing(R"(
rule "Dark stores" then route from nodes where node.kind is dark_store no split else continue
rule "Warehouses" then route from nodes where node.kind is warehouse prefer nearest no split else hold "no_stock")",
                   "A,TEE,1,0,0\nB,TEE,1,0,0\n");
  auto o = h.run(check::PolicyKind::Routing, order_json(lines(line("TEE", 1))));
  EXPECT_THAT(nodes_of(o), ::testing::ElementsAre("A"));
  auto p = h.run(check::PolicyKind::Routing, order_json(lines(line("TEE", 2))));
  EXPECT_EQ(p.verdict, Verdict::Hold);
  EXPECT_EQ(p.reason, "no_stock");
  EXPECT_EQ(p.deciding_rule_name, "Warehouses");
  EXPECT_FALSE(p.trace[0].decided);
}

TEST(Routing, DistanceFilterAndUnknownLocations) {
  auto h = routing("rule \"r\" then route from nodes where distance(node, order.ship_to) <= 5 km prefer nearest no split else hold \"far\"",
                   "A,TEE,5,0,0\nB,TEE,5,0,0\n");
  EXPECT_THAT(nodes_of(h.run(check::PolicyKind::Routing, order_json(lines(line("TEE", 1))))), ::testing::ElementsAre("A"));
  // A PIN code the geo table does not know: no distance, so no node passes.
  auto far = h.run(check::PolicyKind::Routing, order_json("\"ship_to\":{\"postal_code\":\"999999\"}," + lines(line("TEE", 1))));
  EXPECT_EQ(far.reason, "far");
  bool explained = false;
  for (const auto& n : far.nodes)
    for (const auto& f : n.facts) explained |= f.find("has no known location") != std::string::npos;
  EXPECT_TRUE(explained);
}

TEST(Routing, ExplainListsEveryNode) {
  auto h = routing("rule \"r\" then route from nodes where node.active prefer nearest no split else backorder",
                   "A,TEE,1,0,0\nB,TEE,10,0,0\n");
  auto o = h.run(check::PolicyKind::Routing, order_json(lines(line("TEE", 2))));
  std::string text = engine::explain_text(*h.bundle, o, nullptr);
  EXPECT_THAT(text, ::testing::HasSubstr("D: inactive: never routed to"));
  EXPECT_THAT(text, ::testing::HasSubstr("A: candidate 1"));
  EXPECT_THAT(text, ::testing::HasSubstr("cannot ship 2 x TEE: 1 available"));
  EXPECT_THAT(text, ::testing::HasSubstr("B: chosen"));
}

TEST(Routing, ExcludedNodesAreSkipped) {
  auto h = routing("rule \"r\" then route from nodes prefer nearest no split else backorder", "A,TEE,5,0,0\nB,TEE,5,0,0\n");
  auto decoded = runtime::parse_order(*h.bundle, order_json(lines(line("TEE", 1))));
  auto& image = std::get<runtime::OrderImage>(decoded);
  std::vector<bool> excluded = {true, false, false, false};  // node A refused it
  engine::EvalInput input;
  input.order = image.data();
  input.excluded_nodes = &excluded;
  auto o = h.interpreter->evaluate(check::PolicyKind::Routing, input, engine::TraceDetail::Rules);
  EXPECT_THAT(nodes_of(o), ::testing::ElementsAre("B"));
  EXPECT_EQ(orderflow::testing::differences(*h.interpreter, h.compiled, check::PolicyKind::Routing, input), "");
}

}  // namespace
}  // namespace orderflow::interp
