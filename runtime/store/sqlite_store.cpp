#include "runtime/store/sqlite_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/store/checkpointer.h"
#include "runtime/store/codec.h"
#include "runtime/store/projection.h"
#include "runtime/store/sqlite_connection.h"

#include <pthread.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace orderflow::runtime {

// The order table's rows: what the projection keeps of an order beyond the
// columns it is looked up by. The order's own text is kept only once events
// have changed it; until then the journal's `received` entry has it.
template <class V, class S>
  requires Is<Hold, S>
void fields(V& v, S& s) {
  v("reason", s.reason);
  v("rule", s.rule);
  v("until", s.until);
  v("on_timeout", s.on_timeout);
  v("on_timeout_reason", s.on_timeout_reason);
}

template <class V, class S>
  requires Is<Timer, S>
void fields(V& v, S& s) {
  v("id", s.id);
  v("due", s.due);
  v("kind", s.kind);
  v("state_entry", s.state_entry);
}

template <class V, class S>
  requires Is<StoredOrder, S>
void fields(V& v, S& s) {
  v("channel", s.channel);
  v("external_id", s.external_id);
  v("deployment", s.deployment);
  v("state_entry", s.state_entry);
  v("received_seq", s.received_seq);
  v("order_changed", s.order_changed);
  v("lines", s.lines);
  v("hold", s.hold);
  v("priority", s.priority);
  v("tags", s.tags);
  v("fired", s.fired);
  v("allocations", s.allocations);
  v("excluded_nodes", s.excluded_nodes);
  v("timers", s.timers);
  v("last_seq", s.last_seq);
  v("last_at", s.last_at);
  v("entered", s.entered);
  v("node", s.node);
  v("returns", s.returns);
  v("ndr_attempts", s.ndr_attempts);
  v("ndr_decision", s.ndr_decision);
  v("ndr_on_timeout", s.ndr_on_timeout);
  v("carrier", s.carrier);
  v("tracking_number", s.tracking_number);
  v("sent_hash", s.sent_hash);
  v("exchanges", s.exchanges);
  v("return_entered", s.return_entered);
}

