// Amazon Selling Partner API.
// - Orders API v0: getOrder (or one entry of getOrders) says who, when and
//   how; getOrderItems says what. They are separate answers, so an order is
//   normalized from its parts together (normalize_parts), with
//   getOrderAddress and getOrderBuyerInfo optional.
// - Orders API 2026-01-01: getOrder carries the whole order.
// - ORDER_CHANGE notifications (SQS / EventBridge, authenticated by AWS):
//   a buyer's cancellation request cancels the lines it names; a status
//   change to Canceled cancels the order.
#include <fmt/format.h>

#include <algorithm>

#include "connectors/connector.h"

namespace orderflow::connectors {

namespace {

std::string order_id(const std::string& amazon_id) {
  return "AMZ-" + amazon_id;
}

// v0 money: {"CurrencyCode": "JPY", "Amount": "25.99"}.
nlohmann::json v0_money(const Reader& m) {
  return {{"amount", m.amount("Amount")}, {"currency", m.text("CurrencyCode")}};
}

// 2026-01-01 money: {"amount": "29.99", "currencyCode": "GBP"}.
nlohmann::json money_2026(const Reader& m) {
  return {{"amount", m.amount("amount")}, {"currency", m.text("currencyCode")}};
}

// ShipmentServiceLevelCategory (v0) or fulfillmentServiceLevel (2026), as the schema's DeliveryMode.
std::string delivery_mode(std::string level) {
  for (char& c : level) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (level == "expedited" || level == "priority") return "express";
  if (level == "nextday" || level == "next_day") return "next_day";
  if (level == "sameday" || level == "same_day") return "same_day";
  if (level == "scheduled") return "scheduled";
  return "standard";
}

nlohmann::json v0_address(const Reader& a) {
  nlohmann::json out = nlohmann::json::object();
  copy_texts(a, out,
             {{"Name", "name"},
              {"Phone", "phone"},
              {"AddressLine1", "line1"},
              {"AddressLine2", "line2"},
              {"City", "city"},
              {"StateOrRegion", "region"},
              {"PostalCode", "postal_code"},
              {"CountryCode", "country"}});
  if (a.has("ExtendedFields") && a.at("ExtendedFields").has("GeoCoordinates")) {
    Reader geo = a.at("ExtendedFields").at("GeoCoordinates");
    if (geo.value().value("Latitude", nlohmann::json()).is_number()) out["lat"] = geo.value()["Latitude"];
    if (geo.value().value("Longitude", nlohmann::json()).is_number()) out["lon"] = geo.value()["Longitude"];
  }
  return out;
}

// ------------------------------------------------------------------ v0

// Which v0 answer a part is, by what it carries.
enum class V0Part { Order, Items, Address, Buyer, Unknown };

V0Part v0_kind(const Reader& payload) {
  if (payload.has("OrderItems")) return V0Part::Items;
  if (payload.has("PurchaseDate") || payload.has("OrderStatus")) return V0Part::Order;
  if (payload.has("ShippingAddress")) return V0Part::Address;
  if (payload.has("BuyerEmail") || payload.has("BuyerName")) return V0Part::Buyer;
  return V0Part::Unknown;
}

struct V0Order {
  std::optional<Reader> order, items, address, buyer;
};

std::vector<nlohmann::json> map_v0(const V0Order& parts) {
  const Reader& o = *parts.order;
  const Reader& items = *parts.items;
  std::string amazon_id = o.text("AmazonOrderId");
  std::string id = order_id(amazon_id);
  nlohmann::json out;
  out["id"] = id;
  out["channel"] = "amazon";
  out["external_id"] = amazon_id;
  out["placed_at"] = o.text("PurchaseDate");
  if (o.has("LatestShipDate")) out["dispatch_by"] = o.text("LatestShipDate");
  out["delivery"] = delivery_mode(o.text_or("ShipmentServiceLevelCategory", "Standard"));

  Reader list = items.at("OrderItems");
  if (!list.value().is_array() || list.value().empty()) list.fail("expected a list of order items");
  nlohmann::json lines = nlohmann::json::array();
  std::vector<std::string> item_terms;  // the total when the order has none yet (a Pending order)
  std::string currency;
  bool cancel_requested = false;
  for (size_t i = 0; i < list.value().size(); ++i) {
    Reader item = list.at(i);
    int64_t quantity = item.integer("QuantityOrdered");
    // ItemPrice is the price of all the units of the line.
    nlohmann::json price = v0_money(item.at("ItemPrice"));
    std::string line_currency = price["currency"];
    if (currency.empty()) currency = line_currency;
    if (line_currency != currency)
      item.at("ItemPrice")
          .fail(fmt::format("is in {}, the order's other items in {}", line_currency, currency), "CurrencyCode");
    nlohmann::json line = {
        {"id", item.text("OrderItemId")},
        {"sku", item.text_or("SellerSKU", "asin:" + item.text("ASIN"))},
        {"quantity", quantity},
        {"unit_price",
         {{"amount", divide_amount(price["amount"], quantity, item.path() + ".ItemPrice")}, {"currency", currency}}}};
    if (item.has("Title")) line["title"] = item.text("Title");
    lines.push_back(std::move(line));
    item_terms.push_back(price["amount"]);
    for (const char* extra : {"ShippingPrice", "ItemTax", "ShippingTax"})
      if (item.has(extra)) item_terms.push_back(item.at(extra).amount("Amount"));
    for (const char* off : {"PromotionDiscount", "ShippingDiscount"})
      if (item.has(off)) item_terms.push_back("-" + item.at(off).amount("Amount"));
    if (item.has("BuyerRequestedCancel") &&
        item.at("BuyerRequestedCancel").text_or("IsBuyerRequestedCancel", "false") == "true")
      cancel_requested = true;
  }
  out["lines"] = std::move(lines);
  if (o.has("OrderTotal")) {
    out["total"] = v0_money(o.at("OrderTotal"));
  } else {
    // Amazon gives no OrderTotal until payment is authorized: the items' own prices add up to it.
    out["total"] = {{"amount", sum_amounts(item_terms, list.path())}, {"currency", currency}};
  }

  std::string method = o.text_or("PaymentMethod", "Other") == "COD" ? "cod" : "prepaid";
  std::string status = o.text_or("OrderStatus", "");
  nlohmann::json payment = {{"method", method}};
  if (status == "Pending" || status == "PendingAvailability")
    payment["status"] = "pending";
  else if (method != "cod" && status != "Canceled")
    payment["status"] = "paid";
  if (o.has("PaymentMethodDetails") && o.value()["PaymentMethodDetails"].is_array() &&
      !o.value()["PaymentMethodDetails"].empty())
    payment["gateway"] = exact_text(o.value()["PaymentMethodDetails"][0]);
  out["payment"] = std::move(payment);

  nlohmann::json customer = nlohmann::json::object();
  std::optional<Reader> buyer = parts.buyer;
  if (!buyer && o.has("BuyerInfo")) buyer = o.at("BuyerInfo");
  if (buyer) {
    if (std::string v = buyer->text_or("BuyerEmail", ""); !v.empty()) customer["email"] = v;
    if (std::string v = buyer->text_or("BuyerName", ""); !v.empty()) customer["name"] = v;
  }
  out["customer"] = std::move(customer);
  if (parts.address)
    out["ship_to"] = v0_address(parts.address->at("ShippingAddress"));
  else if (o.has("ShippingAddress"))
    out["ship_to"] = v0_address(o.at("ShippingAddress"));

  nlohmann::json tags = nlohmann::json::array();
  if (o.has("IsPrime") && o.value()["IsPrime"] == true) tags.push_back("prime");
  if (o.has("IsBusinessOrder") && o.value()["IsBusinessOrder"] == true) tags.push_back("business");
  if (o.text_or("FulfillmentChannel", "") == "AFN") tags.push_back("fulfilled_by_amazon");
  if (cancel_requested) tags.push_back("buyer_requested_cancel");
  out["tags"] = std::move(tags);

  std::vector<nlohmann::json> inputs;
  inputs.push_back(std::move(out));
  if (status == "Canceled") {
    nlohmann::json cancel = lifecycle_event(id, "cancel", "amazon-cancel-" + amazon_id, "amazon");
    if (o.has("LastUpdateDate")) cancel["at"] = o.text("LastUpdateDate");
    inputs.push_back(std::move(cancel));
  }
  return inputs;
}

// ------------------------------------------------------------ 2026-01-01

std::vector<nlohmann::json> map_2026(const Reader& o) {
  std::string amazon_id = o.text("orderId");
  std::string id = order_id(amazon_id);
  nlohmann::json out;
  out["id"] = id;
  out["channel"] = "amazon";
  out["external_id"] = amazon_id;
  out["placed_at"] = o.text("createdTime");
  Reader proceeds = o.at("proceeds");
  out["total"] = money_2026(proceeds.at("grandTotal"));
  if (proceeds.has("breakdowns")) {
    Reader parts = proceeds.at("breakdowns");
    for (size_t i = 0; i < parts.value().size(); ++i) {
      Reader part = parts.at(i);
      std::string type = part.text("type");
      const char* key = type == "ITEM"       ? "subtotal"
                        : type == "SHIPPING" ? "shipping_fee"
                        : type == "TAX"      ? "tax"
                        : type == "DISCOUNT" ? "discount"
                                             : nullptr;
      if (key) out[key] = money_2026(part.at("subtotal"));
    }
  }
  out["payment"] = {{"method", "prepaid"}, {"status", "paid"}};
  nlohmann::json customer = nlohmann::json::object();
  if (o.has("buyer")) {
    Reader b = o.at("buyer");
    if (std::string v = b.text_or("buyerName", ""); !v.empty()) customer["name"] = v;
    if (std::string v = b.text_or("buyerEmail", ""); !v.empty()) customer["email"] = v;
  }
  out["customer"] = std::move(customer);
  if (o.has("recipient") && o.at("recipient").has("deliveryAddress")) {
    Reader a = o.at("recipient").at("deliveryAddress");
    nlohmann::json to = nlohmann::json::object();
    copy_texts(a, to,
               {{"name", "name"},
                {"phone", "phone"},
                {"addressLine1", "line1"},
                {"addressLine2", "line2"},
                {"city", "city"},
                {"stateOrRegion", "region"},
                {"postalCode", "postal_code"},
                {"countryCode", "country"}});
    out["ship_to"] = std::move(to);
  }
  std::string status;
  nlohmann::json tags = nlohmann::json::array();
  if (o.has("fulfillment")) {
    Reader f = o.at("fulfillment");
    status = f.text_or("fulfillmentStatus", "");
    out["delivery"] = delivery_mode(f.text_or("fulfillmentServiceLevel", "STANDARD"));
    if (f.has("shipByWindow") && f.at("shipByWindow").has("latestDateTime"))
      out["dispatch_by"] = f.at("shipByWindow").text("latestDateTime");
    if (f.text_or("fulfilledBy", "") == "AMAZON") tags.push_back("fulfilled_by_amazon");
  }
  if (o.has("programs")) {
    for (const auto& p : o.value()["programs"]) {
      if (p == "PRIME") tags.push_back("prime");
      if (p == "BUSINESS") tags.push_back("business");
    }
  }
  out["tags"] = std::move(tags);

  Reader items = o.at("orderItems");
  if (!items.value().is_array() || items.value().empty()) items.fail("expected a list of order items");
  nlohmann::json lines = nlohmann::json::array();
  for (size_t i = 0; i < items.value().size(); ++i) {
    Reader item = items.at(i);
    Reader product = item.at("product");
    nlohmann::json line = {{"id", item.text("orderItemId")},
                           {"sku", product.text_or("sellerSku", "asin:" + product.text("asin"))},
                           {"quantity", item.integer("quantityOrdered")},
                           {"unit_price", money_2026(product.at("price").at("unitPrice"))}};
    if (product.has("title")) line["title"] = product.text("title");
    lines.push_back(std::move(line));
  }
  out["lines"] = std::move(lines);
  std::vector<nlohmann::json> inputs;
  inputs.push_back(std::move(out));
  if (status == "CANCELLED") {
    nlohmann::json cancel = lifecycle_event(id, "cancel", "amazon-cancel-" + amazon_id, "amazon");
    if (o.has("lastUpdatedTime")) cancel["at"] = o.text("lastUpdatedTime");
    inputs.push_back(std::move(cancel));
  }
  return inputs;
}

// ----------------------------------------------------------- ORDER_CHANGE

std::vector<nlohmann::json> map_order_change(const Reader& n) {
  Reader change = n.at("Payload").at("OrderChangeNotification");
  std::string amazon_id = change.text("AmazonOrderId");
  std::string type = change.text("OrderChangeType");
  std::string notification = n.has("NotificationMetadata") ? n.at("NotificationMetadata").text("NotificationId")
                                                           : change.text_or("OrderChangeTrigger", "");
  Reader summary = change.at("Summary");
  std::string at =
      change.has("OrderChangeTrigger") ? change.at("OrderChangeTrigger").text_or("TimeOfOrderChange", "") : "";
  std::string reason =
      change.has("OrderChangeTrigger") ? change.at("OrderChangeTrigger").text_or("ChangeReason", "") : "";
  auto cancel = [&](nlohmann::json lines) {
    nlohmann::json e = lifecycle_event(order_id(amazon_id), "cancel", "amazon-change-" + notification, "amazon");
    if (!at.empty()) e["at"] = at;
    if (!reason.empty()) e["reason"] = reason;
    if (!lines.empty()) e["lines"] = std::move(lines);
    return e;
  };
  if (type == "BuyerRequestedChange") {
    // The buyer asked to cancel these items; the machine refuses it once they have shipped.
    nlohmann::json lines = nlohmann::json::array();
    if (summary.has("OrderItems")) {
      Reader items = summary.at("OrderItems");
      for (size_t i = 0; i < items.value().size(); ++i) {
        Reader item = items.at(i);
        if (item.has("IsBuyerRequestedCancel") && item.value()["IsBuyerRequestedCancel"] == true)
          lines.push_back({{"id", item.text("OrderItemId")}, {"quantity", item.integer("Quantity")}});
      }
    }
    if (lines.empty())
      change.fail("the buyer's change names no item to cancel: only cancellation requests are taken",
                  "Summary.OrderItems");
    return {cancel(lines)};
  }
  if (summary.text_or("OrderStatus", "") == "Canceled") return {cancel(nlohmann::json::array())};
  // Any other change (payment authorized, shipped by Amazon) is read by fetching the order again.
  return {{{"type", "fetch"}, {"channel", "amazon"}, {"external_id", amazon_id}, {"reason", type}}};
}

class Amazon final : public Connector {
 public:
  std::string channel() const override { return "amazon"; }

