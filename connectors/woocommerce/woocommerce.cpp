// WooCommerce REST API v3: orders (GET /wp-json/wc/v3/orders/{id} and the
// order.created / order.updated webhooks, whose body is the same order).
#include <fmt/format.h>

#include <algorithm>

#include "connectors/connector.h"

namespace orderflow::connectors {

namespace {

std::string order_id(const std::string& woo_id) { return "WOO-" + woo_id; }

// "next_day" as a customer reads it: "next day".
std::string readable_mode(std::string mode) {
  std::replace(mode.begin(), mode.end(), '_', ' ');
  return mode.empty() ? "no promise" : mode;
}

nlohmann::json address(const Reader& a) {
  nlohmann::json out = nlohmann::json::object();
  std::string first = a.text_or("first_name", ""), last = a.text_or("last_name", "");
  std::string name = first + (first.empty() || last.empty() ? "" : " ") + last;
  if (!name.empty()) out["name"] = name;
  copy_texts(a, out, {{"phone", "phone"}, {"address_1", "line1"}, {"address_2", "line2"},
                      {"city", "city"}, {"state", "region"}, {"postcode", "postal_code"}, {"country", "country"}});
  return out;
}

// WooCommerce's payment gateways, as the schema's PaymentMethod.
std::string payment_method(const std::string& gateway) {
  if (gateway == "cod") return "cod";
  if (gateway == "bacs") return "bank_transfer";
  if (gateway == "cheque") return "other";
  return "prepaid";
}

class WooCommerce final : public Connector {
 public:
  std::string channel() const override { return "woocommerce"; }

  // base64 HMAC-SHA256 of the raw body, keyed by the webhook secret.
  std::string signature_header() const override { return "x-wc-webhook-signature"; }
  std::string expected_signature(const WebhookSecret& secret, const std::string& body) const override {
    return base64(hmac_sha256(secret.secret, body));
  }

  // REST v3: the order's status follows ours (cancelled, or completed once
  // shipped) unless WooCommerce itself made the change; a changed delivery
  // promise becomes a note the customer sees (WooCommerce keeps shipping
  // as lines the shop's own plugins price, not a mode we may rewrite);
  // what may be sold is the product's stock_quantity, by the settings'
  // "products" (SKU -> product id); a return the engine refunded is a
  // refund of the order.
  std::optional<ChannelRequest> outbound(const Outbound& m, const nlohmann::json& settings) const override {
    if (m.kind == "delivery") {
      std::string id = m.order.value("id", "");
      if (id.rfind("WOO-", 0) != 0) return std::nullopt;
      return ChannelRequest{"POST", fmt::format("/wp-json/wc/v3/orders/{}/notes", id.substr(4)),
                            {{"note", fmt::format("Delivery changed from {} to {}.", readable_mode(m.from),
                                                  readable_mode(m.to))},
                             {"customer_note", true}}};
    }
    if (m.kind == "state" && m.by != "woocommerce") {
      std::string id = m.order.value("id", "");
      if (id.rfind("WOO-", 0) != 0) return std::nullopt;
      const char* status = m.to == "cancelled" || m.to == "rejected" ? "cancelled" : m.to == "shipped" ? "completed"
                                                                                                        : nullptr;
      if (!status) return std::nullopt;
      return ChannelRequest{"PUT", "/wp-json/wc/v3/orders/" + id.substr(4), {{"status", status}}};
    }
    if (m.kind == "refund") {
      // POST orders/{id}/refunds: WooCommerce pays it back through the
      // order's gateway and records the refunded items.
      std::string id = m.order.value("id", "");
      if (id.rfind("WOO-", 0) != 0) return std::nullopt;
      nlohmann::json items = nlohmann::json::array();
      for (const nlohmann::json& line : m.lines)
        if (line.contains("id")) items.push_back({{"id", line["id"]}, {"quantity", line.value("quantity", int64_t{0})}});
      nlohmann::json body = {{"amount", m.amount}, {"reason", m.cause}};
      if (!items.empty()) body["line_items"] = std::move(items);
      return ChannelRequest{"POST", fmt::format("/wp-json/wc/v3/orders/{}/refunds", id.substr(4)), std::move(body)};
    }
    if (m.kind == "inventory_update") {
      const nlohmann::json products = settings.value("products", nlohmann::json::object());
      if (!products.contains(m.sku)) return std::nullopt;  // not sold there
      return ChannelRequest{"PUT", fmt::format("/wp-json/wc/v3/products/{}", exact_text(products[m.sku])),
                            {{"manage_stock", true}, {"stock_quantity", m.quantity}}};
    }
    return std::nullopt;
  }