namespace {

using sqlite::Reset;
using sqlite::Statement;

// 3: the journal as one binary record per input and order, the order table
// as binary rows, timers by when they are due, settings. A version-2 file
// (JSON journal entries) is rewritten by upgrade_sqlite_store.
// 4: each journal record points back at its order's previous one, and the
// order row at its last (no index of the journal by order to keep up).
// 5: a deployment keeps a note (why it went live despite failing policy
// tests); a version-4 file gains the column when opened to write.
constexpr int kSchemaVersion = 6;

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS journal(
  seq INTEGER PRIMARY KEY,
  order_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  previous INTEGER NOT NULL,
  entries BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS intake(
  channel TEXT NOT NULL,
  external_id TEXT NOT NULL,
  channel_event_id TEXT NOT NULL,
  order_id TEXT NOT NULL,
  PRIMARY KEY(channel, external_id, channel_event_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS orders(
  order_id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  state_since INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  order_text TEXT,
  body BLOB NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS orders_by_state ON orders(state, state_since);
CREATE TABLE IF NOT EXISTS timers(
  due INTEGER NOT NULL,
  id INTEGER NOT NULL,
  order_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  state_entry INTEGER NOT NULL,
  PRIMARY KEY(due, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deployments(
  id INTEGER PRIMARY KEY,
  content_hash TEXT NOT NULL,
  version TEXT NOT NULL,
  owner TEXT NOT NULL,
  title TEXT NOT NULL,
  deployed_at INTEGER NOT NULL,
  source TEXT NOT NULL,
  files TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS live(
  one INTEGER PRIMARY KEY CHECK(one = 1),
  deployment INTEGER NOT NULL REFERENCES deployments(id));
CREATE TABLE IF NOT EXISTS stock(
  node TEXT NOT NULL,
  sku TEXT NOT NULL,
  on_hand INTEGER NOT NULL,
  reserved INTEGER NOT NULL,
  safety_stock INTEGER NOT NULL,
  quarantined INTEGER NOT NULL DEFAULT 0,
  written_off INTEGER NOT NULL DEFAULT 0,
  to_vendor INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(node, sku)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stock_log(
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  node TEXT NOT NULL,
  sku TEXT NOT NULL,
  on_hand_change INTEGER NOT NULL,
  reserved_change INTEGER NOT NULL,
  safety_stock INTEGER,
  cause TEXT NOT NULL,
  order_id TEXT NOT NULL,
  quarantined_change INTEGER NOT NULL DEFAULT 0,
  written_off_change INTEGER NOT NULL DEFAULT 0,
  to_vendor_change INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS stock_log_reservations ON stock_log(at) WHERE cause = 'reserved';
CREATE TABLE IF NOT EXISTS advertised(
  channel TEXT NOT NULL,
  sku TEXT NOT NULL,
  quantity INTEGER NOT NULL,
  PRIMARY KEY(channel, sku)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox(
  id INTEGER PRIMARY KEY,
  created_at INTEGER NOT NULL,
  channel TEXT NOT NULL,
  kind TEXT NOT NULL,
  body TEXT NOT NULL,
  sent_at INTEGER);
CREATE TABLE IF NOT EXISTS dead_letters(
  id INTEGER PRIMARY KEY,
  received_at INTEGER NOT NULL,
  source TEXT NOT NULL,
  body BLOB NOT NULL,
  error TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS settings(
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL) WITHOUT ROWID;
)sql";

std::string encode_order_row(const StoredOrder& o) {
  std::string out;
  codec::Writer writer(out);
  fields(writer, o);
  return out;
}

std::string outbox_body(const OutboxMessage& m) {
  nlohmann::json body = {{"sku", m.sku}, {"quantity", m.quantity}};
  if (m.previous) body["previous"] = *m.previous;
  return body.dump();
}


class SqliteJournal final : public Journal {
 public:
  explicit SqliteJournal(sqlite::Connection& db) : db_(db) {}

  // A record with a seq of its own keeps it (a journal rewritten by an upgrade keeps its numbers).
  void append(journal::Record& record) override {
    Statement& s = db_.statement("INSERT INTO journal(seq, order_id, at, previous, entries) VALUES(?,?,?,?,?)");
    Reset r{s};
    if (record.seq > 0) s.bind(1, record.seq);
    s.bind(2, record.order_id).bind(3, record.at).bind(4, record.previous);
    s.bind_blob(5, journal::encode(record.entries));
    s.step();
    record.seq = db_.last_insert_rowid();
  }

  // From the order's last record back, by each record's `previous`.
  std::vector<journal::Record> of_order(const std::string& order_id) override {
    Statement& head = db_.statement("SELECT last_seq FROM orders WHERE order_id = ?");
    int64_t seq = 0;
    {
      Reset r{head};
      head.bind(1, order_id);
      if (head.step()) seq = head.integer(0);
    }
    std::vector<journal::Record> out;
    while (seq > 0) {
      std::optional<journal::Record> r = record(seq);
      if (!r || r->order_id != order_id)
        throw StoreError(fmt::format("the database '{}' is corrupt: the history of order '{}' breaks at record {}; "
                                     "`orderflow rebuild` redoes the order table from the journal",
                                     db_.path(), order_id, seq),
                         SQLITE_CORRUPT);
      seq = r->previous;
      out.push_back(std::move(*r));
    }
    std::reverse(out.begin(), out.end());
    return out;
  }

  std::optional<journal::Record> record(int64_t seq) override {
    Statement& s = db_.statement("SELECT seq, order_id, at, entries, previous FROM journal WHERE seq = ?");
    Reset r{s};
    s.bind(1, seq);
    if (!s.step()) return std::nullopt;
    return read(s);
  }

  std::vector<journal::Record> after(int64_t seq, size_t limit) override {
    Statement& s = db_.statement("SELECT seq, order_id, at, entries, previous FROM journal WHERE seq > ? ORDER BY seq LIMIT ?");
    Reset r{s};
    s.bind(1, seq).bind(2, static_cast<int64_t>(limit));
    std::vector<journal::Record> out;
    while (s.step()) out.push_back(read(s));
    return out;
  }

  void scan(const std::function<void(const journal::Record&)>& visit) override {
    auto s = db_.once("SELECT seq, order_id, at, entries, previous FROM journal ORDER BY seq");
    while (s->step()) visit(read(*s));
  }

  int64_t last_seq() override {
    Statement& s = db_.statement("SELECT coalesce(max(seq), 0) FROM journal");
    Reset r{s};
    return s.step() ? s.integer(0) : 0;
  }

 private:
  journal::Record read(const Statement& s) {
    journal::Record record;
    record.seq = s.integer(0);
    record.order_id = s.text(1);
    record.at = s.integer(2);
    record.previous = s.integer(4);
    try {
      record.entries = journal::decode(s.text(3));
    } catch (const journal::CodecError& e) {
      throw StoreError(fmt::format("the database '{}' is corrupt: journal record {} cannot be read ({})", db_.path(),
                                   record.seq, e.what()),
                       SQLITE_CORRUPT);
    }
    return record;
  }

  sqlite::Connection& db_;
};

class SqliteOrders final : public Orders {
 public:
  SqliteOrders(sqlite::Connection& db, Journal& journal) : db_(db), journal_(journal) {}

  bool claimed(const IntakeKey& key) override {
    Statement& s =
        db_.statement("SELECT 1 FROM intake WHERE channel = ? AND external_id = ? AND channel_event_id = ?");
    Reset r{s};
    s.bind(1, key.channel).bind(2, key.external_id).bind(3, key.channel_event_id);
    return s.step();
  }

  void claim(const IntakeKey& key, const std::string& order_id) override {
    Statement& s = db_.statement("INSERT INTO intake VALUES(?,?,?,?)");
    Reset r{s};
    s.bind(1, key.channel).bind(2, key.external_id).bind(3, key.channel_event_id).bind(4, order_id);
    s.step();
  }

  void scan_keys(const std::function<void(const IntakeKey&)>& visit) override {
    auto s = db_.once("SELECT channel, external_id, channel_event_id FROM intake");
    while (s->step()) visit({s->text(0), s->text(1), s->text(2)});
  }

  void scan_ids(const std::function<void(const std::string&)>& visit) override {
    auto s = db_.once("SELECT order_id FROM orders");
    while (s->step()) visit(s->text(0));
  }

  void put(const StoredOrder& o) override {
    Statement& s = db_.statement("INSERT OR REPLACE INTO orders VALUES(?,?,?,?,?,?)");
    Reset r{s};
    s.bind(1, o.order_id).bind(2, o.state).bind(3, o.state_since).bind(4, o.last_seq);
    if (o.order_changed || o.received_seq == 0) s.bind(5, o.order);
    s.bind_blob(6, encode_order_row(o));
    s.step();
  }

  std::optional<StoredOrder> get(const std::string& order_id) override {
    Statement& s = db_.statement("SELECT order_id, state, state_since, order_text, body FROM orders WHERE order_id = ?");  // NOLINT
    Reset r{s};
    s.bind(1, order_id);
    if (!s.step()) return std::nullopt;
    StoredOrder o = read(s);
    return o;
  }

  void scan(const std::function<void(const StoredOrder&)>& visit) override {
    auto s = db_.once("SELECT order_id, state, state_since, order_text, body FROM orders ORDER BY order_id");
    while (s->step()) visit(read(*s));
  }

  int64_t count() override {
    Statement& s = db_.statement("SELECT count(*) FROM orders");
    Reset r{s};
    s.step();
    return s.integer(0);
  }

  std::vector<std::string> in_state(const std::string& state) override {
    Statement& s = db_.statement("SELECT order_id FROM orders WHERE state = ? ORDER BY state_since, order_id");
    Reset r{s};
    s.bind(1, state);
    std::vector<std::string> out;
    while (s.step()) out.push_back(s.text(0));
    return out;
  }

  void add_timer(const Timer& t) override {
    Statement& s = db_.statement("INSERT OR REPLACE INTO timers VALUES(?,?,?,?,?)");
    Reset r{s};
    s.bind(1, t.due).bind(2, t.id).bind(3, t.order_id).bind(4, t.kind).bind(5, t.state_entry);
    s.step();
  }

  void remove_timer(const Timer& t) override {
    Statement& s = db_.statement("DELETE FROM timers WHERE due = ? AND id = ?");
    Reset r{s};
    s.bind(1, t.due).bind(2, t.id);
    s.step();
  }

  std::vector<Timer> due_timers(int64_t until, size_t limit) override {
    Statement& s = db_.statement("SELECT id, order_id, due, kind, state_entry FROM timers WHERE due <= ? ORDER BY due, id LIMIT ?");
    Reset r{s};
    s.bind(1, until).bind(2, static_cast<int64_t>(limit));
    std::vector<Timer> out;
    while (s.step()) out.push_back({s.integer(0), s.text(1), s.integer(2), s.text(3), s.integer(4)});
    return out;
  }

  std::optional<int64_t> next_due() override {
    Statement& s = db_.statement("SELECT due FROM timers ORDER BY due LIMIT 1");
    Reset r{s};
    if (!s.step()) return std::nullopt;
    return s.integer(0);
  }

  int64_t last_timer_id() override {
    Statement& s = db_.statement("SELECT coalesce(max(id), 0) FROM timers");
    Reset r{s};
    s.step();
    // Timers that fired are gone from the table but not from the journal:
    // a new id must not repeat one an order's history already names.
    int64_t id = s.integer(0);
    Statement& kept = db_.statement("SELECT value FROM settings WHERE name = 'last_timer_id'");
    Reset k{kept};
    if (kept.step()) id = std::max<int64_t>(id, std::stoll(kept.text(0)));
    return id;
  }

 private:
  StoredOrder read(const Statement& s) {
    StoredOrder o;
    o.order_id = s.text(0);
    o.state = s.text(1);
    o.state_since = s.integer(2);
    std::string body = s.text(4);
    try {
      codec::Reader reader(body);
      fields(reader, o);
    } catch (const journal::CodecError&) {
      throw StoreError(fmt::format("the database '{}' is corrupt: order '{}' cannot be read", db_.path(), o.order_id),
                       SQLITE_CORRUPT);
    }
    for (Timer& t : o.timers) t.order_id = o.order_id;
    if (!s.is_null(3)) {
      o.order = s.text(3);
    } else {
      std::optional<journal::Record> received = journal_.record(o.received_seq);
      const journal::Received* r = nullptr;
      if (received)
        for (const journal::Entry& e : received->entries)
          if (!r) r = std::get_if<journal::Received>(&e);
      if (!r)
        throw StoreError(fmt::format("the database '{}' is corrupt: order '{}' has no journal record {} to read it "
                                     "from; `orderflow rebuild` redoes the order table from the journal",
                                     db_.path(), o.order_id, o.received_seq),
                         SQLITE_CORRUPT);
      o.order = r->order;
    }
    return o;
  }

  sqlite::Connection& db_;
  Journal& journal_;
};

class SqliteDeployments final : public Deployments {
 public:
  explicit SqliteDeployments(sqlite::Connection& db) : db_(db) {}

  int64_t add(const Deployment& d) override {
    nlohmann::json files = nlohmann::json::array();
    for (const DeploymentFile& f : d.files) files.push_back({{"path", f.path}, {"text", f.text}});
    Statement& s = db_.statement(
        "INSERT INTO deployments(content_hash, version, owner, title, deployed_at, source, files, note) "
        "VALUES(?,?,?,?,?,?,?,?)");
    Reset r{s};
    s.bind(1, d.content_hash).bind(2, d.version).bind(3, d.owner).bind(4, d.title).bind(5, d.deployed_at);
    s.bind(6, d.source).bind(7, files.dump()).bind(8, d.note);
    s.step();
    return db_.last_insert_rowid();
  }

  void set_live(int64_t deployment) override {
    Statement& s = db_.statement("INSERT OR REPLACE INTO live VALUES(1, ?)");
    Reset r{s};
    s.bind(1, deployment);
    s.step();
  }

  std::optional<int64_t> live() override {
    Statement& s = db_.statement("SELECT deployment FROM live");
    Reset r{s};
    if (!s.step()) return std::nullopt;
    return s.integer(0);
  }

  std::vector<Deployment> list(bool with_files) override {
    auto s = db_.once("SELECT * FROM deployments ORDER BY id");
    std::vector<Deployment> out;
    while (s->step()) out.push_back(read(*s, with_files));
    return out;
  }

  std::optional<Deployment> get(int64_t id) override {
    Statement& s = db_.statement("SELECT * FROM deployments WHERE id = ?");
    Reset r{s};
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return read(s, true);
  }

 private:
  Deployment read(const Statement& s, bool with_files) {
    Deployment d;
    d.id = s.integer(0);
    d.content_hash = s.text(1);
    d.version = s.text(2);
    d.owner = s.text(3);
    d.title = s.text(4);
    d.deployed_at = s.integer(5);
    d.source = s.text(6);
    if (s.columns() > 8) d.note = s.text(8);  // a version-4 file read without writing has none
    if (with_files) {
      nlohmann::json files = nlohmann::json::parse(s.text(7), nullptr, false);
      if (!files.is_array())
        throw StoreError(fmt::format("the database '{}' is corrupt: deployment {} cannot be read", db_.path(), d.id),
                         SQLITE_CORRUPT);
      for (const auto& f : files) d.files.push_back({f.value("path", ""), f.value("text", "")});
    }
    return d;
  }

  sqlite::Connection& db_;
};

// Whether a table has a column (a file opened read-only may predate it).
bool has_column(sqlite::Connection& db, const char* table, const char* column) {
  auto columns = db.once(fmt::format("SELECT name FROM pragma_table_info('{}')", table).c_str());
  while (columns->step())
    if (columns->text(0) == column) return true;
  return false;
}

class SqliteStock final : public StockLedger {
 public:
  explicit SqliteStock(sqlite::Connection& db)
      : db_(db),
        // Before schema 6 no returned unit was kept apart: read as none.
        columns_(has_column(db, "stock", "quarantined")
                     ? "node, sku, on_hand, reserved, safety_stock, quarantined, written_off, to_vendor"
                     : "node, sku, on_hand, reserved, safety_stock, 0, 0, 0"),
        log_columns_(has_column(db, "stock_log", "quarantined_change")
                         ? "seq, at, node, sku, on_hand_change, reserved_change, safety_stock, cause, order_id, "
                           "quarantined_change, written_off_change, to_vendor_change"
                         : "seq, at, node, sku, on_hand_change, reserved_change, safety_stock, cause, order_id, 0, 0, 0"),
        row_sql_(fmt::format("SELECT {} FROM stock WHERE node = ? AND sku = ?", columns_)) {}

  std::optional<StockRow> row(const std::string& node, const std::string& sku) override {
    Statement& s = db_.statement(row_sql_.c_str());  // prepared once: the member's text keeps its address
    Reset r{s};
    s.bind(1, node).bind(2, sku);
    if (!s.step()) return std::nullopt;
    return read_row(s);
  }

  void put(const StockRow& row) override {
    Statement& s = db_.statement(
        "INSERT OR REPLACE INTO stock(node, sku, on_hand, reserved, safety_stock, quarantined, written_off, to_vendor) "
        "VALUES(?,?,?,?,?,?,?,?)");
    Reset r{s};
    s.bind(1, row.node).bind(2, row.sku).bind(3, row.on_hand).bind(4, row.reserved).bind(5, row.safety_stock);
    s.bind(6, row.quarantined).bind(7, row.written_off).bind(8, row.to_vendor);
    s.step();
  }

  void scan(const std::function<void(const StockRow&)>& visit) override {
    auto s = db_.once(fmt::format("SELECT {} FROM stock ORDER BY node, sku", columns_).c_str());
    while (s->step()) visit(read_row(*s));
  }

  void log(StockChange& c) override {
    Statement& s = db_.statement(
        "INSERT INTO stock_log(at, node, sku, on_hand_change, reserved_change, safety_stock, cause, order_id, "
        "quarantined_change, written_off_change, to_vendor_change) VALUES(?,?,?,?,?,?,?,?,?,?,?)");
    Reset r{s};
    s.bind(1, c.at).bind(2, c.node).bind(3, c.sku).bind(4, c.on_hand_change).bind(5, c.reserved_change);
    if (c.safety_stock) s.bind(6, *c.safety_stock);
    s.bind(7, c.cause).bind(8, c.order_id);
    s.bind(9, c.quarantined_change).bind(10, c.written_off_change).bind(11, c.to_vendor_change);
    s.step();
    c.seq = db_.last_insert_rowid();
  }

  void scan_log(const std::function<void(const StockChange&)>& visit) override {
    auto s = db_.once(fmt::format("SELECT {} FROM stock_log ORDER BY seq", log_columns_).c_str());
    while (s->step()) {
      StockChange c;
      c.seq = s->integer(0);
      c.at = s->integer(1);
      c.node = s->text(2);
      c.sku = s->text(3);
      c.on_hand_change = s->integer(4);
      c.reserved_change = s->integer(5);
      if (!s->is_null(6)) c.safety_stock = s->integer(6);
      c.cause = s->text(7);
      c.order_id = s->text(8);
      c.quarantined_change = s->integer(9);
      c.written_off_change = s->integer(10);
      c.to_vendor_change = s->integer(11);
      visit(c);
    }
  }

  template <class S>
  static StockRow read_row(S& s) {
    return StockRow{s.text(0),    s.text(1),    s.integer(2), s.integer(3),
                    s.integer(4), s.integer(5), s.integer(6), s.integer(7)};
  }

  std::map<std::string, int64_t> orders_reserved_since(int64_t since) override {
    Statement& s = db_.statement(
        "SELECT node, count(DISTINCT order_id) FROM stock_log WHERE cause = 'reserved' AND at >= ? GROUP BY node");
    Reset r{s};
    s.bind(1, since);
    std::map<std::string, int64_t> out;
    while (s.step()) out[s.text(0)] = s.integer(1);
    return out;
  }

 private:
  sqlite::Connection& db_;
  std::string columns_;      // of a StockRow, as this file has them
  std::string log_columns_;  // of a StockChange
  std::string row_sql_;
};

class SqliteOutbox final : public Outbox {
 public:
  explicit SqliteOutbox(sqlite::Connection& db) : db_(db) {}

  std::optional<int64_t> advertised(const std::string& channel, const std::string& sku) override {
    Statement& s = db_.statement("SELECT quantity FROM advertised WHERE channel = ? AND sku = ?");
    Reset r{s};
    s.bind(1, channel).bind(2, sku);
    if (!s.step()) return std::nullopt;
    return s.integer(0);
  }

  std::vector<std::pair<std::string, int64_t>> all_advertised(const std::string& channel) override {
    Statement& s = db_.statement("SELECT sku, quantity FROM advertised WHERE channel = ? ORDER BY sku");
    Reset r{s};
    s.bind(1, channel);
    std::vector<std::pair<std::string, int64_t>> out;
    while (s.step()) out.emplace_back(s.text(0), s.integer(1));
    return out;
  }

  void put_advertised(const std::string& channel, const std::string& sku, int64_t quantity) override {
    Statement& s = db_.statement("INSERT OR REPLACE INTO advertised VALUES(?,?,?)");
    Reset r{s};
    s.bind(1, channel).bind(2, sku).bind(3, quantity);
    s.step();
  }

  int64_t add(const OutboxMessage& m) override {
    Statement& s = db_.statement("INSERT INTO outbox(created_at, channel, kind, body) VALUES(?,?,?,?)");
    Reset r{s};
    s.bind(1, m.created_at).bind(2, m.channel).bind(3, m.kind).bind(4, outbox_body(m));
    s.step();
    return db_.last_insert_rowid();
  }

  std::vector<OutboxMessage> after(int64_t id, size_t limit) override {
    Statement& s = db_.statement("SELECT id, created_at, channel, kind, body FROM outbox WHERE id > ? ORDER BY id LIMIT ?");
    Reset r{s};
    s.bind(1, id).bind(2, static_cast<int64_t>(limit));
    std::vector<OutboxMessage> out;
    while (s.step()) {
      OutboxMessage m;
      m.id = s.integer(0);
      m.created_at = s.integer(1);
      m.channel = s.text(2);
      m.kind = s.text(3);
      nlohmann::json body = nlohmann::json::parse(s.text(4), nullptr, false);
      if (body.is_object()) {
        m.sku = body.value("sku", "");
        m.quantity = body.value("quantity", int64_t{0});
        if (body.contains("previous") && body["previous"].is_number_integer()) m.previous = body["previous"].get<int64_t>();
      }
      out.push_back(std::move(m));
    }
    return out;
  }

 private:
  sqlite::Connection& db_;
};

class SqliteDeadLetters final : public DeadLetters {
 public:
  explicit SqliteDeadLetters(sqlite::Connection& db) : db_(db) {}

  int64_t add(const DeadLetter& d) override {
    Statement& s = db_.statement("INSERT INTO dead_letters(received_at, source, body, error) VALUES(?,?,?,?)");
    Reset r{s};
    s.bind(1, d.received_at).bind(2, d.source).bind_blob(3, d.body).bind(4, d.error);
    s.step();
    return db_.last_insert_rowid();
  }

  std::vector<DeadLetter> list() override {
    auto s = db_.once("SELECT id, received_at, source, body, error FROM dead_letters ORDER BY id");
    std::vector<DeadLetter> out;
    while (s->step()) out.push_back({s->integer(0), s->integer(1), s->text(2), s->text(3), s->text(4)});
    return out;
  }

 private:
  sqlite::Connection& db_;
};

class SqliteSettings final : public Settings {
 public:
  explicit SqliteSettings(sqlite::Connection& db) : db_(db) {}

  std::optional<std::string> get(const std::string& name) override {
    Statement& s = db_.statement("SELECT value FROM settings WHERE name = ?");
    Reset r{s};
    s.bind(1, name);
    if (!s.step()) return std::nullopt;
    return s.text(0);
  }

  void set(const std::string& name, const std::string& value) override {
    Statement& s = db_.statement("INSERT OR REPLACE INTO settings VALUES(?, ?)");
    Reset r{s};
    s.bind(1, name).bind(2, value);
    s.step();
  }

 private:
  sqlite::Connection& db_;
};

// Opens the file and sets the connection up; `check_version` refuses a
// file of another schema than this build's.
std::unique_ptr<sqlite::Connection> connect(const std::string& path, const SqliteOptions& options) {
  auto db = std::make_unique<sqlite::Connection>(path, options, "database");
  if (options.read_only) return db;
  std::string mode = db->pragma_text("PRAGMA journal_mode=WAL");
  if (mode != "wal") throw StoreError(fmt::format("cannot use '{}' in WAL mode (it is in '{}' mode)", path, mode));
  // FULL durability is had by syncing the WAL after each commit ourselves
  // (SqliteStore::commit and sync), so that it can happen off the engine's
  // thread; SQLite still syncs the WAL before each checkpoint and the file
  // after it, as NORMAL does.
  db->exec("PRAGMA synchronous=NORMAL");
  db->exec("PRAGMA foreign_keys=ON");
  // The journal's order index takes inserts all over; 64 MiB of cache keeps it in memory.
  db->exec("PRAGMA cache_size=-65536");
  if (options.max_pages > 0) db->exec(fmt::format("PRAGMA max_page_count={}", options.max_pages));
  return db;
}


class SqliteStore final : public Store {
 public:
  SqliteStore(std::unique_ptr<sqlite::Connection> db, bool sync_full)
      : sync_full_(sync_full),
        db_(std::move(db)),
        journal_(*db_),
        orders_(*db_, journal_),
        deployments_(*db_),
        stock_(*db_),
        outbox_(*db_),
        dead_letters_(*db_),
        settings_(*db_) {}

  ~SqliteStore() override { checkpointer_.reset(); }

  sqlite::Connection& connection() { return *db_; }

  void checkpoint_in_background(const SqliteOptions& options) {
    checkpointer_ = std::make_unique<Checkpointer>(db_->handle(), db_->path(), options, "database", "of-checkpoint");
  }

  void begin() override { db_->begin(); }
  void commit() override {
    db_->commit();
    if (sync_full_) sync();
  }
  void commit_unsynced() override { db_->commit(); }
  // Flushes the WAL file, through a descriptor of its own: independent of
  // the connection, so another thread may do it while this one writes on.
  void sync() override {
    if (!sync_full_) return;
    std::string wal = db_->path() + "-wal";
    int fd = ::open(wal.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return;  // nothing written since it was last emptied into the file
      throw StoreError(fmt::format("cannot open '{}' to make it durable: {}", wal, std::strerror(errno)), SQLITE_IOERR);
    }
    int rc = fdatasync(fd);
    int error = errno;
    ::close(fd);
    if (rc != 0)
      throw StoreError(fmt::format("input/output error on '{}': the disk did not confirm the last writes ({}); they "
                                   "may be lost, and nothing of them was acknowledged",
                                   wal, std::strerror(error)),
                       SQLITE_IOERR_FSYNC);
  }
  void rollback() override { db_->rollback(); }
  bool in_transaction() const override { return db_->in_transaction(); }

  Journal& journal() override { return journal_; }
  Orders& orders() override { return orders_; }
  Deployments& deployments() override { return deployments_; }
  StockLedger& stock() override { return stock_; }
  Outbox& outbox() override { return outbox_; }
  DeadLetters& dead_letters() override { return dead_letters_; }
  Settings& settings() override { return settings_; }

  StoreStats stats() const override { return db_->stats(); }

  void clear_projections() override {
    db_->exec("DELETE FROM orders");
    db_->exec("DELETE FROM timers");
    db_->exec("DELETE FROM stock");
  }

 private:
  bool sync_full_;
  std::unique_ptr<sqlite::Connection> db_;
  std::unique_ptr<Checkpointer> checkpointer_;  // stopped before db_ closes
  SqliteJournal journal_;
  SqliteOrders orders_;
  SqliteDeployments deployments_;
  SqliteStock stock_;
  SqliteOutbox outbox_;
  SqliteDeadLetters dead_letters_;
  SqliteSettings settings_;
};


StoreError outdated(const std::string& path, int64_t version) {
  return StoreError(fmt::format(
      "'{}' was written by an older orderflow (schema version {}; this build writes version {}); run `orderflow "
      "migrate --db {}` once to bring it up to date (its history is kept, in the new form)",
      path, version, kSchemaVersion, path));
}

// Version 2 kept one JSON row per journal entry and each order's text in
// the order table. The entries become typed records (consecutive entries of
// one order at one moment, one record), then the projections are built
// again from them: in one transaction, so a failure leaves the file as it was.
int64_t upgrade_from_2(sqlite::Connection& db) {
  db.exec("ALTER TABLE journal RENAME TO journal_v2");
  db.exec("DROP INDEX IF EXISTS journal_by_order");
  db.exec("DROP TABLE orders");
  db.exec("DROP TABLE timers");
  db.exec(kSchema);
  int64_t entries = 0, last_timer = 0;
  SqliteJournal journal(db);
  // Each record keeps the number of its last entry, so that positions kept
  // elsewhere (the sender's cursor in the inbox) still point where they did.
  journal::Record record;
  int64_t last_entry = 0;
  std::unordered_map<std::string, int64_t> last_of;  // order -> its latest record, for `previous`
  auto flush = [&] {
    record.seq = last_entry;
    if (!record.entries.empty()) {
      int64_t& last = last_of[record.order_id];
      record.previous = last;
      journal.append(record);
      last = record.seq;
    }
    record.entries.clear();
  };
  auto rows = db.once("SELECT seq, order_id, at, kind, body FROM journal_v2 ORDER BY seq");
  while (rows->step()) {
    std::string order_id = rows->text(1);
    int64_t at = rows->integer(2);
    nlohmann::json body = nlohmann::json::parse(rows->text(4), nullptr, false);
    journal::Entry entry;
    try {
      entry = journal::from_json(rows->text(3), body);
    } catch (const journal::CodecError& e) {
      throw StoreError(fmt::format("journal entry {} of '{}' cannot be migrated: {}", rows->integer(0), db.path(),
                                   e.what()));
    }
    if (auto* t = std::get_if<journal::TimerSet>(&entry)) last_timer = std::max(last_timer, t->id);
    if (order_id != record.order_id || at != record.at) {
      flush();
      record.order_id = order_id;
      record.at = at;
    }
    record.entries.push_back(std::move(entry));
    last_entry = rows->integer(0);
    ++entries;
  }
  flush();
  rows.reset();
  db.exec("DROP TABLE journal_v2");
  SqliteSettings(db).set("last_timer_id", std::to_string(last_timer));
  return entries;
}

// Version 3 found an order's records through an index of the journal by
// order. The records are chained instead: each gets the seq of the order's
// record before it (found once, through that index, before it goes), and
// the projections are built again with each order's last record.
int64_t upgrade_from_3(sqlite::Connection& db) {
  db.exec("ALTER TABLE journal ADD COLUMN previous INTEGER NOT NULL DEFAULT 0");
  db.exec(
      "UPDATE journal SET previous = coalesce((SELECT max(p.seq) FROM journal p WHERE p.order_id = journal.order_id "
      "AND p.seq < journal.seq), 0)");
  db.exec("DROP INDEX IF EXISTS journal_by_order");
  db.exec("DROP TABLE orders");
  db.exec("DROP TABLE timers");
  db.exec(kSchema);
  auto count = db.once("SELECT count(*) FROM journal");
  return count->step() ? count->integer(0) : 0;
}

// Version 4 had no deployment notes: an empty one each.
void add_deployment_notes(sqlite::Connection& db) {
  if (!has_column(db, "deployments", "note")) db.exec("ALTER TABLE deployments ADD COLUMN note TEXT NOT NULL DEFAULT ''");
}

// Version 5 kept no returned units apart: none anywhere.
void add_stock_kept_apart(sqlite::Connection& db) {
  if (!has_column(db, "stock", "quarantined"))
    for (const char* column : {"quarantined", "written_off", "to_vendor"})
      db.exec(fmt::format("ALTER TABLE stock ADD COLUMN {} INTEGER NOT NULL DEFAULT 0", column));
  if (!has_column(db, "stock_log", "quarantined_change"))
    for (const char* column : {"quarantined_change", "written_off_change", "to_vendor_change"})
      db.exec(fmt::format("ALTER TABLE stock_log ADD COLUMN {} INTEGER NOT NULL DEFAULT 0", column));
}

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string& path, const SqliteOptions& options) {
  auto db = connect(path, options);
  int64_t version = db->pragma_int("PRAGMA user_version");
  if (options.read_only) {
    if (version < 1 || version > kSchemaVersion)
      throw StoreError(fmt::format("'{}' is not an orderflow database (schema version {})", path, version));
  } else if (version == 0 || version == 4 || version == 5) {
    // A new file gets the schema; a version-4 or 5 one gains columns,
    // nothing rewritten: done on opening, not by `migrate`.
    db->begin();
    try {
      if (version == 0) {
        db->exec(kSchema);
      } else {
        add_deployment_notes(*db);
        add_stock_kept_apart(*db);
      }
      db->exec(fmt::format("PRAGMA user_version={}", kSchemaVersion));
      db->commit();
    } catch (...) {
      db->rollback();
      throw;
    }
    version = kSchemaVersion;
  }
  if (version < kSchemaVersion && !(options.read_only && version >= 4)) throw outdated(path, version);
  if (version > kSchemaVersion)
    throw StoreError(fmt::format("'{}' has orderflow schema version {}; this build knows version {}", path, version,
                                 kSchemaVersion));
  auto store = std::make_unique<SqliteStore>(std::move(db), options.sync_full && !options.read_only);
  if (!options.read_only) store->checkpoint_in_background(options);
  return store;
}

int64_t upgrade_sqlite_store(const std::string& path, const SqliteOptions& options) {
  auto db = connect(path, options);
  int64_t version = db->pragma_int("PRAGMA user_version");
  if (version == kSchemaVersion || version == 0) return 0;
  if (version < 2 || version > 5)
    throw StoreError(fmt::format(
        "'{}' has orderflow schema version {}; this build can bring versions 2 to 5 up to date", path, version));
  // The columns first: the store reads and writes its stock rows with them.
  // Harmless on their own, should what follows fail.
  db->begin();
  add_stock_kept_apart(*db);
  db->commit();
  SqliteStore store(std::move(db), options.sync_full);
  sqlite::Connection& c = store.connection();
  c.begin();
  int64_t entries = 0;
  try {
    if (version < 4) {
      entries = version == 2 ? upgrade_from_2(c) : upgrade_from_3(c);
      rebuild_projections(store);
    }
    add_deployment_notes(c);
    c.exec(fmt::format("PRAGMA user_version={}", kSchemaVersion));
    c.commit();
  } catch (...) {
    c.rollback();
    throw;
  }
  // The rows rewritten leave free pages behind: give them back.
  c.exec("VACUUM");
  return entries;
}

}  // namespace orderflow::runtime
