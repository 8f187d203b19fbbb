#include "compiler/model/data.h"

#include "compiler/support/suggest.h"

#include <xxhash.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <unordered_set>

namespace orderflow::model {

namespace {
uint64_t load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
uint32_t load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t mix(uint64_t a, uint64_t b) {
  __uint128_t m = static_cast<__uint128_t>(a ^ 0xa0761d6478bd642fULL) * (b ^ 0xe7037ed1a0b428dbULL);
  return static_cast<uint64_t>(m) ^ static_cast<uint64_t>(m >> 64);
}
}  // namespace

uint64_t hash_string(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  uint64_t a, b;
  if (n > 16) return XXH3_64bits(p, n);
  if (n >= 8) {
    a = load64(p);
    b = load64(p + n - 8);  // overlaps the first load when n < 16
  } else if (n >= 4) {
    a = load32(p);
    b = load32(p + n - 4);
  } else {
    a = n ? (static_cast<uint64_t>(static_cast<uint8_t>(p[0])) << 16) |
                (static_cast<uint64_t>(static_cast<uint8_t>(p[n >> 1])) << 8) | static_cast<uint8_t>(p[n - 1])
          : 0;
    b = 0;
  }
  return mix(a ^ n, b);
}

uint32_t TextIndex::add(std::string_view text) {
  if (int64_t known = find(text); known >= 0) return static_cast<uint32_t>(known);
  if ((texts_.size() + 1) * 2 > slots_.size()) grow();
  uint64_t h = hash_string(text);
  size_t pos = h & mask_;
  while (slots_[pos] >= 0) pos = (pos + 1) & mask_;
  slots_[pos] = static_cast<int32_t>(texts_.size());
  hashes_[pos] = h;
  texts_.emplace_back(text);
  return static_cast<uint32_t>(texts_.size() - 1);
}

void TextIndex::grow() {
  size_t capacity = slots_.empty() ? 16 : slots_.size() * 2;
  slots_.assign(capacity, -1);
  hashes_.assign(capacity, 0);
  mask_ = capacity - 1;
  for (size_t i = 0; i < texts_.size(); ++i) {
    uint64_t h = hash_string(texts_[i]);
    size_t pos = h & mask_;
    while (slots_[pos] >= 0) pos = (pos + 1) & mask_;
    slots_[pos] = static_cast<int32_t>(i);
    hashes_[pos] = h;
  }
}

int64_t TextIndex::find(std::string_view text) const {
  if (slots_.empty()) return -1;
  uint64_t h = hash_string(text);
  for (size_t pos = h & mask_;; pos = (pos + 1) & mask_) {
    int32_t i = slots_[pos];
    if (i < 0) return -1;
    if (hashes_[pos] == h && texts_[i] == text) return i;
  }
}

bool DataList::contains(const Value& v) const {
  if (element.kind == TypeKind::String) return strings.contains(v.as_string());
  return std::binary_search(integers.begin(), integers.end(), v.i);
}

namespace {
// How far working time is counted before it is called unknown.
constexpr int64_t kWorkingTimeDays = 3660;
}  // namespace

void WorkingHours::add(std::string_view node, int weekday, Span span) {
  uint32_t n = nodes_.add(node);
  if (n == week_.size()) week_.emplace_back();
  week_[n][static_cast<size_t>(weekday - 1)].push_back(span);
}

void WorkingHours::finish() {
  for (auto& days : week_)
    for (auto& spans : days) {
      // Overlapping or touching spans of one day are one span.
      std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.open < b.open; });
      std::vector<Span> merged;
      for (const Span& s : spans) {
        if (!merged.empty() && s.open <= merged.back().close)
          merged.back().close = std::max(merged.back().close, s.close);
        else
          merged.push_back(s);
      }
      spans = std::move(merged);
    }
  std::sort(closed_days_.begin(), closed_days_.end());
  closed_days_.erase(std::unique(closed_days_.begin(), closed_days_.end()), closed_days_.end());
}

const std::vector<WorkingHours::Span>& WorkingHours::spans(std::string_view node, int weekday) const {
  static const std::vector<Span> none;
  int64_t n = nodes_.find(node);
  if (n < 0 || weekday < 1 || weekday > 7) return none;
  return week_[static_cast<size_t>(n)][static_cast<size_t>(weekday - 1)];
}

bool WorkingHours::closed(int64_t day) const {
  return std::binary_search(closed_days_.begin(), closed_days_.end(), day);
}

template <typename Visit>
void WorkingHours::for_each_open(size_t node, int64_t day, TimeZone zone, const Visit& visit) const {
  if (closed(day)) return;
  LocalTime midnight{day, 0};
  for (const Span& s : week_[node][static_cast<size_t>(midnight.weekday() - 1)]) {
    int64_t open = zone.instant(day, s.open);
    int64_t close = s.close >= kMillisPerDay ? zone.instant(day + 1, 0) : zone.instant(day, s.close);
    if (close > open) visit(open, close);
  }
}