  Normalized normalize(const Reader& o) const override {
    try {
      if (o.is_array() && o.size() > 0 && o.at(size_t{0}).has("refunded_by")) return refunds(o);
      if (o.is_object() && o.has("refunded_by")) {
        std::vector<nlohmann::json> inputs;
        refund(o, inputs);
        if (inputs.empty()) o.fail(kMoneyOnly);
        return inputs;
      }
      if (o.is_array()) o.fail("a list of orders: send each order on its own");
      if (!o.is_object()) o.fail("expected a JSON object");
      if (o.has("create") || o.has("update")) o.fail("a batch response: send each order on its own");
      std::string id = o.text("id");
      std::string currency = o.text("currency");
      auto money = [&](const Reader& r, const char* key) {
        return nlohmann::json{{"amount", r.amount(key)}, {"currency", currency}};
      };
      nlohmann::json out;
      out["id"] = order_id(id);
      out["channel"] = "woocommerce";
      out["external_id"] = o.text_or("number", id);
      // date_created is the shop's local time without a zone; date_created_gmt is UTC.
      if (o.has("date_created_gmt"))
        out["placed_at"] = o.text("date_created_gmt") + "Z";
      else
        out["placed_at"] = o.text("date_created");
      out["total"] = money(o, "total");
      if (o.has("total_tax")) out["tax"] = money(o, "total_tax");
      if (o.has("shipping_total")) out["shipping_fee"] = money(o, "shipping_total");
      if (o.has("discount_total")) out["discount"] = money(o, "discount_total");
      std::string status = o.text_or("status", "");
      nlohmann::json payment = {{"method", payment_method(o.text_or("payment_method", ""))}};
      if (status == "processing" || status == "completed" || o.text_or("date_paid_gmt", "") != "")
        payment["status"] = "paid";
      else if (status == "pending" || status == "on-hold")
        payment["status"] = "pending";
      else if (status == "failed")
        payment["status"] = "failed";
      else if (status == "refunded")
        payment["status"] = "refunded";
      if (o.has("payment_method_title")) payment["gateway"] = o.text("payment_method_title");
      out["payment"] = std::move(payment);
      nlohmann::json customer = nlohmann::json::object();
      if (o.has("customer_id") && o.integer("customer_id") != 0) customer["id"] = o.text("customer_id");
      if (o.has("billing")) {
        Reader b = o.at("billing");
        if (std::string e = b.text_or("email", ""); !e.empty()) customer["email"] = e;
        if (std::string p = b.text_or("phone", ""); !p.empty()) customer["phone"] = p;
        out["bill_to"] = address(b);
      }
      out["customer"] = std::move(customer);
      if (o.has("shipping")) out["ship_to"] = address(o.at("shipping"));
      Reader items = o.at("line_items");
      nlohmann::json lines = nlohmann::json::array();
      for (size_t i = 0; i < items.value().size(); ++i) {
        Reader l = items.at(i);
        std::string sku = l.text_or("sku", "");
        if (sku.empty() && l.has("variation_id") && l.integer("variation_id") != 0) sku = "variation-" + l.text("variation_id");
        if (sku.empty() && l.has("product_id")) sku = "product-" + l.text("product_id");
        if (sku.empty()) l.fail("has no sku or product_id to ship it by", "sku");
        nlohmann::json line = {{"sku", sku}, {"quantity", l.integer("quantity")}, {"unit_price", money(l, "price")}};
        if (l.has("id")) line["id"] = l.text("id");
        if (l.has("name")) line["title"] = l.text("name");
        lines.push_back(std::move(line));
      }
      out["lines"] = std::move(lines);
      std::vector<nlohmann::json> inputs;
  inputs.push_back(std::move(out));
      if (status == "cancelled" || status == "refunded")
        inputs.push_back(lifecycle_event(order_id(id), "cancel", "woocommerce-" + status + "-" + id, "woocommerce"));
      return inputs;
    } catch (const PayloadError& e) {
      return e;
    }
  }

 private:
  // Refunds (GET /orders/{id}/refunds, or one refund): refunded items are
  // cancelled units of the order the refund's `up` link names; a refund of
  // money alone changes nothing in the lifecycle.
  static Normalized refunds(const Reader& list) {
    std::vector<nlohmann::json> inputs;
    for (size_t i = 0; i < list.size(); ++i) refund(list.at(i), inputs);
    if (inputs.empty()) list.fail(kMoneyOnly);
    return inputs;
  }
  static constexpr const char* kMoneyOnly = "refunds money only (no items): nothing changes in the orders' lifecycle";

  // One refund: the cancellation of what it refunded, if any item.
  static void refund(const Reader& r, std::vector<nlohmann::json>& inputs) {
    std::string up = r.at("_links").at("up").at(size_t{0}).text("href");
    std::string order = up.substr(up.find_last_of('/') + 1);
    if (order.empty()) r.fail("names no order", "_links.up");
    nlohmann::json lines = nlohmann::json::array();
    Reader items = r.at("line_items");
    for (size_t k = 0; k < items.size(); ++k) {
      Reader item = items.at(k);
      if (!item.is_object()) item.fail("expected a refunded item (an object)");
      std::string refunded;
      if (item.has("meta_data")) {
        Reader meta = item.at("meta_data");
        for (size_t m = 0; m < meta.size(); ++m)
          if (Reader entry = meta.at(m); entry.text_or("key", "") == "_refunded_item_id") refunded = entry.text("value");
      }
      if (refunded.empty()) item.fail("names no refunded item (meta_data _refunded_item_id)");
      int64_t quantity = item.integer("quantity");
      lines.push_back({{"id", refunded}, {"quantity", quantity < 0 ? -quantity : quantity}});
    }
    if (lines.empty()) return;
    nlohmann::json e = lifecycle_event(order_id(order), "cancel", "woocommerce-refund-" + r.text("id"), "woocommerce");
    e["lines"] = std::move(lines);
    if (r.has("date_created_gmt")) e["at"] = r.text("date_created_gmt") + "Z";
    if (std::string reason = r.text_or("reason", ""); !reason.empty()) e["reason"] = reason;
    inputs.push_back(std::move(e));
  }
};

}  // namespace

std::unique_ptr<Connector> make_woocommerce() { return std::make_unique<WooCommerce>(); }

}  // namespace orderflow::connectors
