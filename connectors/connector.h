#pragma once
// A channel adapter turns what a channel sends into the engine's inputs:
// canonical orders (runtime/canonical/README.md) and events on orders
// already received ({"type": "event", ...}, runtime/README.md). Adapters
// know nothing of policies, the compiler or the store; adding a channel is
// adding a folder here and one line in registry.cpp (see README.md).
#include <nlohmann/json.hpp>

#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace orderflow::connectors {

// What is wrong with a payload, and where: "$.order.line_items[2].price".
struct PayloadError {
  std::string path;
  std::string message;
  std::string text() const { return path + ": " + message; }
};

// What the intake's config holds to check a channel's webhooks with:
// {"secrets": {"shopify": "shpss_...", "lazada": {"app_key": "...", "app_secret": "..."}}}.
struct WebhookSecret {
  std::string secret;
  std::string app_key;  // Lazada signs over its app key and the body
  std::string header;   // where a channel with configurable credentials (noon) sends them; "" for its own
};

// A webhook as its signature is checked: the raw body, the request's
// headers (names in lower case) and when it came.
struct WebhookRequest {
  const std::string& body;
  const std::map<std::string, std::string>& headers;
  int64_t received_at_ms = 0;
};

// Why a webhook is not taken. `kind`: "unsigned" (no signature where one
// belongs), "bad_signature", or "stale" (its signed time is too far from
// ours: a replay, or a clock to fix).
struct SignatureProblem {
  std::string kind;
  std::string message;
};

// One payload may give several inputs: an order and, when it arrives
// cancelled, its cancellation.
using Normalized = std::variant<std::vector<nlohmann::json>, PayloadError>;

// What orderflow tells a channel. "state": an order entered a state (its
// acceptance, its shipping, a cancellation the channel did not ask for);
// `order` is the canonical order as stored, `by` who caused the change
// ("shopify" when the channel itself did). "delivery": a policy changed
// the order's delivery promise `from` one mode `to` another, by the rule
// named in `cause`. "inventory_update": what the channel may now sell of a
// SKU (`sku`, `quantity`). "refund": the engine paid back a return
// (`return_id`) of the order: the order's `lines` it covers ([{"id", "sku",
// "quantity"}]) and the `amount` ("990.00") in `currency`; `cause` says why.
// A "state" message also says when (`at`, ISO 8601) and, once shipped, who
// carries the parcel and its tracking number (the ship event's).
struct Outbound {
  std::string kind;
  nlohmann::json order;
  std::string from, to, cause, by;
  std::string at;
  std::string carrier, tracking_number;
  std::string sku;
  int64_t quantity = 0;
  std::string return_id;
  nlohmann::json lines = nlohmann::json::array();
  std::string amount, currency;
  int64_t now_ms = 0;  // when it is sent: for channels that sign a timestamp (Shopee)
};

// The request that tells it, relative to the channel's configured base URL.
struct ChannelRequest {
  std::string method;
  std::string path;
  nlohmann::json body;
};

// Reading a payload with the JSON path at hand, so that every error names
// where it is. Throws PayloadError.
//
// A Reader reads either a document already built (nlohmann's), or a
// Payload: the body as simdjson parsed it, read in place. The intake reads
// webhooks the second way, which spares building a document of every field
// when a connector reads a few dozen; both ways give the same answers
// (connectors_test checks every payload in ../shared, mutated, both ways).
struct PayloadNode;
class Reader {
 public:
  Reader(const nlohmann::json& value, std::string path) : v_(&value), path_(std::move(path)) {}
  // It keeps a pointer to what it reads: a temporary would be gone at the end of the line.
  Reader(const nlohmann::json&& value, std::string path) = delete;

