#pragma once
// The order and timer tables are projections of the journal: this is the
// one place that says how each journal entry changes them. The engine
// applies it as it appends, and `orderflow rebuild` replays the whole
// journal through it, so both always agree.
#include <map>

#include "runtime/store/store.h"

namespace orderflow::runtime {

// Applies one entry to the order it concerns (an empty StoredOrder before
// its `received` entry).
void apply_entry(const JournalEntry& entry, StoredOrder& order);

// Applies a timer_set / timer_fired / timer_cancelled entry to the pending
// timers, by id; other entries change nothing.
void apply_timer_entry(const JournalEntry& entry, std::map<int64_t, Timer>& timers);

struct RebuildReport {
  int64_t entries = 0;
  int64_t orders = 0;
  int64_t timers = 0;
  int64_t stock_changes = 0;
};

// Replaces the order, timer and stock tables with the account of the
// journal and the stock log, in one transaction.
RebuildReport rebuild_projections(Store& store);

}  // namespace orderflow::runtime
