#pragma once
// The engine's durable memory, behind a narrow interface so that another
// database can replace SQLite and tests can inject faults. Everything the
// engine learns is an append to the journal (the audit trail); the order
// table and the timer table are projections of it, kept in the same
// transaction and rebuildable from it (see projection.h).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace orderflow::runtime {

// A failure of the store, with a message for the operator ("the database
// 'x.db' is locked by another process") and SQLite's result code.
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

struct JournalEntry {
  int64_t seq = 0;  // assigned by append()
  std::string order_id;
  int64_t at = 0;   // ms since the epoch
  std::string kind; // received, event, decision, state, escalation, timer_set, timer_fired, timer_cancelled,
                    // refused, migrated
  nlohmann::json body;
};

// The current state of one order, as the journal says.
struct LineState {
  std::string state;
  int64_t quantity = 0;

  bool operator==(const LineState&) const = default;
};

struct StoredOrder {
  std::string order_id;
  std::string channel;
  std::string external_id;
  int64_t deployment = 0;
  std::string state;
  int64_t state_since = 0;
  int64_t state_entry = 0;  // how many times the order has entered a state
  nlohmann::json order;     // the canonical order JSON, with what events set
  // Per line of order.lines, where its units are.
  std::vector<std::vector<LineState>> lines;
  nlohmann::json hold;      // the current hold: reason, until, on timeout; null when not held
  std::optional<std::string> priority;  // the Priority a policy set, by name
  std::vector<std::string> tags;
  std::vector<std::string> fired;  // escalation rules fired since the order entered its state
  // Stock reserved for the order and not yet shipped or released:
  // [{"line", "sku", "node", "quantity"}].
  nlohmann::json allocations = nlohmann::json::array();
  std::vector<std::string> excluded_nodes;  // nodes that refused the order
  int64_t last_seq = 0;

  bool operator==(const StoredOrder&) const = default;
};

struct Timer {
  int64_t id = 0;
  std::string order_id;
  int64_t due = 0;
  std::string kind;  // hold_timeout, escalation
  int64_t state_entry = 0;
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
  std::string cause;     // seeded, count, receipt, reserved, released, shipped
  std::string order_id;  // for reservations
};

// Something to tell a channel (an inventory update), kept until a connector sends it.
struct OutboxMessage {
  int64_t id = 0;
  int64_t created_at = 0;
  std::string channel;
  std::string kind;  // inventory_update
  nlohmann::json body;
  std::optional<int64_t> sent_at;
};

class Store {
 public:
  virtual ~Store() = default;
  virtual StoreStats stats() const { return {}; }

  // A unit of work: everything between begin() and commit() is durable
  // together or not at all. Inside it, mark() and undo() bracket one
  // event, so that a failure half-way through an event undoes only it.
  virtual void begin() = 0;
  virtual void commit() = 0;
  virtual void rollback() = 0;
  virtual bool in_transaction() const = 0;
  virtual void mark() = 0;
  virtual void release_mark() = 0;
  virtual void undo_to_mark() = 0;

  // False when the key was claimed before: a redelivery.
  virtual bool claim(const IntakeKey& key, const std::string& order_id) = 0;
  virtual std::optional<std::string> claimed(const IntakeKey& key) = 0;

  virtual int64_t append(JournalEntry& entry) = 0;  // sets entry.seq
  virtual std::vector<JournalEntry> journal(const std::string& order_id) = 0;
  virtual void scan_journal(const std::function<void(const JournalEntry&)>& visit) = 0;
  virtual std::vector<JournalEntry> journal_after(int64_t seq, size_t limit) = 0;
  virtual int64_t last_journal_seq() = 0;

  virtual void put_order(const StoredOrder& order) = 0;
  virtual std::optional<StoredOrder> get_order(const std::string& order_id) = 0;
  virtual void scan_orders(const std::function<void(const StoredOrder&)>& visit) = 0;
  virtual int64_t order_count() = 0;

  virtual int64_t add_timer(const Timer& timer) = 0;  // returns its id
  virtual bool delete_timer(int64_t id) = 0;  // false when it was gone already
  virtual std::vector<Timer> timers_of(const std::string& order_id) = 0;
  virtual std::vector<Timer> due_timers(int64_t until, size_t limit) = 0;
  virtual std::optional<int64_t> next_due() = 0;

  virtual int64_t add_deployment(const Deployment& deployment) = 0;
  virtual void set_live(int64_t deployment) = 0;
  virtual std::optional<int64_t> live() = 0;
  virtual std::vector<Deployment> deployments(bool with_files) = 0;
  virtual std::optional<Deployment> deployment(int64_t id) = 0;

  virtual int64_t add_dead_letter(const DeadLetter& letter) = 0;
  virtual std::vector<DeadLetter> dead_letters() = 0;

  // Stock: the rows, and the log of every change to them.
  virtual std::optional<StockRow> stock(const std::string& node, const std::string& sku) = 0;
  virtual void put_stock(const StockRow& row) = 0;
  virtual void scan_stock(const std::function<void(const StockRow&)>& visit) = 0;
  virtual int64_t log_stock(StockChange& change) = 0;  // sets change.seq
  virtual void scan_stock_log(const std::function<void(const StockChange&)>& visit) = 0;
  // How many orders each node has had stock reserved for since `since`.
  virtual std::map<std::string, int64_t> orders_reserved_since(int64_t since) = 0;
  // Orders in a state, oldest in it first.
  virtual std::vector<std::string> orders_in_state(const std::string& state) = 0;

  // What each channel was last told it may sell, and the messages to send.
  virtual std::optional<int64_t> advertised(const std::string& channel, const std::string& sku) = 0;
  virtual void put_advertised(const std::string& channel, const std::string& sku, int64_t quantity) = 0;
  virtual int64_t add_outbox(const OutboxMessage& message) = 0;
  virtual std::vector<OutboxMessage> outbox(bool unsent_only, size_t limit) = 0;
  virtual std::vector<OutboxMessage> outbox_after(int64_t id, size_t limit) = 0;

  // Replaces the order, timer and stock tables with what the journal and
  // the stock log say.
  virtual void clear_projections() = 0;
};

}  // namespace orderflow::runtime
