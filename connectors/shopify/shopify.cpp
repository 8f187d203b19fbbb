// Shopify Admin REST: orders (GET /orders/{id}.json and the orders/*
// webhooks, whose body is the bare order) and refunds.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "connectors/connector.h"

namespace orderflow::connectors {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string order_id(const std::string& shopify_id) { return "SHOPIFY-" + shopify_id; }

nlohmann::json money(const Reader& r, const char* key, const std::string& currency) {
  return {{"amount", r.amount(key)}, {"currency", currency}};
}

nlohmann::json address(const Reader& a) {
  nlohmann::json out = nlohmann::json::object();
  std::string name = a.text_or("name", "");
  if (name.empty()) {
    std::string first = a.text_or("first_name", ""), last = a.text_or("last_name", "");
    name = first + (first.empty() || last.empty() ? "" : " ") + last;
  }
  if (!name.empty()) out["name"] = name;
  copy_texts(a, out, {{"phone", "phone"}, {"address1", "line1"}, {"address2", "line2"}, {"city", "city"},
                      {"province", "region"}, {"zip", "postal_code"}, {"country_code", "country"}});
  for (auto [from, to] : {std::pair{"latitude", "lat"}, {"longitude", "lon"}})
    if (a.is_number(from)) out[to] = a.scalar(from);
  return out;
}

// Shopify's financial_status, as the schema's PaymentStatus.
std::string payment_status(const std::string& financial) {
  if (financial == "partially_paid") return "pending";
  if (financial == "expired") return "failed";
  for (const char* same : {"pending", "authorized", "paid", "partially_refunded", "refunded", "voided"})
    if (financial == same) return same;
  return "";
}

nlohmann::json map_order(const Reader& o) {
  std::string id = o.text("id");
  std::string currency = o.text_or("currency", o.text_or("presentment_currency", ""));
  if (currency.empty()) o.fail("is missing", "currency");
  nlohmann::json out;
  out["id"] = order_id(id);
  out["channel"] = "shopify";
  out["external_id"] = id;
  out["placed_at"] = o.text("created_at");
  out["total"] = money(o, "total_price", currency);
  if (o.has("subtotal_price")) out["subtotal"] = money(o, "subtotal_price", currency);
  if (o.has("total_tax")) out["tax"] = money(o, "total_tax", currency);
  if (o.has("total_discounts")) out["discount"] = money(o, "total_discounts", currency);
  if (o.has("total_shipping_price_set")) {
    Reader shop = o.at("total_shipping_price_set").at("shop_money");
    out["shipping_fee"] = {{"amount", shop.amount("amount")}, {"currency", shop.text_or("currency_code", currency)}};
  }

  // Payment: cash on delivery shows in the gateway's name.
  std::vector<std::string> gateways;
  if (o.has("payment_gateway_names"))
    if (Reader names = o.at("payment_gateway_names"); names.is_array())
      for (size_t i = 0; i < names.size(); ++i)
        if (auto name = names.at(i).string_value()) gateways.push_back(*name);
  if (gateways.empty() && o.has("gateway")) gateways.push_back(o.text("gateway"));
  std::string method = "prepaid";
  for (const std::string& g : gateways) {
    std::string l = lower(g);
    if (l.find("cash on delivery") != std::string::npos || l.find("cod") != std::string::npos) method = "cod";
  }
  if (method != "cod" && !gateways.empty() &&
      std::all_of(gateways.begin(), gateways.end(), [](const std::string& g) { return g == "gift_card"; }))
    method = "gift_card";
  nlohmann::json payment = {{"method", method}};
  if (std::string s = payment_status(o.text_or("financial_status", "")); !s.empty()) payment["status"] = s;
  if (!gateways.empty()) payment["gateway"] = gateways.front();
  out["payment"] = std::move(payment);

  nlohmann::json customer = nlohmann::json::object();
  if (o.has("customer")) {
    Reader c = o.at("customer");
    if (c.has("id")) customer["id"] = c.text("id");
    std::string name = c.text_or("first_name", "") + (c.has("last_name") ? " " + c.text("last_name") : "");
    if (!name.empty() && name != " ") customer["name"] = name;
    if (c.has("phone")) customer["phone"] = c.text("phone");
    if (c.has("orders_count")) {
      customer["order_count"] = c.integer("orders_count");
      customer["is_new"] = c.integer("orders_count") <= 1;
    }
  }
  if (std::string email = o.text_or("email", o.text_or("contact_email", "")); !email.empty()) customer["email"] = email;
  out["customer"] = std::move(customer);
  if (o.has("shipping_address")) out["ship_to"] = address(o.at("shipping_address"));
  if (o.has("billing_address")) out["bill_to"] = address(o.at("billing_address"));

  Reader items = o.at("line_items");
  if (!items.is_array()) items.fail("expected a list of line items");
  nlohmann::json lines = nlohmann::json::array();
  for (size_t i = 0; i < items.size(); ++i) {
    Reader l = items.at(i);
    // A line without a SKU is known by its variant (or product): routing needs a key.
    std::string sku = l.text_or("sku", "");
    if (sku.empty() && l.has("variant_id")) sku = "variant-" + l.text("variant_id");
    if (sku.empty() && l.has("product_id")) sku = "product-" + l.text("product_id");
    // A custom item (created by hand, no product behind it) is known by its title.
    if (sku.empty() && l.has("title")) sku = "custom:" + l.text("title");
    if (sku.empty()) l.fail("has no sku, variant, product or title to know the item by", "sku");
    nlohmann::json line = {{"sku", sku}, {"quantity", l.integer("quantity")}, {"unit_price", money(l, "price", currency)}};
    if (l.has("id")) line["id"] = l.text("id");
    if (l.has("title")) line["title"] = l.text("title");
    lines.push_back(std::move(line));
  }
  out["lines"] = std::move(lines);
  if (std::string tags = o.text_or("tags", ""); !tags.empty()) {
    nlohmann::json list = nlohmann::json::array();
    size_t start = 0;
    while (start <= tags.size()) {
      size_t end = tags.find(',', start);
      if (end == std::string::npos) end = tags.size();
      std::string tag = tags.substr(start, end - start);
      tag.erase(0, tag.find_first_not_of(' '));
      tag.erase(tag.find_last_not_of(' ') + 1);
      if (!tag.empty()) list.push_back(tag);
      start = end + 1;
    }
    out["tags"] = std::move(list);
  }
  return out;
}

class Shopify final : public Connector {
 public:
  std::string channel() const override { return "shopify"; }

