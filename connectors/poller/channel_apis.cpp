// The polled side of each channel's API: which requests list changed
// orders and read one order, how they are signed, and how the answers page.
// Endpoints and signatures are those of ../shared/payloads/*/SOURCE.md.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "connectors/connector.h"
#include "connectors/poller/poller.h"

namespace orderflow::poller {

using connectors::url_encode;

namespace {

// Calls the API and reads a JSON answer; anything else is a failure to back off from.
class Api : public ChannelApi {
 public:
  Api(PollConfig config, Caller call) : config_(std::move(config)), call_(std::move(call)) {}

 protected:
  std::string param(const std::string& name) const {
    auto it = config_.params.find(name);
    if (it == config_.params.end() || it->second.empty())
      throw std::runtime_error(fmt::format("the {} poller needs params.{} in the config", config_.channel, name));
    return it->second;
  }

  nlohmann::json get(const std::string& path_and_query, const std::string& method = "GET",
                     const std::string& body = "") const {
    HttpCall call{method, config_.base_url + path_and_query, config_.headers, body};
    if (!body.empty()) call.headers["Content-Type"] = "application/json";
    HttpAnswer answer = call_(call);
    if (answer.status == 429 || answer.status >= 500)
      throw std::runtime_error(fmt::format("{} {} answered {}: try later", method, path_and_query, answer.status));
    if (answer.status != 200)
      throw std::runtime_error(
          fmt::format("{} {} answered {}: {}", method, path_and_query, answer.status, answer.body.substr(0, 300)));
    nlohmann::json j = nlohmann::json::parse(answer.body, nullptr, false);
    if (j.is_discarded())
      throw std::runtime_error(fmt::format("{} {} answered with something not JSON", method, path_and_query));
    return j;
  }

  static std::string iso(int64_t unix_seconds) { return connectors::iso_from_unix_seconds(unix_seconds); }

  PollConfig config_;
  Caller call_;
};

// Amazon SP-API Orders v0: getOrders by LastUpdatedAfter (paged by
// NextToken), then getOrderItems for each order. Requests carry the LWA
// access token configured as the x-amz-access-token header.
class AmazonApi final : public Api {
 public:
  using Api::Api;
  std::string initial_cursor(int64_t now) const override { return iso(now - 86400); }

  Page list(const std::string& cursor, const std::string& page, int64_t) override {
    std::string query = "?MarketplaceIds=" + url_encode(param("MarketplaceIds"));
    query += page.empty() ? "&LastUpdatedAfter=" + url_encode(cursor) : "&NextToken=" + url_encode(page);
    nlohmann::json answer = get("/orders/v0/orders" + query);
    const nlohmann::json& payload = answer.at("payload");
    Page p;
    // The round's cursor is the latest change seen on any of its pages.
    if (page.empty()) latest_ = cursor;
    for (const nlohmann::json& order : payload.value("Orders", nlohmann::json::array())) {
      std::string id = order.at("AmazonOrderId").get<std::string>();
      p.bodies.push_back({{{"payload", order}}, items(id)});
      latest_ = std::max(latest_, order.value("LastUpdateDate", latest_));
    }
    p.next_page = payload.value("NextToken", "");
    p.cursor_after = latest_;
    return p;
  }

  nlohmann::json fetch(const std::string& id, int64_t) override {
    return {get("/orders/v0/orders/" + url_encode(id)), items(id)};
  }

 private:
  nlohmann::json items(const std::string& id) const {
    return get("/orders/v0/orders/" + url_encode(id) + "/orderItems");
  }
  std::string latest_;  // ISO 8601 UTC times compare as text
};

// Shopee Open Platform v2: get_order_list by update_time (paged by cursor),
// then get_order_detail for the page's order_sn list. Signed: sign = hex
// HMAC-SHA256(partner key, partner_id + path + timestamp + access_token + shop_id).
class ShopeeApi final : public Api {
 public:
  using Api::Api;
  std::string initial_cursor(int64_t now) const override { return std::to_string(now - 86400); }

  Page list(const std::string& cursor, const std::string& page, int64_t now) override {
    // Shopee takes at most 15 days per query.
    int64_t from = std::stoll(cursor), to = std::min(now, from + 15 * 86400);
    std::string path = "/api/v2/order/get_order_list";
    nlohmann::json answer =
        get(path + signed_query(path, now) +
            fmt::format("&time_range_field=update_time&time_from={}&time_to={}&page_size=50&cursor={}", from, to,
                        url_encode(page)));
    check(answer);
    const nlohmann::json& response = answer.at("response");
    std::vector<std::string> sns;
    for (const nlohmann::json& o : response.value("order_list", nlohmann::json::array()))
      sns.push_back(o.at("order_sn").get<std::string>());
    Page p;
    if (!sns.empty()) p.bodies.push_back({detail(sns, now)});
    if (response.value("more", false)) p.next_page = response.value("next_cursor", "");
    p.cursor_after = std::to_string(to);
    return p;
  }

  nlohmann::json fetch(const std::string& sn, int64_t now) override { return {detail({sn}, now)}; }