  Normalized normalize(const Reader& payload) const override { return normalize_parts({payload.value()}); }

  // A shipment confirmed (Orders API v0 confirmShipment, POST
  // /orders/v0/orders/{orderId}/shipmentConfirmation, as
  // ../shared/payloads/amazon/orders-v0_confirmShipment_request.json):
  // every unit not cancelled, with the ship event's carrier and tracking
  // number, in the marketplace of `settings.marketplace_id`. Without a
  // carrier and tracking number Amazon takes no confirmation: nothing is sent.
  std::optional<ChannelRequest> outbound(const Outbound& m, const nlohmann::json& settings) const override {
    if (m.kind != "state" || m.to != "shipped" || m.by == "amazon") return std::nullopt;
    std::string marketplace = settings.value("marketplace_id", "");
    std::string id = m.order.value("id", "");
    if (marketplace.empty() || m.carrier.empty() || m.tracking_number.empty() || id.rfind("AMZ-", 0) != 0)
      return std::nullopt;
    std::string amazon_id = m.order.value("external_id", id.substr(4));
    nlohmann::json items = nlohmann::json::array();
    for (const nlohmann::json& line : m.order.value("lines", nlohmann::json::array())) {
      int64_t units = line.value("quantity", int64_t{0}) - line.value("cancelled_quantity", int64_t{0});
      if (units > 0 && line.contains("id")) items.push_back({{"orderItemId", line["id"]}, {"quantity", units}});
    }
    if (items.empty()) return std::nullopt;
    nlohmann::json package = {{"packageReferenceId", "1"},
                              {"carrierCode", m.carrier},
                              {"trackingNumber", m.tracking_number},
                              {"shipDate", m.at},
                              {"orderItems", std::move(items)}};
    return ChannelRequest{"POST", fmt::format("/orders/v0/orders/{}/shipmentConfirmation", amazon_id),
                          {{"marketplaceId", marketplace}, {"packageDetail", std::move(package)}}};
  }

