#include "runtime/engine/refunds.h"

#include <fmt/format.h>

#include <algorithm>

#include "compiler/check/checker.h"
#include "compiler/model/record.h"

namespace orderflow::runtime {

namespace {

using model::Value;

// Rounds millionths to the currency's minor unit, half away from zero.
int64_t round_to_minor(int64_t micros, model::CurrencyCode currency) {
  int64_t step = 1;
  for (int d = model::currency_minor_digits(currency); d < model::kDecimalDigits; ++d) step *= 10;
  int64_t half = step / 2;
  int64_t rounded = micros >= 0 ? (micros + half) / step * step : -((-micros + half) / step * step);
  return rounded;
}

std::string money_text(int64_t micros, model::CurrencyCode currency) {
  return model::format_decimal(micros, model::currency_minor_digits(currency));
}

// a * b / c in exact millionths, rounded to the currency; nullopt when it
// does not fit (an amount no order has).
std::optional<int64_t> share(int64_t a, int64_t b, int64_t c, model::CurrencyCode currency) {
  auto product = model::decimal_mul(a, b);
  if (!product || c == 0) return std::nullopt;
  auto quotient = model::decimal_div(*product, c);
  if (!quotient) return std::nullopt;
  return round_to_minor(*quotient, currency);
}


}  // namespace

std::string encode_fee(const engine::RefundTerm& t) {
  return fmt::format("{}\t{}\t{}\t{}\t{}", static_cast<int>(t.kind), t.label, t.value,
                     t.currency ? model::currency_name(t.currency) : "", t.rule);
}

std::optional<Fee> decode_fee(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t tab; (tab = text.find('\t', start)) != std::string::npos; start = tab + 1) parts.push_back(text.substr(start, tab - start));
  parts.push_back(text.substr(start));
  if (parts.size() != 5) return std::nullopt;
  Fee f;
  try {
    int kind = std::stoi(parts[0]);
    if (kind < 0 || kind > 2) return std::nullopt;
    f.kind = static_cast<engine::RefundTerm::Kind>(kind);
    f.value = std::stoll(parts[2]);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  f.label = parts[1];
  if (!parts[3].empty()) f.currency = model::currency_from_code(parts[3]).value_or(0);
  f.rule = parts[4];
  return f;
}

std::string fee_text(const Fee& f) {
  engine::RefundTerm term{f.kind, f.label, f.value, f.currency, f.rule};
  return fmt::format("{} (rule \"{}\")", engine::refund_term_text(term), f.rule);
}

std::string Refund::text() const { return model::format_money(amount, currency); }

Refund compute_refund(const check::CheckedBundle& b, const std::byte* order, const std::vector<RefundedUnit>& units,
                      bool shipping_already) {
  Refund out;
  // Money that cannot be worked out is not paid; the reason says why.
  auto fail = [&](std::string why) {
    out.error = std::move(why);
    return out;
  };
  const char* too_large = "the amounts are too large to work out";
  model::RecordRef o(b.schema, b.order_record, order);
  Value total = o.get("total");
  if (total.kind != Value::Kind::Money) {
    return fail("the order has no total to take its currency from");
  }
  out.currency = total.aux;
  Value lines = o.get("lines");
  auto line_at = [&](int64_t i) {
    Value l = model::list_element(b.schema, lines, static_cast<uint64_t>(i));
    return model::RecordRef(b.schema, static_cast<int>(l.aux), static_cast<const std::byte*>(l.ptr));
  };
  // What the lines were sold for: the base the order's discount and tax are shared over.
  int64_t goods = 0;
  for (uint64_t i = 0; lines.kind == Value::Kind::List && i < lines.size; ++i) {
    model::RecordRef l = line_at(static_cast<int64_t>(i));
    Value price = l.get("unit_price"), quantity = l.get("quantity");
    if (price.kind != Value::Kind::Money || price.aux != out.currency) {
      return fail(fmt::format("line {} is not priced in the order's currency", i + 1));
    }
    auto value = model::decimal_mul(price.i, model::decimal_from_int(quantity.i).value_or(0));
    auto sum_so_far = value ? model::decimal_add(goods, *value) : std::nullopt;
    if (!sum_so_far) return fail(too_large);
    goods = *sum_so_far;
  }
  auto amount_of = [&](const char* field) -> int64_t {
    Value v = o.get(field);
    return v.kind == Value::Kind::Money && v.aux == out.currency ? v.i : 0;
  };
  int64_t discount = amount_of("discount"), tax = amount_of("tax"), shipping = amount_of("shipping_fee");
  const std::string currency = model::currency_name(out.currency);
  int64_t sum = 0;
  bool refund_shipping = false;
  for (const RefundedUnit& u : units) {
    if (lines.kind != Value::Kind::List || u.line < 0 || static_cast<uint64_t>(u.line) >= lines.size) {
      return fail(fmt::format("the order has no line {}", u.line + 1));
    }
    model::RecordRef l = line_at(u.line);
    Value sku = l.get("sku");
    int64_t price = l.get("unit_price").i;
    int64_t unit = price;
    out.arithmetic.push_back(fmt::format("1 x {}: {}", sku.kind == Value::Kind::String ? sku.as_string() : "?",
                                         money_text(price, out.currency)));
    if (discount && goods) {
      auto part_of = share(discount, price, goods, out.currency);
      if (!part_of) return fail(too_large);
      int64_t part = *part_of;
      unit -= part;
      out.arithmetic.push_back(fmt::format("- its share of the order's discount: {}", money_text(part, out.currency)));
    }
    int64_t paid = unit;
    if (tax && goods) {
      auto part_of = share(tax, price, goods, out.currency);
      if (!part_of) return fail(too_large);
      int64_t part = *part_of;
      unit += part;
      out.arithmetic.push_back(fmt::format("+ its share of the order's tax: {}", money_text(part, out.currency)));
    }
    for (const Fee& term : u.fees) {
      std::string fee = term.label.empty() ? "fee" : term.label + " fee";
      const std::string& rule = term.rule;
      if (term.kind == engine::RefundTerm::Kind::RefundShipping) {
        refund_shipping = true;
        continue;
      }
      int64_t charged = 0;
      if (term.kind == engine::RefundTerm::Kind::ShareFee) {
        auto fee_amount = model::decimal_mul(paid, term.value);
        if (!fee_amount) return fail(too_large);
        charged = round_to_minor(*fee_amount, out.currency);
        out.arithmetic.push_back(fmt::format("- {} {}% of {} (rule \"{}\"): {}", fee,
                                             model::format_decimal(term.value * 100), money_text(paid, out.currency),
                                             rule, money_text(charged, out.currency)));
      } else {
        if (term.currency != out.currency) {
          return fail(fmt::format("rule \"{}\" charges a {} in {}, but the order is in {}", rule, fee,
                                  model::currency_name(term.currency), currency));
        }
        charged = round_to_minor(term.value, out.currency);
        out.arithmetic.push_back(fmt::format("- {} (rule \"{}\"): {}", fee, rule, money_text(charged, out.currency)));
      }
      unit -= charged;
    }
    if (unit < 0) {
      out.arithmetic.push_back("fees larger than the unit's price: nothing for this unit");
      unit = 0;
    }
    sum += unit;
  }
  if (refund_shipping && shipping && !shipping_already) {
    sum += shipping;
    out.shipping_refunded = true;
    out.arithmetic.push_back(fmt::format("+ the order's shipping: {}", money_text(shipping, out.currency)));
  }
  out.amount = sum;
  out.arithmetic.push_back(fmt::format("= {} {}", money_text(sum, out.currency), currency));
  return out;
}

nlohmann::json returned_lines(const nlohmann::json& order_lines, const std::vector<std::pair<int64_t, int64_t>>& units) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [line, quantity] : units) {
    if (line < 0 || static_cast<size_t>(line) >= order_lines.size()) continue;
    nlohmann::json taken = order_lines[static_cast<size_t>(line)];
    taken["quantity"] = quantity;
    taken.erase("cancelled_quantity");
    out.push_back(std::move(taken));
  }
  return out;
}