 private:
  std::string signed_query(const std::string& path, int64_t now) const {
    return connectors::shopee_signed_query(path, now, param("partner_id"), param("access_token"), param("shop_id"),
                                           config_.secret);
  }
  static void check(const nlohmann::json& answer) {
    if (!answer.value("error", "").empty())
      throw std::runtime_error("Shopee answered " + answer.value("error", "") + ": " + answer.value("message", ""));
  }
  nlohmann::json detail(const std::vector<std::string>& sns, int64_t now) const {
    std::string path = "/api/v2/order/get_order_detail";
    std::string list;
    for (const std::string& sn : sns) list += (list.empty() ? "" : ",") + sn;
    nlohmann::json answer =
        get(path + signed_query(path, now) + "&order_sn_list=" + url_encode(list) + "&response_optional_fields=" +
            url_encode("buyer_user_id,buyer_username,recipient_address,item_list,pay_time,total_amount,payment_method,"
                       "cancel_by,cancel_reason,currency"));
    check(answer);
    return answer;
  }
};

// Lazada: orders named by push messages, read with GetOrder and
// GetOrderItems. Signed: sign = upper-case hex HMAC-SHA256(app secret, api
// path + every parameter's name and value, sorted by name).
class LazadaApi final : public Api {
 public:
  using Api::Api;
  std::string initial_cursor(int64_t) const override { return ""; }
  // Lazada pushes; there is nothing to list.
  Page list(const std::string& cursor, const std::string&, int64_t) override { return {{}, "", cursor}; }

  nlohmann::json fetch(const std::string& id, int64_t now) override {
    return {call("/order/get", id, now), call("/order/items/get", id, now)};
  }

 private:
  nlohmann::json call(const std::string& api, const std::string& id, int64_t now) const {
    std::map<std::string, std::string> params = {{"app_key", param("app_key")},
                                                 {"access_token", param("access_token")},
                                                 {"order_id", id},
                                                 {"sign_method", "sha256"},
                                                 {"timestamp", std::to_string(now * 1000)}};
    std::string base = api, query;
    for (const auto& [k, v] : params) {
      base += k + v;
      query += (query.empty() ? "?" : "&") + k + "=" + url_encode(v);
    }
    std::string sign = connectors::hex(connectors::hmac_sha256(config_.secret, base));
    std::transform(sign.begin(), sign.end(), sign.begin(), [](unsigned char c) { return std::toupper(c); });
    return get(api + query + "&sign=" + sign);
  }
};

// Flipkart v3: shipments modified since the cursor (POST
// /sellers/v3/shipments/filter, paged by nextPageUrl); a shipment named
// alone is read with GET /sellers/v3/shipments/{id}. The OAuth bearer
// token is configured as the Authorization header.
class FlipkartApi final : public Api {
 public:
  using Api::Api;
  std::string initial_cursor(int64_t now) const override { return iso(now - 86400); }

  Page list(const std::string& cursor, const std::string& page, int64_t now) override {
    nlohmann::json answer;
    std::string to = iso(now);
    if (page.empty()) {
      nlohmann::json states = nlohmann::json::array({"APPROVED", "PACKING_IN_PROGRESS", "PACKED", "READY_TO_DISPATCH"});
      nlohmann::json filter = {
          {"filter", {{"type", "preDispatch"}, {"states", states}, {"modifiedDate", {{"from", cursor}, {"to", to}}}}}};
      answer = get("/sellers/v3/shipments/filter", "POST", filter.dump());
    } else {
      answer = get(page);
    }
    Page p;
    if (!answer.value("shipments", nlohmann::json::array()).empty()) p.bodies.push_back({answer});
    if (answer.value("hasMore", false) && answer.contains("nextPageUrl") && answer["nextPageUrl"].is_string())
      p.next_page = answer["nextPageUrl"].get<std::string>();
    p.cursor_after = to;
    return p;
  }

  nlohmann::json fetch(const std::string& id, int64_t) override {
    return {get("/sellers/v3/shipments/" + url_encode(id))};
  }
};

// noon FBPI: orders named by event notifications, read with GET
// /fbpi/v1/fbpi-order/{order_nr}/get. (Its answer has no published
// example; the connector says so when the decider reads it.)
class NoonApi final : public Api {
 public:
  using Api::Api;
  std::string initial_cursor(int64_t) const override { return ""; }
  Page list(const std::string& cursor, const std::string&, int64_t) override { return {{}, "", cursor}; }
  nlohmann::json fetch(const std::string& nr, int64_t) override {
    return {get("/fbpi/v1/fbpi-order/" + url_encode(nr) + "/get")};
  }
};

}  // namespace

std::unique_ptr<ChannelApi> make_channel_api(const PollConfig& config, Caller call) {
  if (config.channel == "amazon") return std::make_unique<AmazonApi>(config, std::move(call));
  if (config.channel == "shopee") return std::make_unique<ShopeeApi>(config, std::move(call));
  if (config.channel == "lazada") return std::make_unique<LazadaApi>(config, std::move(call));
  if (config.channel == "flipkart") return std::make_unique<FlipkartApi>(config, std::move(call));
  if (config.channel == "noon") return std::make_unique<NoonApi>(config, std::move(call));
  throw std::runtime_error(
      fmt::format("no poller for '{}' (there are: amazon, shopee, lazada, flipkart, noon)", config.channel));
}

}  // namespace orderflow::poller
