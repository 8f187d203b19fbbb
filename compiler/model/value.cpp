#include "compiler/model/value.h"

#include <date/date.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace orderflow::model {

std::string_view scalar_type_name(TypeKind kind) {
  switch (kind) {
    case TypeKind::Error: return "<error>";
    case TypeKind::Bool: return "bool";
    case TypeKind::Int: return "int";
    case TypeKind::Decimal: return "decimal";
    case TypeKind::Float: return "float";
    case TypeKind::Money: return "money";
    case TypeKind::String: return "string";
    case TypeKind::Duration: return "duration";
    case TypeKind::Time: return "time";
    case TypeKind::Distance: return "distance";
    case TypeKind::Enum: return "enum";
    case TypeKind::Record: return "record";
    case TypeKind::List: return "list";
    case TypeKind::Set: return "set";
  }
  return "?";
}

uint32_t pack_type(Type t) {
  return (static_cast<uint32_t>(t.kind) << 24) | (static_cast<uint32_t>(t.ref + 1) & 0xFFFFFF);
}

Type unpack_type(uint32_t packed) {
  return Type{static_cast<TypeKind>(packed >> 24), static_cast<int32_t>(packed & 0xFFFFFF) - 1};
}

// ------------------------------------------------------------ decimals

std::string why_not_a_decimal(std::string_view text) {
  if (text.find(',') != std::string_view::npos)
    return "write it without separators between thousands: 9999.00, not 9,999.00";
  if (text.find_first_of("\u20b9$") != std::string_view::npos || text.find("Rs") != std::string_view::npos)
    return "write the number alone; the currency has a place of its own";
  // The shape of a number: an optional sign, digits, and at most one point with digits after it.
  std::string_view body = text;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) body.remove_prefix(1);
  size_t dot = body.find('.');
  std::string_view whole = body.substr(0, dot), fraction = dot == std::string_view::npos ? "" : body.substr(dot + 1);
  auto all_digits = [](std::string_view d) { return !d.empty() && d.find_first_not_of("0123456789") == std::string_view::npos; };
  if (!all_digits(whole) || (dot != std::string_view::npos && !all_digits(fraction)))
    return "expected a number such as 1250.00";
  if (fraction.size() > static_cast<size_t>(kDecimalDigits)) return "at most six decimal places";
  return "this number is too large";
}

std::optional<int64_t> parse_decimal(std::string_view text) {
  if (text.empty()) return std::nullopt;
  bool negative = false;
  size_t i = 0;
  if (text[0] == '-' || text[0] == '+') {
    negative = text[0] == '-';
    i = 1;
  }
  __int128 whole = 0;
  size_t digits = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
    whole = whole * 10 + (text[i] - '0');
    if (whole > std::numeric_limits<int64_t>::max()) return std::nullopt;
  }
  int64_t fraction = 0;
  int fraction_digits = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      if (fraction_digits == kDecimalDigits) {
        if (text[i] != '0') return std::nullopt;  // would lose precision
        continue;
      }
      fraction = fraction * 10 + (text[i] - '0');
      ++fraction_digits;
      ++digits;
    }
  }
  if (i != text.size() || digits == 0) return std::nullopt;
  for (int k = fraction_digits; k < kDecimalDigits; ++k) fraction *= 10;
  __int128 total = whole * kDecimalScale + fraction;
  if (total > std::numeric_limits<int64_t>::max()) return std::nullopt;
  return negative ? -static_cast<int64_t>(total) : static_cast<int64_t>(total);
}

std::string format_decimal(int64_t micros, int min_fraction) {
  bool negative = micros < 0;
  unsigned __int128 magnitude = negative ? -static_cast<__int128>(micros) : micros;
  uint64_t whole = static_cast<uint64_t>(magnitude / kDecimalScale);
  uint64_t fraction = static_cast<uint64_t>(magnitude % kDecimalScale);
  std::string frac = fmt::format("{:06d}", fraction);
  while (frac.size() > static_cast<size_t>(std::max(min_fraction, 0)) && frac.back() == '0') frac.pop_back();
  std::string out = negative ? "-" : "";
  out += std::to_string(whole);
  if (!frac.empty()) out += "." + frac;
  return out;
}

