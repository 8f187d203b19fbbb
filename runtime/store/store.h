#pragma once
// The engine's durable memory, in the parts it is: the journal (the audit
// trail, append-only), the projections of it (orders and their pending
// timers, rebuildable from the journal), deployments, stock, what the
// channels are told, and dead letters. Each part is a narrow interface, so
// that another database can stand behind them; SQLite does by default
// (sqlite_store.h).
//
// Thread safety: a Store is used by one thread at a time. The engine's
// store is used by the engine thread alone; readers (the API, `audit`)
// open stores of their own.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/store/journal.h"

namespace orderflow::runtime {

// A failure of the store, with a message for the operator ("the database
// 'x.db' is locked by another process") and the database's result code.
class StoreError : public std::runtime_error {
 public:
  StoreError(const std::string& message, int code = 0) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

// The idempotency key of anything a channel delivers.
struct IntakeKey {
  std::string channel;
  std::string external_id;       // the channel's order id
  std::string channel_event_id;  // "order" for the order itself
};

// The hold an order is in.
struct Hold {
  std::string reason;
  std::string rule;
  std::optional<int64_t> until;   // when it times out; none: released by a person
  std::string on_timeout;         // the decision then: accept, cancel, ...
  std::string on_timeout_reason;

  bool operator==(const Hold&) const = default;
};

struct Timer {
  int64_t id = 0;
  std::string order_id;
  int64_t due = 0;
  std::string kind;  // hold_timeout, escalation
  int64_t state_entry = 0;

  bool operator==(const Timer&) const = default;
};

// The current state of one order, as its journal says (projection.h).
struct StoredOrder {
  std::string order_id;
  std::string channel;
  std::string external_id;
  int64_t deployment = 0;
  std::string state;
  int64_t state_since = 0;
  int64_t state_entry = 0;  // how many times the order has entered a state
  // The canonical order JSON, with what events set since.
  std::string order;
  // Where the journal keeps the order as received, and whether events have
  // changed it since (else the order table need not keep it again).
  int64_t received_seq = 0;
  bool order_changed = false;
  LineStates lines;  // per line of the order, where its units are
  std::optional<Hold> hold;
  std::string priority;  // the Priority a policy set, by name; "" when none
  std::vector<std::string> tags;
  std::vector<std::string> fired;  // escalation rules fired since the order entered its state
  std::vector<Allocation> allocations;  // reserved and not yet shipped or released
  std::vector<std::string> excluded_nodes;  // nodes that refused the order
  std::vector<Timer> timers;                // pending
  // When the order last entered each state it has been in (order.entered).
  std::vector<std::pair<std::string, int64_t>> entered;
  std::string node;  // where its shipment comes from: its route's first node (order.node); "" until routed
  std::vector<OrderReturn> returns;  // in the order they were asked for
  // Failed deliveries: how many attempts failed, the ndr policy's last
  // decision on one (reattempt, reschedule, return to origin, hold; "" when
  // none failed) and, for a hold, what its timeout decides.
  int64_t ndr_attempts = 0;
  std::string ndr_decision;
  std::string ndr_on_timeout;
  // Who carries the shipment and its tracking number, as the ship event gave them.
  std::string carrier;
  std::string tracking_number;
  // A hash of the order as the channel last sent it (sent_hash()), to tell
  // a copy from a change; 0 in rows written before it was kept.
  int64_t sent_hash = 0;
  std::vector<Exchange> exchanges;  // of its returns, in the order asked for
  // When each return last entered each state it has been in.
  std::vector<ReturnEntered> return_entered;
  int64_t last_seq = 0;
  int64_t last_at = 0;  // when its journal was last written

  bool operator==(const StoredOrder&) const = default;
};

struct DeploymentFile {
  std::string path;  // relative to the bundle's folder
  std::string text;
};

struct Deployment {
  int64_t id = 0;
  std::string content_hash;
  std::string version;
  std::string owner;
  std::string title;
  int64_t deployed_at = 0;
  std::string source;  // the folder it was deployed from
  std::vector<DeploymentFile> files;
  // Why it went live despite what would have stopped it (failing policy
  // tests), in the operator's words; "" when nothing did.
  std::string note;
};

struct DeadLetter {
  int64_t id = 0;
  int64_t received_at = 0;
  std::string source;  // "run:events.jsonl:17", "webhook:shopify"
  std::string body;
  std::string error;
};

// What the database itself cost, for the throughput report.
struct StoreStats {
  double database_ms = 0;  // inside the database's own calls
  int64_t statements = 0;
  int64_t commits = 0;
};

// One node's stock of one SKU.
struct StockRow {
  std::string node;
  std::string sku;
  int64_t on_hand = 0;
  int64_t reserved = 0;
  int64_t safety_stock = 0;
  // Returned units kept out of what can be sold, by what their disposition
  // made of them: quarantined (waiting for a person), written off (lost to
  // stock), sent back to their maker. Never part of on hand.
  int64_t quarantined = 0;
  int64_t written_off = 0;
  int64_t to_vendor = 0;

