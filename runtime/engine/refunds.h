#pragma once
// What a return refunds, in exact money: each returned unit's paid price
// (its line's unit price, less its share of the order's discount), plus its
// share of the order's tax, less the fees the disposition rules charged
// (a share of the unit's price after discount, or an amount), plus the
// order's shipping where a rule refunds it (once per order). Each part is
// rounded to the currency's minor unit, half away from zero, and the
// arithmetic comes back as lines an analyst can check by hand.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "compiler/check/bundle.h"
#include "compiler/engine/engine.h"

namespace orderflow::runtime {

// What a disposition rule added to a unit's refund, kept with the unit.
struct Fee {
  engine::RefundTerm::Kind kind = engine::RefundTerm::Kind::ShareFee;
  std::string label;
  int64_t value = 0;  // a share (0.15) or money, in millionths
  model::CurrencyCode currency = 0;
  std::string rule;
};
// The journal keeps each as one line of text: kind, label, value,
// currency and rule, separated by tabs.
std::string encode_fee(const engine::RefundTerm& term);
std::optional<Fee> decode_fee(const std::string& text);
// `charge restocking fee 15% (rule "Damaged")`, `refund shipping (rule "Faulty")`.
std::string fee_text(const Fee& fee);

// One unit refunded, and what its disposition rules added to the refund.
struct RefundedUnit {
  int64_t line = 0;  // index into order.lines
  std::vector<Fee> fees;
};

struct Refund {
  int64_t amount = 0;  // money millionths
  model::CurrencyCode currency = 0;
  bool shipping_refunded = false;
  std::vector<std::string> arithmetic;  // "1 x KURTA-M: 1299.00", "- restocking fee 15%: 194.85", "= 1104.15 INR"
  std::string error;  // why it cannot be computed (a fee in another currency); then nothing is refunded

  std::string text() const;  // "1104.15 INR"
};

// The order's lines a return takes back (line index, units), each at the
// quantity returned: the `lines` of a Return record.
nlohmann::json returned_lines(const nlohmann::json& order_lines, const std::vector<std::pair<int64_t, int64_t>>& units);
// What those units were paid for before tax, each line's unit price times
// its units, as money ({"amount", "currency"}); nothing when the prices
// cannot be added up (an amount missing, two currencies).
std::optional<nlohmann::json> returned_value(const nlohmann::json& order_lines,
                                             const std::vector<std::pair<int64_t, int64_t>>& units);

// `shipping_already`: the order's shipping went back with an earlier return.
Refund compute_refund(const check::CheckedBundle& bundle, const std::byte* order, const std::vector<RefundedUnit>& units,
                      bool shipping_already);

}  // namespace orderflow::runtime
