// A channel that sends an order again: a copy is a duplicate; a changed
// order is decided again while nothing has shipped, and refused, with what
// changed, after. On the example bundle's real Amazon order.
#include <gmock/gmock.h>

#include "runtime/store/projection.h"
#include "tests/runtime/engine_fixture.h"

namespace orderflow::runtime::testing {
namespace {

using OrderUpdateTest = EngineTest;

const char* kOrder = "AMZ-407-1184403";

nlohmann::json amazon_order() { return example_order("amazon-express-prepaid.json"); }

// Units of the SKU reserved at every node.
int64_t reserved(Store& store, const std::string& sku) {
  int64_t n = 0;
  store.stock().scan([&](const StockRow& r) { n += r.sku == sku ? r.reserved : 0; });
  return n;
}

TEST_P(OrderUpdateTest, ACopyOfTheOrderIsADuplicateAndChangesNothing) {
  submit(amazon_order(), "2026-11-20T04:00:00Z");
  size_t entries = history(kOrder).size();
  Ack again = submit(amazon_order(), "2026-11-20T04:05:00Z");
  EXPECT_EQ(again.status, Ack::Status::Duplicate);
  EXPECT_EQ(history(kOrder).size(), entries);
}

TEST_P(OrderUpdateTest, MoreUnitsBeforeShippingAreDecidedAgainAndReservedAgain) {
  int64_t before = reserved(*store_, "KURTA-M-IND");
  submit(amazon_order(), "2026-11-20T04:00:00Z");
  ASSERT_EQ(reserved(*store_, "KURTA-M-IND"), before + 2);
  nlohmann::json changed = amazon_order();
  changed["lines"][0]["quantity"] = 3;
  changed["ship_to"]["line1"] = "22, 6th Block, Koramangala";
  Ack ack = submit(changed, "2026-11-20T05:00:00Z");
  ASSERT_EQ(ack.status, Ack::Status::Stored) << ack.message;
  EXPECT_EQ(ack.state, "allocated");
  StoredOrder o = order(kOrder);
  ASSERT_EQ(o.allocations.size(), 1u);
  EXPECT_EQ(o.allocations[0].quantity, 3);
  EXPECT_EQ(reserved(*store_, "KURTA-M-IND"), before + 3)
      << "the two units reserved before went back; three are reserved now";
  nlohmann::json now = order_json(kOrder);
  EXPECT_EQ(now["ship_to"]["line1"], "22, 6th Block, Koramangala");
  EXPECT_EQ(now["edited_at"], "2026-11-20T05:00:00Z");
  auto entries = history(kOrder);
  auto updated = std::find_if(entries.begin(), entries.end(), [](const Entry& e) { return e.kind == "updated"; });
  ASSERT_NE(updated, entries.end());
  EXPECT_THAT(updated->body["changes"].get<std::vector<std::string>>(),
              ::testing::ElementsAre("lines[0].quantity: 2 -> 3",
                                     "ship_to.line1: \"14, 5th Block, Koramangala\" -> \"22, 6th Block, Koramangala\""));
  // Decided again from the start: acceptance, then routing.
  int decisions = 0;
  for (auto e = updated; e != entries.end(); ++e) decisions += e->kind == "decision";
  EXPECT_EQ(decisions, 2);

  Ack copy = submit(changed, "2026-11-20T05:10:00Z");
  EXPECT_EQ(copy.status, Ack::Status::Duplicate) << "the changed order, sent again, is a copy of it";
}

TEST_P(OrderUpdateTest, AChangeAfterShippingIsRefusedWithWhatChanged) {
  submit(amazon_order(), "2026-11-20T04:00:00Z");
  event(kOrder, "pack", "2026-11-20T06:00:00Z");
  event(kOrder, "ship", "2026-11-20T07:00:00Z");
  StoredOrder shipped = order(kOrder);
  nlohmann::json changed = amazon_order();
  changed["ship_to"]["postal_code"] = "560095";
  Ack ack = submit(changed, "2026-11-20T08:00:00Z");
  EXPECT_EQ(ack.status, Ack::Status::Refused);
  EXPECT_EQ(ack.message,
            "order 'AMZ-407-1184403' has shipped (it is shipped): the channel's change is not applied "
            "(ship_to.postal_code: \"560034\" -> \"560095\")");
  EXPECT_EQ(history(kOrder).back().kind, "refused");
  StoredOrder after = order(kOrder);
  EXPECT_EQ(after.order, shipped.order);
  EXPECT_EQ(after.state, "shipped");
}

TEST_P(OrderUpdateTest, UpdatesRebuildFromTheJournal) {
  submit(amazon_order(), "2026-11-20T04:00:00Z");
  nlohmann::json changed = amazon_order();
  changed["delivery"] = "standard";
  ASSERT_EQ(submit(changed, "2026-11-20T05:00:00Z").status, Ack::Status::Stored);
  StoredOrder live = order(kOrder);
  EXPECT_NE(live.sent_hash, 0);
  rebuild_projections(*store_);
  EXPECT_EQ(order(kOrder), live);
  restart();
  EXPECT_EQ(submit(changed, "2026-11-20T05:30:00Z").status, Ack::Status::Duplicate);
}

// The example bundle has no returns policy: a return waits for a person,
// who approves or rejects it.
TEST_P(OrderUpdateTest, APersonDecidesAReturnItsPolicyHeld) {
  submit(amazon_order(), "2026-11-20T04:00:00Z");
  event(kOrder, "pack", "2026-11-20T06:00:00Z");
  event(kOrder, "ship", "2026-11-20T07:00:00Z");
  event(kOrder, "deliver", "2026-11-21T07:00:00Z");
  Ack asked = submit({{"type", "return"}, {"order_id", kOrder}, {"lines", {{{"id", "1"}, {"quantity", 1}}}},
                      {"reason", "size"}},
                     "2026-11-22T07:00:00Z");
  ASSERT_EQ(asked.status, Ack::Status::Stored) << asked.message;
  ASSERT_EQ(order(kOrder).returns.at(0).state, "held");
  Ack no_reason = submit({{"type", "return_decision"}, {"order_id", kOrder}, {"decision", "reject"}, {"by", "priya@ops"}},
                         "2026-11-22T08:00:00Z");
  EXPECT_EQ(no_reason.status, Ack::Status::Invalid);
  EXPECT_EQ(no_reason.message, "$.reason: a rejected return says why, for the customer");
  Ack approved = submit({{"type", "return_decision"}, {"order_id", kOrder}, {"decision", "approve"},
                         {"refund", "after receipt"}, {"by", "priya@ops"}},
                        "2026-11-22T09:00:00Z");
  ASSERT_EQ(approved.status, Ack::Status::Stored) << approved.message;
  StoredOrder o = order(kOrder);
  EXPECT_EQ(o.returns[0].state, "authorized");
  EXPECT_EQ(o.returns[0].refund, "after receipt");
  EXPECT_EQ(o.state, "return_requested") << "the order's machine hears of it";
  Ack again = submit({{"type", "return_decision"}, {"order_id", kOrder}, {"return_id", o.returns[0].id},
                      {"decision", "reject"}, {"reason", "late"}, {"by", "priya@ops"}},
                     "2026-11-22T10:00:00Z");
  EXPECT_EQ(again.status, Ack::Status::Refused);
  EXPECT_NE(again.message.find("is authorized: a person decides a return its policy held"), std::string::npos);
}

TEST_P(OrderUpdateTest, ACancellationKeepsWhoWantedIt) {
  submit(amazon_order(), "2026-11-20T04:00:00Z");
  Ack wrong = event(kOrder, "cancel", "2026-11-20T04:30:00Z", {{"initiator", "customer"}});
  EXPECT_EQ(wrong.status, Ack::Status::Invalid);
  EXPECT_EQ(wrong.message, "$.initiator: expected buyer, seller, marketplace or system, not \"customer\"");
  Ack one = event(kOrder, "cancel", "2026-11-20T05:00:00Z",
                  {{"by", "amazon"}, {"lines", {{{"line", 0}, {"quantity", 1}}}}});
  ASSERT_EQ(one.status, Ack::Status::Stored) << one.message;
  Ack other = event(kOrder, "cancel", "2026-11-20T05:10:00Z",
                    {{"by", "ops"}, {"initiator", "buyer"}, {"lines", {{{"line", 0}, {"quantity", 1}}}}});
  ASSERT_EQ(other.status, Ack::Status::Stored) << other.message;
  std::vector<std::string> initiators;
  for (const Entry& e : history(kOrder))
    if (e.kind == "event") initiators.push_back(e.body.value("initiator", ""));
  EXPECT_THAT(initiators, ::testing::ElementsAre("marketplace", "buyer"));
  EXPECT_EQ(order(kOrder).state, "cancelled");
}

INSTANTIATE_TEST_SUITE_P(Engines, OrderUpdateTest, ::testing::Values("interp", "jit"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace orderflow::runtime::testing
