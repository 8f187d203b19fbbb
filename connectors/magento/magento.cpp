// Magento 2 / Adobe Commerce.
// - REST: a sales order (GET /V1/orders/{id}) or a search result of them
//   (GET /V1/orders?searchCriteria...). Configurable products come as a
//   parent line and its simple child; the parent carries the price, so the
//   children are left out. Times are the store's UTC.
// - GraphQL: an order (guestOrder, customer orders) when the query asked
//   for what an order needs (number, order_date, total, items with
//   quantity and price), and the cancelOrder mutation's answer.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "connectors/connector.h"

namespace orderflow::connectors {

namespace {

std::string order_id(const std::string& increment_id) {
  return "MAGENTO-" + increment_id;
}

std::string positive(std::string amount) {
  return !amount.empty() && amount[0] == '-' ? amount.substr(1) : amount;
}

nlohmann::json address(const Reader& a, const char* country_key, const char* phone_key) {
  nlohmann::json out = nlohmann::json::object();
  std::string first = a.text_or("firstname", ""), last = a.text_or("lastname", "");
  std::string name = first + (first.empty() || last.empty() ? "" : " ") + last;
  if (!name.empty()) out["name"] = name;
  if (a.has("street") && a.value()["street"].is_array()) {
    const auto& street = a.value()["street"];
    if (street.size() > 0 && street[0].is_string()) out["line1"] = street[0];
    if (street.size() > 1 && street[1].is_string() && !street[1].get<std::string>().empty()) out["line2"] = street[1];
  }
  copy_texts(a, out, {{"city", "city"}, {"postcode", "postal_code"}, {country_key, "country"}, {phone_key, "phone"}});
  if (a.has("region")) {
    const nlohmann::json& region = a.value()["region"];
    if (region.is_string())
      out["region"] = region;
    else if (region.is_object() && region.value("region", nlohmann::json()).is_string())
      out["region"] = region["region"];
  }
  return out;
}

// Magento's payment method codes, as the schema's PaymentMethod.
std::string payment_method(const std::string& code) {
  if (code == "cashondelivery") return "cod";
  if (code == "banktransfer") return "bank_transfer";
  if (code == "checkmo" || code == "purchaseorder") return "other";
  return "prepaid";
}

// A quantity Magento may send as 1, 1.0 or "1.0000".
int64_t whole_quantity(const Reader& r, const char* key) {
  Reader q = r.at(key);
  if (q.value().is_number_integer()) return q.value().get<int64_t>();
  std::string text = q.value().is_string()   ? q.value().get<std::string>()
                     : q.value().is_number() ? q.value().dump()
                                             : "";
  size_t dot = text.find('.');
  if (!text.empty() && (dot == std::string::npos || text.find_first_not_of('0', dot + 1) == std::string::npos)) {
    try {
      return std::stoll(text.substr(0, dot));
    } catch (const std::exception&) {
    }
  }
  q.fail("expected a whole quantity");
}

std::vector<nlohmann::json> map_rest(const Reader& o) {
  std::string number = o.text("increment_id");
  std::string id = order_id(number);
  std::string currency = o.text_or("order_currency_code", o.text_or("base_currency_code", ""));
  if (currency.empty()) o.fail("is missing", "order_currency_code");
  auto money = [&](const char* key) {
    return nlohmann::json{{"amount", positive(o.amount(key))}, {"currency", currency}};
  };
  nlohmann::json out;
  out["id"] = id;
  out["channel"] = "magento";
  out["external_id"] = number;
  // The REST API names orders by entity id, not by their number: kept to tell Magento of them.
  if (o.has("entity_id")) out["channel_ref"] = o.text("entity_id");
  out["placed_at"] = iso_from_text(o, "created_at", "Z");
  out["total"] = money("grand_total");
  if (o.has("subtotal")) out["subtotal"] = money("subtotal");
  if (o.has("shipping_amount")) out["shipping_fee"] = money("shipping_amount");
  if (o.has("tax_amount")) out["tax"] = money("tax_amount");
  if (o.has("discount_amount")) out["discount"] = money("discount_amount");

  std::string state = o.text_or("state", "");
  nlohmann::json payment = {{"method", "prepaid"}};
  if (o.has("payment")) {
    Reader p = o.at("payment");
    std::string code = p.text_or("method", "");
    payment["method"] = payment_method(code);
    if (!code.empty()) payment["gateway"] = code;
  }
  if (state == "new" || state == "pending_payment" || state == "payment_review")
    payment["status"] = "pending";
  else if (state == "processing" || state == "complete")
    payment["status"] = "paid";
  out["payment"] = std::move(payment);

  nlohmann::json customer = nlohmann::json::object();
  if (o.has("customer_id")) customer["id"] = o.text("customer_id");
  std::string first = o.text_or("customer_firstname", ""), last = o.text_or("customer_lastname", "");
  if (!first.empty() || !last.empty()) customer["name"] = first + (first.empty() || last.empty() ? "" : " ") + last;
  if (o.has("customer_email")) customer["email"] = o.text("customer_email");
  out["customer"] = std::move(customer);
  if (o.has("billing_address")) out["bill_to"] = address(o.at("billing_address"), "country_id", "telephone");
  if (o.has("extension_attributes") && o.at("extension_attributes").has("shipping_assignments")) {
    Reader assignments = o.at("extension_attributes").at("shipping_assignments");
    if (assignments.value().is_array() && !assignments.value().empty()) {
      Reader shipping = assignments.at(size_t{0}).at("shipping");
      if (shipping.has("address")) out["ship_to"] = address(shipping.at("address"), "country_id", "telephone");
    }
  }

  Reader items = o.at("items");
  if (!items.value().is_array()) items.fail("expected a list of items");
  nlohmann::json lines = nlohmann::json::array(), cancelled = nlohmann::json::array();
  for (size_t i = 0; i < items.value().size(); ++i) {
    Reader item = items.at(i);
    if (item.has("parent_item_id")) continue;  // the simple child of a configurable line
    std::string line_id = item.text("item_id");
    nlohmann::json line = {{"id", line_id},
                           {"sku", item.text("sku")},
                           {"quantity", whole_quantity(item, "qty_ordered")},
                           {"unit_price", {{"amount", item.amount("price")}, {"currency", currency}}}};
    if (item.has("name")) line["title"] = item.text("name");
    lines.push_back(std::move(line));
    if (item.has("qty_canceled") && whole_quantity(item, "qty_canceled") > 0 && state != "canceled")
      cancelled.push_back({{"id", line_id}, {"quantity", whole_quantity(item, "qty_canceled")}});
  }
  if (lines.empty()) items.fail("has no line to ship");
  out["lines"] = std::move(lines);
  nlohmann::json tags = nlohmann::json::array();
  if (state == "holded") tags.push_back("held_at_channel");
  if (o.has("customer_is_guest") && o.value()["customer_is_guest"] == 1) tags.push_back("guest");
  out["tags"] = std::move(tags);

  std::vector<nlohmann::json> inputs;
  inputs.push_back(std::move(out));
  std::string at = o.has("updated_at") ? iso_from_text(o, "updated_at", "Z") : "";
  if (state == "canceled" || state == "closed") {
    nlohmann::json cancel = lifecycle_event(id, "cancel", "magento-" + state + "-" + number, "magento");
    if (!at.empty()) cancel["at"] = at;
    inputs.push_back(std::move(cancel));
  } else if (!cancelled.empty()) {
    nlohmann::json cancel = lifecycle_event(id, "cancel", "magento-item-cancel-" + number, "magento");
    cancel["lines"] = std::move(cancelled);
    if (!at.empty()) cancel["at"] = at;
    inputs.push_back(std::move(cancel));
  }
  return inputs;
}

// A GraphQL Money: {"value": 165, "currency": "USD"}.
nlohmann::json graphql_money(const Reader& m) {
  return {{"amount", m.amount("value")}, {"currency", m.text("currency")}};
}

std::vector<nlohmann::json> map_graphql_order(const Reader& o) {
  std::string number = o.text("number");
  std::string id = order_id(number);
  auto needs = [&](const char* key, const char* query) {
    if (!o.has(key)) o.fail(fmt::format("is missing: the query must ask for {}", query), key);
  };
  needs("order_date", "order_date");
  needs("total", "total { grand_total { value currency } }");
  nlohmann::json out;
  out["id"] = id;
  out["channel"] = "magento";
  out["external_id"] = number;
  out["placed_at"] = iso_from_text(o, "order_date", "Z");
  Reader total = o.at("total");
  out["total"] = graphql_money(total.at("grand_total"));
  if (total.has("subtotal")) out["subtotal"] = graphql_money(total.at("subtotal"));
  if (total.has("total_shipping")) out["shipping_fee"] = graphql_money(total.at("total_shipping"));
  if (total.has("total_tax")) out["tax"] = graphql_money(total.at("total_tax"));
  std::string method = "prepaid";
  if (o.has("payment_methods") && o.value()["payment_methods"].is_array() && !o.value()["payment_methods"].empty())
    method = payment_method(o.at("payment_methods").at(size_t{0}).text_or("type", ""));
  out["payment"] = {{"method", method}};
  nlohmann::json customer = nlohmann::json::object();
  if (o.has("email")) customer["email"] = o.text("email");
  out["customer"] = std::move(customer);
  if (o.has("shipping_address")) out["ship_to"] = address(o.at("shipping_address"), "country_code", "telephone");
  if (o.has("billing_address")) out["bill_to"] = address(o.at("billing_address"), "country_code", "telephone");
  Reader items = o.at("items");
  nlohmann::json lines = nlohmann::json::array();
  for (size_t i = 0; i < items.value().size(); ++i) {
    Reader item = items.at(i);
    if (!item.has("quantity_ordered"))
      item.fail("is missing: the query must ask for items { quantity_ordered product_sale_price { value currency } }",
                "quantity_ordered");
    nlohmann::json line = {{"sku", item.text("product_sku")},
                           {"quantity", whole_quantity(item, "quantity_ordered")},
                           {"unit_price", graphql_money(item.at("product_sale_price"))}};
    if (item.has("id")) line["id"] = item.text("id");
    if (item.has("product_name")) line["title"] = item.text("product_name");
    lines.push_back(std::move(line));
  }
  out["lines"] = std::move(lines);
  std::vector<nlohmann::json> inputs;
  inputs.push_back(std::move(out));
  std::string status = o.text_or("status", "");
  for (char& c : status) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (status == "canceled") inputs.push_back(lifecycle_event(id, "cancel", "magento-canceled-" + number, "magento"));
  return inputs;
}

std::vector<nlohmann::json> map_graphql(const Reader& root) {
  if (root.has("errors") && root.value()["errors"].is_array() && !root.value()["errors"].empty())
    root.at("errors").at(size_t{0}).fail("Magento answered with an error: " +
                                         root.at("errors").at(size_t{0}).text_or("message", ""));
  Reader data = root.at("data");
  if (data.has("cancelOrder")) {
    Reader result = data.at("cancelOrder");
    if (result.has("errorV2"))
      result.at("errorV2").fail("the cancellation failed: " + result.at("errorV2").text_or("message", ""));
    Reader order = result.at("order");
    if (!order.has("number"))
      order.fail("is missing: the mutation's answer names no order; ask for order { number status }", "number");
    std::string number = order.text("number");
    return {lifecycle_event(order_id(number), "cancel", "magento-canceled-" + number, "magento")};
  }
  for (const char* query : {"guestOrder", "customerOrder"})
    if (data.has(query)) return map_graphql_order(data.at(query));
  if (data.has("customer") && data.at("customer").has("orders")) {
    Reader list = data.at("customer").at("orders").at("items");
    std::vector<nlohmann::json> inputs;
    for (size_t i = 0; i < list.value().size(); ++i)
      for (auto& input : map_graphql_order(list.at(i))) inputs.push_back(std::move(input));
    return inputs;
  }
  data.fail("not an answer this connector knows (guestOrder, customer { orders }, cancelOrder)");
}

// The schema's ReturnReason for an RMA item's reason, as Magento's default
// reasons read ("Wrong Size", "Wrong Color", "Out of Service", "Other").
std::string rma_reason(std::string reason) {
  std::transform(reason.begin(), reason.end(), reason.begin(), [](unsigned char c) { return std::tolower(c); });
  if (reason == "wrong size") return "size";
  if (reason == "wrong color") return "not_as_described";
  if (reason == "out of service") return "defective";
  return "other";
}

// An RMA (Adobe Commerce returns, GET /V1/returns/{id}): asked for
// (`pending`) for the bundle's returns policy to decide; authorized in
// Magento's admin, approved there; received or processed, also arrived;
// rejected or denied, called off (as is one closed with nothing back).
std::vector<nlohmann::json> map_rma(const Reader& rma) {
  std::string status = rma.text("status");
  std::string order = order_id(rma.text("order_increment_id"));
  std::string number = rma.text("increment_id");
  std::string return_id = "MAGENTO-RMA-" + number;
  std::string at = rma.has("date_requested") ? iso_from_text(rma, "date_requested", "Z") : "";
  Reader items = rma.at("items");
  nlohmann::json lines = nlohmann::json::array();
  std::string reason = "other";
  int64_t came_back = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    Reader item = items.at(i);
    int64_t authorized = item.integer("qty_authorized");
    int64_t units = authorized > 0 ? authorized : item.integer("qty_requested");
    came_back += item.integer("qty_returned");
    if (units > 0) lines.push_back({{"id", item.text("order_item_id")}, {"quantity", units}});
    if (i == 0) reason = rma_reason(item.text_or("reason", ""));
  }
  if (lines.empty()) items.fail("an RMA of no units");
  // The RMA says when it was asked for, not when its status last changed:
  // what became of it is dated when it is heard of.
  std::vector<nlohmann::json> inputs;
  bool called_off = status == "rejected" || status == "rejected_on_item" || status == "denied" ||
                    (status == "closed" && came_back == 0);
  if (called_off) {
    inputs.push_back(return_event(order, return_id, "return_rejected", fmt::format("magento-rma-{}-{}", number, status),
                                  "magento"));
    return inputs;
  }
  // Pending: for the bundle's policy; authorized (or further) in Magento's admin.
  nlohmann::json ret =
      channel_return(order, return_id, std::move(lines), reason, "magento-rma-" + number, "magento",
                     status == "pending" ? ReturnApproval::ByThePolicy : ReturnApproval::OnTheChannel);
  if (!at.empty()) ret["at"] = at;
  inputs.push_back(std::move(ret));
  bool arrived = status == "received" || status == "received_on_item" || status == "approved" ||
                 status == "approved_on_item" || status == "processed_closed" || status == "closed";
  if (arrived)
    inputs.push_back(
        return_event(order, return_id, "return_received", fmt::format("magento-rma-{}-received", number), "magento"));
  return inputs;
}

class Magento final : public Connector {
 public:
  std::string channel() const override { return "magento"; }

