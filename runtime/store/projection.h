#pragma once
// The order table (with each order's pending timers) is a projection of the
// journal: this is the one place that says how each entry changes an
// order. The engine applies it as it appends, and `orderflow rebuild`
// replays the whole journal through it, so both always agree.
#include "runtime/store/store.h"

namespace orderflow::runtime {

// Applies one entry of a record to the order it concerns (an empty
// StoredOrder before its `received` entry).
void apply_entry(const journal::Record& record, const journal::Entry& entry, StoredOrder& order);
// Applies every entry of a record.
void apply_record(const journal::Record& record, StoredOrder& order);

// The hash of an order's text as a channel sent it, kept to tell a copy of
// the order from a changed one (StoredOrder::sent_hash); never 0.
int64_t sent_hash(std::string_view text);

struct RebuildReport {
  int64_t records = 0;
  int64_t orders = 0;
  int64_t timers = 0;
  int64_t stock_changes = 0;
};

// Replaces the order, timer and stock tables with the account of the
// journal and the stock log: in a transaction of its own, or in the one
// the store has open.
RebuildReport rebuild_projections(Store& store);

}  // namespace orderflow::runtime