std::optional<nlohmann::json> returned_value(const nlohmann::json& order_lines,
                                             const std::vector<std::pair<int64_t, int64_t>>& units) {
  int64_t value = 0;
  std::optional<model::CurrencyCode> currency;
  for (const auto& [line, quantity] : units) {
    if (line < 0 || static_cast<size_t>(line) >= order_lines.size()) return std::nullopt;
    const nlohmann::json& sold = order_lines[static_cast<size_t>(line)];
    if (!sold.contains("unit_price") || !sold["unit_price"].is_object()) return std::nullopt;
    const nlohmann::json& price = sold["unit_price"];
    auto amount = model::parse_decimal(price.value("amount", ""));
    auto code = model::currency_from_code(price.value("currency", ""));
    if (!amount || !code || (currency && *currency != *code)) return std::nullopt;
    currency = *code;
    auto part = model::decimal_mul(*amount, *model::decimal_from_int(quantity));
    if (!part) return std::nullopt;
    value += *part;
  }
  if (!currency) return std::nullopt;
  int digits = std::max(2, model::currency_minor_digits(*currency));  // "1299.00", as prices are written
  return nlohmann::json{{"amount", model::format_decimal(value, digits)}, {"currency", model::currency_name(*currency)}};
}

}  // namespace orderflow::runtime
