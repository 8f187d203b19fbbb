#pragma once
// Values and the exact arithmetic behind them.
//
// A Value is a small, trivially copyable view. Strings and lists point into
// storage owned elsewhere (an order's arena, the checked bundle's string
// pool); a Value never outlives that storage.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "compiler/model/types.h"

namespace orderflow::model {

// ------------------------------------------------------------ decimals
// Decimals and money amounts are int64 counts of millionths. Six digits
// cover every currency's minor unit and exchange rates; the range
// (+-9.2 trillion) covers any order.
inline constexpr int64_t kDecimalScale = 1'000'000;
inline constexpr int kDecimalDigits = 6;

// Parses "7500", "7500.5", "-0.25". Fails on more than six fractional
// digits (rather than rounding money silently), on overflow and on junk.
std::optional<int64_t> parse_decimal(std::string_view text);
// Why parse_decimal refused a text, for a message: thousands separators,
// a currency sign, too many decimal places, too large.
std::string why_not_a_decimal(std::string_view text);
// "7500", "7500.5": the shortest exact form, at least min_fraction digits.
std::string format_decimal(int64_t micros, int min_fraction = 0);

// Checked arithmetic; nullopt on overflow or division by zero. Products and
// quotients round half away from zero to six digits.
std::optional<int64_t> decimal_add(int64_t a, int64_t b);
std::optional<int64_t> decimal_sub(int64_t a, int64_t b);
std::optional<int64_t> decimal_mul(int64_t a, int64_t b);
std::optional<int64_t> decimal_div(int64_t a, int64_t b);
std::optional<int64_t> decimal_from_int(int64_t v);
double decimal_to_double(int64_t micros);

// ------------------------------------------------------------ currencies
// A currency is its ISO 4217 code packed into 24 bits ('I'<<16|'N'<<8|'R').
using CurrencyCode = uint32_t;
std::optional<CurrencyCode> currency_from_code(std::string_view code);  // known ISO 4217 codes only
std::string currency_name(CurrencyCode code);                           // "INR"
int currency_minor_digits(CurrencyCode code);                           // INR 2, JPY 0, KWD 3

// ------------------------------------------------------------ time
// Times are milliseconds since the Unix epoch, UTC; durations milliseconds.
// Accepts "2026-11-20", "2026-11-20T10:15:00Z", "2026-11-20T10:15:00.250+05:30",
// "2026-11-20 10:15:00"; a time without a zone is taken as UTC.
std::optional<int64_t> parse_time(std::string_view text);
std::string format_time(int64_t millis);  // "2026-11-20T10:15:00Z"
// "24h", "1h30m", "7d", "90s"; the language's own spelling.
std::string format_duration(int64_t millis);
// Parses the duration literal forms of the language ("90s", "30 minutes").
std::optional<int64_t> parse_duration(std::string_view text);
// "15 km", "800 m".
std::string format_distance(double metres);
// "1299.00 INR": the amount to the currency's minor unit, then its code.
std::string format_money(int64_t micros, CurrencyCode currency);

// ------------------------------------------------------------ values

struct Value {
  enum class Kind : uint8_t {
    Missing, Bool, Int, Decimal, Float, Money, String, Duration, Time, Distance, Enum, List, Record,
  };
  Kind kind = Kind::Missing;
  // Money: CurrencyCode. Enum: the enum's index in the schema. List:
  // element type packed by pack_type(). Record: the record's index.
  uint32_t aux = 0;
  union {
    bool b;
    int64_t i;        // Int, Decimal and Money (millionths), Duration, Time, Enum ordinal
    double f;         // Float, Distance
    const char* str;  // String
    const void* ptr;  // List elements, Record image
  };
  uint64_t size = 0;  // String length in bytes, List element count

  Value() : i(0) {}

  static Value missing() { return Value(); }
  static Value boolean(bool v) { Value x; x.kind = Kind::Bool; x.b = v; return x; }
  static Value integer(int64_t v) { Value x; x.kind = Kind::Int; x.i = v; return x; }
  static Value decimal(int64_t micros) { Value x; x.kind = Kind::Decimal; x.i = micros; return x; }
  static Value floating(double v) { Value x; x.kind = Kind::Float; x.f = v; return x; }
  static Value money(int64_t micros, CurrencyCode c) { Value x; x.kind = Kind::Money; x.i = micros; x.aux = c; return x; }
  static Value string(std::string_view s) { Value x; x.kind = Kind::String; x.str = s.data(); x.size = s.size(); return x; }
  static Value duration(int64_t ms) { Value x; x.kind = Kind::Duration; x.i = ms; return x; }
  static Value time(int64_t ms) { Value x; x.kind = Kind::Time; x.i = ms; return x; }
  static Value distance(double metres) { Value x; x.kind = Kind::Distance; x.f = metres; return x; }
  static Value enumeration(uint32_t enum_index, int64_t ordinal) { Value x; x.kind = Kind::Enum; x.aux = enum_index; x.i = ordinal; return x; }
  static Value list(uint32_t packed_element_type, const void* data, uint64_t count) {
    Value x; x.kind = Kind::List; x.aux = packed_element_type; x.ptr = data; x.size = count; return x;
  }
  static Value record(uint32_t record_index, const void* image) { Value x; x.kind = Kind::Record; x.aux = record_index; x.ptr = image; return x; }

  bool is_missing() const { return kind == Kind::Missing; }
  std::string_view as_string() const { return {str, size}; }
};

// Types fit in 32 bits inside a Value: kind in the top byte, ref below.
uint32_t pack_type(Type t);
Type unpack_type(uint32_t packed);

}  // namespace orderflow::model