  bool operator==(const StockRow&) const = default;
};

// A change to a stock row, with its cause; the stock table is a projection
// of these, as the order table is of the journal.
struct StockChange {
  int64_t seq = 0;
  int64_t at = 0;
  std::string node;
  std::string sku;
  int64_t on_hand_change = 0;
  int64_t reserved_change = 0;
  std::optional<int64_t> safety_stock;  // set to this, when given
  int64_t quarantined_change = 0;
  int64_t written_off_change = 0;
  int64_t to_vendor_change = 0;
  std::string cause;     // seeded, count, receipt, reserved, released, shipped, returned, quarantined, written_off, to_vendor
  std::string order_id;  // for reservations
};

// Something to tell a channel (what it may sell), kept until a connector sends it.
struct OutboxMessage {
  int64_t id = 0;
  int64_t created_at = 0;
  std::string channel;
  std::string kind;  // inventory_update
  std::string sku;
  int64_t quantity = 0;
  std::optional<int64_t> previous;  // what the channel was told before
};

class Journal {
 public:
  virtual ~Journal() = default;
  virtual void append(journal::Record& record) = 0;  // sets record.seq
  virtual std::vector<journal::Record> of_order(const std::string& order_id) = 0;
  virtual std::optional<journal::Record> record(int64_t seq) = 0;
  virtual std::vector<journal::Record> after(int64_t seq, size_t limit) = 0;
  virtual void scan(const std::function<void(const journal::Record&)>& visit) = 0;
  virtual int64_t last_seq() = 0;
};

// The projections of the journal: each order's state, the pending timers
// by when they are due, and the intake keys already taken.
class Orders {
 public:
  virtual ~Orders() = default;
  // False when the key was taken before: a redelivery.
  virtual bool claimed(const IntakeKey& key) = 0;
  virtual void claim(const IntakeKey& key, const std::string& order_id) = 0;
  // Every intake key taken, and every order's id (to fill the engine's filters).
  virtual void scan_keys(const std::function<void(const IntakeKey&)>& visit) = 0;
  virtual void scan_ids(const std::function<void(const std::string&)>& visit) = 0;

  virtual void put(const StoredOrder& order) = 0;
  virtual std::optional<StoredOrder> get(const std::string& order_id) = 0;
  virtual void scan(const std::function<void(const StoredOrder&)>& visit) = 0;
  virtual int64_t count() = 0;
  // Orders in a state, longest in it first.
  virtual std::vector<std::string> in_state(const std::string& state) = 0;

  virtual void add_timer(const Timer& timer) = 0;
  virtual void remove_timer(const Timer& timer) = 0;
  virtual std::vector<Timer> due_timers(int64_t until, size_t limit) = 0;
  virtual std::optional<int64_t> next_due() = 0;
  virtual int64_t last_timer_id() = 0;
};

class Deployments {
 public:
  virtual ~Deployments() = default;
  virtual int64_t add(const Deployment& deployment) = 0;
  virtual void set_live(int64_t deployment) = 0;
  virtual std::optional<int64_t> live() = 0;
  virtual std::vector<Deployment> list(bool with_files) = 0;
  virtual std::optional<Deployment> get(int64_t id) = 0;
};

// Stock per node and SKU, and the log of every change to it.
class StockLedger {
 public:
  virtual ~StockLedger() = default;
  virtual std::optional<StockRow> row(const std::string& node, const std::string& sku) = 0;
  virtual void put(const StockRow& row) = 0;
  virtual void scan(const std::function<void(const StockRow&)>& visit) = 0;
  virtual void log(StockChange& change) = 0;  // sets change.seq
  virtual void scan_log(const std::function<void(const StockChange&)>& visit) = 0;
  // How many orders each node has had stock reserved for since `since`.
  virtual std::map<std::string, int64_t> orders_reserved_since(int64_t since) = 0;
};

// What each channel was last told it may sell, and the messages to send.
class Outbox {
 public:
  virtual ~Outbox() = default;
  virtual std::optional<int64_t> advertised(const std::string& channel, const std::string& sku) = 0;
  virtual void put_advertised(const std::string& channel, const std::string& sku, int64_t quantity) = 0;
  // Every SKU the channel was told it may sell, with the latest quantity, by SKU.
  virtual std::vector<std::pair<std::string, int64_t>> all_advertised(const std::string& channel) = 0;
  virtual int64_t add(const OutboxMessage& message) = 0;
  virtual std::vector<OutboxMessage> after(int64_t id, size_t limit) = 0;
};

class DeadLetters {
 public:
  virtual ~DeadLetters() = default;
  virtual int64_t add(const DeadLetter& letter) = 0;
  virtual std::vector<DeadLetter> list() = 0;
};

// Small named values the runtime keeps with its data: that the stock was
// seeded, how far the engine decided the inbox, its clock.
class Settings {
 public:
  virtual ~Settings() = default;
  virtual std::optional<std::string> get(const std::string& name) = 0;
  virtual void set(const std::string& name, const std::string& value) = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  // A unit of work: everything between begin() and commit() is durable
  // together or not at all.
  virtual void begin() = 0;
  virtual void commit() = 0;
  // Group commit's split: commit_unsynced() ends the transaction as
  // commit() does, but what it wrote may still be in the operating system's
  // hands; sync() then makes everything committed so far survive a power
  // loss. sync() may be called from another thread than the one that
  // commits, while it goes on: the engine acknowledges a batch only after
  // the sync that follows its commit, and decides the next one meanwhile.
  virtual void commit_unsynced() { commit(); }
  virtual void sync() {}
  virtual void rollback() = 0;
  virtual bool in_transaction() const = 0;

  virtual Journal& journal() = 0;
  virtual Orders& orders() = 0;
  virtual Deployments& deployments() = 0;
  virtual StockLedger& stock() = 0;
  virtual Outbox& outbox() = 0;
  virtual DeadLetters& dead_letters() = 0;
  virtual Settings& settings() = 0;

  virtual StoreStats stats() const { return {}; }
  // Empties the order, timer and stock tables (before they are rebuilt).
  virtual void clear_projections() = 0;
};

}  // namespace orderflow::runtime
