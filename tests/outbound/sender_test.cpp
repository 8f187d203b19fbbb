// The sender tells a channel of the refunds the engine made for its
// orders' returns, through the channel's connector, and not of those the
// channel paid itself; and Amazon of a shipment, with its carrier. The channel is a recording function in place of
// HTTP (outbound_test.py runs the real thing against a loopback server).
#include <fstream>

#include "connectors/outbound/sender.h"
#include "runtime/store/inbox.h"
#include "tests/runtime/engine_fixture.h"

namespace orderflow::runtime::testing {
namespace {

const std::string kReturnsBundle = std::string(ORDERFLOW_SOURCE_DIR) + "/tests/lang/returns";

class SenderTest : public EngineTest {
 protected:
  std::string bundle() const override { return kReturnsBundle; }

  // WEB-7001 of the returns bundle, as if `channel` had sent it, taken, packed and shipped.
  void ship_as(const std::string& channel, const std::string& id, const std::string& external_id,
               const nlohmann::json& shipping = nlohmann::json::object()) {
    std::ifstream in(kReturnsBundle + "/orders/web-discounted.json");
    nlohmann::json order = nlohmann::json::parse(in);
    order["id"] = id;
    order["channel"] = channel;
    order["external_id"] = external_id;
    ASSERT_EQ(submit(order, "2026-12-01T05:00:00Z").state, "allocated");
    event(id, "pack", "2026-12-01T09:00:00Z");
    Ack shipped = event(id, "ship", "2026-12-02T04:30:00Z", shipping);
    ASSERT_EQ(shipped.state, "shipped") << shipped.message;
  }
  // WOO-7001, shipped and delivered.
  void deliver_woo_order() {
    ship_as("woocommerce", "WOO-7001", "7001");
    ASSERT_EQ(event("WOO-7001", "deliver", "2026-12-03T06:30:00Z").state, "delivered");
  }

  // A sender over the test's database with these channels' outbound config,
  // the channel answering `status` and its requests kept in `told_`.
  std::unique_ptr<outbound::Sender> sender(const nlohmann::json& channels, int status = 201) {
    inbox_ = open_sqlite_inbox(db() + "-inbox");
    return std::make_unique<outbound::Sender>(
        outbound::SenderConfig::from_json(channels), open_sqlite_store(db(), {.sync_full = false}),
        [this](const std::function<void(Inbox&)>& work) { work(*inbox_); },
        [this, status](const poller::HttpCall& call) {
          told_.push_back(call);
          return poller::HttpAnswer{status, "{}", {}};
        });
  }
  std::unique_ptr<outbound::Sender> woo_sender() {
    return sender({{"woocommerce", {{"base_url", "http://woo.test"}, {"resend_every_seconds", 0}}}});
  }

  std::vector<poller::HttpCall> refunds() const {
    std::vector<poller::HttpCall> out;
    for (const poller::HttpCall& c : told_)
      if (c.url.ends_with("/refunds")) out.push_back(c);
    return out;
  }

  std::unique_ptr<Inbox> inbox_;
  std::vector<poller::HttpCall> told_;
};

TEST_P(SenderTest, ARefundTheEngineMadeIsToldToWooCommerce) {
  deliver_woo_order();
  auto s = woo_sender();
  s->round(at("2026-12-04T00:00:00Z"));  // the first round starts from now: the past is not told
  ASSERT_EQ(submit({{"type", "return"}, {"order_id", "WOO-7001"}, {"reason", "size"},
                    {"lines", {{{"id", "1"}, {"quantity", 1}}}}},
                   "2026-12-05T03:30:00Z")
                .status,
            Ack::Status::Stored);
  event("WOO-7001", "return_received", "2026-12-06T03:30:00Z");
  ASSERT_EQ(submit({{"type", "grade"}, {"order_id", "WOO-7001"}, {"units", {{{"grade", "A"}}}}},
                   "2026-12-06T05:00:00Z")
                .status,
            Ack::Status::Stored);
  s->round(at("2026-12-06T06:00:00Z"));
  std::vector<poller::HttpCall> sent = refunds();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].method, "POST");
  EXPECT_EQ(sent[0].url, "http://woo.test/wp-json/wc/v3/orders/7001/refunds");
  nlohmann::json body = nlohmann::json::parse(sent[0].body);
  EXPECT_EQ(body["amount"], "990.00") << "the unit's paid price and tax, as the engine worked it out";
  EXPECT_EQ(body["line_items"], nlohmann::json::parse(R"([{"id": "1", "quantity": 1}])"));
  EXPECT_EQ(body["reason"], "Return WOO-7001-R1 (size), refunded by orderflow");
  s->round(at("2026-12-06T07:00:00Z"));
  EXPECT_EQ(refunds().size(), 1u) << "told once";
}