  // base64 HMAC-SHA256 of the raw body, keyed by the webhook secret.
  std::string signature_header() const override { return "x-shopify-hmac-sha256"; }
  std::string expected_signature(const WebhookSecret& secret, const std::string& body) const override {
    return base64(hmac_sha256(secret.secret, body));
  }

  // Admin REST 2026-07: a cancellation Shopify did not make is made there
  // (POST orders/{id}/cancel.json); what may be sold is set per location
  // and inventory item (inventory_levels/set.json), from the settings'
  // "location_id" and "inventory_items" (SKU -> inventory item id).
  // Shipping needs fulfillment orders and tracking, which the order's
  // events do not carry: it is not told. Nor is a changed delivery promise:
  // an order's shipping lines cannot be rewritten through the REST API.
  std::optional<ChannelRequest> outbound(const Outbound& m, const nlohmann::json& settings) const override {
    if (m.kind == "state" && m.to == "cancelled" && m.by != "shopify")
      return ChannelRequest{"POST", fmt::format("/admin/api/2026-07/orders/{}/cancel.json",
                                                m.order.value("external_id", "")),
                            nlohmann::json::object()};
    if (m.kind == "inventory_update") {
      const nlohmann::json items = settings.value("inventory_items", nlohmann::json::object());
      if (!items.contains(m.sku) || !settings.contains("location_id")) return std::nullopt;  // not listed there
      return ChannelRequest{"POST", "/admin/api/2026-07/inventory_levels/set.json",
                            {{"location_id", settings["location_id"]},
                             {"inventory_item_id", items[m.sku]},
                             {"available", m.quantity}}};
    }
    return std::nullopt;
  }

  Normalized normalize(const Reader& root) const override {
    try {
      if (!root.is_object()) root.fail("expected a JSON object");
      if (root.has("refund")) return refund(root.at("refund"));
      if (root.has("id") && root.has("order_id") && root.has("refund_line_items"))
        return refund(root);  // the refunds/create webhook: the bare refund
      if (root.has("orders")) root.fail("a list of orders: send each order on its own", "orders");
      if (root.has("fulfillment_orders")) return fulfillment_orders(root.at("fulfillment_orders"));
      if (root.has("fulfillment_order")) return fulfillment_orders(root.at("fulfillment_order"));
      Reader order = root.has("order") ? root.at("order") : root;
      std::vector<nlohmann::json> inputs;
      inputs.push_back(map_order(order));
      if (order.has("cancelled_at")) {
        // Cancelled at the channel: the order and then its cancellation.
        nlohmann::json cancel =
            lifecycle_event(order_id(order.text("id")), "cancel", "shopify-cancel-" + order.text("id"), "shopify");
        cancel["at"] = order.text("cancelled_at");
        if (order.has("cancel_reason")) cancel["reason"] = order.text("cancel_reason");
        inputs.push_back(std::move(cancel));
      }
      return inputs;
    } catch (const PayloadError& e) {
      return e;
    }
  }

