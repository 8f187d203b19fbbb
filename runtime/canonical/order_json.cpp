#include "runtime/canonical/order_json.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "compiler/model/ops.h"
#include "runtime/canonical/json_parse.h"

namespace orderflow::runtime {

using model::Type;
using model::TypeKind;
using model::Value;
using nlohmann::json;

namespace {

struct Failure {
  DecodeError error;
};

// Where the decoder is, as a chain of links on its stack: the text of a path
// ("$.lines[2].sku") is only built for an error, not for every field read.
struct Path {
  const Path* parent = nullptr;
  std::string_view field;  // ".field" when set, else "[index]"
  size_t index = 0;

  std::string text() const {
    if (!parent) return "$";
    if (!field.empty()) return parent->text() + "." + std::string(field);
    return fmt::format("{}[{}]", parent->text(), index);
  }
  Path operator/(std::string_view name) const { return Path{this, name, 0}; }
  Path operator[](size_t i) const { return Path{this, {}, i}; }
};

class Decoder {
 public:
  Decoder(const check::CheckedBundle& b, model::Arena& arena) : b_(b), arena_(arena) {}

  void record(int record, const json& j, std::byte* image, const Path& path) {
    const model::RecordDef& def = b_.schema.record_def(record);
    if (!j.is_object()) fail(path, fmt::format("expected an object ({}), found {}", def.name, kind_of(j)));
    for (const model::FieldDef& f : def.fields) {
      auto it = j.find(f.name);
      Path here = path / f.name;
      if (it == j.end() || it->is_null()) {
        if (f.type.is_collection()) continue;  // absent list: empty
        if (f.type.kind == TypeKind::Record && !f.optional) {
          // A required nested record may be left out when all its fields can be.
          std::byte* nested = image + f.offset;
          record_defaults_or_fail(f.type.ref, nested, here);
          model::set_presence_bit(image, f.index);
          continue;
        }
        if (f.optional || f.default_kind != model::DefaultKind::None) continue;
        fail(here, fmt::format("missing: every order needs {} ({})", f.name, b_.schema.type_name(f.type)));
      }
      value(f.type, *it, image + f.offset, here);
      model::set_presence_bit(image, f.index);
    }
    model::apply_constant_defaults(b_.schema, record, image);
  }

 private:
  [[noreturn]] void fail(const Path& path, std::string message) {
    throw Failure{DecodeError{path.text(), std::move(message)}};
  }

  static std::string kind_of(const json& j) {
    switch (j.type()) {
      case json::value_t::null: return "null";
      case json::value_t::object: return "an object";
      case json::value_t::array: return "a list";
      case json::value_t::string: return "a text";
      case json::value_t::boolean: return "true/false";
      case json::value_t::number_integer:
      case json::value_t::number_unsigned:
      case json::value_t::number_float: return "a number";
      default: return "something else";
    }
  }

  void record_defaults_or_fail(int record, std::byte* image, const Path& path) {
    const model::RecordDef& def = b_.schema.record_def(record);
    for (const model::FieldDef& f : def.fields)
      if (!f.optional && f.default_kind == model::DefaultKind::None && !f.type.is_collection())
        fail(path, fmt::format("missing: it needs at least {}", f.name));
    model::apply_constant_defaults(b_.schema, record, image);
  }

  // The text of a number or decimal string, for exact parsing.
  static std::optional<std::string> decimal_text(const json& j) {
    if (j.is_string()) return j.get<std::string>();
    if (j.is_number()) return j.dump();  // shortest round-trip form: 7500.5 stays 7500.5
    return std::nullopt;
  }