std::optional<int64_t> WorkingHours::add_working_time(std::string_view node, int64_t from, int64_t duration,
                                                      TimeZone zone) const {
  int64_t n = nodes_.find(node);
  if (n < 0) return std::nullopt;
  if (duration <= 0) return from;
  int64_t left = duration;
  int64_t first = zone.local(from).day;
  for (int64_t day = first; day < first + kWorkingTimeDays; ++day) {
    std::optional<int64_t> done;
    for_each_open(static_cast<size_t>(n), day, zone, [&](int64_t open, int64_t close) {
      if (done || close <= from) return;
      int64_t start = std::max(open, from);
      if (close - start >= left) {
        done = start + left;
      } else {
        left -= close - start;
      }
    });
    if (done) return done;
  }
  return std::nullopt;
}

std::optional<int64_t> WorkingHours::working_time_between(std::string_view node, int64_t from, int64_t to,
                                                          TimeZone zone) const {
  if (to < from) {
    auto back = working_time_between(node, to, from, zone);
    return back ? std::optional<int64_t>(-*back) : std::nullopt;
  }
  int64_t n = nodes_.find(node);
  if (n < 0) return std::nullopt;
  int64_t first = zone.local(from).day, last = zone.local(to).day;
  if (last - first > kWorkingTimeDays) return std::nullopt;
  int64_t total = 0;
  for (int64_t day = first; day <= last; ++day)
    for_each_open(static_cast<size_t>(n), day, zone, [&](int64_t open, int64_t close) {
      int64_t a = std::max(open, from), b = std::min(close, to);
      if (b > a) total += b - a;
    });
  return total;
}

std::optional<GeoPoint> GeoTable::locate(std::string_view code) const {
  // Postal codes are often written with a space ("560 001"); ignore it.
  std::string spaceless;
  if (code.find(' ') != std::string_view::npos) {
    for (char c : code)
      if (c != ' ') spaceless += c;
    code = spaceless;
  }
  for (std::string_view key = code; key.size() >= 2; key.remove_suffix(1))
    if (int64_t i = codes_.find(key); i >= 0) return points_[static_cast<size_t>(i)];
  return std::nullopt;
}

double great_circle_metres(GeoPoint a, GeoPoint b) {
  constexpr double kEarthRadiusMetres = 6371008.8;
  constexpr double kRadians = M_PI / 180.0;
  double dlat = (b.lat - a.lat) * kRadians;
  double dlon = (b.lon - a.lon) * kRadians;
  double s = std::sin(dlat / 2) * std::sin(dlat / 2) +
             std::cos(a.lat * kRadians) * std::cos(b.lat * kRadians) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kEarthRadiusMetres * std::asin(std::min(1.0, std::sqrt(s)));
}

std::optional<int64_t> RateTable::convert(int64_t micros, CurrencyCode from, CurrencyCode to) const {
  if (from == to) return micros;
  if (auto it = rates_.find({from, to}); it != rates_.end()) return decimal_mul(micros, it->second);
  if (auto it = rates_.find({to, from}); it != rates_.end() && it->second != 0) return decimal_div(micros, it->second);
  return std::nullopt;
}

const StockLevel* StaticInventory::sku_stock(std::string_view sku) const {
  int64_t i = skus_.find(sku);
  return i < 0 ? nullptr : stock_[static_cast<size_t>(i)].data();
}

void StaticInventory::add_node(std::string id, const std::byte* image, bool active) {
  inactive_.push_back(active ? 0 : 1);
  any_inactive_ |= !active;
  by_id_[id] = nodes_.size();
  ids_.push_back(std::move(id));
  nodes_.push_back(image);
  for (auto& row : stock_) row.resize(nodes_.size());
}