std::optional<int64_t> decimal_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::optional<int64_t> decimal_sub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) return std::nullopt;
  return r;
}

namespace {
std::optional<int64_t> rounded_quotient(__int128 num, __int128 den) {
  if (den == 0) return std::nullopt;
  __int128 q = num / den;
  __int128 r = num % den;
  // Half away from zero.
  if (r != 0) {
    __int128 twice = (r < 0 ? -r : r) * 2;
    __int128 d = den < 0 ? -den : den;
    if (twice >= d) q += ((num < 0) != (den < 0)) ? -1 : 1;
  }
  if (q > std::numeric_limits<int64_t>::max() || q < std::numeric_limits<int64_t>::min()) return std::nullopt;
  return static_cast<int64_t>(q);
}
}  // namespace

std::optional<int64_t> decimal_mul(int64_t a, int64_t b) {
  return rounded_quotient(static_cast<__int128>(a) * b, kDecimalScale);
}

std::optional<int64_t> decimal_div(int64_t a, int64_t b) {
  return rounded_quotient(static_cast<__int128>(a) * kDecimalScale, b);
}

std::optional<int64_t> decimal_from_int(int64_t v) {
  int64_t r;
  if (__builtin_mul_overflow(v, kDecimalScale, &r)) return std::nullopt;
  return r;
}

double decimal_to_double(int64_t micros) { return static_cast<double>(micros) / kDecimalScale; }

// ------------------------------------------------------------ currencies

