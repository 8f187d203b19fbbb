// Shopee Open Platform v2: v2.order.get_order_detail responses (one or more
// orders in response.order_list) and v2.returns.get_return_detail responses
// (a return). Times are Unix seconds; amounts are numbers in the order's
// currency.
#include <fmt/format.h>

#include <chrono>
#include <map>

#include "connectors/connector.h"

namespace orderflow::connectors {

namespace {

void map_order(const Reader& o, std::vector<nlohmann::json>& inputs) {
  std::string sn = o.text("order_sn");
  std::string currency = o.text("currency");
  std::string id = "SHOPEE-" + sn;
  nlohmann::json out;
  out["id"] = id;
  out["channel"] = "shopee";
  out["external_id"] = sn;
  out["placed_at"] = iso_from_unix_seconds(o.integer("create_time"));
  if (o.has("ship_by_date")) out["dispatch_by"] = iso_from_unix_seconds(o.integer("ship_by_date"));
  out["total"] = {{"amount", o.amount("total_amount")}, {"currency", currency}};
  bool cod = o.has("cod") && o.value()["cod"].is_boolean() && o.value()["cod"].get<bool>();
  nlohmann::json payment = {{"method", cod ? "cod" : "prepaid"}};
  if (o.has("payment_method")) payment["gateway"] = o.text("payment_method");
  if (o.has("pay_time")) payment["status"] = "paid";
  else if (!cod) payment["status"] = "pending";
  out["payment"] = std::move(payment);
  nlohmann::json customer = nlohmann::json::object();
  if (o.has("buyer_user_id")) customer["id"] = o.text("buyer_user_id");
  if (o.has("buyer_username")) customer["name"] = o.text("buyer_username");
  out["customer"] = std::move(customer);
  if (o.has("recipient_address")) {
    Reader a = o.at("recipient_address");
    nlohmann::json to = nlohmann::json::object();
    copy_texts(a, to, {{"name", "name"}, {"phone", "phone"}, {"full_address", "line1"},
                       {"district", "line2"}, {"city", "city"}, {"state", "region"}, {"zipcode", "postal_code"},
                       {"region", "country"}});
    out["ship_to"] = std::move(to);
  }
  Reader items = o.at("item_list");
  nlohmann::json lines = nlohmann::json::array();
  for (size_t i = 0; i < items.value().size(); ++i) {
    Reader l = items.at(i);
    std::string sku = l.text_or("model_sku", l.text_or("item_sku", ""));
    if (sku.empty()) sku = fmt::format("item-{}-{}", l.text("item_id"), l.text_or("model_id", "0"));
    nlohmann::json line = {{"sku", sku},
                           {"quantity", l.integer("model_quantity_purchased")},
                           {"unit_price", {{"amount", l.amount("model_discounted_price")}, {"currency", currency}}}};
    line["id"] = l.has("order_item_id") ? l.text("order_item_id") : l.text("item_id");
    if (l.has("item_name")) line["title"] = l.text("item_name");
    lines.push_back(std::move(line));
  }
  out["lines"] = std::move(lines);
  inputs.push_back(std::move(out));
  // A cancellation (done, or asked for by the buyer and pending) reaches the order as its cancel event.
  std::string status = o.text_or("order_status", "");
  if (status == "CANCELLED" || status == "IN_CANCEL") {
    nlohmann::json cancel = lifecycle_event(id, "cancel", "shopee-" + status + "-" + sn, o.text_or("cancel_by", "shopee"));
    std::string reason = o.text_or("cancel_reason", o.text_or("buyer_cancel_reason", ""));
    if (!reason.empty()) cancel["reason"] = reason;
    if (o.has("update_time")) cancel["at"] = iso_from_unix_seconds(o.integer("update_time"));
    inputs.push_back(std::move(cancel));
  }
}

class Shopee final : public Connector {
 public:
  std::string channel() const override { return "shopee"; }

  // Signed v2 calls (settings: partner_id, partner_key, shop_id,
  // access_token): what may be sold is product/update_stock of the item and
  // model `settings.items` names for the SKU (as
  // ../shared/payloads/shopee/v2_product.update_stock_request.json, at
  // `settings.location_id` when the shop has several); a shipment with its
  // tracking number is logistics/ship_order as non_integrated (the seller's
  // own courier). Others: nothing.
  std::optional<ChannelRequest> outbound(const Outbound& m, const nlohmann::json& settings) const override {
    auto signed_path = [&](const std::string& path) {
      return path + shopee_signed_query(path, m.now_ms / 1000, exact_text(settings.value("partner_id", nlohmann::json(""))),
                                        settings.value("access_token", ""),
                                        exact_text(settings.value("shop_id", nlohmann::json(""))),
                                        settings.value("partner_key", ""));
    };
    if (m.kind == "inventory_update") {
      const nlohmann::json items = settings.value("items", nlohmann::json::object());
      if (!items.contains(m.sku) || !items[m.sku].is_object()) return std::nullopt;  // not sold there
      const nlohmann::json& listing = items[m.sku];
      nlohmann::json stock = {{"stock", m.quantity}};
      if (settings.contains("location_id")) stock["location_id"] = settings["location_id"];
      nlohmann::json body = {
          {"item_id", listing.value("item_id", nlohmann::json(0))},
          {"stock_list", {{{"model_id", listing.value("model_id", nlohmann::json(0))}, {"seller_stock", {stock}}}}}};
      return ChannelRequest{"POST", signed_path("/api/v2/product/update_stock"), std::move(body)};
    }
    if (m.kind == "state" && m.to == "shipped" && m.by != "shopee" && !m.tracking_number.empty()) {
      std::string sn = m.order.value("external_id", "");
      if (sn.empty()) return std::nullopt;
      return ChannelRequest{"POST", signed_path("/api/v2/logistics/ship_order"),
                            {{"order_sn", sn}, {"non_integrated", {{"tracking_number", m.tracking_number}}}}};
    }
    return std::nullopt;
  }