  // The value as nlohmann's document; a Payload's is converted once (its
  // subtree only) and kept as long as the Payload. Prefer the readers below.
  const nlohmann::json& value() const;
  const std::string& path() const { return path_; }
  bool has(const char* key) const;                // present and not null
  bool is_object() const;
  bool is_array() const;
  bool is_true(const char* key) const;            // present and the JSON value true
  bool is_number(const char* key) const;          // present and a JSON number
  // The scalar under `key` as it is (a number keeps its kind), for copying
  // through; null when absent, an object or a list.
  nlohmann::json scalar(const char* key) const;
  std::optional<std::string> string_value() const;  // this value, when it is a JSON string
  Reader at(const char* key) const;               // required
  Reader at(size_t index) const;                  // an item of a list
  size_t size() const;                            // how many items a list has (fails on anything else)
  std::string text(const char* key) const;        // required string (or number, as its exact text)
  std::string text_or(const char* key, const std::string& otherwise) const;
  // A decimal amount as exact text ("12.50"), from a string or a number.
  std::string amount(const char* key) const;
  int64_t integer(const char* key) const;
  [[noreturn]] void fail(const std::string& message, const std::string& key = "") const;

 private:
  friend class Payload;
  Reader(const PayloadNode* node, std::string path) : node_(node), path_(std::move(path)) {}

  // Exactly one is set; pointers, so that a Reader can be kept and reassigned.
  const nlohmann::json* v_ = nullptr;
  const PayloadNode* node_ = nullptr;
  std::string path_;
};

// A body parsed by simdjson for Readers to read in place. It owns what its
// Readers point into: keep it while they are used.
struct PayloadDocument;
class Payload {
 public:
  explicit Payload(std::string_view text);
  ~Payload();
  Payload(const Payload&) = delete;
  Payload& operator=(const Payload&) = delete;
  // False when simdjson does not read it (not JSON, or beyond what it
  // takes: a number past 64 bits, nesting past 1,024): read it with
  // runtime::parse_json then, which says why or reads it all the same.
  bool parsed() const;
  Reader root() const;  // at "$"

 private:
  std::unique_ptr<PayloadDocument> document_;
};

class Connector {
 public:
  virtual ~Connector() = default;
  virtual std::string channel() const = 0;  // a value of the schema's Channel enum
  virtual Normalized normalize(const Reader& payload) const = 0;  // the payload at "$"
  Normalized normalize(const nlohmann::json& payload) const { return normalize(Reader(payload, "$")); }
  // Channels that spread one order over several API answers (Amazon's
  // getOrder + getOrderItems, Lazada's GetOrder + GetOrderItems) take them
  // together; paths in errors start at $[i], the i-th part. Other
  // channels take one payload at a time.
  virtual Normalized normalize_parts(const std::vector<nlohmann::json>& parts) const;

  // Whether a webhook is the channel's; nullopt when it is. By default the
  // header signature_header() (or the secret's configured one) must hold
  // expected_signature(secret, body), compared in constant time. A scheme
  // that signs more than the body (an id and a time: Standard Webhooks,
  // verify_standard_webhook below) overrides this instead.
  virtual std::optional<SignatureProblem> verify_webhook(const WebhookSecret& secret,
                                                         const WebhookRequest& request) const;
  // The header (lower case) the channel signs its webhooks in, or "" when
  // it has no signed webhooks (Amazon's notifications come through AWS).
  virtual std::string signature_header() const { return ""; }
  // What that header must hold for this raw body.
  virtual std::string expected_signature(const WebhookSecret& secret, const std::string& body) const;

  // The request that tells the channel, or nothing when the channel need
  // not hear (or cannot be told through its API). `settings` is the
  // channel's outbound config: the ids its API wants that orders do not
  // carry (Shopify's location and inventory items, WooCommerce's products).
  virtual std::optional<ChannelRequest> outbound(const Outbound& message, const nlohmann::json& settings) const;
};

// The adapters, by channel.
const Connector* find_connector(const std::string& by);
std::vector<std::string> connector_channels();

// Copies the text fields a payload has into `to` under their canonical
// names ({"PostalCode", "postal_code"}, ...); absent and empty ones are
// left out.
using FieldNames = std::initializer_list<std::pair<const char*, const char*>>;
void copy_texts(const Reader& from, nlohmann::json& to, FieldNames fields);

