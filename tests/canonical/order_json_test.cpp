#include "runtime/canonical/order_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/check/check_helpers.h"

namespace orderflow::runtime {
namespace {

class CanonicalOrder : public ::testing::Test {
 protected:
  void SetUp() override {
    auto out = orderflow::testing::check_text("policy acceptance \"A\"\notherwise accept\n");
    ASSERT_TRUE(out.ok());
    bundle = std::shared_ptr<const check::CheckedBundle>(std::move(out.bundle));
  }
  std::string error_of(const std::string& json) {
    auto r = parse_order(*bundle, json);
    if (auto* e = std::get_if<DecodeError>(&r)) return e->text();
    return "";
  }
  std::shared_ptr<const check::CheckedBundle> bundle;
};

const char* kOrder = R"({"id":"A-1","channel":"amazon","placed_at":"2026-11-20T10:15:00+05:30",
  "total":{"amount":"7500.00","currency":"INR"},"payment":{"method":"cod"},
  "customer":{"is_new":true,"rto_count":2},"ship_to":{"postal_code":"560001","country":"IN"},
  "lines":[{"sku":"TS","quantity":2,"unit_price":{"amount":"3750.00","currency":"INR"}}],
  "tags":["gift"], "an_unknown_field": 1})";

// The order above with one piece of its text replaced.
std::string order_with(std::string_view from, std::string_view to) {
  std::string order = kOrder;
  order.replace(order.find(from), from.size(), to);
  return order;
}

TEST_F(CanonicalOrder, DecodesEveryKindOfField) {
  auto r = parse_order(*bundle, kOrder);
  ASSERT_TRUE(std::holds_alternative<OrderImage>(r)) << std::get<DecodeError>(r).text();
  const auto& image = std::get<OrderImage>(r);
  model::RecordRef o(bundle->schema, bundle->order_record, image.data());
  EXPECT_EQ(o.get("id").as_string(), "A-1");
  EXPECT_EQ(o.get("total").i, 7'500'000'000);
  EXPECT_EQ(model::format_time(o.get("placed_at").i), "2026-11-20T04:45:00Z");
  EXPECT_EQ(o.get("delivery").i, 0);  // the default, standard
  EXPECT_TRUE(o.get("dispatch_by").is_missing());
  EXPECT_EQ(o.get("lines").size, 1u);
  EXPECT_EQ(order_id(*bundle, image.data()), "A-1");
}

TEST_F(CanonicalOrder, RoundTripsThroughJson) {
  auto r = parse_order(*bundle, kOrder);
  const auto& image = std::get<OrderImage>(r);
  nlohmann::json encoded = encode_record(*bundle, bundle->order_record, image.data());
  EXPECT_EQ(encoded["total"]["amount"], "7500.00");
  EXPECT_EQ(encoded["channel"], "amazon");
  auto again = decode_order(*bundle, encoded);
  ASSERT_TRUE(std::holds_alternative<OrderImage>(again));
  EXPECT_EQ(encode_record(*bundle, bundle->order_record, std::get<OrderImage>(again).data()), encoded);
}

TEST_F(CanonicalOrder, ErrorsNameTheJsonPath) {
  EXPECT_EQ(error_of(R"({"id":"A"})"), "$.channel: missing: every order needs channel (Channel)");
  EXPECT_EQ(error_of(R"({"id":"A","channel":"flipcart"})"), "$.channel: unknown Channel 'flipcart': did you mean 'flipkart'?");
  EXPECT_EQ(error_of(order_with("\"3750.00\"", "\"37.50.00\"")), "$.lines[0].unit_price.amount: '37.50.00' is not an amount: expected a number such as 1250.00");
  EXPECT_EQ(error_of(order_with("\"quantity\":2", "\"quantity\":\"2\"")), "$.lines[0].quantity: expected a whole number, found a text");
  EXPECT_EQ(error_of(order_with("\"INR\"", "\"RUP\"")), "$.total.currency: 'RUP' is not an ISO 4217 currency code");
  EXPECT_EQ(error_of("{\"id\": \"A\",\n \"channel\": }"), "$: not JSON (line 2, column 13): unexpected '}'; expected '[', '{', or a literal");
  EXPECT_EQ(error_of("[1, 2]"), "$: expected an object (Order), found a list");
  // A whole number written with a fraction is taken; one beyond 64 bits is refused, not cast (fuzzing found it).
  EXPECT_EQ(error_of(order_with("\"quantity\":2", "\"quantity\":4.18e20")), "$.lines[0].quantity: this number is too large");
  EXPECT_EQ(error_of(order_with("\"quantity\":2", "\"quantity\":2.0")), "");
}

TEST_F(CanonicalOrder, AmountsStayExact) {
  auto r = parse_order(*bundle, order_with("\"7500.00\"", "0.1"));
  ASSERT_TRUE(std::holds_alternative<OrderImage>(r));
  EXPECT_EQ(model::RecordRef(bundle->schema, bundle->order_record, std::get<OrderImage>(r).data()).get("total").i,
            100'000);
}

TEST_F(CanonicalOrder, SetFieldForTests) {
  auto r = parse_order(*bundle, kOrder);
  auto& image = std::get<OrderImage>(r);
  const auto& order = bundle->schema.record_def(bundle->order_record);
  int payment = order.find("payment");
  int payment_record = order.fields[payment].type.ref;
  int method = bundle->schema.record_def(payment_record).find("method");
  set_field(*bundle, image, {{bundle->order_record, payment}, {payment_record, method}},
            model::Value::enumeration(0, 3));
  model::RecordRef o(bundle->schema, bundle->order_record, image.data());
  model::Value p = o.get("payment");
  EXPECT_EQ(model::RecordRef(bundle->schema, payment_record, static_cast<const std::byte*>(p.ptr)).get("method").i, 3);
}

}  // namespace
}  // namespace orderflow::runtime