 private:
  // Fulfillment orders (GET orders/{id}/fulfillment_orders.json, the
  // fulfillment_orders/* webhooks): where Shopify would ship from is not
  // ours to take (orderflow routes), but a cancelled one cancels its lines
  // and a closed one (fulfilled at Shopify) ships them. Open, scheduled or
  // held ones change nothing.
  static Normalized fulfillment_orders(const Reader& list) {
    std::vector<nlohmann::json> inputs;
    auto each = [&](const Reader& fo) {
      std::string status = fo.text("status");
      const char* event = status == "cancelled" ? "cancel" : status == "closed" ? "ship" : nullptr;
      if (!event) return;
      nlohmann::json lines = nlohmann::json::array();
      Reader items = fo.at("line_items");
      for (size_t i = 0; i < items.size(); ++i)
        lines.push_back({{"id", items.at(i).text("line_item_id")}, {"quantity", items.at(i).integer("quantity")}});
      nlohmann::json e = lifecycle_event(order_id(fo.text("order_id")), event,
                                         fmt::format("shopify-fulfillment-order-{}-{}", fo.text("id"), status), "shopify");
      e["lines"] = std::move(lines);
      if (fo.has("updated_at")) e["at"] = fo.text("updated_at");
      inputs.push_back(std::move(e));
    };
    if (list.is_array())
      for (size_t i = 0; i < list.size(); ++i) each(list.at(i));
    else
      each(list);
    return inputs;
  }

  // The money a refund's successful refund transactions paid back, in their currency.
  static std::optional<nlohmann::json> refunded_money(const Reader& r) {
    if (!r.has("transactions")) return std::nullopt;
    Reader transactions = r.at("transactions");
    std::vector<std::string> amounts;
    std::string currency;
    for (size_t i = 0; i < transactions.size(); ++i) {
      Reader t = transactions.at(i);
      if (t.text_or("kind", "") != "refund" || t.text_or("status", "") != "success") continue;
      std::string c = t.text_or("currency", "");
      if (c.empty() || (!currency.empty() && c != currency)) return std::nullopt;
      currency = c;
      amounts.push_back(t.amount("amount"));
    }
    if (amounts.empty()) return std::nullopt;
    return nlohmann::json{{"amount", sum_amounts(amounts, transactions.path())}, {"currency", currency}};
  }

  // A refund gives items back: units never shipped are cancelled; units
  // restocked as returned (restock_type "return") are a return Shopify
  // approved and refunded, and that has come back.
  static Normalized refund(const Reader& r) {
    std::string order = order_id(r.text("order_id"));
    nlohmann::json cancelled = nlohmann::json::array(), returned = nlohmann::json::array();
    if (r.has("refund_line_items")) {
      Reader items = r.at("refund_line_items");
      for (size_t i = 0; i < items.size(); ++i) {
        Reader item = items.at(i);
        nlohmann::json line = {{"id", item.text("line_item_id")}, {"quantity", item.integer("quantity")}};
        (item.text_or("restock_type", "") == "return" ? returned : cancelled).push_back(line);
      }
    }
    std::vector<nlohmann::json> inputs;
    std::string id = r.text("id");
    auto event = [&](const char* name, const nlohmann::json& lines, const char* suffix) {
      nlohmann::json e = lifecycle_event(order, name, fmt::format("shopify-refund-{}-{}", id, suffix), "shopify");
      e["lines"] = std::move(lines);
      if (r.has("created_at")) e["at"] = r.text("created_at");
      if (r.has("note")) e["reason"] = r.text("note");
      inputs.push_back(std::move(e));
    };
    if (!cancelled.empty()) event("cancel", cancelled, "cancel");
    if (!returned.empty()) {
      std::string return_id = fmt::format("{}-REFUND-{}", order, id);
      nlohmann::json ret =
          channel_return(order, return_id, returned, "other", fmt::format("shopify-refund-{}-return", id), "shopify",
                         ReturnApproval::OnTheChannel);
      if (r.has("created_at")) ret["at"] = r.text("created_at");
      // What went back for these units alone: a refund that also cancels leaves it unsaid.
      if (cancelled.empty())
        if (auto money = refunded_money(r)) ret["refunded"] = *money;
      inputs.push_back(std::move(ret));
      nlohmann::json arrived =
          return_event(order, return_id, "return_received", fmt::format("shopify-refund-{}-received", id), "shopify");
      if (r.has("created_at")) arrived["at"] = r.text("created_at");
      inputs.push_back(std::move(arrived));
    }
    if (inputs.empty()) r.fail("refunds money only (no line items): nothing changes in the order's lifecycle");
    return inputs;
  }
};

}  // namespace

std::unique_ptr<Connector> make_shopify() { return std::make_unique<Shopify>(); }

}  // namespace orderflow::connectors
