#pragma once
// The types of the policy language. Enum and record types are defined by
// the schema (stdlib/schema.flow plus the bundle's extensions); `ref` points
// at their definition there. A list or set type's `ref` is its element type
// interned in the schema.
#include <cstdint>
#include <string_view>

namespace orderflow::model {

enum class TypeKind : uint8_t {
  Error,     // the type of an expression that already has a diagnostic
  Bool,
  Int,       // 64-bit signed
  Decimal,   // exact, six fractional digits
  Float,     // IEEE double: coordinates and scores, never money
  Money,     // a decimal amount with an ISO 4217 currency
  String,
  Duration,  // milliseconds
  Time,      // milliseconds since 1970-01-01T00:00:00Z
  Distance,  // metres
  Enum,
  Record,
  List,
  Set,
};

struct Type {
  TypeKind kind = TypeKind::Error;
  int32_t ref = -1;

  static constexpr Type error() { return {TypeKind::Error, -1}; }
  static constexpr Type of(TypeKind k) { return {k, -1}; }
  bool is(TypeKind k) const { return kind == k; }
  bool is_error() const { return kind == TypeKind::Error; }
  bool is_collection() const { return kind == TypeKind::List || kind == TypeKind::Set; }
  // Int, Decimal and Float mix in arithmetic and comparisons.
  bool is_number() const { return kind == TypeKind::Int || kind == TypeKind::Decimal || kind == TypeKind::Float; }
  // Values that compare with < and >.
  bool is_ordered() const {
    return is_number() || kind == TypeKind::Money || kind == TypeKind::Duration || kind == TypeKind::Time ||
           kind == TypeKind::Distance || kind == TypeKind::String;
  }
  friend bool operator==(const Type&, const Type&) = default;
};

// "money", "duration": names as the language spells them.
std::string_view scalar_type_name(TypeKind kind);

}  // namespace orderflow::model