  // External Fulfillment returns (getReturn, listReturns' returns). A
  // customer's return (returnType CUSTOMER) is Amazon's to approve: it is
  // asked for approved, then picked up and on its way, arrived (DELIVERED,
  // and once the seller processed it), or called off (the customer
  // cancelled the pick-up). A parcel the customer refused at the door
  // (REJECT) comes back as a return to origin.
  static void map_ef_return(const Reader& r, std::vector<nlohmann::json>& inputs) {
    std::string status = r.text("status");
    std::string amazon_id = r.at("marketplaceChannelDetails").text("customerOrderId");
    std::string order = order_id(amazon_id);
    std::string key = "amazon-return-" + r.text("id");
    std::string at = r.text_or("lastUpdatedDateTime", "");
    auto stamped = [&](nlohmann::json input) {
      if (!at.empty()) input["at"] = at;
      inputs.push_back(std::move(input));
    };
    auto one_of = [&](std::initializer_list<const char*> statuses) {
      return std::any_of(statuses.begin(), statuses.end(), [&](const char* s) { return status == s; });
    };
    bool on_its_way = one_of({"PICKED_FROM_CUSTOMER", "IN_TRANSIT", "OUT_FOR_DELIVERY", "CUSTOMER_DROPPED_OFF"});
    bool arrived = one_of({"DELIVERED", "PARTIALLY_PROCESSED", "PROCESSED", "REJECTED"});
    bool called_off = one_of({"CUSTOMER_CANCELLED_PICK_UP", "CANCELLED"});
    if (r.text("returnType") == "REJECT") {
      stamped(lifecycle_event(order, "return_to_origin", key + "-rto", "amazon"));
      if (arrived) stamped(return_event(order, order + "-RTO", "return_received", key + "-received", "amazon"));
      return;
    }
    std::string return_id = "AMZ-RET-" + r.text("id");
    if (called_off) {
      stamped(return_event(order, return_id, "return_rejected", key + "-" + status, "amazon"));
      return;
    }
    std::string sku = r.has("merchantSku") ? r.text("merchantSku") : r.at("marketplaceChannelDetails").text("channelSku");
    nlohmann::json lines = nlohmann::json::array({{{"sku", sku}, {"quantity", r.integer("numberOfUnits")}}});
    // The reason is Amazon's free text ("Missed"): not one of ReturnReason's.
    nlohmann::json ret = channel_return(order, return_id, std::move(lines), "other", key, "amazon", ReturnApproval::OnTheChannel);
    if (r.has("creationDateTime")) ret["at"] = r.text("creationDateTime");
    inputs.push_back(std::move(ret));
    if (on_its_way) stamped(return_event(order, return_id, "return_shipped", key + "-shipped", "amazon"));
    if (arrived) stamped(return_event(order, return_id, "return_received", key + "-received", "amazon"));
  }