namespace {

struct CurrencyInfo {
  char code[4];
  int8_t minor;
};

// ISO 4217 active codes and their minor units.
constexpr std::array kCurrencies = std::to_array<CurrencyInfo>({
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"ANG", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2}, {"AWG", 2},
    {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0}, {"BMD", 2}, {"BND", 2},
    {"BOB", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2}, {"BYN", 2}, {"BZD", 2}, {"CAD", 2}, {"CDF", 2},
    {"CHF", 2}, {"CLF", 4}, {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"CRC", 2}, {"CUP", 2}, {"CVE", 2}, {"CZK", 2},
    {"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2}, {"EGP", 2}, {"ERN", 2}, {"ETB", 2}, {"EUR", 2}, {"FJD", 2},
    {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2}, {"GIP", 2}, {"GMD", 2}, {"GNF", 0}, {"GTQ", 2}, {"GYD", 2},
    {"HKD", 2}, {"HNL", 2}, {"HTG", 2}, {"HUF", 2}, {"IDR", 2}, {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"IRR", 2},
    {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0}, {"KES", 2}, {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2},
    {"KRW", 0}, {"KWD", 3}, {"KYD", 2}, {"KZT", 2}, {"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2}, {"LSL", 2},
    {"LYD", 3}, {"MAD", 2}, {"MDL", 2}, {"MGA", 2}, {"MKD", 2}, {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2},
    {"MUR", 2}, {"MVR", 2}, {"MWK", 2}, {"MXN", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2}, {"NGN", 2}, {"NIO", 2},
    {"NOK", 2}, {"NPR", 2}, {"NZD", 2}, {"OMR", 3}, {"PAB", 2}, {"PEN", 2}, {"PGK", 2}, {"PHP", 2}, {"PKR", 2},
    {"PLN", 2}, {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RUB", 2}, {"RWF", 0}, {"SAR", 2}, {"SBD", 2},
    {"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2}, {"SHP", 2}, {"SLE", 2}, {"SOS", 2}, {"SRD", 2}, {"SSP", 2},
    {"STN", 2}, {"SVC", 2}, {"SYP", 2}, {"SZL", 2}, {"THB", 2}, {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2},
    {"TRY", 2}, {"TTD", 2}, {"TWD", 2}, {"TZS", 2}, {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"UYU", 2}, {"UZS", 2},
    {"VES", 2}, {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XCG", 2}, {"XOF", 0}, {"XPF", 0},
    {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2},
});

constexpr CurrencyCode pack_currency(const char* c) {
  return (static_cast<uint32_t>(static_cast<unsigned char>(c[0])) << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(c[1])) << 8) | static_cast<unsigned char>(c[2]);
}

const CurrencyInfo* find_currency(CurrencyCode code) {
  for (const auto& c : kCurrencies)
    if (pack_currency(c.code) == code) return &c;
  return nullptr;
}

}  // namespace

std::optional<CurrencyCode> currency_from_code(std::string_view code) {
  if (code.size() != 3) return std::nullopt;
  char buf[4] = {code[0], code[1], code[2], 0};
  CurrencyCode packed = pack_currency(buf);
  if (!find_currency(packed)) return std::nullopt;
  return packed;
}

std::string currency_name(CurrencyCode code) {
  std::string s(3, ' ');
  s[0] = static_cast<char>((code >> 16) & 0xFF);
  s[1] = static_cast<char>((code >> 8) & 0xFF);
  s[2] = static_cast<char>(code & 0xFF);
  return s;
}

int currency_minor_digits(CurrencyCode code) {
  const CurrencyInfo* c = find_currency(code);
  return c ? c->minor : 2;
}

// ------------------------------------------------------------ time

namespace {

bool read_digits(std::string_view s, size_t& pos, size_t count, int& out) {
  if (pos + count > s.size()) return false;
  int v = 0;
  for (size_t k = 0; k < count; ++k) {
    char c = s[pos + k];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  pos += count;
  return true;
}

}  // namespace

std::optional<int64_t> parse_time(std::string_view s) {
  size_t pos = 0;
  int year, month, day;
  if (!read_digits(s, pos, 4, year) || pos >= s.size() || s[pos++] != '-' || !read_digits(s, pos, 2, month) ||
      pos >= s.size() || s[pos++] != '-' || !read_digits(s, pos, 2, day))
    return std::nullopt;
  date::year_month_day ymd{date::year{year}, date::month{static_cast<unsigned>(month)},
                           date::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;
  int64_t millis = static_cast<int64_t>(date::sys_days(ymd).time_since_epoch().count()) * 86'400'000;
  if (pos == s.size()) return millis;
  if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return std::nullopt;
  ++pos;
  int hour, minute, second = 0;
  if (!read_digits(s, pos, 2, hour) || pos >= s.size() || s[pos++] != ':' || !read_digits(s, pos, 2, minute))
    return std::nullopt;
  if (hour > 23 || minute > 59) return std::nullopt;
  int fraction_ms = 0;
  if (pos < s.size() && s[pos] == ':') {
    ++pos;
    if (!read_digits(s, pos, 2, second) || second > 60) return std::nullopt;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      int digits = 0;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (digits < 3) fraction_ms = fraction_ms * 10 + (s[pos] - '0');
        ++digits;
        ++pos;
      }
      if (digits == 0) return std::nullopt;
      for (int k = digits; k < 3; ++k) fraction_ms *= 10;
    }
  }
  millis += (static_cast<int64_t>(hour) * 3600 + minute * 60 + second) * 1000 + fraction_ms;
  if (pos == s.size()) return millis;
  if (s[pos] == 'Z' || s[pos] == 'z') return pos + 1 == s.size() ? std::optional<int64_t>(millis) : std::nullopt;
  if (s[pos] != '+' && s[pos] != '-') return std::nullopt;
  int sign = s[pos] == '-' ? -1 : 1;
  ++pos;
  int off_h, off_m = 0;
  if (!read_digits(s, pos, 2, off_h)) return std::nullopt;
  if (pos < s.size() && s[pos] == ':') ++pos;
  if (pos < s.size() && !read_digits(s, pos, 2, off_m)) return std::nullopt;
  if (pos != s.size() || off_h > 23 || off_m > 59) return std::nullopt;
  // Local time = UTC + offset, so UTC = local - offset.
  return millis - sign * (static_cast<int64_t>(off_h) * 3600 + off_m * 60) * 1000;
}

std::string format_time(int64_t millis) {
  int64_t ms_of_day = ((millis % 86'400'000) + 86'400'000) % 86'400'000;
  int64_t days = (millis - ms_of_day) / 86'400'000;
  date::year_month_day ymd{date::sys_days{date::days{days}}};
  int64_t secs = ms_of_day / 1000;
  int ms = static_cast<int>(ms_of_day % 1000);
  std::string out = fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}", static_cast<int>(ymd.year()),
                                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), secs / 3600,
                                (secs / 60) % 60, secs % 60);
  if (ms != 0) out += fmt::format(".{:03d}", ms);
  return out + "Z";
}

