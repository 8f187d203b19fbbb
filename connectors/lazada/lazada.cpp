// Lazada Open Platform.
// - GetOrder (/order/get) says who and how; GetOrderItems (/order/items/get,
//   or GetMultipleOrderItems, /orders/items/get) says what, one entry per
//   unit. They are separate answers, so an order is normalized from both
//   together (normalize_parts). Every value is a string; the currency is
//   only on the items.
// - Push messages (Lazada Push Mechanism): a trade-order message names the
//   order and its new status; a reverse-order message a cancellation or a
//   return of one unit. Signed: Authorization = hex HMAC-SHA256 keyed by the
//   app secret over app key + raw body.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "connectors/connector.h"

namespace orderflow::connectors {

namespace {

std::string order_id(const std::string& lazada_id) {
  return "LAZADA-" + lazada_id;
}

std::string zone_of(const std::string& iso) {
  return iso.size() > 19 ? iso.substr(19) : "";
}

// Unix milliseconds, as Lazada's items give times, in ISO 8601 (UTC).
std::string iso_from_millis(const Reader& r, const char* key) {
  return iso_from_unix_seconds(r.integer(key) / 1000);
}

nlohmann::json address(const Reader& a) {
  nlohmann::json out = nlohmann::json::object();
  std::string first = a.text_or("first_name", ""), last = a.text_or("last_name", "");
  std::string name = first + (first.empty() || last.empty() ? "" : " ") + last;
  if (!name.empty()) out["name"] = name;
  copy_texts(a, out,
             {{"phone", "phone"},
              {"address1", "line1"},
              {"address2", "line2"},
              {"city", "city"},
              {"post_code", "postal_code"},
              {"country", "country"}});
  return out;
}

// The answer's `data`, after checking Lazada's own error code.
Reader data_of(const Reader& root) {
  if (root.has("code") && root.text("code") != "0")
    root.fail(fmt::format("Lazada answered with error {}: {}", root.text("code"), root.text_or("message", "")), "code");
  return root.at("data");
}

// A unit Lazada took back (its reverse order, which Lazada rules on): a
// return of its own, approved there, and arrived. The same unit reported
// by the order and by a push message is one return.
std::vector<nlohmann::json> returned_unit(const std::string& order, const std::string& line_id) {
  nlohmann::json unit = nlohmann::json::array({{{"id", line_id}, {"quantity", 1}}});
  std::string return_id = fmt::format("{}-R{}", order, line_id);
  return {channel_return(order, return_id, std::move(unit), "other", fmt::format("lazada-return-{}", line_id), "lazada",
                         ReturnApproval::OnTheChannel),
          return_event(order, return_id, "return_received", fmt::format("lazada-return_received-{}", line_id), "lazada")};
}

std::vector<nlohmann::json> map_order(const Reader& o, const Reader& items) {
  std::string lazada_id = o.text("order_id");
  std::string id = order_id(lazada_id);
  nlohmann::json out;
  out["id"] = id;
  out["channel"] = "lazada";
  out["external_id"] = lazada_id;
  out["placed_at"] = iso_from_text(o, "created_at", "");
  if (o.has("promised_shipping_times"))
    out["dispatch_by"] = iso_from_text(o, "promised_shipping_times", zone_of(out["placed_at"]));

  if (!items.value().is_array() || items.value().empty()) items.fail("expected the order's items");
  std::string currency;
  nlohmann::json lines = nlohmann::json::array();
  std::vector<nlohmann::json> events;
  bool cancel_requested = false;
  for (size_t i = 0; i < items.value().size(); ++i) {
    Reader item = items.at(i);
    if (std::string of = item.text("order_id"); of != lazada_id)
      item.fail(fmt::format("is an item of order {}, not {}", of, lazada_id), "order_id");
    std::string c = item.text("currency");
    if (currency.empty()) currency = c;
    if (c != currency) item.fail(fmt::format("is in {}, the order's other items in {}", c, currency), "currency");
    // Each item is one unit: units of one SKU may be in different states.
    std::string line_id = item.text("order_item_id");
    nlohmann::json line = {{"id", line_id},
                           {"sku", item.text_or("sku", item.text_or("shop_sku", ""))},
                           {"quantity", 1},
                           {"unit_price", {{"amount", item.amount("item_price")}, {"currency", currency}}}};
    if (line["sku"] == "") item.fail("has no sku or shop_sku to know the item by", "sku");
    if (item.has("name")) line["title"] = item.text("name");
    lines.push_back(std::move(line));
    std::string status = item.text_or("status", "");
    nlohmann::json unit = nlohmann::json::array({{{"id", line_id}, {"quantity", 1}}});
    auto event = [&](const char* name) {
      nlohmann::json e = lifecycle_event(id, name, fmt::format("lazada-{}-{}", name, line_id), "lazada");
      e["lines"] = unit;
      if (item.has("updated_at")) e["at"] = iso_from_millis(item, "updated_at");
      if (std::string why = item.text_or("reason", ""); !why.empty()) e["reason"] = why;
      events.push_back(std::move(e));
    };
    if (status == "canceled") {
      event("cancel");
    } else if (status == "returned") {
      std::string at = item.has("updated_at") ? iso_from_millis(item, "updated_at") : "";
      for (nlohmann::json& input : returned_unit(id, line_id)) {
        if (!at.empty()) input["at"] = at;
        events.push_back(std::move(input));
      }
    }
    if (item.text_or("is_cancel_pending", "false") == "true") cancel_requested = true;
  }
  out["lines"] = std::move(lines);
  out["total"] = {{"amount", o.amount("price")}, {"currency", currency}};
  if (o.has("shipping_fee")) out["shipping_fee"] = {{"amount", o.amount("shipping_fee")}, {"currency", currency}};
  if (o.has("voucher")) out["discount"] = {{"amount", o.amount("voucher")}, {"currency", currency}};
  std::string method = o.text_or("payment_method", "");
  out["payment"] = {{"method", method == "COD" ? "cod" : "prepaid"}};
  if (!method.empty()) out["payment"]["gateway"] = method;
  nlohmann::json customer = nlohmann::json::object();
  std::string first = o.text_or("customer_first_name", ""), last = o.text_or("customer_last_name", "");
  if (!first.empty() || !last.empty()) customer["name"] = first + (first.empty() || last.empty() ? "" : " ") + last;
  out["customer"] = std::move(customer);
  if (o.has("address_shipping")) out["ship_to"] = address(o.at("address_shipping"));
  if (o.has("address_billing")) out["bill_to"] = address(o.at("address_billing"));
  nlohmann::json tags = nlohmann::json::array();
  if (cancel_requested) tags.push_back("buyer_requested_cancel");
  if (o.text_or("gift_option", "0") == "1") tags.push_back("gift");
  out["tags"] = std::move(tags);
  std::vector<nlohmann::json> inputs;
  inputs.push_back(std::move(out));
  inputs.insert(inputs.end(), std::make_move_iterator(events.begin()), std::make_move_iterator(events.end()));
  return inputs;
}

// A push message: the order to fetch again, or one unit cancelled or returned.
std::vector<nlohmann::json> map_push(const Reader& message) {
  int64_t type = message.integer("message_type");
  if (type != 0) message.fail(fmt::format("message type {} is not an order message (0)", type), "message_type");
  Reader d = message.at("data");
  std::string trade_order = d.text("trade_order_id");
  std::string status = d.text("order_status");
  if (status == "canceled") {
    std::string line = d.text("trade_order_line_id");
    nlohmann::json e = lifecycle_event(order_id(trade_order), "cancel", fmt::format("lazada-cancel-{}", line), "lazada");
    e["lines"] = nlohmann::json::array({{{"id", line}, {"quantity", 1}}});
    e["at"] = iso_from_unix_seconds(d.integer("status_update_time"));
    return {e};
  }
  if (d.has("reverse_order_id") && status == "returned") {
    std::vector<nlohmann::json> inputs = returned_unit(order_id(trade_order), d.text("trade_order_line_id"));
    for (nlohmann::json& input : inputs) input["at"] = iso_from_unix_seconds(d.integer("status_update_time"));
    return inputs;
  }
  // Anything else (created, paid, shipped by Lazada): read the order again through the API.
  return {{{"type", "fetch"}, {"channel", "lazada"}, {"external_id", trade_order}, {"reason", status}}};
}

class Lazada final : public Connector {
 public:
  std::string channel() const override { return "lazada"; }

