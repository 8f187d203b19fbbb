#include "connectors/connector.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <ctime>

#include "compiler/model/value.h"

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

void Reader::fail(const std::string& message, const std::string& key) const {
  throw PayloadError{key.empty() ? path_ : path_ + "." + key, message};
}

const nlohmann::json* Reader::field(const char* key) const {
  if (!v_->is_object()) return nullptr;
  auto it = v_->find(key);
  return it == v_->end() || it->is_null() ? nullptr : &*it;
}

const nlohmann::json& Reader::required(const char* key) const {
  if (!v_->is_object()) fail("expected an object");
  const nlohmann::json* v = field(key);
  if (!v) fail("is missing", key);
  return *v;
}

Reader Reader::at(const char* key) const { return Reader(required(key), path_ + "." + key); }

Reader Reader::at(size_t index) const {
  if (!v_->is_array()) fail("expected a list");
  if (index >= v_->size()) fail(fmt::format("has no item {}: the list has {}", index, v_->size()));
  return Reader((*v_)[index], fmt::format("{}[{}]", path_, index));
}

size_t Reader::size() const {
  if (!v_->is_array()) fail("expected a list");
  return v_->size();
}

std::string Reader::text(const char* key) const {
  const nlohmann::json& v = required(key);
  if (v.is_string() || v.is_number_integer()) return exact_text(v);
  fail("expected text", key);
}

std::string Reader::text_or(const char* key, const std::string& otherwise) const {
  if (!has(key)) return otherwise;
  std::string t = text(key);
  return t.empty() ? otherwise : t;
}

std::string Reader::amount(const char* key) const {
  const nlohmann::json& v = required(key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return exact_text(v);
  if (v.is_number_float()) return fmt::format("{}", v.get<double>());  // shortest exact form
  fail("expected an amount", key);
}

int64_t Reader::integer(const char* key) const {
  const nlohmann::json& v = required(key);
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_string()) {
    try {
      const std::string& text = v.get_ref<const std::string&>();
      size_t used = 0;
      int64_t n = std::stoll(text, &used);
      if (used == text.size()) return n;
    } catch (const std::exception&) {
    }
  }
  fail("expected a whole number", key);
}

}  // namespace orderflow::connectors
