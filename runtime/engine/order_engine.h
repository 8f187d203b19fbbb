#pragma once
// The order engine: turns inputs (new orders, events from channels, people
// and timers, stock changes) into decisions and state changes, each
// appended to the store's journal before it is acknowledged.
//
// Thread safety: an OrderEngine is driven by one thread (engine_thread.h
// runs one; tests drive one directly). It keeps the stock, the live orders
// and their timers in memory, authoritative because it is the database's
// only writer: its constructor takes the database's WriterLock.
//
// Durability: inputs are grouped into batches that commit together (group
// commit). submit() decides one input and writes what it did into the open
// batch; commit() makes the batch durable, and only then may the caller
// acknowledge what submit() returned. What one input does is written only
// once it is wholly decided, so an input that fails half-way leaves nothing
// behind (it becomes a dead letter) and the batch goes on; a failed commit
// loses the batch as a whole, none of which was acknowledged, and abort()
// makes the engine forget it.
#include <nlohmann/json.hpp>

#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "compiler/engine/engine.h"
#include "runtime/canonical/order_json.h"
#include "runtime/engine/backorders.h"
#include "runtime/engine/clock.h"
#include "runtime/engine/customer_history.h"
#include "runtime/engine/deployments.h"
#include "runtime/engine/inputs.h"
#include "runtime/engine/key_filter.h"
#include "runtime/store/store.h"
#include "runtime/store/writer_lock.h"

namespace orderflow::runtime {

struct EngineOptions {
  EngineChoice engine;
  // Values: each decision keeps what deriving its explanation again needs
  // (what routing saw of the stock, the nodes it could not use), so that
  // `audit --explain` shows every rule with the values behind it. Rules:
  // only which rules matched.
  engine::TraceDetail trace = engine::TraceDetail::Values;
  // How far ahead escalation deadlines are looked for.
  int64_t escalation_horizon_ms = 366LL * 24 * 3600 * 1000;
  // Memory for live orders kept between inputs; the least recently used
  // go first (the store has them all).
  size_t order_cache_bytes = 64u << 20;
};

// What the engine says about one input.
struct Ack {
  enum class Status {
    Stored,     // new, and durably stored once the batch commits
    Duplicate,  // delivered before; nothing changed
    Refused,    // well formed, but not acceptable now (an event the state does not take)
    Invalid,    // malformed; kept as a dead letter for replay
    Failed,     // not stored: the store failed (the batch was lost); send it again
  } status = Status::Stored;
  std::string order_id;
  std::string state;    // the order's state afterwards
  std::string message;  // the error, for Refused, Invalid and Failed
  // Decisions and state changes, one line each: `accept (rule "otherwise")`, `new -> accepted`.
  std::vector<std::string> steps;
  int64_t applied_at = 0;                // when the engine took it
  std::optional<int64_t> happened_at;    // when the input says it happened, when that differs
  nlohmann::ordered_json to_json() const;
};
const char* status_name(Ack::Status status);

struct EngineStats {
  size_t cached_orders = 0;
  size_t cached_bytes = 0;
  int64_t evicted = 0;
};

class OrderEngine {
 public:
  // Loads the live deployment and the stock; seeds stock rows the live
  // bundle names and the store never had (committed at once). Throws when
  // nothing is deployed.
  // REQUIRES: `lock` is `store`'s database's writer lock, held while the engine lives.
  OrderEngine(Store& store, const WriterLock& lock, const Clock& clock, EngineOptions options = {});
  ~OrderEngine();
  OrderEngine(const OrderEngine&) = delete;
  OrderEngine& operator=(const OrderEngine&) = delete;

  // Decides one input at the clock's now and writes it into the open batch.
  Ack submit(const Input& input);

  // Fires every timer due at or before `until`, each at its own due moment
  // (`at_due`) or at `until`, in due order. Returns what each did.
  std::vector<Ack> fire_due(int64_t until, bool at_due = false);
  std::optional<int64_t> next_timer();

  // Group commit: writes what the channels must now be told of the stock,
  // then makes the batch durable. Throws a StoreError when it cannot; then
  // call abort().
  void commit();
  // commit() in two halves, for a caller that acknowledges on another
  // thread: commit_unsynced() ends the batch (throws as commit() does);
  // sync(), which may run on another thread while the next batch is
  // decided, makes every batch committed so far survive a power loss.
  void commit_unsynced();
  void sync();
  // Forgets the unfinished batch after a failure (nothing of it was acknowledged).
  void abort();
  size_t uncommitted() const { return uncommitted_; }
  // Records, in the open batch, that the intake's inbox is decided up to `seq`.
  void set_inbox_decided(int64_t seq);
  int64_t inbox_decided();
  // The latest moment the engine has applied anything at, kept with the
  // database: a replay goes on from there, never back.
  int64_t latest_applied() const { return latest_applied_; }

  // Moves in-flight orders of older deployments to the live one.
  int64_t migrate_to_live(int64_t at);
  // Looks for a deployment made live since (by `orderflow deploy` while the
  // engine runs); new orders go to it from then on. Returns true when it changed.
  bool follow_live();

  const LoadedDeployment& live() { return deployment(live_id_); }
  Store& store() { return store_; }
  // Time spent writing to the store, ms, since start.
  double store_ms() const { return store_ms_; }
  EngineStats stats() const;
  // What history() reads under the live deployment (null when it calls no
  // history()): for a reader on the engine's thread, such as a story's
  // `expect that`.
  const engine::HistorySource* live_history() { return history_for(deployment(live_id_)); }