  std::string signature_header() const override { return "authorization"; }
  std::string expected_signature(const WebhookSecret& secret, const std::string& body) const override {
    return hex(hmac_sha256(secret.secret, secret.app_key + body));
  }

  Normalized normalize(const Reader& payload) const override { return normalize_parts({payload.value()}); }

  Normalized normalize_parts(const std::vector<nlohmann::json>& payloads) const override {
    try {
      std::optional<Reader> order;
      std::optional<Reader> items;
      std::vector<Reader> item_lists;  // GetMultipleOrderItems: items of several orders
      for (size_t i = 0; i < payloads.size(); ++i) {
        Reader root(payloads[i], payloads.size() == 1 ? "$" : fmt::format("$[{}]", i));
        if (!payloads[i].is_object()) root.fail("expected a JSON object");
        if (root.has("message_type")) {
          if (payloads.size() != 1) root.fail("a push message stands alone");
          return map_push(root);
        }
        Reader data = data_of(root);
        if (data.value().is_object() && data.has("order_id")) {
          if (order) data.fail(fmt::format("a second order; {} is the first", order->path()));
          order = data;
        } else if (data.value().is_object() && data.has("orders")) {
          data.fail("GetOrders lists orders without their items: normalize each order with its GetOrderItems answer",
                    "orders");
        } else if (data.value().is_array()) {
          item_lists.push_back(data);
        } else {
          data.fail(
              "not an answer this connector knows (GetOrder, GetOrderItems, GetMultipleOrderItems, a push message)");
        }
      }
      if (!order) {
        const Reader& list = item_lists.front();
        list.fail("the items of an order without its GetOrder answer: normalize them together");
      }
      std::string wanted = order->text("order_id");
      std::vector<std::string> others;
      for (const Reader& list : item_lists) {
        if (list.value().empty()) continue;
        if (list.value()[0].contains("order_items")) {  // GetMultipleOrderItems: find this order's entry
          for (size_t k = 0; k < list.value().size(); ++k) {
            Reader entry = list.at(k);
            if (entry.text("order_id") == wanted)
              items = entry.at("order_items");
            else
              others.push_back(entry.text("order_id"));
          }
        } else {
          items = list;
        }
      }
      if (!items) {
        if (item_lists.empty())
          order->fail(
              fmt::format("GetOrder carries no items: normalize it together with the GetOrderItems answer of "
                          "order {}",
                          wanted));
        item_lists.front().fail(
            fmt::format("has no items of order {} (it has orders {})", wanted, fmt::join(others, ", ")));
      }
      return map_order(*order, *items);
    } catch (const PayloadError& e) {
      return e;
    }
  }
};

}  // namespace

std::unique_ptr<Connector> make_lazada() {
  return std::make_unique<Lazada>();
}

}  // namespace orderflow::connectors
