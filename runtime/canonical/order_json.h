#pragma once
// The canonical order JSON: one documented shape for an order from any
// channel, mirroring the schema's records field by field (see
// runtime/canonical/README.md). Decoding builds the record image that every
// engine reads; a payload that does not fit gets an error naming the JSON
// path, never a half-built order.
#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "compiler/check/bundle.h"
#include "compiler/model/record.h"

namespace orderflow::runtime {

// An order's record image and the arena that owns its strings and lists.
// Movable, not copyable.
class OrderImage {
 public:
  OrderImage(std::unique_ptr<model::Arena> arena, std::byte* root) : arena_(std::move(arena)), root_(root) {}
  const std::byte* data() const { return root_; }
  std::byte* mutable_data() { return root_; }
  model::Arena& arena() { return *arena_; }

 private:
  std::unique_ptr<model::Arena> arena_;
  std::byte* root_;
};

struct DecodeError {
  std::string path;     // "$.lines[2].unit_price.amount"
  std::string message;  // "expected an amount as a decimal string, such as \"1250.00\""

  std::string text() const { return path + ": " + message; }
};

using DecodeResult = std::variant<OrderImage, DecodeError>;

// Parses JSON text, then decodes it.
DecodeResult parse_order(const check::CheckedBundle& bundle, std::string_view json_text);
DecodeResult decode_order(const check::CheckedBundle& bundle, const nlohmann::json& json);

// A new order whose every unit the channel has cancelled already: nothing
// to decide, so the engine does not take it. (An order whose units are
// cancelled later, by events, is another matter: it is cancelled.)
std::optional<DecodeError> nothing_to_fulfil(const check::CheckedBundle& bundle, const std::byte* order);

// Decodes any record of the schema (a Node, say) into `arena`.
std::variant<std::byte*, DecodeError> decode_record(const check::CheckedBundle& bundle, int record,
                                                    const nlohmann::json& json, model::Arena& arena);

// The canonical JSON of an image: fields in schema order, absent optional
// fields left out.
nlohmann::json encode_record(const check::CheckedBundle& bundle, int record, const std::byte* image);

// Sets one field, reached through nested records from the Order (a policy
// test's `with order.payment.method = cod`). Strings are copied into the
// image's arena.
void set_field(const check::CheckedBundle& bundle, OrderImage& image,
               const std::vector<std::pair<int, int>>& path, const model::Value& value);

// The order's id field, or "" when it has none.
std::string order_id(const check::CheckedBundle& bundle, const std::byte* order);

// What differs between two versions of an order's JSON, one change a line
// with its path: `ship_to.postal_code: "560001" -> "560034"`,
// `lines[2]: added {...}`. Empty when they say the same (the order of an
// object's keys does not count).
std::vector<std::string> order_differences(const nlohmann::json& before, const nlohmann::json& after);

}  // namespace orderflow::runtime