std::optional<size_t> StaticInventory::find_node(std::string_view id) const {
  auto it = by_id_.find(std::string(id));
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

StockLevel& StaticInventory::stock(size_t node, std::string_view sku) {
  uint32_t i = skus_.add(sku);
  if (i == stock_.size()) stock_.emplace_back(nodes_.size());
  return stock_[i].at(node);
}

std::vector<std::string> StaticInventory::skus() const {
  std::vector<std::string> out = skus_.texts();
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace orderflow::model

namespace orderflow::model {

std::variant<Value, std::string> parse_text_value(const Schema& schema, Type type, std::string_view text,
                                                  Arena& arena) {
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  switch (type.kind) {
    case TypeKind::String: return Value::string(arena.copy(text));
    case TypeKind::Int: {
      auto d = parse_decimal(text);
      if (!d || *d % kDecimalScale != 0) return std::string("expected a whole number");
      return Value::integer(*d / kDecimalScale);
    }
    case TypeKind::Decimal: {
      auto d = parse_decimal(text);
      if (!d) return why_not_a_decimal(text);
      return Value::decimal(*d);
    }
    case TypeKind::Float: {
      std::string s(text);
      char* end = nullptr;
      double v = std::strtod(s.c_str(), &end);
      if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) return std::string("expected a number");
      return Value::floating(v);
    }
    case TypeKind::Money: {
      std::string s(text);
      size_t space = s.find_last_of(" \t");
      std::string amount, code;
      if (space != std::string::npos) {
        amount = s.substr(0, space);
        code = s.substr(space + 1);
        if (currency_from_code(amount) && !currency_from_code(code)) std::swap(amount, code);  // "INR 12.50"
      }
      while (!amount.empty() && (amount.back() == ' ' || amount.back() == '\t')) amount.pop_back();
      auto c = currency_from_code(code);
      auto a = parse_decimal(amount);
      if (!c || !a) return std::string("expected an amount with its currency, such as 1250.00 INR");
      return Value::money(*a, *c);
    }
    case TypeKind::Bool: {
      std::string s = lower(text);
      if (s == "true" || s == "yes" || s == "y" || s == "1") return Value::boolean(true);
      if (s == "false" || s == "no" || s == "n" || s == "0") return Value::boolean(false);
      return std::string("expected true or false");
    }
    case TypeKind::Duration: {
      auto d = parse_duration(text);
      if (!d) return std::string("expected a duration such as 24h or 30m");
      return Value::duration(*d);
    }
    case TypeKind::Time: {
      auto t = parse_time(text);
      if (!t) return why_not_a_time(text);
      return Value::time(*t);
    }
    case TypeKind::Distance: {
      std::string s(text);
      double factor = 1;
      if (s.size() > 2 && s.substr(s.size() - 2) == "km") {
        factor = 1000;
        s.resize(s.size() - 2);
      } else if (s.size() > 1 && s.back() == 'm') {
        s.pop_back();
      }
      while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
      char* end = nullptr;
      double v = std::strtod(s.c_str(), &end);
      if (s.empty() || end != s.c_str() + s.size()) return std::string("expected a distance such as 15 km or 800 m");
      return Value::distance(v * factor);
    }
    case TypeKind::Enum: {
      const EnumDef& def = schema.enum_def(type.ref);
      std::string s = lower(text);
      for (char& c : s)
        if (c == '-' || c == ' ') c = '_';
      // Values are matched whatever their case ("COD" is cod, "a" is the grade A).
      int ordinal = def.find(s);
      for (size_t i = 0; ordinal < 0 && i < def.values.size(); ++i)
        if (lower(def.values[i]) == s) ordinal = static_cast<int>(i);
      if (ordinal < 0 && !text.empty()) {
        if (auto m = closest_match(s, def.values)) return "did you mean '" + *m + "'?";
      }
      if (ordinal < 0) return "expected one of " + [&] {
        std::string all;
        for (size_t i = 0; i < def.values.size(); ++i) all += (i ? ", " : "") + def.values[i];
        return all;
      }();
      return Value::enumeration(static_cast<uint32_t>(type.ref), ordinal);
    }
    case TypeKind::List:
    case TypeKind::Set: {
      Type element = schema.element_type(type);
      std::vector<Value> items;
      size_t start = 0;
      std::string_view rest = text;
      while (start <= rest.size() && !rest.empty()) {
        size_t sep = rest.find_first_of(";|", start);
        std::string_view part = rest.substr(start, sep == std::string_view::npos ? std::string_view::npos : sep - start);
        while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
        while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
        if (!part.empty()) {
          auto v = parse_text_value(schema, element, part, arena);
          if (auto* err = std::get_if<std::string>(&v)) return *err;
          items.push_back(std::get<Value>(v));
        }
        if (sep == std::string_view::npos) break;
        start = sep + 1;
      }
      uint32_t slot = schema.slot_size(element);
      std::byte* data = arena.allocate(slot * items.size());
      for (size_t i = 0; i < items.size(); ++i) write_slot(element, data + i * slot, items[i]);
      return Value::list(pack_type(element), data, items.size());
    }
    case TypeKind::Record:
    case TypeKind::Error: break;
  }
  return std::string("this kind of value cannot be written in a data file");
}

void apply_constant_defaults(const Schema& schema, int record, std::byte* image) {
  const RecordDef& def = schema.record_def(record);
  for (const FieldDef& f : def.fields) {
    if (presence_bit(image, f.index) || f.default_kind != DefaultKind::Constant) continue;
    write_slot(f.type, image + f.offset, f.default_value);
    set_presence_bit(image, f.index);
  }
}

}  // namespace orderflow::model