  void value(Type t, const json& j, std::byte* slot, const Path& path) {
    auto expect = [&](bool ok, const char* what) {
      if (!ok) fail(path, fmt::format("expected {}, found {}", what, kind_of(j)));
    };
    switch (t.kind) {
      case TypeKind::Bool:
        expect(j.is_boolean(), "true or false");
        model::write_slot(t, slot, Value::boolean(j.get<bool>()));
        return;
      case TypeKind::Int:
        if (j.is_number_float() && std::trunc(j.get<double>()) == j.get<double>()) {
          // A whole number written with a fraction (2.0): as an integer, when it is one (casting one
          // beyond 64 bits is undefined, as fuzzing found: 4.18e20).
          double d = j.get<double>();
          if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) fail(path, "this number is too large");
          model::write_slot(t, slot, Value::integer(static_cast<int64_t>(d)));
          return;
        }
        expect(j.is_number_integer(), "a whole number");
        if (j.is_number_unsigned() && j.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) fail(path, "this number is too large");
        model::write_slot(t, slot, Value::integer(j.get<int64_t>()));
        return;
      case TypeKind::Decimal: {
        auto text = decimal_text(j);
        expect(text.has_value(), "a decimal number");
        auto d = model::parse_decimal(*text);
        if (!d) fail(path, fmt::format("'{}' is not a decimal number: {}", *text, model::why_not_a_decimal(*text)));
        model::write_slot(t, slot, Value::decimal(*d));
        return;
      }
      case TypeKind::Float:
        expect(j.is_number(), "a number");
        model::write_slot(t, slot, Value::floating(j.get<double>()));
        return;
      case TypeKind::Money: {
        expect(j.is_object(), "an amount: {\"amount\": \"7500.00\", \"currency\": \"INR\"}");
        auto amount = j.find("amount");
        auto currency = j.find("currency");
        if (amount == j.end() || amount->is_null()) fail(path / "amount", "missing");
        if (currency == j.end() || !currency->is_string())
          fail(path / "currency", "missing: write the ISO 4217 code, such as \"INR\"");
        auto text = decimal_text(*amount);
        if (!text) fail(path / "amount", fmt::format("expected a decimal string such as \"7500.00\", found {}", kind_of(*amount)));
        auto d = model::parse_decimal(*text);
        if (!d) fail(path / "amount", fmt::format("'{}' is not an amount: {}", *text, model::why_not_a_decimal(*text)));
        auto c = model::currency_from_code(currency->get<std::string>());
        if (!c) fail(path / "currency", fmt::format("'{}' is not an ISO 4217 currency code", currency->get<std::string>()));
        model::write_slot(t, slot, Value::money(*d, *c));
        return;
      }
      case TypeKind::String: {
        expect(j.is_string(), "a text");
        const std::string& text = j.get_ref<const std::string&>();
        // A short text is copied into the slot itself; only longer ones need the arena.
        model::write_slot(t, slot, Value::string(text.size() <= model::kInlineStringBytes ? std::string_view(text)
                                                                                          : arena_.copy(text)));
        return;
      }
      case TypeKind::Duration:
      case TypeKind::Time:
      case TypeKind::Distance:
      case TypeKind::Enum: {
        if (t.kind == TypeKind::Distance && j.is_number()) {
          model::write_slot(t, slot, Value::distance(j.get<double>()));
          return;
        }
        expect(j.is_string(), t.kind == TypeKind::Time       ? "a time such as \"2026-11-20T10:15:00Z\""
                              : t.kind == TypeKind::Duration ? "a duration such as \"24h\""
                              : t.kind == TypeKind::Distance ? "a distance such as \"15 km\""
                                                             : "a text");
        auto v = model::parse_text_value(b_.schema, t, j.get_ref<const std::string&>(), arena_);
        if (auto* err = std::get_if<std::string>(&v)) {
          if (t.kind == TypeKind::Enum)
            fail(path, fmt::format("unknown {} '{}': {}", b_.schema.type_name(t), j.get<std::string>(), *err));
          fail(path, *err);
        }
        model::write_slot(t, slot, std::get<Value>(v));
        return;
      }
      case TypeKind::Record: record(t.ref, j, slot, path); return;
      case TypeKind::List:
      case TypeKind::Set: {
        expect(j.is_array(), "a list");
        Type element = b_.schema.element_type(t);
        uint32_t size = b_.schema.slot_size(element);
        std::byte* data = arena_.allocate(size * j.size());
        for (size_t i = 0; i < j.size(); ++i) {
          const json& item = j[i];
          Path here = path[i];
          if (item.is_null()) fail(here, "a list cannot hold null");
          value(element, item, data + i * size, here);
        }
        model::write_slot(t, slot, Value::list(model::pack_type(element), data, j.size()));
        return;
      }
      case TypeKind::Error: fail(path, "this field has no usable type");
    }
  }

  const check::CheckedBundle& b_;
  model::Arena& arena_;
};

json encode_value(const check::CheckedBundle& b, const Value& v) {
  switch (v.kind) {
    case Value::Kind::Missing: return nullptr;
    case Value::Kind::Bool: return v.b;
    case Value::Kind::Int: return v.i;
    case Value::Kind::Decimal: return model::format_decimal(v.i);
    case Value::Kind::Float: return v.f;
    case Value::Kind::Money:
      return {{"amount", model::format_decimal(v.i, model::currency_minor_digits(v.aux))},
              {"currency", model::currency_name(v.aux)}};
    case Value::Kind::String: return std::string(v.as_string());
    case Value::Kind::Duration: return model::format_duration(v.i);
    case Value::Kind::Time: return model::format_time(v.i);
    case Value::Kind::Distance: return v.f;
    case Value::Kind::Enum: return b.schema.enum_def(static_cast<int>(v.aux)).values.at(v.i);
    case Value::Kind::List: {
      json arr = json::array();
      for (uint64_t i = 0; i < v.size; ++i) arr.push_back(encode_value(b, model::list_element(b.schema, v, i)));
      return arr;
    }
    case Value::Kind::Record:
      return encode_record(b, static_cast<int>(v.aux), static_cast<const std::byte*>(v.ptr));
  }
  return nullptr;
}

}  // namespace

