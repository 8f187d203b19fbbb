#pragma once
// An order's history as people read it: each journal entry in a line of
// words (`audit`, and the console's timeline), and the whole history as
// JSON, with each decision's explanation derived again (explain.h) when
// asked for.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "runtime/engine/explain.h"
#include "runtime/store/store.h"

namespace orderflow::runtime {

// One entry in words: "acceptance policy: hold \"cod_confirmation\" for 24h ...".
std::string describe_entry(const journal::Entry& entry);

// When an input was applied later than it happened, in words: "happened
// 2026-11-20T10:00:00Z, applied 10h later"; "" when it was not.
std::string lateness(const journal::Entry& entry, int64_t applied_at);

// The explanation of a decision as lines of text, indented by `indent`:
// every rule considered with the values behind it, every node routing
// looked at (as `orderflow explain` prints them).
std::vector<std::string> explanation_lines(const Explanation& explanation, const journal::Decided& decided,
                                           const std::string& indent);

// One return of an order as JSON: its lines (index from 0, SKU, units),
// state, refund and what became of each graded unit. `orderflow returns`,
// the API and the order's history show returns this way.
nlohmann::ordered_json return_json(const StoredOrder& order, const OrderReturn& r);

// The history of an order as JSON: {"order", "state", ..., "history": [...]}.
// With `explain`, each decision carries its explanation ("trace").
nlohmann::ordered_json history_json(Store& store, const std::string& order_id, const std::optional<StoredOrder>& order,
                                    const std::vector<journal::Record>& records, bool explain);

}  // namespace orderflow::runtime
