// Returns and failed deliveries on the order engine, where a story cannot
// look: what is refused and why, the stock that comes back, timers that
// outlive a restart, and projections rebuilt from the journal.
#include <fstream>

#include "runtime/engine/history.h"
#include "runtime/store/projection.h"
#include "tests/runtime/engine_fixture.h"

namespace orderflow::runtime::testing {
namespace {

const std::string kReturnsBundle = std::string(ORDERFLOW_SOURCE_DIR) + "/tests/lang/returns";

// The order's history as `audit` words each entry, one per line.
std::string history_text(const std::vector<journal::Record>& records) {
  std::string out;
  for (const journal::Record& r : records)
    for (const journal::Entry& e : r.entries) out += describe_entry(e) + "\n";
  return out;
}

nlohmann::json bundle_order(const std::string& file) {
  std::ifstream in(kReturnsBundle + "/orders/" + file);
  return nlohmann::json::parse(in);
}

class ReturnsEngineTest : public EngineTest {
 protected:
  std::string bundle() const override { return kReturnsBundle; }

  // WEB-7002 (one kurta, cash on delivery) taken, routed to BLR-WH, packed and shipped.
  void ship_cod_order() {
    ASSERT_EQ(submit(bundle_order("web-cod.json"), "2026-12-01T05:00:00Z").state, "allocated");
    ASSERT_EQ(event("WEB-7002", "pack", "2026-12-01T09:00:00Z").state, "packed");
    Ack shipped = event("WEB-7002", "ship", "2026-12-02T04:30:00Z",
                        {{"carrier", "Delhivery"}, {"tracking_number", "DLV1234567890"}});
    ASSERT_EQ(shipped.state, "shipped") << shipped.message;
  }
  // WEB-7001 (two kurtas and a scarf, prepaid) taken, shipped from BLR-WH and delivered.
  void deliver_prepaid_order() {
    ASSERT_EQ(submit(bundle_order("web-discounted.json"), "2026-12-01T05:00:00Z").state, "allocated");
    event("WEB-7001", "pack", "2026-12-01T09:00:00Z");
    event("WEB-7001", "ship", "2026-12-02T04:30:00Z");
    ASSERT_EQ(event("WEB-7001", "deliver", "2026-12-03T06:30:00Z").state, "delivered");
  }
  Ack ndr(const std::string& reason, const char* when, nlohmann::json extra = {}) {
    nlohmann::json input = {{"type", "ndr"}, {"order_id", "WEB-7002"}, {"reason", reason}};
    if (extra.is_object()) input.update(extra);
    return submit(input, when);
  }
  int64_t on_hand(const std::string& node, const std::string& sku) {
    auto row = store_->stock().row(node, sku);
    return row ? row->on_hand : 0;
  }
};

TEST_P(ReturnsEngineTest, ShipmentKeepsItsCarrierAndTrackingNumber) {
  ship_cod_order();
  StoredOrder o = order("WEB-7002");
  EXPECT_EQ(o.carrier, "Delhivery");
  EXPECT_EQ(o.tracking_number, "DLV1234567890");
  std::string text = history_text(store_->journal().of_order("WEB-7002"));
  EXPECT_NE(text.find("event ship with Delhivery, tracking DLV1234567890"), std::string::npos) << text;
}

TEST_P(ReturnsEngineTest, FailedDeliveryOfAnOrderNotShippedIsRefusedAndKept) {
  ASSERT_EQ(submit(bundle_order("web-cod.json"), "2026-12-01T05:00:00Z").state, "allocated");
  Ack refused = ndr("customer_unavailable", "2026-12-01T06:00:00Z");
  EXPECT_EQ(refused.status, Ack::Status::Refused);
  EXPECT_NE(refused.message.find("has shipped and is not yet delivered"), std::string::npos) << refused.message;
  EXPECT_EQ(kinds("WEB-7002").back(), "refused");
  EXPECT_EQ(order("WEB-7002").state, "allocated");
  EXPECT_EQ(order("WEB-7002").ndr_attempts, 0);
}

TEST_P(ReturnsEngineTest, UnknownReasonAndRepeatedAttemptAreRefusedWithWhy) {
  ship_cod_order();
  Ack bad = ndr("dog_in_yard", "2026-12-02T10:00:00Z");
  EXPECT_EQ(bad.status, Ack::Status::Refused);
  EXPECT_NE(bad.message.find("dog_in_yard"), std::string::npos) << bad.message;
  EXPECT_EQ(order("WEB-7002").ndr_attempts, 0) << "a refused report counts no attempt";

  EXPECT_EQ(ndr("customer_unavailable", "2026-12-02T13:00:00Z", {{"attempt", 1}}).status, Ack::Status::Stored);
  Ack again = ndr("customer_unavailable", "2026-12-02T14:00:00Z", {{"attempt", 1}});
  EXPECT_EQ(again.status, Ack::Status::Refused);
  EXPECT_NE(again.message.find("attempt 1 of order 'WEB-7002' was reported already"), std::string::npos)
      << again.message;
  EXPECT_EQ(order("WEB-7002").ndr_attempts, 1);

  nlohmann::json malformed = {{"type", "ndr"}, {"order_id", "WEB-7002"}, {"reason", "refused"}, {"attempt", 0}};
  Ack dead = submit(malformed, "2026-12-02T15:00:00Z");
  EXPECT_EQ(dead.status, Ack::Status::Invalid);
  EXPECT_NE(dead.message.find("$.attempt"), std::string::npos) << dead.message;
}

TEST_P(ReturnsEngineTest, AHeldFailedDeliveryTimesOutAfterARestartAndTheUnitComesBack) {
  int64_t before = on_hand("BLR-WH", "KURTA-M");
  ship_cod_order();
  EXPECT_EQ(on_hand("BLR-WH", "KURTA-M"), before - 1);
  Ack held = ndr("address_issue", "2026-12-02T13:00:00Z");
  ASSERT_EQ(held.status, Ack::Status::Stored) << held.message;
  EXPECT_EQ(order("WEB-7002").ndr_decision, "hold");
  restart();
  advance_to("2026-12-03T12:59:00Z");
  EXPECT_EQ(order("WEB-7002").state, "shipped") << "not before the hold's 24h";
  advance_to("2026-12-03T13:00:00Z");
  StoredOrder o = order("WEB-7002");
  EXPECT_EQ(o.state, "rto");
  ASSERT_EQ(o.returns.size(), 1u);
  EXPECT_EQ(o.returns[0].id, "WEB-7002-RTO");
  EXPECT_EQ(o.returns[0].kind, "rto");
  EXPECT_EQ(o.returns[0].state, "in_transit");
  EXPECT_EQ(o.returns[0].refund, "none") << "cash on delivery was never collected";

  event("WEB-7002", "return_received", "2026-12-05T10:00:00Z");
  Ack graded = submit({{"type", "grade"}, {"order_id", "WEB-7002"}, {"units", {{{"grade", "A"}}}}},
                      "2026-12-05T11:00:00Z");
  ASSERT_EQ(graded.status, Ack::Status::Stored) << graded.message;
  o = order("WEB-7002");
  EXPECT_EQ(o.returns[0].state, "closed");
  EXPECT_TRUE(o.returns[0].refunded.empty());
  EXPECT_EQ(on_hand("BLR-WH", "KURTA-M"), before) << "shipped, came back, restocked where it left";
  std::string text = history_text(store_->journal().of_order("WEB-7002"));
  EXPECT_NE(text.find("failed delivery 1, ndr policy: hold \"ndr_review\" for 24h"), std::string::npos) << text;
  EXPECT_NE(text.find("ndr policy: return to origin \"the hold timed out\""), std::string::npos) << text;
  EXPECT_NE(text.find("return to origin WEB-7002-RTO asked for: line 1 x1 (undelivered)"), std::string::npos) << text;
}

TEST_P(ReturnsEngineTest, APersonDecidesAHeldFailedDeliveryBeforeItsTimeout) {
  ship_cod_order();
  Ack nothing_held = submit({{"type", "ndr_decision"}, {"order_id", "WEB-7002"}, {"decision", "reattempt"},
                             {"by", "priya@ops"}},
                            "2026-12-02T12:00:00Z");
  EXPECT_EQ(nothing_held.status, Ack::Status::Refused);
  EXPECT_EQ(nothing_held.message, "order 'WEB-7002' has no failed delivery held for a person");
  ndr("address_issue", "2026-12-02T13:00:00Z");
  Ack decided = submit({{"type", "ndr_decision"}, {"order_id", "WEB-7002"}, {"decision", "reschedule"},
                        {"to", "2026-12-04T10:00:00+05:30"}, {"by", "priya@ops"}},
                       "2026-12-02T14:00:00Z");
  ASSERT_EQ(decided.status, Ack::Status::Stored) << decided.message;
  EXPECT_EQ(order("WEB-7002").ndr_decision, "reschedule");
  advance_to("2026-12-05T00:00:00Z");
  EXPECT_EQ(order("WEB-7002").state, "shipped") << "the hold's timeout no longer stands";
  std::string text = history_text(store_->journal().of_order("WEB-7002"));
  EXPECT_NE(text.find("failed delivery 1, ndr policy: reschedule to 2026-12-04T04:30:00Z decided by priya@ops"),
            std::string::npos)
      << text;
  Ack bad = submit({{"type", "ndr_decision"}, {"order_id", "WEB-7002"}, {"decision", "reschedule"}, {"by", "priya"}},
                   "2026-12-05T01:00:00Z");
  EXPECT_EQ(bad.status, Ack::Status::Invalid);
  EXPECT_EQ(bad.message, "$.to: expected when to deliver again, a time");
}

TEST_P(ReturnsEngineTest, ANewAttemptAnswersTheLastOnesHold) {
  ship_cod_order();
  ndr("address_issue", "2026-12-02T13:00:00Z");
  ASSERT_EQ(ndr("customer_unavailable", "2026-12-03T09:00:00Z").status, Ack::Status::Stored);
  EXPECT_EQ(order("WEB-7002").ndr_decision, "reattempt");
  advance_to("2026-12-05T00:00:00Z");
  EXPECT_EQ(order("WEB-7002").state, "shipped") << "the first hold's timer no longer stands";
}

TEST_P(ReturnsEngineTest, ProjectionsOfReturnsToOriginRebuildExactly) {
  ship_cod_order();
  ndr("refused", "2026-12-02T13:00:00Z");
  event("WEB-7002", "return_received", "2026-12-05T10:00:00Z");
  submit({{"type", "grade"}, {"order_id", "WEB-7002"}, {"units", {{{"grade", "D"}}}}}, "2026-12-05T11:00:00Z");
  StoredOrder live = order("WEB-7002");
  std::vector<StockRow> stock;
  store_->stock().scan([&](const StockRow& r) { stock.push_back(r); });
  StockRow kurta = *store_->stock().row("BLR-WH", "KURTA-M");
  EXPECT_EQ(kurta.on_hand, 9) << "written off: it does not come back on hand";
  EXPECT_EQ(kurta.written_off, 1);
  rebuild_projections(*store_);
  EXPECT_EQ(order("WEB-7002"), live);
  std::vector<StockRow> rebuilt;
  store_->stock().scan([&](const StockRow& r) { rebuilt.push_back(r); });
  EXPECT_EQ(rebuilt, stock);
}

TEST_P(ReturnsEngineTest, UnitsNotRestockedAreCountedApartWhereTheyCameBack) {
  deliver_prepaid_order();
  Ack asked = submit({{"type", "return"}, {"order_id", "WEB-7001"}, {"reason", "size"},
                      {"lines", {{{"id", "1"}}, {{"id", "2"}}}}},
                     "2026-12-05T03:30:00Z");
  ASSERT_EQ(asked.status, Ack::Status::Stored) << asked.message;
  event("WEB-7001", "return_received", "2026-12-06T03:30:00Z");
  // KURTA-M: D (written off), C with no other reason (quarantined); SCARF: defective (to its maker).
  Ack graded = submit({{"type", "grade"}, {"order_id", "WEB-7001"},
                       {"units", {{{"grade", "D"}}, {{"grade", "C"}}, {{"grade", "C"}, {"reason", "defective"}}}}},
                      "2026-12-06T05:00:00Z");
  ASSERT_EQ(graded.status, Ack::Status::Stored) << graded.message;
  StockRow kurta = *store_->stock().row("BLR-WH", "KURTA-M");
  EXPECT_EQ(kurta.on_hand, 8);
  EXPECT_EQ(kurta.written_off, 1);
  EXPECT_EQ(kurta.quarantined, 1);
  StockRow scarf = *store_->stock().row("BLR-WH", "SCARF");
  EXPECT_EQ(scarf.on_hand, 9);
  EXPECT_EQ(scarf.to_vendor, 1);
  // Nothing kept apart is for sale: a refused grading leaves the counts as they were.
  Ack more = submit({{"type", "grade"}, {"order_id", "WEB-7001"}, {"units", {{{"grade", "A"}}}}},
                    "2026-12-06T06:00:00Z");
  EXPECT_EQ(more.status, Ack::Status::Refused);
  EXPECT_EQ(*store_->stock().row("BLR-WH", "KURTA-M"), kurta);
}

TEST_P(ReturnsEngineTest, AnExchangeIsAnOrderOfItsOwnSentOnceTheReturnArrives) {
  deliver_prepaid_order();
  Ack asked = submit({{"type", "return"}, {"order_id", "WEB-7001"}, {"reason", "size"},
                      {"lines", {{{"id", "1"}, {"quantity", 1}}}},
                      {"exchange", {{{"sku", "SG-TEE"}, {"quantity", 1}}}}},
                     "2026-12-05T03:30:00Z");
  ASSERT_EQ(asked.status, Ack::Status::Stored) << asked.message;
  StoredOrder o = order("WEB-7001");
  ASSERT_EQ(o.exchanges.size(), 1u);
  EXPECT_EQ(o.exchanges[0].order_id, "") << "not before what it replaces arrives";
  EXPECT_FALSE(store_->orders().get("WEB-7001-X1"));

  Ack received = event("WEB-7001", "return_received", "2026-12-06T05:00:00Z");
  ASSERT_EQ(received.status, Ack::Status::Stored) << received.message;
  auto exchange = store_->orders().get("WEB-7001-X1");
  ASSERT_TRUE(exchange);
  EXPECT_EQ(exchange->state, "allocated") << "accepted and routed by the bundle's policies";
  nlohmann::json sent = nlohmann::json::parse(exchange->order);
  EXPECT_EQ(sent["lines"][0]["sku"], "SG-TEE");
  EXPECT_EQ(sent["total"]["amount"], "1000.00") << "paid by the kurta that came back";
  EXPECT_EQ(sent["payment"]["method"], "prepaid");
  EXPECT_EQ(sent["customer"], nlohmann::json::parse(order("WEB-7001").order)["customer"]);
  EXPECT_EQ(order("WEB-7001").exchanges[0].order_id, "WEB-7001-X1");
  EXPECT_EQ(store_->stock().row("BLR-WH", "SG-TEE")->reserved, 1);

  Ack graded = submit({{"type", "grade"}, {"order_id", "WEB-7001"}, {"units", {{{"grade", "A"}}}}},
                      "2026-12-06T08:00:00Z");
  ASSERT_EQ(graded.status, Ack::Status::Stored) << graded.message;
  o = order("WEB-7001");
  EXPECT_EQ(o.returns[0].state, "closed");
  EXPECT_TRUE(o.returns[0].refunded.empty()) << "an exchange pays for what is sent instead";
  // Sent once: the next arrival of the same return opens nothing more.
  EXPECT_FALSE(store_->orders().get("WEB-7001-X2"));
}

TEST_P(ReturnsEngineTest, AnExchangeTrustedAtOnceGoesOutAtOnce) {
  deliver_prepaid_order();
  // The scarf is cheap: "approve refund now keep item" also sends its exchange now.
  Ack asked = submit({{"type", "return"}, {"order_id", "WEB-7001"}, {"reason", "changed_mind"},
                      {"lines", {{{"id", "2"}}}}, {"exchange", {{{"sku", "SCARF"}, {"quantity", 1}}}}},
                     "2026-12-05T03:30:00Z");
  ASSERT_EQ(asked.status, Ack::Status::Stored) << asked.message;
  auto exchange = store_->orders().get("WEB-7001-X1");
  ASSERT_TRUE(exchange);
  EXPECT_EQ(exchange->state, "allocated");
  StoredOrder o = order("WEB-7001");
  EXPECT_EQ(o.returns[0].state, "closed");
  EXPECT_TRUE(o.returns[0].refunded.empty());
  rebuild_projections(*store_);
  EXPECT_EQ(order("WEB-7001"), o);
}

TEST_P(ReturnsEngineTest, AnExchangeForNothingIsMalformed) {
  Ack bad = submit({{"type", "return"}, {"order_id", "WEB-7001"}, {"lines", {{{"id", "1"}}}},
                    {"exchange", {{{"sku", "SCARF"}, {"quantity", 0}}}}},
                   "2026-12-05T03:30:00Z");
  EXPECT_EQ(bad.status, Ack::Status::Invalid);
  EXPECT_EQ(bad.message, "$.exchange[0].quantity: expected a positive number");
}

// machine return_lifecycle of the standard library: `authorized -> expired
// after 14d`, on a timer of the return's own that a restart keeps.
TEST_P(ReturnsEngineTest, AnApprovedReturnNobodySendsExpiresAfterARestart) {
  deliver_prepaid_order();
  Ack asked = submit({{"type", "return"}, {"order_id", "WEB-7001"}, {"reason", "size"},
                      {"lines", {{{"id", "1"}, {"quantity", 1}}}}},
                     "2026-12-05T03:30:00Z");
  ASSERT_EQ(asked.status, Ack::Status::Stored) << asked.message;
  EXPECT_EQ(order("WEB-7001").state, "return_requested");
  restart();
  advance_to("2026-12-19T03:29:00Z");
  EXPECT_EQ(order("WEB-7001").returns[0].state, "authorized");
  advance_to("2026-12-19T03:30:00Z");
  StoredOrder o = order("WEB-7001");
  EXPECT_EQ(o.returns[0].state, "expired");
  EXPECT_EQ(o.state, "delivered") << "nothing came back: the order is as it was";
  EXPECT_TRUE(o.returns[0].refunded.empty());
  std::string text = history_text(store_->journal().of_order("WEB-7001"));
  EXPECT_NE(text.find("return WEB-7001-R1: authorized -> expired (nothing happened for 14d)"), std::string::npos)
      << text;
  // What arrives after it lapsed is not that return's.
  Ack late = event("WEB-7001", "return_received", "2026-12-20T03:30:00Z");
  EXPECT_EQ(order("WEB-7001").returns[0].state, "expired") << late.message;
  o = order("WEB-7001");
  rebuild_projections(*store_);
  EXPECT_EQ(order("WEB-7001"), o) << "when each return entered each state is rebuilt from the journal";
}

// The order's ending does not end its returns: a received return is still
// watched by escalation, on a timer set when it arrived.
TEST_P(ReturnsEngineTest, AReturnedOrderIsWatchedWhileItsReturnWaitsToBeGraded) {
  deliver_prepaid_order();
  submit({{"type", "return"}, {"order_id", "WEB-7001"}, {"reason", "size"}, {"lines", {{{"id", "1"}}}}},
         "2026-12-05T03:30:00Z");
  ASSERT_EQ(event("WEB-7001", "return_received", "2026-12-06T05:00:00Z").state, "returned");
  restart();
  advance_to("2026-12-07T05:00:01Z");
  std::string text = history_text(store_->journal().of_order("WEB-7001"));
  EXPECT_NE(text.find("Return not graded within a day of arrival"), std::string::npos) << text;
}

// A marketplace that rules on its returns (connectors' channel_return):
// approved there, refunded there, followed as it travels back.
TEST_P(ReturnsEngineTest, AReturnTheChannelApprovedAndRefundedIsFollowedNotDecidedAgain) {
  deliver_prepaid_order();
  nlohmann::json asked = {{"type", "return"},         {"order_id", "WEB-7001"},
                          {"return_id", "SHOP-R1"},   {"lines", {{{"id", "1"}, {"quantity", 1}}}},
                          {"reason", "size"},         {"event_id", "shop-return-1"},
                          {"by", "shopify"},          {"approved_by", "shopify"},
                          {"refunded", {{"amount", "990.00"}, {"currency", "INR"}}}};
  Ack first = submit(asked, "2026-12-05T03:30:00Z");
  ASSERT_EQ(first.status, Ack::Status::Stored) << first.message;
  EXPECT_EQ(submit(asked, "2026-12-05T04:30:00Z").status, Ack::Status::Duplicate) << "each status report asks once";
  StoredOrder o = order("WEB-7001");
  ASSERT_EQ(o.returns.size(), 1u);
  EXPECT_EQ(o.returns[0].state, "authorized");
  EXPECT_EQ(o.returns[0].refunded, "990.00 INR");
  auto on_return = [&](const char* event, const char* when) {
    return submit({{"type", "event"}, {"order_id", "WEB-7001"}, {"event", event}, {"return_id", "SHOP-R1"},
                   {"by", "shopify"}},
                  when);
  };
  ASSERT_EQ(on_return("return_shipped", "2026-12-06T03:30:00Z").status, Ack::Status::Stored);
  EXPECT_EQ(order("WEB-7001").returns[0].state, "in_transit");
  advance_to("2026-12-25T00:00:00Z");
  EXPECT_EQ(order("WEB-7001").returns[0].state, "in_transit") << "a return on its way back does not expire";
  ASSERT_EQ(on_return("return_received", "2026-12-25T03:30:00Z").status, Ack::Status::Stored);
  Ack graded = submit({{"type", "grade"}, {"order_id", "WEB-7001"}, {"units", {{{"grade", "A"}}}}},
                      "2026-12-25T05:00:00Z");
  ASSERT_EQ(graded.status, Ack::Status::Stored) << graded.message;
  o = order("WEB-7001");
  EXPECT_EQ(o.returns[0].state, "closed");
  EXPECT_EQ(o.returns[0].refunded, "990.00 INR") << "the channel's refund, not one of the engine's";
  std::string text = history_text(store_->journal().of_order("WEB-7001"));
  EXPECT_NE(text.find("returns policy: approve \"approved on shopify\", refund by channel decided by shopify"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("returns policy: approve by rule"), std::string::npos) << "no rule of the bundle decided it";
  EXPECT_NE(text.find("refunded on shopify: 990.00 INR"), std::string::npos) << text;
}

TEST_P(ReturnsEngineTest, AReturnCalledOffOnTheChannelIsWithdrawnAndCannotArriveAfter) {
  deliver_prepaid_order();
  ASSERT_EQ(submit({{"type", "return"}, {"order_id", "WEB-7001"}, {"return_id", "AMZ-RET-9"},
                    {"lines", {{{"id", "2"}}}}, {"approved_by", "amazon"}, {"event_id", "amazon-return-9"}},
                   "2026-12-05T03:30:00Z")
                .status,
            Ack::Status::Stored);
  EXPECT_EQ(order("WEB-7001").state, "return_requested");
  Ack off = submit({{"type", "event"}, {"order_id", "WEB-7001"}, {"event", "return_rejected"},
                    {"return_id", "AMZ-RET-9"}, {"by", "amazon"}},
                   "2026-12-06T03:30:00Z");
  ASSERT_EQ(off.status, Ack::Status::Stored) << off.message;
  StoredOrder o = order("WEB-7001");
  EXPECT_EQ(o.returns[0].state, "withdrawn");
  EXPECT_EQ(o.state, "delivered");
  Ack late = submit({{"type", "event"}, {"order_id", "WEB-7001"}, {"event", "return_received"},
                     {"return_id", "AMZ-RET-9"}, {"by", "amazon"}},
                    "2026-12-07T03:30:00Z");
  EXPECT_EQ(late.status, Ack::Status::Refused);
  EXPECT_EQ(late.message, "return 'AMZ-RET-9' is withdrawn: it cannot be received now");
  Ack unknown = submit({{"type", "event"}, {"order_id", "WEB-7001"}, {"event", "return_shipped"},
                        {"return_id", "AMZ-RET-10"}, {"by", "amazon"}},
                       "2026-12-07T04:30:00Z");
  EXPECT_EQ(unknown.status, Ack::Status::Refused);
  EXPECT_EQ(unknown.message, "order 'WEB-7001' has no return 'AMZ-RET-10' waiting to be sent back");
}

INSTANTIATE_TEST_SUITE_P(Engines, ReturnsEngineTest, ::testing::Values("interp", "jit"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace orderflow::runtime::testing