std::variant<std::byte*, DecodeError> decode_record(const check::CheckedBundle& b, int record, const json& j,
                                                    model::Arena& arena) {
  std::byte* image = arena.allocate(b.schema.record_def(record).size);
  try {
    Decoder(b, arena).record(record, j, image, Path{});
  } catch (const Failure& f) {
    return f.error;
  }
  return image;
}

namespace {

// What no channel can mean, however well formed: units that do not exist,
// money that runs backwards, a line priced in another currency than the
// order. The schema says what each field is; these say how they must agree.
std::optional<DecodeError> impossible(const check::CheckedBundle& b, const std::byte* image) {
  model::RecordRef order(b.schema, b.order_record, image);
  model::Value total = order.get("total");
  std::optional<model::CurrencyCode> currency;
  if (total.kind == model::Value::Kind::Money) {
    currency = total.aux;
    if (total.i < 0)
      return DecodeError{"$.total.amount",
                         fmt::format("an order's total cannot be negative ({})", model::format_decimal(total.i, 2))};
  }
  auto other_currency = [&](const model::Value& money) {
    return money.kind == model::Value::Kind::Money && currency && money.aux != *currency;
  };
  auto currency_error = [&](const model::Value& money, const std::string& path) {
    return DecodeError{path + ".currency",
                       fmt::format("{} on an order in {}: every amount of an order is in its total's currency",
                                   model::currency_name(money.aux), model::currency_name(*currency))};
  };
  for (const char* field : {"subtotal", "shipping_fee", "tax", "discount"}) {
    model::Value v = order.get(field);
    if (v.kind != model::Value::Kind::Money) continue;
    if (v.i < 0)
      return DecodeError{fmt::format("$.{}.amount", field),
                         fmt::format("cannot be negative ({}); a reduction is a positive discount",
                                     model::format_decimal(v.i, 2))};
    if (other_currency(v)) return currency_error(v, fmt::format("$.{}", field));
  }
  model::Value lines = order.get("lines");
  if (lines.kind != model::Value::Kind::List) return std::nullopt;
  if (lines.size == 0) return DecodeError{"$.lines", "an order needs at least one line"};
  for (uint64_t i = 0; i < lines.size; ++i) {
    model::Value element = model::list_element(b.schema, lines, i);
    if (element.kind != model::Value::Kind::Record) continue;
    model::RecordRef line(b.schema, static_cast<int>(element.aux), static_cast<const std::byte*>(element.ptr));
    auto at = [i](const char* field) { return fmt::format("$.lines[{}].{}", i, field); };
    model::Value quantity = line.get("quantity");
    model::Value cancelled = line.get("cancelled_quantity");
    if (quantity.kind == model::Value::Kind::Int && quantity.i <= 0)
      return DecodeError{at("quantity"), fmt::format("expected at least 1 unit, not {}", quantity.i)};
    if (cancelled.kind == model::Value::Kind::Int) {
      if (cancelled.i < 0)
        return DecodeError{at("cancelled_quantity"), fmt::format("cannot be negative ({})", cancelled.i)};
      if (quantity.kind == model::Value::Kind::Int && cancelled.i > quantity.i)
        return DecodeError{at("cancelled_quantity"),
                           fmt::format("{} units cancelled of a line of {}", cancelled.i, quantity.i)};
    }
    model::Value price = line.get("unit_price");
    if (price.kind == model::Value::Kind::Money && price.i < 0)
      return DecodeError{at("unit_price.amount"),
                         fmt::format("a unit price cannot be negative ({})", model::format_decimal(price.i, 2))};
    if (other_currency(price)) return currency_error(price, fmt::format("$.lines[{}].unit_price", i));
  }
  return std::nullopt;
}

}  // namespace