  // A shipment (POST /V1/order/{entity id}/ship, as
  // ../shared/payloads/magento/rest-V1_order-ship_request.json): every item
  // not cancelled, with the ship event's tracking number under its carrier
  // (Magento's `custom` carrier code, titled with the carrier's name). An
  // order read through GraphQL has no entity id to name it by: not told.
  std::optional<ChannelRequest> outbound(const Outbound& m, const nlohmann::json&) const override {
    if (m.kind != "state" || m.to != "shipped" || m.by == "magento") return std::nullopt;
    std::string ref = m.order.value("channel_ref", "");
    if (ref.empty()) return std::nullopt;
    nlohmann::json items = nlohmann::json::array();
    for (const nlohmann::json& line : m.order.value("lines", nlohmann::json::array())) {
      int64_t units = line.value("quantity", int64_t{0}) - line.value("cancelled_quantity", int64_t{0});
      if (units <= 0 || !line.contains("id")) continue;
      nlohmann::json id = line["id"];
      // Magento's item ids are numbers; the canonical order keeps them as text.
      if (std::string text = id.is_string() ? id.get<std::string>() : "";
          !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); }))
        id = std::stoll(text);
      items.push_back({{"order_item_id", id}, {"qty", units}});
    }
    if (items.empty()) return std::nullopt;
    nlohmann::json body = {{"items", std::move(items)}, {"notify", true}};
    if (!m.tracking_number.empty())
      body["tracks"] = nlohmann::json::array(
          {{{"track_number", m.tracking_number}, {"title", m.carrier.empty() ? "Carrier" : m.carrier},
            {"carrier_code", "custom"}}});
    return ChannelRequest{"POST", fmt::format("/V1/order/{}/ship", ref), std::move(body)};
  }

  Normalized normalize(const Reader& root) const override {
    try {
      if (!root.is_object()) root.fail("expected a JSON object");
      if (root.has("data") || root.has("errors")) return map_graphql(root);
      if (root.has("search_criteria")) {  // GET /V1/orders (or /V1/returns)?searchCriteria...
        Reader list = root.at("items");
        std::vector<nlohmann::json> inputs;
        for (size_t i = 0; i < list.value().size(); ++i)
          for (auto& input : list.at(i).has("order_increment_id") ? map_rma(list.at(i)) : map_rest(list.at(i)))
            inputs.push_back(std::move(input));
        return inputs;
      }
      if (root.has("order_increment_id")) return map_rma(root);
      return map_rest(root);
    } catch (const PayloadError& e) {
      return e;
    }
  }
};

}  // namespace

std::unique_ptr<Connector> make_magento() {
  return std::make_unique<Magento>();
}

}  // namespace orderflow::connectors