 private:
  struct LiveOrder;
  struct Work;
  class Step;

  Ack take_order(const NewOrder& input, const std::string& source, int64_t at);
  // A new order, decoded and claimed under `key`, taken into the open
  // work: received, then decided as far as its policies take it.
  void admit(const LoadedDeployment& dep, const PreparedOrder& prepared, OrderImage image, const IntakeKey& key,
             const std::string& source, int64_t at, Ack& ack);
  // An order the channel sent before, sent again changed: re-decided
  // while nothing has shipped, refused with the changes after.
  Ack take_update(const std::string& order_id, const std::shared_ptr<PreparedOrder>& sent, const std::string& source,
                  int64_t at);
  // Whether an intake key was taken before; the filter spares the store most lookups.
  bool claimed(const IntakeKey& key);
  static std::string key_text(const IntakeKey& key);
  void fill_filters();
  Ack take_event(const OrderEvent& input, const std::string& source, std::optional<int64_t> happened, int64_t at);
  Ack take_stock(const StockInput& input, const std::string& source, int64_t at);
  // A return asked for, and returned units inspected (runtime/engine/inputs.h).
  Ack take_return(const ReturnRequest& input, const std::string& source, std::optional<int64_t> happened, int64_t at);
  Ack take_grade(const GradeInput& input, const std::string& source, std::optional<int64_t> happened, int64_t at);
  // A person deciding a held return or failed delivery (runtime/engine/inputs.h).
  Ack take_person_decision(const PersonDecision& input, const std::string& source, std::optional<int64_t> happened,
                           int64_t at);
  // A failed delivery, decided by the ndr policy (runtime/engine/inputs.h).
  Ack take_ndr(const NdrInput& input, const std::string& source, std::optional<int64_t> happened, int64_t at);
  // Runs `body` as one input's work on an existing order (an event, a
  // return, a grading), then escalation: a Refusal it throws undoes the
  // rest and is recorded on the order as `refused_as`; any other failure
  // makes the input a dead letter that names `what` ("the return").
  template <class Body>
  Ack on_order(const std::string& order_id, const std::string& refused_as, const std::string& what,
               const std::string& event_id, const Input& original, std::optional<int64_t> happened, int64_t at,
               Body body);
  Ack fire(const Timer& timer, int64_t at);
  // Routes again, oldest first, the orders waiting for the SKU that the
  // stock now at `node` could serve.
  void wake_backordered(const std::string& sku, const std::string& node, int64_t at, Ack& ack);
  // The nodes the order's routing may ship from (it passes their filter).
  std::set<std::string> usable_nodes(const LiveOrder& order, int64_t at);
  bool waits_for_stock(const LiveOrder& order) const;
  // The nodes routing may not use for the order now (it refused them, or
  // they are at their daily capacity), and why.
  std::vector<journal::ExcludedNode> routing_exclusions(const LiveOrder& order, int64_t at, std::vector<bool>& excluded);
  // Whether routing would place the order now, without deciding anything.
  bool would_route(const LiveOrder& order, int64_t at);
  // Keeps the index of orders waiting for stock as an order's state changes.
  void note_waiting(const LiveOrder& order);
  void load_waiting();

  const LoadedDeployment& deployment(int64_t id);
  // What history() reads for a deployment that calls it (null otherwise);
  // the index is built from the journal the first time one asks.
  const engine::HistorySource* history_for(const LoadedDeployment& dep);
  LiveOrder* load(const std::string& order_id);
  void remember(std::unique_ptr<LiveOrder> order);
  void forget(const std::string& order_id);
  // Forgets the orders that ended in the inputs decided since last asked
  // (write_work queues them, so that no LiveOrder is freed mid-input).
  void release_ended();
  void touch(LiveOrder& order);
  void trim_cache();
  void begin_if_needed();
  // Applies a stock change to the book, noted in the input's work so that
  // it is written with it, or undone with it.
  void change_stock(StockChange change);
  void begin_work();
  void write_work();
  void undo_work();
  Ack dead_letter(const std::string& raw, const std::string& source, const std::string& error, int64_t at);
  void seed_stock(const LoadedDeployment& dep, int64_t at);

  Store& store_;
  const Clock& clock_;
  EngineOptions options_;
  StockKeeper stock_;
  int64_t live_id_ = 0;
  std::map<int64_t, std::unique_ptr<LoadedDeployment>> deployments_;
  // Live orders, most recently used first.
  std::list<std::unique_ptr<LiveOrder>> lru_;
  std::unordered_map<std::string, std::list<std::unique_ptr<LiveOrder>>::iterator> orders_;
  size_t cached_bytes_ = 0;
  int64_t evicted_ = 0;
  std::vector<std::string> ended_;  // orders that ended in the current input: forgotten after it
  std::unique_ptr<Work> work_;  // what the input being decided does
  std::set<std::string> skus_changed_;  // in the open batch: channels to tell at commit
  Backorders backorders_;
  std::unique_ptr<CustomerHistory> history_;  // null until a deployment calls history()
  // Intake keys and order ids the store has: "no" for sure, "maybe" to look up.
  KeyFilter known_keys_;
  KeyFilter known_ids_;
  int64_t next_timer_id_ = 1;
  int64_t inbox_decided_ = -1;  // -1: not read yet
  int64_t latest_applied_ = 0;
  int64_t latest_stored_ = 0;
  bool inbox_decided_dirty_ = false;
  size_t uncommitted_ = 0;
  double store_ms_ = 0;
};

}  // namespace orderflow::runtime
