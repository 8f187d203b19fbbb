#include "compiler/engine/builtins.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "compiler/model/local_time.h"
#include "compiler/model/record.h"

namespace orderflow::engine {

using check::Builtin;
using model::Value;

namespace {

model::ArithForm sum_form(model::TypeKind k) {
  switch (k) {
    case model::TypeKind::Int: return model::ArithForm::IntAdd;
    case model::TypeKind::Decimal: return model::ArithForm::DecimalAdd;
    case model::TypeKind::Float: return model::ArithForm::FloatAdd;
    case model::TypeKind::Money: return model::ArithForm::MoneyAdd;
    case model::TypeKind::Duration: return model::ArithForm::DurationAdd;
    default: return model::ArithForm::DistanceAdd;
  }
}

std::optional<model::GeoPoint> place(const check::CheckedBundle& b, const Value& v) {
  if (v.is_missing() || v.kind != Value::Kind::Record) return std::nullopt;
  model::RecordRef r(b.schema, static_cast<int>(v.aux), static_cast<const std::byte*>(v.ptr));
  const check::CheckedBundle::PlaceFields& f = b.places.at(v.aux);
  if (f.lat >= 0 && f.lon >= 0) {
    Value lat = r.get(static_cast<uint32_t>(f.lat)), lon = r.get(static_cast<uint32_t>(f.lon));
    if (lat.kind == Value::Kind::Float && lon.kind == Value::Kind::Float) return model::GeoPoint{lat.f, lon.f};
  }
  if (f.postal_code < 0 || !b.geo) return std::nullopt;
  Value code = r.get(static_cast<uint32_t>(f.postal_code));
  if (code.kind == Value::Kind::String) return b.geo->locate(code.as_string());
  return std::nullopt;
}

// Whether two values of one list are the same value: texts by their
// characters, money by amount and currency (not converted), the rest by
// what they hold.
bool same_value(const Value& x, const Value& y) {
  switch (x.kind) {
    case Value::Kind::String: return x.as_string() == y.as_string();
    case Value::Kind::Bool: return x.b == y.b;
    case Value::Kind::Float:
    case Value::Kind::Distance: return x.f == y.f;
    default: return x.i == y.i && x.aux == y.aux;
  }
}

// The time zone argument at `index` (a zone's name), or UTC when the call
// has none. Zones named in the policy were checked; one read from the
// order or a data file may not exist.
std::variant<model::TimeZone, model::OpFailure> zone_argument(const Value* a, size_t n, size_t index) {
  if (index >= n) return model::TimeZone{};
  std::string_view name = a[index].as_string();
  // Most calls name one zone over and over: the bundle's, a node's.
  thread_local std::string last_name;
  thread_local model::TimeZone last_zone;
  if (!last_name.empty() && name == last_name) return last_zone;
  auto zone = model::TimeZone::find(name);
  if (!zone) return model::OpFailure{fmt::format("there is no time zone '{}'", name)};
  last_name = name;
  last_zone = *zone;
  return *zone;
}

// history()'s answer, as a CustomerHistory record.
Value history_record(const check::CheckedBundle& b, const HistoryCounts& c, model::Arena& scratch) {
  const model::RecordDef& def = b.schema.record_def(b.history_record);
  std::byte* record = scratch.allocate(def.size);
  std::memset(record, 0, def.size);
  auto put = [&](const char* name, const Value& v) {
    int f = def.find(name);
    if (f < 0 || v.is_missing()) return;
    model::write_slot(def.fields[f].type, record + def.fields[f].offset, v);
    model::set_presence_bit(record, def.fields[f].index);
  };
  put("orders", Value::integer(c.orders));
  put("delivered", Value::integer(c.delivered));
  put("cancelled", Value::integer(c.cancelled));
  put("returned", Value::integer(c.returned));
  put("rto", Value::integer(c.rto));
  // Rates to the micro-unit, rounded half up: 1 of 3 is 0.333333.
  auto rate = [&](int64_t part) {
    return c.orders == 0 ? Value::missing()
                         : Value::decimal((part * model::kDecimalScale * 2 + c.orders) / (c.orders * 2));
  };
  put("return_rate", rate(c.returned));
  put("rto_rate", rate(c.rto));
  return Value::record(static_cast<uint32_t>(b.history_record), record);
}

}  // namespace

BuiltinResult apply_builtin(const check::CheckedBundle& b, const check::Expr& call, const Value* a, size_t n,
                            const BuiltinWorld& world, model::Arena& scratch) {
  const model::Inventory* inventory = world.inventory;
  const Builtin builtin = call.builtin;
  const model::Type result_type = call.type;
  auto any_missing = [&] {
    for (size_t i = 0; i < n; ++i)
      if (a[i].is_missing()) return true;
    return false;
  };
  auto three_way = [&](const Value& x, const Value& y) -> std::variant<int, model::OpFailure> {
    return model::compare_values(*model::compare_form_of(result_type), x, y, b.rates.get());
  };
  switch (builtin) {
    case Builtin::Count: return {Value::integer(static_cast<int64_t>(a[0].size))};
    case Builtin::Sum: {
      model::Type element = model::unpack_type(a[0].aux);
      if (a[0].size == 0) {
        switch (element.kind) {
          case model::TypeKind::Int: return {Value::integer(0)};
          case model::TypeKind::Decimal: return {Value::decimal(0)};
          case model::TypeKind::Float: return {Value::floating(0)};
          case model::TypeKind::Duration: return {Value::duration(0)};
          case model::TypeKind::Distance: return {Value::distance(0)};
          default: return {Value::missing()};
        }
      }
      Value total = model::list_element(b.schema, a[0], 0);
      model::ArithForm add = sum_form(element.kind);
      for (uint64_t i = 1; i < a[0].size; ++i) {
        auto r = model::apply_arith(add, total, model::list_element(b.schema, a[0], i), b.rates.get(), &scratch);
        if (std::holds_alternative<model::OpFailure>(r)) return {r};
        total = std::get<Value>(r);
      }
      return {total};
    }
    case Builtin::Min:
    case Builtin::Max: {
      bool want_min = builtin == Builtin::Min;
      if (n == 2) {
        if (any_missing()) return {Value::missing()};
        auto c = three_way(a[0], a[1]);
        if (auto* f = std::get_if<model::OpFailure>(&c)) return {*f};
        int cmp = std::get<int>(c);
        return {(want_min ? cmp <= 0 : cmp >= 0) ? a[0] : a[1]};
      }
      if (a[0].size == 0) return {Value::missing()};
      Value best = model::list_element(b.schema, a[0], 0);
      for (uint64_t i = 1; i < a[0].size; ++i) {
        Value v = model::list_element(b.schema, a[0], i);
        auto c = three_way(v, best);
        if (auto* f = std::get_if<model::OpFailure>(&c)) return {*f};
        int cmp = std::get<int>(c);
        if (want_min ? cmp < 0 : cmp > 0) best = v;
      }
      return {best};
    }
    case Builtin::Prefix:
    case Builtin::Suffix: {
      if (any_missing()) return {Value::missing()};
      std::string_view s = a[0].as_string();
      int64_t count = std::max<int64_t>(0, a[1].i);
      size_t length = utf8_length(s);
      if (static_cast<size_t>(count) >= length) return {a[0]};
      if (builtin == Builtin::Prefix) return {Value::string(s.substr(0, utf8_offset(s, count)))};
      return {Value::string(s.substr(utf8_offset(s, length - count)))};
    }
    case Builtin::Lower:
    case Builtin::Upper: {
      if (any_missing()) return {Value::missing()};
      std::string s(a[0].as_string());
      for (char& c : s)
        c = static_cast<char>(builtin == Builtin::Lower ? std::tolower(static_cast<unsigned char>(c))
                                                        : std::toupper(static_cast<unsigned char>(c)));
      return {Value::string(scratch.copy(s))};
    }
    case Builtin::Length:
      if (any_missing()) return {Value::missing()};
      return {Value::integer(static_cast<int64_t>(utf8_length(a[0].as_string())))};
    case Builtin::Contains:
    case Builtin::StartsWith:
    case Builtin::EndsWith: {
      if (any_missing()) return {Value::missing()};
      std::string_view s = a[0].as_string(), part = a[1].as_string();
      bool r = builtin == Builtin::Contains     ? s.find(part) != std::string_view::npos
               : builtin == Builtin::StartsWith ? s.starts_with(part)
                                                : s.ends_with(part);
      return {Value::boolean(r)};
    }
    case Builtin::Hour:
    case Builtin::Minute:
    case Builtin::Weekday:
    case Builtin::Date: {
      if (any_missing()) return {Value::missing()};
      auto zone = zone_argument(a, n, 1);
      if (auto* f = std::get_if<model::OpFailure>(&zone)) return {*f};
      model::LocalTime local = std::get<model::TimeZone>(zone).local(a[0].i);
      switch (builtin) {
        case Builtin::Hour: return {Value::integer(local.hour())};
        case Builtin::Minute: return {Value::integer(local.minute())};
        case Builtin::Weekday: return {Value::integer(local.weekday())};
        default: return {Value::string(scratch.copy(model::format_date(local.day)))};
      }
    }
    case Builtin::NextClock: {
      if (any_missing()) return {Value::missing()};
      auto zone = zone_argument(a, n, 2);
      if (auto* f = std::get_if<model::OpFailure>(&zone)) return {*f};
      return {Value::time(std::get<model::TimeZone>(zone).next_clock(a[0].i, a[1].i))};
    }
    case Builtin::AddWorkingTime:
    case Builtin::WorkingTimeBetween: {
      if (any_missing()) return {Value::missing()};
      const model::WorkingHours& hours = b.hours.at(static_cast<size_t>(call.index));
      model::RecordRef node(b.schema, static_cast<int>(a[2].aux), static_cast<const std::byte*>(a[2].ptr));
      Value id = node.get("id");
      if (id.kind != Value::Kind::String) return {Value::missing()};
      // The node's own clock where it has one, else the bundle's.
      Value node_zone = node.def().find("timezone") >= 0 ? node.get("timezone") : Value::missing();
      auto zone = node_zone.kind == Value::Kind::String ? zone_argument(&node_zone, 1, 0) : zone_argument(a, n, 3);
      if (auto* f = std::get_if<model::OpFailure>(&zone)) return {*f};
      model::TimeZone z = std::get<model::TimeZone>(zone);
      if (builtin == Builtin::AddWorkingTime) {
        auto t = hours.add_working_time(id.as_string(), a[0].i, a[1].i, z);
        return {t ? Value::time(*t) : Value::missing()};
      }
      auto d = hours.working_time_between(id.as_string(), a[0].i, a[1].i, z);
      return {d ? Value::duration(*d) : Value::missing()};
    }
    case Builtin::Entered: {
      if (any_missing()) return {Value::missing()};
      model::Type entry = model::unpack_type(a[0].aux);
      const model::RecordDef& def = b.schema.record_def(entry.ref);
      uint32_t state = static_cast<uint32_t>(def.find("state")), at = static_cast<uint32_t>(def.find("at"));
      for (uint64_t i = 0; i < a[0].size; ++i) {
        Value e = model::list_element(b.schema, a[0], i);
        model::RecordRef r(b.schema, entry.ref, static_cast<const std::byte*>(e.ptr));
        if (r.get(state).i == a[1].i) return {r.get(at)};
      }
      return {Value::missing()};
    }
    case Builtin::NodeNamed: {
      const model::Inventory* nodes = inventory ? inventory : b.inventory.get();
      if (any_missing() || !nodes) return {Value::missing()};
      uint32_t id = static_cast<uint32_t>(b.schema.record_def(b.node_record).find("id"));
      for (size_t i = 0; i < nodes->node_count(); ++i) {
        model::RecordRef node(b.schema, b.node_record, nodes->node(i));
        if (node.get(id).as_string() == a[0].as_string())
          return {Value::record(static_cast<uint32_t>(b.node_record), nodes->node(i))};
      }
      return {Value::missing()};
    }
    case Builtin::History: {
      if (any_missing()) return {Value::missing()};
      auto kind = static_cast<HistoryKey>(call.index);
      std::string key;
      if (kind == HistoryKey::Address) {
        model::RecordRef address(b.schema, static_cast<int>(a[0].aux), static_cast<const std::byte*>(a[0].ptr));
        Value line1 = address.get("line1"), pincode = address.get("postal_code");
        if (line1.kind == Value::Kind::String && pincode.kind == Value::Kind::String)
          key = address_history_key(line1.as_string(), pincode.as_string());
      } else {
        key = normalize_history_key(kind, a[0].as_string());
      }
      if (key.empty()) return {Value::missing()};  // nothing that identifies anyone: no history to read
      HistoryCounts c;
      if (world.history) c = world.history->counts(kind, key, world.now - a[1].i, world.now);
      return {history_record(b, c, scratch)};
    }
    case Builtin::Matches:
      if (any_missing()) return {Value::missing()};
      return {Value::boolean(b.patterns.at(static_cast<size_t>(call.index)).search(a[0].as_string()))};
    case Builtin::Abs: {
      if (any_missing()) return {Value::missing()};
      Value v = a[0];
      if (v.kind == Value::Kind::Float || v.kind == Value::Kind::Distance) {
        v.f = std::fabs(v.f);
      } else if (v.i < 0) {
        if (v.i == INT64_MIN) return {model::OpFailure{"abs() of a number too large"}};
        v.i = -v.i;
      }
      return {v};
    }
    case Builtin::Round: {
      if (any_missing()) return {Value::missing()};
      Value v = a[0];
      int64_t digits = a[1].i;
      if (v.kind == Value::Kind::Float) {
        double f = std::pow(10.0, static_cast<double>(digits));
        v.f = std::round(v.f * f) / f;
      } else if (v.kind == Value::Kind::Decimal || v.kind == Value::Kind::Money) {
        int64_t unit = 1;
        for (int64_t k = digits; k < model::kDecimalDigits; ++k) unit *= 10;
        int64_t q = v.i / unit, r = v.i % unit;
        if (std::llabs(r) * 2 >= unit) q += v.i < 0 ? -1 : 1;
        v.i = q * unit;
      }
      return {v};
    }
    case Builtin::Amount:
      if (any_missing()) return {Value::missing()};
      return {Value::decimal(a[0].i)};
    case Builtin::Currency:
      if (any_missing()) return {Value::missing()};
      return {Value::string(scratch.copy(model::currency_name(a[0].aux)))};
    case Builtin::Distance: {
      auto p = place(b, a[0]), q = place(b, a[1]);
      if (!p || !q) return {Value::missing(), !p ? 0 : 1};
      return {Value::distance(model::great_circle_metres(*p, *q))};
    }
    case Builtin::Stock: {
      if (any_missing() || !inventory) return {Value::missing()};
      for (size_t i = 0; i < inventory->node_count(); ++i)
        if (inventory->node(i) == a[0].ptr) return {Value::integer(inventory->available(i, a[1].as_string(), 0))};
      return {Value::integer(0)};
    }
    case Builtin::TimeOf: return {a[0]};
    case Builtin::Distinct: {
      if (any_missing()) return {Value::missing()};
      model::Type element = model::unpack_type(a[0].aux);
      uint32_t slot = b.schema.slot_size(element);
      const auto* from = static_cast<const std::byte*>(a[0].ptr);
      std::byte* kept = scratch.allocate(slot * a[0].size);
      uint64_t count = 0;
      for (uint64_t i = 0; i < a[0].size; ++i) {
        Value v = model::list_element(b.schema, a[0], i);
        bool seen = false;
        for (uint64_t j = 0; j < i && !seen; ++j) seen = same_value(v, model::list_element(b.schema, a[0], j));
        if (seen) continue;
        std::memcpy(kept + count * slot, from + i * slot, slot);
        ++count;
      }
      return {Value::list(a[0].aux, kept, count)};
    }
  }
  return {model::OpFailure{"unknown function"}};
}

}  // namespace orderflow::engine
