#include "compiler/model/ops.h"

#include <fmt/format.h>

#include <cmath>

namespace orderflow::model {

const char* compare_op_spelling(CompareOp op) {
  switch (op) {
    case CompareOp::Eq: return "==";
    case CompareOp::Ne: return "!=";
    case CompareOp::Lt: return "<";
    case CompareOp::Le: return "<=";
    case CompareOp::Gt: return ">";
    case CompareOp::Ge: return ">=";
  }
  return "?";
}

std::optional<CompareForm> compare_form_of(Type t) {
  switch (t.kind) {
    case TypeKind::Bool: return CompareForm::Bool;
    case TypeKind::Int: return CompareForm::Int;
    case TypeKind::Decimal: return CompareForm::Decimal;
    case TypeKind::Float: return CompareForm::Float;
    case TypeKind::Money: return CompareForm::Money;
    case TypeKind::String: return CompareForm::String;
    case TypeKind::Duration: return CompareForm::Duration;
    case TypeKind::Time: return CompareForm::Time;
    case TypeKind::Distance: return CompareForm::Distance;
    case TypeKind::Enum: return CompareForm::Enum;
    default: return std::nullopt;
  }
}

std::optional<CompareForm> compare_form_of(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::Bool: return CompareForm::Bool;
    case Value::Kind::Int: return CompareForm::Int;
    case Value::Kind::Decimal: return CompareForm::Decimal;
    case Value::Kind::Float: return CompareForm::Float;
    case Value::Kind::Money: return CompareForm::Money;
    case Value::Kind::String: return CompareForm::String;
    case Value::Kind::Duration: return CompareForm::Duration;
    case Value::Kind::Time: return CompareForm::Time;
    case Value::Kind::Distance: return CompareForm::Distance;
    case Value::Kind::Enum: return CompareForm::Enum;
    default: return std::nullopt;
  }
}

namespace {

OpFailure overflow(const char* what) { return {std::string("the result of ") + what + " is too large"}; }

std::optional<int64_t> same_currency_amount(const Value& money, CurrencyCode target, const CurrencyConverter* rates) {
  if (money.aux == target) return money.i;
  if (!rates) return std::nullopt;
  return rates->convert(money.i, money.aux, target);
}

OpFailure no_rate(const Value& from, const Value& to) {
  return {fmt::format("no exchange rate from {} to {}", currency_name(from.aux), currency_name(to.aux))};
}

OpResult checked(std::optional<int64_t> v, Value (*make)(int64_t), const char* what) {
  if (!v) return overflow(what);
  return make(*v);
}

}  // namespace

OpResult apply_arith(ArithForm form, const Value& a, const Value& b, const CurrencyConverter* rates, Arena* scratch) {
  switch (form) {
    case ArithForm::IntAdd: {
      int64_t r;
      if (__builtin_add_overflow(a.i, b.i, &r)) return overflow("an addition");
      return Value::integer(r);
    }
    case ArithForm::IntSub: {
      int64_t r;
      if (__builtin_sub_overflow(a.i, b.i, &r)) return overflow("a subtraction");
      return Value::integer(r);
    }
    case ArithForm::IntMul: {
      int64_t r;
      if (__builtin_mul_overflow(a.i, b.i, &r)) return overflow("a multiplication");
      return Value::integer(r);
    }
    case ArithForm::IntMod:
      if (b.i == 0) return OpFailure{"remainder of a division by zero"};
      if (b.i == -1) return Value::integer(0);
      return Value::integer(a.i % b.i);
    case ArithForm::DecimalAdd: return checked(decimal_add(a.i, b.i), Value::decimal, "an addition");
    case ArithForm::DecimalSub: return checked(decimal_sub(a.i, b.i), Value::decimal, "a subtraction");
    case ArithForm::DecimalMul: return checked(decimal_mul(a.i, b.i), Value::decimal, "a multiplication");
    case ArithForm::DecimalDiv:
      if (b.i == 0) return OpFailure{"division by zero"};
      return checked(decimal_div(a.i, b.i), Value::decimal, "a division");
    case ArithForm::FloatAdd: return Value::floating(a.f + b.f);
    case ArithForm::FloatSub: return Value::floating(a.f - b.f);
    case ArithForm::FloatMul: return Value::floating(a.f * b.f);
    case ArithForm::FloatDiv:
      if (b.f == 0) return OpFailure{"division by zero"};
      return Value::floating(a.f / b.f);
    case ArithForm::MoneyAdd:
    case ArithForm::MoneySub: {
      auto rhs = same_currency_amount(b, a.aux, rates);
      if (!rhs) return no_rate(b, a);
      auto r = form == ArithForm::MoneyAdd ? decimal_add(a.i, *rhs) : decimal_sub(a.i, *rhs);
      if (!r) return overflow("an amount");
      return Value::money(*r, a.aux);
    }
    case ArithForm::MoneyScale: {
      auto r = decimal_mul(a.i, b.i);
      if (!r) return overflow("an amount");
      return Value::money(*r, a.aux);
    }
    case ArithForm::MoneyDivide: {
      if (b.i == 0) return OpFailure{"division by zero"};
      auto r = decimal_div(a.i, b.i);
      if (!r) return overflow("an amount");
      return Value::money(*r, a.aux);
    }
    case ArithForm::MoneyRatio: {
      auto rhs = same_currency_amount(b, a.aux, rates);
      if (!rhs) return no_rate(b, a);
      if (*rhs == 0) return OpFailure{"division by zero"};
      return checked(decimal_div(a.i, *rhs), Value::decimal, "a division");
    }
    case ArithForm::DurationAdd: {
      int64_t r;
      if (__builtin_add_overflow(a.i, b.i, &r)) return overflow("a duration");
      return Value::duration(r);
    }
    case ArithForm::DurationSub: {
      int64_t r;
      if (__builtin_sub_overflow(a.i, b.i, &r)) return overflow("a duration");
      return Value::duration(r);
    }
    // Durations are whole milliseconds and decimals millionths, so the
    // decimal helpers give exactly rounded milliseconds here.
    case ArithForm::DurationScale: return checked(decimal_mul(a.i, b.i), Value::duration, "a duration");
    case ArithForm::DurationDivide:
      if (b.i == 0) return OpFailure{"division by zero"};
      return checked(decimal_div(a.i, b.i), Value::duration, "a duration");
    case ArithForm::DurationRatio:
      if (b.i == 0) return OpFailure{"division by zero"};
      return checked(decimal_div(a.i, b.i), Value::decimal, "a division");
    case ArithForm::TimeDiff: {
      int64_t r;
      if (__builtin_sub_overflow(a.i, b.i, &r)) return overflow("a duration");
      return Value::duration(r);
    }
    case ArithForm::TimeAdd: {
      int64_t r;
      if (__builtin_add_overflow(a.i, b.i, &r)) return overflow("a time");
      return Value::time(r);
    }
    case ArithForm::TimeSub: {
      int64_t r;
      if (__builtin_sub_overflow(a.i, b.i, &r)) return overflow("a time");
      return Value::time(r);
    }
    case ArithForm::DistanceAdd: return Value::distance(a.f + b.f);
    case ArithForm::DistanceSub: return Value::distance(a.f - b.f);
    case ArithForm::DistanceScale: return Value::distance(a.f * b.f);
    case ArithForm::DistanceDivide:
      if (b.f == 0) return OpFailure{"division by zero"};
      return Value::distance(a.f / b.f);
    case ArithForm::DistanceRatio:
      if (b.f == 0) return OpFailure{"division by zero"};
      return Value::floating(a.f / b.f);
    case ArithForm::StringConcat: {
      std::string joined(a.as_string());
      joined += b.as_string();
      if (!scratch) return OpFailure{"no room to join texts"};
      return Value::string(scratch->copy(joined));
    }
  }
  return OpFailure{"unknown operation"};
}

