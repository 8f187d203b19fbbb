#include "connectors/connector.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <ctime>
#include <deque>

#include "compiler/model/value.h"
#include "runtime/canonical/json_parse.h"

namespace orderflow::connectors {

std::string exact_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_unsigned()) return std::to_string(value.get<uint64_t>());
  if (value.is_number_integer()) return std::to_string(value.get<int64_t>());
  return value.dump();
}

Normalized Connector::normalize_parts(const std::vector<nlohmann::json>& parts) const {
  if (parts.size() == 1) return normalize(parts.front());
  return PayloadError{"$[1]", fmt::format("{} takes one payload at a time", channel())};
}

std::optional<ChannelRequest> Connector::outbound(const Outbound&, const nlohmann::json&) const { return std::nullopt; }

std::string Connector::expected_signature(const WebhookSecret&, const std::string&) const { return ""; }

std::optional<SignatureProblem> Connector::verify_webhook(const WebhookSecret& secret,
                                                          const WebhookRequest& request) const {
  std::string signed_by = secret.header.empty() ? signature_header() : secret.header;
  for (char& c : signed_by) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (signed_by.empty())
    return SignatureProblem{"unsigned", fmt::format("{} has no signed webhooks: they are not taken", channel())};
  auto received = request.headers.find(signed_by);
  if (received == request.headers.end() || received->second.empty())
    return SignatureProblem{"unsigned", fmt::format("the {} header is missing", signed_by)};
  if (!signatures_match(expected_signature(secret, request.body), received->second))
    return SignatureProblem{"bad_signature", fmt::format("the {} signature does not match the body", signed_by)};
  return std::nullopt;
}

bool signatures_match(const std::string& expected, const std::string& received) {
  if (expected.size() != received.size()) return false;
  return CRYPTO_memcmp(expected.data(), received.data(), expected.size()) == 0;
}

std::optional<SignatureProblem> verify_standard_webhook(const std::string& secret, const WebhookRequest& request) {
  std::string id, timestamp, signatures;
  for (auto [name, value] : {std::pair{"webhook-id", &id}, {"webhook-timestamp", &timestamp},
                             {"webhook-signature", &signatures}}) {
    auto it = request.headers.find(name);
    if (it == request.headers.end() || it->second.empty())
      return SignatureProblem{"unsigned", fmt::format("the {} header is missing", name)};
    *value = it->second;
  }
  int64_t seconds = 0;
  auto [end, error] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), seconds);
  if (error != std::errc() || end != timestamp.data() + timestamp.size())
    return SignatureProblem{"bad_signature", fmt::format("webhook-timestamp '{}' is not Unix seconds", timestamp)};
  constexpr int64_t kTolerance = 5 * 60;
  int64_t now = request.received_at_ms / 1000;
  if (seconds < now - kTolerance || seconds > now + kTolerance)
    return SignatureProblem{"stale", fmt::format("webhook-timestamp {} is {} s {} our clock, more than {} s: a replay, "
                                                 "or a clock to set right",
                                                 seconds, std::abs(now - seconds), seconds < now ? "behind" : "ahead of",
                                                 kTolerance)};
  std::string key_text = secret.rfind("whsec_", 0) == 0 ? secret.substr(6) : secret;
  std::optional<std::string> key = from_base64(key_text);
  if (!key) return SignatureProblem{"bad_signature", "the configured secret is not whsec_ followed by base64"};
  std::string expected = "v1," + base64(hmac_sha256(*key, id + "." + timestamp + "." + request.body));
  // Several signatures when the sender rotates its secret: any one will do.
  for (size_t start = 0; start < signatures.size();) {
    size_t space = signatures.find(' ', start);
    if (space == std::string::npos) space = signatures.size();
    if (signatures_match(expected, signatures.substr(start, space - start))) return std::nullopt;
    start = space + 1;
  }
  return SignatureProblem{"bad_signature", "no webhook-signature matches the body"};
}