std::optional<DecodeError> nothing_to_fulfil(const check::CheckedBundle& b, const std::byte* image) {
  model::Value lines = model::RecordRef(b.schema, b.order_record, image).get("lines");
  if (lines.kind != model::Value::Kind::List) return std::nullopt;
  for (uint64_t i = 0; i < lines.size; ++i) {
    model::Value element = model::list_element(b.schema, lines, i);
    if (element.kind != model::Value::Kind::Record) return std::nullopt;
    model::RecordRef line(b.schema, static_cast<int>(element.aux), static_cast<const std::byte*>(element.ptr));
    model::Value quantity = line.get("quantity");
    model::Value cancelled = line.get("cancelled_quantity");
    if (quantity.kind != model::Value::Kind::Int ||
        quantity.i > (cancelled.kind == model::Value::Kind::Int ? cancelled.i : 0))
      return std::nullopt;
  }
  return DecodeError{"$.lines",
                     "every unit of the order is cancelled (cancelled_quantity is the quantity on every line): there "
                     "is nothing to decide; a cancellation of an order comes as a cancel event"};
}

DecodeResult decode_order(const check::CheckedBundle& b, const json& j) {
  if (b.order_record < 0) return DecodeError{"$", "the schema has no Order record"};
  auto arena = std::make_unique<model::Arena>();
  auto r = decode_record(b, b.order_record, j, *arena);
  if (auto* e = std::get_if<DecodeError>(&r)) return *e;
  if (auto e = impossible(b, std::get<std::byte*>(r))) return *e;
  return OrderImage(std::move(arena), std::get<std::byte*>(r));
}

DecodeResult parse_order(const check::CheckedBundle& b, std::string_view text) {
  json j = parse_json(text);
  if (j.is_discarded()) return DecodeError{"$", json_problem(text).value_or("not JSON")};
  return decode_order(b, j);
}

json encode_record(const check::CheckedBundle& b, int record, const std::byte* image) {
  json out = json::object();
  model::RecordRef r(b.schema, record, image);
  for (const model::FieldDef& f : b.schema.record_def(record).fields) {
    if (!r.has(f.index)) continue;
    out[f.name] = encode_value(b, r.get(f.index));
  }
  return out;
}

void set_field(const check::CheckedBundle& b, OrderImage& order, const std::vector<std::pair<int, int>>& path,
               const Value& value) {
  std::byte* image = order.mutable_data();
  for (size_t i = 0; i < path.size(); ++i) {
    const model::FieldDef& f = b.schema.record_def(path[i].first).fields[path[i].second];
    model::set_presence_bit(image, f.index);
    if (i + 1 == path.size()) {
      Value v = value;
      if (v.kind == Value::Kind::String) v = Value::string(order.arena().copy(v.as_string()));
      model::write_slot(f.type, image + f.offset, v);
    } else {
      image += f.offset;  // nested records are inline
    }
  }
}

std::string order_id(const check::CheckedBundle& b, const std::byte* order) {
  if (!order || b.order_record < 0) return "";
  Value id = model::RecordRef(b.schema, b.order_record, order).get("id");
  return id.kind == Value::Kind::String ? std::string(id.as_string()) : "";
}

namespace {

std::string shown(const nlohmann::json& v) {
  std::string text = v.dump();
  return text.size() <= 80 ? text : text.substr(0, 77) + "...";
}

void differences(const std::string& path, const nlohmann::json& before, const nlohmann::json& after,
                 std::vector<std::string>& out) {
  auto at = [&](const std::string& child) { return path.empty() ? child : path + "." + child; };
  if (before.is_object() && after.is_object()) {
    for (const auto& [key, value] : before.items()) {
      if (!after.contains(key)) out.push_back(fmt::format("{}: removed (was {})", at(key), shown(value)));
      else differences(at(key), value, after[key], out);
    }
    for (const auto& [key, value] : after.items())
      if (!before.contains(key)) out.push_back(fmt::format("{}: added {}", at(key), shown(value)));
    return;
  }
  if (before.is_array() && after.is_array()) {
    for (size_t i = 0; i < std::max(before.size(), after.size()); ++i) {
      std::string item = fmt::format("{}[{}]", path, i);
      if (i >= after.size()) out.push_back(fmt::format("{}: removed (was {})", item, shown(before[i])));
      else if (i >= before.size()) out.push_back(fmt::format("{}: added {}", item, shown(after[i])));
      else differences(item, before[i], after[i], out);
    }
    return;
  }
  if (before != after) out.push_back(fmt::format("{}: {} -> {}", path, shown(before), shown(after)));
}

}  // namespace

std::vector<std::string> order_differences(const nlohmann::json& before, const nlohmann::json& after) {
  std::vector<std::string> out;
  differences("", before, after, out);
  return out;
}

}  // namespace orderflow::runtime