std::variant<int, OpFailure> compare_values(CompareForm form, const Value& a, const Value& b,
                                            const CurrencyConverter* rates) {
  auto three = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
  switch (form) {
    case CompareForm::Bool: return three(a.b, b.b);
    case CompareForm::Int:
    case CompareForm::Decimal:
    case CompareForm::Duration:
    case CompareForm::Time:
    case CompareForm::Enum: return three(a.i, b.i);
    case CompareForm::Float:
    case CompareForm::Distance: return three(a.f, b.f);
    case CompareForm::Money: {
      auto rhs = same_currency_amount(b, a.aux, rates);
      if (!rhs) return no_rate(b, a);
      return three(a.i, *rhs);
    }
    case CompareForm::String: {
      int c = a.as_string().compare(b.as_string());
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
  }
  return 0;
}

bool compare_outcome(CompareOp op, int c) {
  switch (op) {
    case CompareOp::Eq: return c == 0;
    case CompareOp::Ne: return c != 0;
    case CompareOp::Lt: return c < 0;
    case CompareOp::Le: return c <= 0;
    case CompareOp::Gt: return c > 0;
    case CompareOp::Ge: return c >= 0;
  }
  return false;
}

OpResult convert_number(const Value& v, TypeKind to) {
  if (to == TypeKind::Decimal && v.kind == Value::Kind::Int) {
    auto d = decimal_from_int(v.i);
    if (!d) return overflow("a number");
    return Value::decimal(*d);
  }
  if (to == TypeKind::Float) {
    if (v.kind == Value::Kind::Int) return Value::floating(static_cast<double>(v.i));
    if (v.kind == Value::Kind::Decimal) return Value::floating(decimal_to_double(v.i));
  }
  return v;
}

std::string format_value(const Value& v, const Schema& schema) {
  switch (v.kind) {
    case Value::Kind::Missing: return "missing";
    case Value::Kind::Bool: return v.b ? "true" : "false";
    case Value::Kind::Int: return std::to_string(v.i);
    case Value::Kind::Decimal: return format_decimal(v.i);
    case Value::Kind::Float: return fmt::format("{}", v.f);
    case Value::Kind::Money: return format_money(v.i, v.aux);
    case Value::Kind::String: return fmt::format("\"{}\"", v.as_string());
    case Value::Kind::Duration: return format_duration(v.i);
    case Value::Kind::Time: return format_time(v.i);
    case Value::Kind::Distance: return format_distance(v.f);
    case Value::Kind::Enum: {
      if (v.aux < schema.enum_count()) {
        const EnumDef& e = schema.enum_def(static_cast<int>(v.aux));
        if (v.i >= 0 && static_cast<size_t>(v.i) < e.values.size()) return e.values[v.i];
      }
      return fmt::format("<enum {}>", v.i);
    }
    case Value::Kind::List: {
      std::string out = "[";
      uint64_t shown = std::min<uint64_t>(v.size, 10);
      for (uint64_t i = 0; i < shown; ++i) {
        if (i) out += ", ";
        out += format_value(list_element(schema, v, i), schema);
      }
      if (v.size > shown) out += fmt::format(", ... {} more", v.size - shown);
      return out + "]";
    }
    case Value::Kind::Record: {
      if (v.aux < schema.record_count()) return schema.record_def(static_cast<int>(v.aux)).name;
      return "record";
    }
  }
  return "?";
}

}  // namespace orderflow::model