std::string iso_from_text(const Reader& r, const char* key, const std::string& zone_if_none) {
  std::string t = r.text(key);
  if (t.size() < 19 || t[10] != ' ' || (t.size() > 19 && t.size() != 25))
    r.fail(fmt::format("'{}' is not a time (YYYY-MM-DD hh:mm:ss, with or without +hhmm)", t), key);
  std::string offset = t.size() == 25 ? t.substr(20) : zone_if_none;
  if (offset.size() == 5 && (offset[0] == '+' || offset[0] == '-')) offset = offset.substr(0, 3) + ":" + offset.substr(3);
  return t.substr(0, 10) + "T" + t.substr(11, 8) + offset;
}

std::string iso_from_unix_seconds(int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string hmac_sha256(const std::string& key, const std::string& message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::optional<std::string> from_base64(const std::string& text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(3 * (text.size() / 4), '\0');
  int written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (written < 0) return std::nullopt;
  size_t padding = text.empty() ? 0 : (text.back() == '=') + (text.size() > 1 && text[text.size() - 2] == '=');
  out.resize(static_cast<size_t>(written) - padding);
  return out;
}

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(written));
  return out;
}

std::string hex(const std::string& bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

void copy_texts(const Reader& from, nlohmann::json& to, FieldNames fields) {
  for (const auto& [key, name] : fields)
    if (std::string v = from.text_or(key, ""); !v.empty()) to[name] = v;
}

nlohmann::json lifecycle_event(const std::string& order_id, const std::string& event, const std::string& event_id,
                               const std::string& by) {
  return {{"type", "event"}, {"order_id", order_id}, {"event", event}, {"event_id", event_id}, {"by", by}};
}

std::string url_encode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string shopee_signed_query(const std::string& path, int64_t now, const std::string& partner_id,
                                const std::string& access_token, const std::string& shop_id,
                                const std::string& partner_key) {
  std::string sign = hex(hmac_sha256(partner_key, partner_id + path + std::to_string(now) + access_token + shop_id));
  return fmt::format("?partner_id={}&timestamp={}&access_token={}&shop_id={}&sign={}", url_encode(partner_id), now,
                     url_encode(access_token), url_encode(shop_id), sign);
}

nlohmann::json channel_return(const std::string& order_id, const std::string& return_id, nlohmann::json lines,
                              const std::string& reason, const std::string& event_id, const std::string& channel,
                              ReturnApproval approval) {
  nlohmann::json r = {{"type", "return"}, {"order_id", order_id}, {"return_id", return_id}, {"lines", std::move(lines)},
                      {"reason", reason},  {"event_id", event_id}, {"by", channel}};
  if (approval == ReturnApproval::OnTheChannel) r["approved_by"] = channel;
  return r;
}

nlohmann::json return_event(const std::string& order_id, const std::string& return_id, const std::string& event,
                            const std::string& event_id, const std::string& by) {
  nlohmann::json e = lifecycle_event(order_id, event, event_id, by);
  e["return_id"] = return_id;
  return e;
}

std::string sum_amounts(const std::vector<std::string>& terms, const std::string& where) {
  int64_t total = 0;
  for (const std::string& term : terms) {
    std::optional<int64_t> micros = model::parse_decimal(term);
    std::optional<int64_t> next = micros ? model::decimal_add(total, *micros) : std::nullopt;
    if (!next) throw PayloadError{where, fmt::format("'{}' is not an amount", term)};
    total = *next;
  }
  return model::format_decimal(total, 2);
}

std::string multiply_amount(const std::string& amount, int64_t by, const std::string& where) {
  std::optional<int64_t> micros = model::parse_decimal(amount);
  std::optional<int64_t> factor = model::decimal_from_int(by);
  std::optional<int64_t> product = micros && factor ? model::decimal_mul(*micros, *factor) : std::nullopt;
  if (!micros) throw PayloadError{where, fmt::format("'{}' is not an amount", amount)};
  if (!product) throw PayloadError{where, fmt::format("{} times {} is too large an amount", amount, by)};
  return model::format_decimal(*product, 2);
}

std::string divide_amount(const std::string& amount, int64_t by, const std::string& where) {
  std::optional<int64_t> micros = model::parse_decimal(amount);
  if (!micros) throw PayloadError{where, fmt::format("'{}' is not an amount", amount)};
  if (by <= 0) throw PayloadError{where, "divided among no units"};
  return model::format_decimal(*micros / by, 2);
}

// One value of either kind of document, as Reader reads it: nlohmann's,
// or a simdjson element of a Payload. Every reading below is written once
// over it, so that both kinds answer alike.
struct PayloadNode {
  PayloadNode(simdjson::dom::element e, PayloadDocument* d) : element(e), document(d) {}
  simdjson::dom::element element;
  PayloadDocument* document;
  mutable std::unique_ptr<nlohmann::json> as_json;  // value(), converted once
  // A big object's fields by key, the last of a key given twice, built at
  // the first look (empty until then): a connector looks dozens of fields up
  // in an order's object, and simdjson finds a key by reading the object
  // from its start.
  mutable std::vector<std::pair<std::string_view, simdjson::dom::element>> fields;
};

struct PayloadDocument {
  std::unique_ptr<simdjson::dom::parser> parser;  // lent by the thread's pool
  simdjson::dom::element root;
  bool parsed = false;
  std::deque<PayloadNode> nodes;  // a deque: Readers point at its items while it grows
};

namespace {

// simdjson's parsers keep their buffers between documents; each thread
// keeps the ones it has used, so that a Payload allocates nothing for them
// (and two live on one thread at once do not share one).
thread_local std::vector<std::unique_ptr<simdjson::dom::parser>> idle_parsers;

enum class Kind { Absent, Object, Array, String, Signed, Unsigned, Float, Bool };

struct Value {
  const nlohmann::json* json = nullptr;
  simdjson::dom::element element;
  Kind kind = Kind::Absent;  // null reads as absent: channels send null for "none"

  static Value of(const nlohmann::json* j) {
    Value v;
    v.json = j;
    if (!j) return v;
    switch (j->type()) {
      case nlohmann::json::value_t::object: v.kind = Kind::Object; break;
      case nlohmann::json::value_t::array: v.kind = Kind::Array; break;
      case nlohmann::json::value_t::string: v.kind = Kind::String; break;
      case nlohmann::json::value_t::number_integer: v.kind = Kind::Signed; break;
      case nlohmann::json::value_t::number_unsigned: v.kind = Kind::Unsigned; break;
      case nlohmann::json::value_t::number_float: v.kind = Kind::Float; break;
      case nlohmann::json::value_t::boolean: v.kind = Kind::Bool; break;
      default: v.kind = Kind::Absent; break;
    }
    return v;
  }
  static Value of(simdjson::dom::element e) {
    Value v;
    v.element = e;
    switch (e.type()) {
      case simdjson::dom::element_type::OBJECT: v.kind = Kind::Object; break;
      case simdjson::dom::element_type::ARRAY: v.kind = Kind::Array; break;
      case simdjson::dom::element_type::STRING: v.kind = Kind::String; break;
      // As parse_json builds its documents (and nlohmann reads): what has no minus sign is unsigned.
      case simdjson::dom::element_type::INT64: v.kind = int64_t(e) >= 0 ? Kind::Unsigned : Kind::Signed; break;
      case simdjson::dom::element_type::UINT64: v.kind = Kind::Unsigned; break;
      case simdjson::dom::element_type::DOUBLE: v.kind = Kind::Float; break;
      case simdjson::dom::element_type::BOOL: v.kind = Kind::Bool; break;
      default: v.kind = Kind::Absent; break;
    }
    return v;
  }

  bool present() const { return kind != Kind::Absent; }
  bool integral() const { return kind == Kind::Signed || kind == Kind::Unsigned; }
  std::string string() const {
    return json ? json->get<std::string>() : std::string(std::string_view(element));
  }
  int64_t as_int64() const {  // wraps past INT64_MAX, as nlohmann's get<int64_t> does
    if (json) return json->get<int64_t>();
    return element.type() == simdjson::dom::element_type::UINT64 ? static_cast<int64_t>(uint64_t(element))
                                                                 : int64_t(element);
  }
  uint64_t as_uint64() const { return json ? json->get<uint64_t>() : static_cast<uint64_t>(as_int64()); }
  std::string integer_text() const {
    return kind == Kind::Unsigned ? std::to_string(as_uint64()) : std::to_string(as_int64());
  }
  double as_double() const { return json ? json->get<double>() : double(element); }
  bool as_bool() const { return json ? json->get<bool>() : bool(element); }

  // The value under `key` of an object; the last one when a key comes twice, as parse_json keeps it.
  Value field(const char* key) const {
    if (kind != Kind::Object) return {};
    if (json) {
      auto it = json->find(key);
      return it == json->end() ? Value{} : of(&*it);
    }
    std::string_view wanted(key);
    simdjson::dom::element found;
    bool any = false;
    for (simdjson::dom::key_value_pair kv : simdjson::dom::object(element))
      if (kv.key == wanted) {
        found = kv.value;
        any = true;
      }
    return any ? of(found) : Value{};
  }
  size_t items() const { return json ? json->size() : simdjson::dom::array(element).size(); }
};

Value value_of(const nlohmann::json* v, const PayloadNode* node) { return v ? Value::of(v) : Value::of(node->element); }

constexpr size_t kIndexFrom = 24;  // fields; measured on Shopify's order (51 fields, its addresses 15)

Value field_of(const nlohmann::json* v, const PayloadNode* node, const char* key) {
  // nlohmann's objects are maps already, and a small object is read from its start faster than it is indexed.
  if (v || node->element.type() != simdjson::dom::element_type::OBJECT ||
      (node->fields.empty() && simdjson::dom::object(node->element).size() <= kIndexFrom))
    return value_of(v, node).field(key);
  if (node->fields.empty()) {
    for (simdjson::dom::key_value_pair kv : simdjson::dom::object(node->element))
      node->fields.emplace_back(kv.key, kv.value);
    // Stable, then the last of each key kept: as parse_json's documents keep it.
    std::stable_sort(node->fields.begin(), node->fields.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    auto last = std::unique(node->fields.rbegin(), node->fields.rend(),
                            [](const auto& a, const auto& b) { return a.first == b.first; });
    node->fields.erase(node->fields.begin(), last.base());
  }
  std::string_view wanted(key);
  auto it = std::lower_bound(node->fields.begin(), node->fields.end(), wanted,
                             [](const auto& field, std::string_view k) { return field.first < k; });
  return it != node->fields.end() && it->first == wanted ? Value::of(it->second) : Value{};
}

}  // namespace

Payload::Payload(std::string_view text) : document_(std::make_unique<PayloadDocument>()) {
  if (idle_parsers.empty()) idle_parsers.push_back(std::make_unique<simdjson::dom::parser>());
  document_->parser = std::move(idle_parsers.back());
  idle_parsers.pop_back();
  document_->parsed = document_->parser->parse(text.data(), text.size()).get(document_->root) == simdjson::SUCCESS;
}

Payload::~Payload() {
  if (document_->parser) idle_parsers.push_back(std::move(document_->parser));
}

bool Payload::parsed() const { return document_->parsed; }

Reader Payload::root() const {
  if (!document_->parsed) throw std::logic_error("Payload::root on a body simdjson did not read");
  document_->nodes.emplace_back(document_->root, document_.get());
  return Reader(&document_->nodes.back(), "$");
}

const nlohmann::json& Reader::value() const {
  if (v_) return *v_;
  if (!node_->as_json) {
    // Rarely wanted (a connector's own walk of a list); the subtree alone, through the one parse_json.
    node_->as_json = std::make_unique<nlohmann::json>(runtime::parse_json(simdjson::minify(node_->element)));
  }
  return *node_->as_json;
}

void Reader::fail(const std::string& message, const std::string& key) const {
  throw PayloadError{key.empty() ? path_ : path_ + "." + key, message};
}

namespace {

// The value under `key`, absent when it is missing or null: one look in the
// object, and no path built unless something is wrong (a payload is read
// field by field, so this is most of what a connector does).
Value required(const Reader& r, const nlohmann::json* json, const PayloadNode* node, const char* key) {
  if (value_of(json, node).kind != Kind::Object) r.fail("expected an object");
  Value v = field_of(json, node, key);
  if (!v.present()) r.fail("is missing", key);
  return v;
}

}  // namespace

bool Reader::has(const char* key) const { return field_of(v_, node_, key).present(); }
bool Reader::is_object() const { return value_of(v_, node_).kind == Kind::Object; }
bool Reader::is_array() const { return value_of(v_, node_).kind == Kind::Array; }

bool Reader::is_true(const char* key) const {
  Value v = field_of(v_, node_, key);
  return v.kind == Kind::Bool && v.as_bool();
}

bool Reader::is_number(const char* key) const {
  Value v = field_of(v_, node_, key);
  return v.integral() || v.kind == Kind::Float;
}

nlohmann::json Reader::scalar(const char* key) const {
  Value v = field_of(v_, node_, key);
  switch (v.kind) {
    case Kind::String: return v.string();
    case Kind::Signed: return v.as_int64();
    case Kind::Unsigned: return v.as_uint64();
    case Kind::Float: return v.as_double();
    case Kind::Bool: return v.as_bool();
    default: return nullptr;
  }
}

std::optional<std::string> Reader::string_value() const {
  Value v = value_of(v_, node_);
  if (v.kind != Kind::String) return std::nullopt;
  return v.string();
}

Reader Reader::at(const char* key) const {
  Value v = required(*this, v_, node_, key);
  if (v.json) return Reader(*v.json, path_ + "." + key);
  node_->document->nodes.emplace_back(v.element, node_->document);
  return Reader(&node_->document->nodes.back(), path_ + "." + key);
}

Reader Reader::at(size_t index) const {
  Value v = value_of(v_, node_);
  if (v.kind != Kind::Array) fail("expected a list");
  size_t count = v.items();
  if (index >= count) fail(fmt::format("has no item {}: the list has {}", index, count));
  std::string path = fmt::format("{}[{}]", path_, index);
  if (v_) return Reader((*v_)[index], std::move(path));
  simdjson::dom::element item;
  if (simdjson::dom::array(node_->element).at(index).get(item)) fail(fmt::format("has no item {}", index));
  node_->document->nodes.emplace_back(item, node_->document);
  return Reader(&node_->document->nodes.back(), std::move(path));
}

size_t Reader::size() const {
  Value v = value_of(v_, node_);
  if (v.kind != Kind::Array) fail("expected a list");
  return v.items();
}

std::string Reader::text(const char* key) const {
  Value v = required(*this, v_, node_, key);
  if (v.kind == Kind::String) return v.string();
  if (v.integral()) return v.integer_text();
  fail("expected text", key);
}

std::string Reader::text_or(const char* key, const std::string& otherwise) const {
  if (!has(key)) return otherwise;
  std::string t = text(key);
  return t.empty() ? otherwise : t;
}

std::string Reader::amount(const char* key) const {
  Value v = required(*this, v_, node_, key);
  if (v.kind == Kind::String) return v.string();
  if (v.integral()) return v.integer_text();
  if (v.kind == Kind::Float) return fmt::format("{}", v.as_double());  // shortest exact form
  fail("expected an amount", key);
}

int64_t Reader::integer(const char* key) const {
  Value v = required(*this, v_, node_, key);
  if (v.integral()) return v.as_int64();
  if (v.kind == Kind::String) {
    try {
      std::string text = v.string();
      size_t used = 0;
      int64_t n = std::stoll(text, &used);
      if (used == text.size()) return n;
    } catch (const std::exception&) {
    }
  }
  fail("expected a whole number", key);
}

}  // namespace orderflow::connectors