// An event on an order already received, in the engine's input shape.
// `event_id` is derived from the channel's own ids, so that a redelivery is
// recognised and stored once.
nlohmann::json lifecycle_event(const std::string& order_id, const std::string& event, const std::string& event_id,
                               const std::string& by);

// A return as a channel reports it, in the engine's input shape. Approved
// on the channel (`approved_by` it): the bundle's returns policy is not
// asked, and the channel refunds it; asked for only: the policy decides.
// `reason` is a value of ReturnReason; `event_id` is the return's own (not
// its status's), so each status report of it asks for it once.
enum class ReturnApproval { OnTheChannel, ByThePolicy };
nlohmann::json channel_return(const std::string& order_id, const std::string& return_id, nlohmann::json lines,
                              const std::string& reason, const std::string& event_id, const std::string& channel,
                              ReturnApproval approval);
// What became of such a return: `return_shipped` (picked up, on its way
// back), `return_received` (arrived) or `return_rejected` (called off).
nlohmann::json return_event(const std::string& order_id, const std::string& return_id, const std::string& event,
                            const std::string& event_id, const std::string& by);

// Percent-encodes a query string value (RFC 3986 unreserved characters kept).
std::string url_encode(const std::string& text);

// Shopee Open Platform v2's signed query for a shop's API call at `path`
// (`/api/v2/...`), `now` in Unix seconds: partner_id, timestamp,
// access_token, shop_id and sign = hex HMAC-SHA256(partner key, partner_id +
// path + timestamp + access_token + shop_id).
std::string shopee_signed_query(const std::string& path, int64_t now, const std::string& partner_id,
                                const std::string& access_token, const std::string& shop_id,
                                const std::string& partner_key);

// Exact decimal sum of amounts given as text ("25.99" + "1.26" = "27.25"),
// with at least two decimals. Throws PayloadError naming `where` when a term
// is not an amount.
std::string sum_amounts(const std::vector<std::string>& terms, const std::string& where);
// an amount times a whole number ("8.975" * 2 = "17.95")
std::string multiply_amount(const std::string& amount, int64_t by, const std::string& where);
// an amount divided by a whole number, exact to six decimals ("17.95" / 2 = "8.975")
std::string divide_amount(const std::string& amount, int64_t by, const std::string& where);

// "2014-10-15 18:36:05 +0800" or "2017-08-21 22:22:19" (as Lazada and
// Magento write times) as ISO 8601: "2014-10-15T18:36:05+08:00"; a time
// without an offset takes `zone_if_none` ("Z", or "" for local time).
std::string iso_from_text(const Reader& r, const char* key, const std::string& zone_if_none);

// Unix seconds as ISO 8601 UTC ("2026-11-20T10:15:00Z").
std::string iso_from_unix_seconds(int64_t seconds);

// Signing: raw HMAC-SHA256 bytes, and the two ways channels spell them.
std::string hmac_sha256(const std::string& key, const std::string& message);
std::string base64(const std::string& bytes);
std::optional<std::string> from_base64(const std::string& text);  // nullopt: not base64
std::string hex(const std::string& bytes);  // lower case
// Equal, compared in time that does not depend on where they differ.
bool signatures_match(const std::string& expected, const std::string& received);

// Standard Webhooks (https://www.standardwebhooks.com, spec/standard-webhooks.md
// of github.com/standard-webhooks/standard-webhooks): headers webhook-id,
// webhook-timestamp (Unix seconds) and webhook-signature (space-separated
// "v1,<base64>"), each an HMAC-SHA256 of "<id>.<timestamp>.<body>" keyed by
// the base64 secret after "whsec_". A timestamp more than five minutes from
// the request's arrival is refused as stale.
std::optional<SignatureProblem> verify_standard_webhook(const std::string& secret, const WebhookRequest& request);

// A JSON scalar as exact text: 64-bit ids stay exact, strings stay as they are.
std::string exact_text(const nlohmann::json& value);

}  // namespace orderflow::connectors
