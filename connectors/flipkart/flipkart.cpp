// Flipkart Marketplace Seller API v3. Flipkart acts per shipment (labels,
// dispatch, cancellation), so a shipment is one orderflow order:
// "FLIPKART-<shipmentId>". Takes the search answer (POST
// /sellers/v3/shipments/filter: {"shipments": [Shipment]}) and shipment
// details (GET /sellers/v3/shipments/{ids}: ShipmentDetails, with the
// addresses). No full example body is published; the field names are those
// of Flipkart's SDK model pages (../shared/payloads/flipkart/SOURCE.md).
// Amounts are rupees: Flipkart sells in India only.
#include <fmt/format.h>

#include "connectors/connector.h"

namespace orderflow::connectors {

namespace {

const char* const kCurrency = "INR";

std::string order_id(const std::string& shipment_id) {
  return "FLIPKART-" + shipment_id;
}

nlohmann::json address(const Reader& a) {
  nlohmann::json out = nlohmann::json::object();
  std::string first = a.text_or("firstName", ""), last = a.text_or("lastName", "");
  std::string name = first + (first.empty() || last.empty() ? "" : " ") + last;
  if (!name.empty()) out["name"] = name;
  copy_texts(a, out,
             {{"contactNumber", "phone"},
              {"addressLine1", "line1"},
              {"addressLine2", "line2"},
              {"city", "city"},
              {"state", "region"},
              {"pinCode", "postal_code"}});
  out["country"] = "IN";
  return out;
}

std::vector<nlohmann::json> map_shipment(const Reader& s) {
  std::string shipment = s.text("shipmentId");
  std::string id = order_id(shipment);
  Reader items = s.at("orderItems");
  if (!items.value().is_array() || items.value().empty()) items.fail("expected the shipment's order items");
  Reader first = items.at(size_t{0});
  nlohmann::json out;
  out["id"] = id;
  out["channel"] = "flipkart";
  out["external_id"] = shipment;
  out["placed_at"] = first.text("orderDate");
  if (s.has("dispatchByDate")) out["dispatch_by"] = s.text("dispatchByDate");
  std::string type = s.text_or("shipmentType", "NORMAL");
  out["delivery"] = type == "EXPRESS" ? "express" : "standard";

  nlohmann::json lines = nlohmann::json::array();
  std::vector<std::string> totals, shipping;
  std::vector<nlohmann::json> events;
  std::string payment = "prepaid";
  for (size_t i = 0; i < items.value().size(); ++i) {
    Reader item = items.at(i);
    int64_t quantity = item.integer("quantity");
    Reader price = item.at("priceComponents");
    // sellingPrice is for all the item's units; totalPrice adds the shipping charge.
    std::string line_id = item.text("orderItemId");
    nlohmann::json line = {
        {"id", line_id},
        {"sku", item.text_or("sku", "fsn:" + item.text("fsn"))},
        {"quantity", quantity},
        {"unit_price",
         {{"amount", divide_amount(price.amount("sellingPrice"), quantity, price.path() + ".sellingPrice")},
          {"currency", kCurrency}}}};
    if (item.has("title")) line["title"] = item.text("title");
    lines.push_back(std::move(line));
    totals.push_back(price.amount("totalPrice"));
    if (price.has("shippingCharge")) shipping.push_back(price.amount("shippingCharge"));
    if (item.text_or("paymentType", "") == "COD") payment = "cod";
    std::string status = item.text_or("status", "");
    if (status == "CANCELLED") {
      nlohmann::json e = lifecycle_event(id, "cancel", fmt::format("flipkart-cancel-{}", line_id), "flipkart");
      e["lines"] = nlohmann::json::array({{{"id", line_id}, {"quantity", quantity}}});
      if (item.has("cancellationDate")) e["at"] = item.text("cancellationDate");
      if (item.has("cancellationReason")) e["reason"] = item.text("cancellationReason");
      events.push_back(std::move(e));
    } else if (status == "RETURN_REQUESTED" || status == "RETURNED") {
      // Flipkart rules on its returns: the item's return, approved there
      // (asked once, whichever report comes first), and arrived once RETURNED.
      std::string return_id = fmt::format("{}-R{}", id, line_id);
      events.push_back(channel_return(id, return_id, nlohmann::json::array({{{"id", line_id}, {"quantity", quantity}}}),
                                      "other", fmt::format("flipkart-return-{}", line_id), "flipkart",
                                      ReturnApproval::OnTheChannel));
      if (status == "RETURNED")
        events.push_back(return_event(id, return_id, "return_received",
                                      fmt::format("flipkart-return_received-{}", line_id), "flipkart"));
    }
  }
  out["lines"] = std::move(lines);
  out["total"] = {{"amount", sum_amounts(totals, items.path())}, {"currency", kCurrency}};
  if (!shipping.empty())
    out["shipping_fee"] = {{"amount", sum_amounts(shipping, items.path())}, {"currency", kCurrency}};
  out["payment"] = {{"method", payment}};
  if (payment == "prepaid") out["payment"]["status"] = "paid";
  nlohmann::json customer = nlohmann::json::object();
  if (s.has("buyerDetails")) {
    Reader b = s.at("buyerDetails");
    std::string name = b.text_or("firstName", "") + (b.has("lastName") ? " " + b.text("lastName") : "");
    if (!name.empty() && name != " ") customer["name"] = name;
  }
  out["customer"] = std::move(customer);
  if (s.has("deliveryAddress")) out["ship_to"] = address(s.at("deliveryAddress"));
  if (s.has("billingAddress")) out["bill_to"] = address(s.at("billingAddress"));
  nlohmann::json tags = nlohmann::json::array();
  // Under verification at Flipkart: the seller may not act on it yet.
  if (s.has("hold") && s.value()["hold"] == true) tags.push_back("held_by_channel");
  if (first.has("serviceProfile")) tags.push_back("service:" + first.text("serviceProfile"));
  out["tags"] = std::move(tags);
  std::vector<nlohmann::json> inputs;
  inputs.push_back(std::move(out));
  inputs.insert(inputs.end(), std::make_move_iterator(events.begin()), std::make_move_iterator(events.end()));
  return inputs;
}

class Flipkart final : public Connector {
 public:
  std::string channel() const override { return "flipkart"; }

  Normalized normalize(const Reader& root) const override {
    try {
      if (!root.is_object()) root.fail("expected a JSON object");
      if (root.has("shipmentId")) return map_shipment(root);
      Reader list = root.at("shipments");
      if (!list.is_array()) list.fail("expected a list of shipments");
      std::vector<nlohmann::json> inputs;
      for (size_t i = 0; i < list.size(); ++i)
        for (auto& input : map_shipment(list.at(i))) inputs.push_back(std::move(input));
      return inputs;
    } catch (const PayloadError& e) {
      return e;
    }
  }
};

}  // namespace

std::unique_ptr<Connector> make_flipkart() {
  return std::make_unique<Flipkart>();
}

}  // namespace orderflow::connectors