std::string format_duration(int64_t millis) {
  if (millis == 0) return "0s";
  std::string out;
  if (millis < 0) {
    out = "-";
    millis = -millis;
  }
  struct Unit {
    int64_t ms;
    const char* suffix;
  };
  static constexpr Unit units[] = {{86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}};
  // Whole days read as days from three on (7d, 30d); below that, SLAs are
  // spoken of in hours (24h, 48h).
  bool days = millis % 86'400'000 == 0 && millis >= 3 * 86'400'000LL;
  for (const Unit& u : units) {
    if (u.ms == 86'400'000 && !days) continue;
    if (millis >= u.ms) {
      out += std::to_string(millis / u.ms) + u.suffix;
      millis %= u.ms;
    }
  }
  return out;
}

std::optional<int64_t> parse_duration(std::string_view text) {
  auto unit_ms = [](std::string_view u) -> int64_t {
    if (u == "ms") return 1;
    if (u == "s" || u == "sec" || u == "secs" || u == "second" || u == "seconds") return 1000;
    if (u == "m" || u == "min" || u == "mins" || u == "minute" || u == "minutes") return 60'000;
    if (u == "h" || u == "hr" || u == "hrs" || u == "hour" || u == "hours") return 3'600'000;
    if (u == "d" || u == "day" || u == "days") return 86'400'000;
    if (u == "w" || u == "week" || u == "weeks") return 7 * 86'400'000LL;
    return 0;
  };
  int64_t total = 0;
  size_t pos = 0;
  bool any = false;
  while (pos < text.size()) {
    size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start) return std::nullopt;
    int64_t n = 0;
    for (size_t k = start; k < pos; ++k) {
      if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, text[k] - '0', &n)) return std::nullopt;
    }
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
    size_t ustart = pos;
    while (pos < text.size() && ((text[pos] >= 'a' && text[pos] <= 'z'))) ++pos;
    int64_t ms = unit_ms(text.substr(ustart, pos - ustart));
    if (ms == 0) return std::nullopt;
    int64_t part;
    if (__builtin_mul_overflow(n, ms, &part) || __builtin_add_overflow(total, part, &total)) return std::nullopt;
    any = true;
  }
  if (!any) return std::nullopt;
  return total;
}

std::string format_money(int64_t micros, CurrencyCode currency) {
  return format_decimal(micros, currency_minor_digits(currency)) + " " + currency_name(currency);
}

std::string format_distance(double metres) {
  if (std::isnan(metres)) return "unknown distance";
  if (std::fabs(metres) >= 1000) {
    double km = metres / 1000;
    if (km == std::floor(km)) return fmt::format("{} km", static_cast<int64_t>(km));
    return fmt::format("{:.1f} km", km);
  }
  if (metres == std::floor(metres)) return fmt::format("{} m", static_cast<int64_t>(metres));
  return fmt::format("{:.1f} m", metres);
}

}  // namespace orderflow::model
