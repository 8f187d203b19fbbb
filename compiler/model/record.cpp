#include "compiler/model/record.h"

namespace orderflow::model {

Value read_slot(const Schema& schema, Type type, const std::byte* slot) {
  auto i64 = [&] {
    int64_t v;
    std::memcpy(&v, slot, 8);
    return v;
  };
  auto f64 = [&] {
    double v;
    std::memcpy(&v, slot, 8);
    return v;
  };
  auto ptr_and_size = [&](const void*& p, uint64_t& n) {
    std::memcpy(&p, slot, sizeof(p));
    std::memcpy(&n, slot + 8, 8);
  };
  switch (type.kind) {
    case TypeKind::Bool: return Value::boolean(static_cast<uint8_t>(slot[0]) != 0);
    case TypeKind::Int: return Value::integer(i64());
    case TypeKind::Decimal: return Value::decimal(i64());
    case TypeKind::Float: return Value::floating(f64());
    case TypeKind::Money: {
      uint32_t c;
      std::memcpy(&c, slot + 8, 4);
      return Value::money(i64(), c);
    }
    case TypeKind::String: return Value::string(string_slot(slot));
    case TypeKind::Duration: return Value::duration(i64());
    case TypeKind::Time: return Value::time(i64());
    case TypeKind::Distance: return Value::distance(f64());
    case TypeKind::Enum: return Value::enumeration(static_cast<uint32_t>(type.ref), i64());
    case TypeKind::List:
    case TypeKind::Set: {
      const void* p;
      uint64_t n;
      ptr_and_size(p, n);
      return Value::list(pack_type(schema.element_type(type)), p, n);
    }
    case TypeKind::Record: return Value::record(static_cast<uint32_t>(type.ref), slot);
    case TypeKind::Error: break;
  }
  return Value::missing();
}

void write_slot(Type type, std::byte* slot, const Value& v) {
  switch (type.kind) {
    case TypeKind::Bool: slot[0] = static_cast<std::byte>(v.b ? 1 : 0); break;
    case TypeKind::Int:
    case TypeKind::Decimal:
    case TypeKind::Duration:
    case TypeKind::Time:
    case TypeKind::Enum: std::memcpy(slot, &v.i, 8); break;
    case TypeKind::Float:
    case TypeKind::Distance: std::memcpy(slot, &v.f, 8); break;
    case TypeKind::Money:
      std::memcpy(slot, &v.i, 8);
      std::memcpy(slot + 8, &v.aux, 4);
      break;
    case TypeKind::String:
      if (v.size <= kInlineStringBytes) {
        uint64_t length = v.size | kInlineString;
        std::memset(slot, 0, 8);
        if (v.size) std::memcpy(slot, v.str, v.size);
        std::memcpy(slot + 8, &length, 8);
        break;
      }
      std::memcpy(slot, &v.ptr, sizeof(v.ptr));
      std::memcpy(slot + 8, &v.size, 8);
      break;
    case TypeKind::List:
    case TypeKind::Set:
      std::memcpy(slot, &v.ptr, sizeof(v.ptr));
      std::memcpy(slot + 8, &v.size, 8);
      break;
    case TypeKind::Record:
    case TypeKind::Error: break;
  }
}

void write_slot(const Schema& schema, Type type, std::byte* slot, const Value& v) {
  if (type.kind == TypeKind::Record) std::memcpy(slot, v.ptr, schema.slot_size(type));
  else write_slot(type, slot, v);
}

Value absent_value(const Schema& schema, Type type) {
  // Lists and sets are never missing, only empty.
  if (type.kind == TypeKind::List || type.kind == TypeKind::Set)
    return Value::list(pack_type(schema.element_type(type)), nullptr, 0);
  return Value::missing();
}

Value RecordRef::get(uint32_t field) const {
  const FieldDef& f = def().fields[field];
  if (!has(field)) return absent_value(*schema_, f.type);
  return read_slot(*schema_, f.type, image_ + f.offset);
}

Value RecordRef::get(std::string_view field) const {
  int i = def().find(field);
  return i < 0 ? Value::missing() : get(static_cast<uint32_t>(i));
}

Value list_element(const Schema& schema, const Value& list, uint64_t i) {
  Type element = unpack_type(list.aux);
  const std::byte* base = static_cast<const std::byte*>(list.ptr) + i * schema.slot_size(element);
  return read_slot(schema, element, base);
}

}  // namespace orderflow::model