  Normalized normalize_parts(const std::vector<nlohmann::json>& payloads) const override {
    try {
      V0Order v0;
      for (size_t i = 0; i < payloads.size(); ++i) {
        Reader root(payloads[i], payloads.size() == 1 ? "$" : fmt::format("$[{}]", i));
        if (!payloads[i].is_object()) root.fail("expected a JSON object");
        if (root.has("NotificationType")) {
          if (root.text("NotificationType") != "ORDER_CHANGE")
            root.fail("only ORDER_CHANGE notifications carry orders", "NotificationType");
          if (payloads.size() != 1) root.fail("a notification stands alone");
          return map_order_change(root);
        }
        if (root.has("returnType") || root.has("returns")) {
          if (payloads.size() != 1) root.fail("a return stands alone");
          std::vector<nlohmann::json> inputs;
          if (root.has("returns")) {
            Reader list = root.at("returns");
            for (size_t k = 0; k < list.size(); ++k) map_ef_return(list.at(k), inputs);
          } else {
            map_ef_return(root, inputs);
          }
          return inputs;
        }
        if (root.has("order")) {
          if (payloads.size() != 1) root.fail("a 2026-01-01 order stands alone");
          return map_2026(root.at("order"));
        }
        Reader payload = root.at("payload");
        if (payload.has("Orders"))
          payload.fail("getOrders lists orders without their items: normalize each order with its getOrderItems answer",
                       "Orders");
        std::optional<Reader>* slot = nullptr;
        switch (v0_kind(payload)) {
          case V0Part::Order:
            slot = &v0.order;
            break;
          case V0Part::Items:
            slot = &v0.items;
            break;
          case V0Part::Address:
            slot = &v0.address;
            break;
          case V0Part::Buyer:
            slot = &v0.buyer;
            break;
          case V0Part::Unknown:
            payload.fail(
                "not an Orders API answer this connector knows (getOrder, getOrderItems, getOrderAddress, "
                "getOrderBuyerInfo)");
        }
        if (*slot) payload.fail(fmt::format("given twice: {} is already this kind of answer", (*slot)->path()));
        *slot = payload;
      }
      if (!v0.order) {
        const Reader& any = v0.items ? *v0.items : v0.address ? *v0.address : *v0.buyer;
        any.fail(fmt::format("part of order {} without its getOrder answer: normalize them together",
                             any.text("AmazonOrderId")));
      }
      if (!v0.items)
        v0.order->fail(
            fmt::format("getOrder carries no items: normalize it together with the getOrderItems answer "
                        "of {}",
                        v0.order->text("AmazonOrderId")));
      std::string amazon_id = v0.order->text("AmazonOrderId");
      for (const auto* part : {&v0.items, &v0.address, &v0.buyer})
        if (*part && (*part)->text("AmazonOrderId") != amazon_id)
          (*part)->fail(
              fmt::format("is order {}, not {} of {}", (*part)->text("AmazonOrderId"), amazon_id, v0.order->path()),
              "AmazonOrderId");
      return map_v0(v0);
    } catch (const PayloadError& e) {
      return e;
    }
  }
};

}  // namespace

std::unique_ptr<Connector> make_amazon() {
  return std::make_unique<Amazon>();
}

}  // namespace orderflow::connectors