TEST_P(SenderTest, ARefundTheChannelPaidIsNotToldBack) {
  deliver_woo_order();
  auto s = woo_sender();
  s->round(at("2026-12-04T00:00:00Z"));
  ASSERT_EQ(submit({{"type", "return"}, {"order_id", "WOO-7001"}, {"return_id", "WOO-R9"}, {"reason", "size"},
                    {"lines", {{{"id", "2"}}}}, {"approved_by", "woocommerce"},
                    {"refunded", {{"amount", "247.50"}, {"currency", "INR"}}}},
                   "2026-12-05T03:30:00Z")
                .status,
            Ack::Status::Stored);
  s->round(at("2026-12-05T04:00:00Z"));
  EXPECT_TRUE(refunds().empty());
}

// The ship event's carrier and tracking number reach Amazon as its shipment confirmation.
TEST_P(SenderTest, AShipmentIsConfirmedToAmazonWithItsCarrierAndTrackingNumber) {
  auto amazon = sender({{"amazon",
                         {{"base_url", "https://sellingpartnerapi-eu.amazon.com"},
                          {"settings", {{"marketplace_id", "A21TJRUUN4KGV"}}},
                          {"resend_every_seconds", 0}}}},
                       204);
  amazon->round(at("2026-11-30T00:00:00Z"));
  ship_as("amazon", "AMZ-408-5521907-7001", "408-5521907-7001",
          {{"carrier", "Delhivery"}, {"tracking_number", "DLV1234567890"}});
  amazon->round(at("2026-12-02T05:00:00Z"));
  ASSERT_EQ(told_.size(), 1u);
  EXPECT_EQ(told_[0].url,
            "https://sellingpartnerapi-eu.amazon.com/orders/v0/orders/408-5521907-7001/shipmentConfirmation");
  nlohmann::json body = nlohmann::json::parse(told_[0].body);
  EXPECT_EQ(body["marketplaceId"], "A21TJRUUN4KGV");
  EXPECT_EQ(body["packageDetail"]["carrierCode"], "Delhivery");
  EXPECT_EQ(body["packageDetail"]["trackingNumber"], "DLV1234567890");
  EXPECT_EQ(body["packageDetail"]["shipDate"], "2026-12-02T04:30:00Z");
  EXPECT_EQ(body["packageDetail"]["orderItems"].size(), 2u) << body.dump();
}

// Shopee signs the moment of the call: the sender's clock, not the order's.
TEST_P(SenderTest, AShipmentIsToldToShopeeSignedAtTheMomentItIsSent) {
  auto shopee = sender({{"shopee",
                         {{"base_url", "https://partner.shopeemobile.com"},
                          {"settings",
                           {{"partner_id", 2001887}, {"partner_key", "k"}, {"shop_id", 14701711}, {"access_token", "t"}}},
                          {"resend_every_seconds", 0}}}},
                       200);
  shopee->round(at("2026-11-30T00:00:00Z"));
  ship_as("shopee", "SHOPEE-201212DCXHJUIKJ", "201212DCXHJUIKJ", {{"tracking_number", "NVSGPAR0123456789"}});
  shopee->round(at("2026-12-02T05:00:00Z"));
  ASSERT_EQ(told_.size(), 1u);
  EXPECT_TRUE(told_[0].url.starts_with("https://partner.shopeemobile.com/api/v2/logistics/ship_order?partner_id=2001887"
                                       "&timestamp=1796187600&"))
      << told_[0].url;
  EXPECT_EQ(nlohmann::json::parse(told_[0].body)["non_integrated"]["tracking_number"], "NVSGPAR0123456789");
}

INSTANTIATE_TEST_SUITE_P(Engines, SenderTest, ::testing::Values("interp"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace orderflow::runtime::testing
