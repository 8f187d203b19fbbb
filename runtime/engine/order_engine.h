#pragma once
// The order engine: turns inputs (new orders in canonical JSON, events from
// channels, people and timers) into decisions and state changes, each
// appended to the store's journal before it is acknowledged.
//
// One engine owns its store and is driven from one thread. Inputs are
// grouped into batches that commit together (group commit): submit() writes
// into the open batch, commit() makes the batch durable, and only then may
// the caller acknowledge what submit() returned. A failure inside one input
// undoes that input alone; a failed commit loses the batch as a whole and
// nothing of it was acknowledged.
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "compiler/engine/engine.h"
#include "runtime/canonical/order_json.h"
#include "runtime/engine/clock.h"
#include "runtime/engine/deployments.h"
#include "runtime/store/store.h"

namespace orderflow::runtime {

struct EngineOptions {
  EngineChoice engine;
  // What a decision's journal entry keeps: Values, every rule considered
  // with the values behind it (what `explain` shows); Rules, which rules
  // matched.
  engine::TraceDetail trace = engine::TraceDetail::Values;
  // How far ahead escalation deadlines are looked for.
  int64_t escalation_horizon_ms = 366LL * 24 * 3600 * 1000;
};

// What the engine says about one input.
struct Ack {
  enum class Status {
    Stored,     // new, and durably stored once the batch commits
    Duplicate,  // delivered before; nothing changed
    Refused,    // well formed, but not acceptable now (an event the state does not accept)
    Invalid,    // malformed; kept as a dead letter for replay
  } status = Status::Stored;
  std::string order_id;
  std::string state;    // the order's state afterwards
  std::string message;  // the error, for Refused and Invalid
  // Decisions and state changes, one line each: `accept (rule "otherwise")`, `new -> accepted`.
  std::vector<std::string> steps;
  nlohmann::ordered_json to_json() const;
};
const char* status_name(Ack::Status status);

class OrderEngine {
 public:
  // Loads the live deployment; throws when nothing is deployed.
  OrderEngine(Store& store, const Clock& clock, EngineOptions options = {});
  ~OrderEngine();
  OrderEngine(const OrderEngine&) = delete;

  // One input: a canonical order (optionally wrapped as
  // {"type": "order", "order": {...}, "event_id": ..., "at": ...}), an
  // event {"type": "event", "order_id", "event", "event_id"?, "lines"?,
  // "set"?, "by"?, "at"?}, or a stock change {"type": "stock", "node",
  // "sku", "on_hand" | "received" | "adjust", "safety_stock"?, "event_id"?}. `at` is when it happened (default: the clock);
  // `source` says where it came from, for dead letters.
  Ack submit(const nlohmann::json& input, const std::string& source, std::optional<int64_t> at = std::nullopt);
  // A line of text that is not JSON at all: dead-lettered.
  Ack reject_unparsable(const std::string& raw, const std::string& source, const std::string& error);

  // Fires every timer due at or before `until`, each at its own due moment
  // (`at_due`) or at `until`, in due order. Returns what each did.
  std::vector<Ack> fire_due(int64_t until, bool at_due = false);
  std::optional<int64_t> next_timer();

  // Group commit.
  void commit();
  // Drops the unfinished batch after a failure (nothing of it was acknowledged).
  void abort();
  size_t uncommitted() const { return uncommitted_; }
  // Batches abandoned so far: a caller whose inputs were submitted before
  // this number moved knows they were not stored, whoever committed.
  int64_t aborts() const { return aborts_; }

  // Moves in-flight orders of older deployments to the live one.
  int64_t migrate_to_live(int64_t at);

  const LoadedDeployment& live() const { return *deployments_.at(live_id_); }
  Store& store() { return store_; }
  // Time spent inside the store (appending and committing), ms, since start.
  double store_ms() const { return store_ms_; }

 private:
  struct LiveOrder;
  class Step;

  Ack submit_order(const nlohmann::json& input, const std::string& source, int64_t at);
  Ack submit_stock(const nlohmann::json& input, const std::string& source, int64_t at);
  void wake_backordered(const std::string& sku, int64_t at, Ack& ack);
  Ack submit_event(const nlohmann::json& input, const std::string& source, int64_t at);
  std::optional<Ack> fire(const Timer& timer, int64_t at);  // nullopt: cancelled meanwhile

  const LoadedDeployment& deployment(int64_t id);
  LiveOrder* load(const std::string& order_id);
  void begin_if_needed();
  Ack dead_letter(const std::string& raw, const std::string& source, const std::string& error, int64_t at);

  Store& store_;
  const Clock& clock_;
  EngineOptions options_;
  // One input at a time: the engine is the store's only writer, so that a
  // unit of stock is promised once however many threads submit.
  mutable std::recursive_mutex mutex_;
  StockKeeper stock_;
  int64_t live_id_ = 0;
  std::map<int64_t, std::unique_ptr<LoadedDeployment>> deployments_;
  std::unordered_map<std::string, std::unique_ptr<LiveOrder>> orders_;
  std::atomic<size_t> uncommitted_ = 0;
  std::atomic<int64_t> aborts_ = 0;
  double store_ms_ = 0;
};

}  // namespace orderflow::runtime