  Normalized normalize(const Reader& root) const override {
    try {
      if (!root.is_object()) root.fail("expected a JSON object");
      std::string error = root.text_or("error", "");
      if (!error.empty() && error != "-")
        root.fail(fmt::format("Shopee answered with an error: {} {}", root.text("error"), root.text_or("message", "")),
                  "error");
      Reader response = root.at("response");
      if (response.has("return_sn")) return map_return(response);
      if (!response.has("order_list"))
        response.fail("neither an order (get_order_detail's response.order_list) nor a return (response.return_sn): "
                      "cancel_order's answer names no order; the cancellation comes with the order's detail",
                      "order_list");
      Reader list = response.at("order_list");
      std::vector<nlohmann::json> inputs;
      for (size_t i = 0; i < list.value().size(); ++i) {
        Reader o = list.at(i);
        if (!o.has("item_list"))
          o.fail("names the order only (get_order_list): fetch it with get_order_detail", "item_list");
        map_order(o, inputs);
      }
      if (inputs.empty()) list.fail("holds no orders");
      return inputs;
    } catch (const PayloadError& e) {
      return e;
    }
  }

 private:
  // v2.returns.get_return_detail: a return on the order, as Shopee rules on
  // it. Asked for (REQUESTED) or disputed (JUDGING, SELLER_DISPUTE), the
  // bundle's returns policy decides it; accepted (ACCEPTED, PROCESSING)
  // Shopee approved it; CLOSED or COMPLETED it is back and refunded;
  // CANCELLED the buyer called it off. Each report asks for the return once
  // (its event id is the return's), then says what became of it.
  static Normalized map_return(const Reader& r) {
    std::string status = r.text("status");
    std::string order = "SHOPEE-" + r.text("order_sn");
    std::string return_sn = r.text("return_sn");
    std::string return_id = "SHOPEE-R" + return_sn;
    std::string at = r.has("update_time") ? iso_from_unix_seconds(r.integer("update_time")) : "";
    std::vector<nlohmann::json> inputs;
    auto stamped = [&](nlohmann::json input) {
      if (!at.empty()) input["at"] = at;
      inputs.push_back(std::move(input));
    };
    if (status == "CANCELLED") {
      stamped(return_event(order, return_id, "return_rejected", fmt::format("shopee-return-{}-{}", return_sn, status),
                           "shopee"));
      return inputs;
    }
    nlohmann::json lines = nlohmann::json::array();
    if (r.has("item")) {
      Reader items = r.at("item");
      for (size_t i = 0; i < items.size(); ++i) {
        Reader item = items.at(i);
        std::string sku = item.text_or("variation_sku", item.text_or("item_sku", ""));
        if (sku.empty()) sku = fmt::format("item-{}-{}", item.text("item_id"), item.text_or("model_id", "0"));
        lines.push_back({{"sku", sku}, {"quantity", item.integer("amount")}});
      }
    }
    if (lines.empty()) r.fail("a return of no items", "item");
    bool decided = status == "ACCEPTED" || status == "PROCESSING" || status == "CLOSED" || status == "COMPLETED";
    bool back = status == "CLOSED" || status == "COMPLETED";
    nlohmann::json ret = channel_return(order, return_id, std::move(lines), return_reason(r.text_or("reason", "")),
                                        "shopee-return-" + return_sn, "shopee",
                                        decided ? ReturnApproval::OnTheChannel : ReturnApproval::ByThePolicy);
    if (back && r.has("refund_amount") && r.has("currency"))
      ret["refunded"] = {{"amount", r.amount("refund_amount")}, {"currency", r.text("currency")}};
    stamped(std::move(ret));
    if (back)
      stamped(return_event(order, return_id, "return_received", fmt::format("shopee-return-{}-{}", return_sn, status),
                           "shopee"));
    return inputs;
  }

  // Shopee's return reasons as the schema's ReturnReason.
  static std::string return_reason(const std::string& code) {
    static const std::map<std::string, std::string> reasons = {
        {"NOT_RECEIPT", "undelivered"},           {"ITEM_MISSING", "undelivered"},
        {"WRONG_ITEM", "wrong_item"},             {"ITEM_WRONGDAMAGED", "wrong_item"},
        {"ITEM_DAMAGED", "damaged_in_transit"},   {"DAMAGED_PACKAGE", "damaged_in_transit"},
        {"PHYSICAL_DMG", "damaged_in_transit"},   {"ITEM_DEFECTIVE", "defective"},
        {"FUNCTIONAL_DMG", "defective"},          {"DIFFERENT_DESCRIPTION", "not_as_described"},
        {"EXPECTATION_FAILED", "not_as_described"}, {"CHANGE_MIND", "changed_mind"},
        {"MUTUAL_AGREE", "changed_mind"},
    };
    auto it = reasons.find(code);
    return it != reasons.end() ? it->second : "other";
  }
};

}  // namespace

std::unique_ptr<Connector> make_shopee() { return std::make_unique<Shopee>(); }

}  // namespace orderflow::connectors
