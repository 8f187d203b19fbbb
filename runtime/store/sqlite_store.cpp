#include "runtime/store/sqlite_store.h"

#include "runtime/store/sqlite_support.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>

namespace orderflow::runtime {

namespace {

using sqlite::DatabaseClock;
using sqlite::Reset;
using sqlite::Statement;

// 2: stock, stock_log, advertised, outbox. Every change is additive, so an
// older file is brought up to date by running the schema again.
constexpr int kSchemaVersion = 2;

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS journal(
  seq INTEGER PRIMARY KEY,
  order_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS journal_by_order ON journal(order_id, seq);
CREATE TABLE IF NOT EXISTS intake(
  channel TEXT NOT NULL,
  external_id TEXT NOT NULL,
  channel_event_id TEXT NOT NULL,
  order_id TEXT NOT NULL,
  PRIMARY KEY(channel, external_id, channel_event_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS orders(
  order_id TEXT PRIMARY KEY,
  channel TEXT NOT NULL,
  external_id TEXT NOT NULL,
  deployment INTEGER NOT NULL,
  state TEXT NOT NULL,
  state_since INTEGER NOT NULL,
  state_entry INTEGER NOT NULL,
  body TEXT NOT NULL,
  last_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS timers(
  id INTEGER PRIMARY KEY,
  order_id TEXT NOT NULL,
  due INTEGER NOT NULL,
  kind TEXT NOT NULL,
  state_entry INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS timers_by_due ON timers(due, id);
CREATE INDEX IF NOT EXISTS timers_by_order ON timers(order_id);
CREATE TABLE IF NOT EXISTS deployments(
  id INTEGER PRIMARY KEY,
  content_hash TEXT NOT NULL,
  version TEXT NOT NULL,
  owner TEXT NOT NULL,
  title TEXT NOT NULL,
  deployed_at INTEGER NOT NULL,
  source TEXT NOT NULL,
  files TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS live(
  one INTEGER PRIMARY KEY CHECK(one = 1),
  deployment INTEGER NOT NULL REFERENCES deployments(id));
CREATE INDEX IF NOT EXISTS orders_by_state ON orders(state, state_since);
CREATE TABLE IF NOT EXISTS stock(
  node TEXT NOT NULL,
  sku TEXT NOT NULL,
  on_hand INTEGER NOT NULL,
  reserved INTEGER NOT NULL,
  safety_stock INTEGER NOT NULL,
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
  order_id TEXT NOT NULL);
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
)sql";

nlohmann::json order_body(const StoredOrder& o) {
  nlohmann::json lines = nlohmann::json::array();
  for (const auto& line : o.lines) {
    nlohmann::json parts = nlohmann::json::array();
    for (const LineState& part : line) parts.push_back({part.state, part.quantity});
    lines.push_back(std::move(parts));
  }
  nlohmann::json body = {{"order", o.order}, {"lines", std::move(lines)}, {"hold", o.hold},
                         {"tags", o.tags},   {"fired", o.fired}};
  if (!o.allocations.empty()) body["allocations"] = o.allocations;
  if (!o.excluded_nodes.empty()) body["excluded_nodes"] = o.excluded_nodes;
  if (o.priority) body["priority"] = *o.priority;
  return body;
}

void read_order_body(const nlohmann::json& body, StoredOrder& o) {
  o.order = body.at("order");
  for (const auto& line : body.at("lines")) {
    std::vector<LineState> parts;
    for (const auto& part : line) parts.push_back({part.at(0).get<std::string>(), part.at(1).get<int64_t>()});
    o.lines.push_back(std::move(parts));
  }
  o.hold = body.value("hold", nlohmann::json());
  o.tags = body.value("tags", std::vector<std::string>{});
  o.fired = body.value("fired", std::vector<std::string>{});
  o.allocations = body.value("allocations", nlohmann::json::array());
  o.excluded_nodes = body.value("excluded_nodes", std::vector<std::string>{});
  if (body.contains("priority")) o.priority = body["priority"].get<std::string>();
}

class SqliteStore final : public Store {
 public:
  SqliteStore(const std::string& path, const SqliteOptions& options) : path_(path), options_(options) {
    db_ = sqlite::open_connection(path, options, "database");
    try {
      setup();
    } catch (...) {
      statements_.clear();
      sqlite3_close(db_);
      db_ = nullptr;
      throw;
    }
  }

  ~SqliteStore() override {
    statements_.clear();
    if (db_) {
      if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      sqlite3_close(db_);
    }
  }

  void begin() override { exec("BEGIN IMMEDIATE"); }
  void commit() override {
    exec("COMMIT");
    ++stats_.commits;
  }
  StoreStats stats() const override { return stats_; }
  void rollback() override {
    if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  bool in_transaction() const override { return sqlite3_get_autocommit(db_) == 0; }
  // Prepared once: an input's savepoint is on the hot path.
  void mark() override { statement("SAVEPOINT input").run(); }
  void release_mark() override { statement("RELEASE input").run(); }
  void undo_to_mark() override {
    statement("ROLLBACK TO input").run();
    statement("RELEASE input").run();
  }

  bool claim(const IntakeKey& key, const std::string& order_id) override {
    Statement& s = statement("INSERT OR IGNORE INTO intake VALUES(?,?,?,?)");
    Reset r{s};
    s.bind(1, key.channel).bind(2, key.external_id).bind(3, key.channel_event_id).bind(4, order_id);
    s.step();
    return sqlite3_changes(db_) == 1;
  }

  std::optional<std::string> claimed(const IntakeKey& key) override {
    Statement& s =
        statement("SELECT order_id FROM intake WHERE channel = ? AND external_id = ? AND channel_event_id = ?");
    Reset r{s};
    s.bind(1, key.channel).bind(2, key.external_id).bind(3, key.channel_event_id);
    if (!s.step()) return std::nullopt;
    return s.text(0);
  }

  int64_t append(JournalEntry& entry) override {
    Statement& s = statement("INSERT INTO journal(order_id, at, kind, body) VALUES(?,?,?,?)");
    Reset r{s};
    s.bind(1, entry.order_id).bind(2, entry.at).bind(3, entry.kind).bind(4, entry.body.dump());
    s.step();
    entry.seq = sqlite3_last_insert_rowid(db_);
    return entry.seq;
  }

  std::vector<JournalEntry> journal(const std::string& order_id) override {
    Statement& s = statement("SELECT seq, order_id, at, kind, body FROM journal WHERE order_id = ? ORDER BY seq");
    Reset r{s};
    s.bind(1, order_id);
    std::vector<JournalEntry> out;
    while (s.step()) out.push_back(read_entry(s));
    return out;
  }

  void scan_journal(const std::function<void(const JournalEntry&)>& visit) override {
    Statement s(db_, "SELECT seq, order_id, at, kind, body FROM journal ORDER BY seq", path_);
    while (s.step()) visit(read_entry(s));
  }

  void put_order(const StoredOrder& o) override {
    Statement& s = statement("INSERT OR REPLACE INTO orders VALUES(?,?,?,?,?,?,?,?,?)");
    Reset r{s};
    s.bind(1, o.order_id).bind(2, o.channel).bind(3, o.external_id).bind(4, o.deployment).bind(5, o.state);
    s.bind(6, o.state_since).bind(7, o.state_entry).bind(8, order_body(o).dump()).bind(9, o.last_seq);
    s.step();
  }

  std::optional<StoredOrder> get_order(const std::string& order_id) override {
    Statement& s = statement("SELECT * FROM orders WHERE order_id = ?");
    Reset r{s};
    s.bind(1, order_id);
    if (!s.step()) return std::nullopt;
    return read_order(s);
  }

  void scan_orders(const std::function<void(const StoredOrder&)>& visit) override {
    Statement s(db_, "SELECT * FROM orders ORDER BY order_id", path_);
    while (s.step()) visit(read_order(s));
  }

  int64_t order_count() override {
    Statement& s = statement("SELECT count(*) FROM orders");
    Reset r{s};
    s.step();
    return s.integer(0);
  }

  int64_t add_timer(const Timer& t) override {
    Statement& s = statement("INSERT INTO timers VALUES(?,?,?,?,?)");
    Reset r{s};
    if (t.id > 0) s.bind(1, t.id);
    s.bind(2, t.order_id).bind(3, t.due).bind(4, t.kind).bind(5, t.state_entry);
    s.step();
    return sqlite3_last_insert_rowid(db_);
  }

  bool delete_timer(int64_t id) override {
    Statement& s = statement("DELETE FROM timers WHERE id = ?");
    Reset r{s};
    s.bind(1, id);
    s.step();
    return sqlite3_changes(db_) == 1;
  }

  std::vector<Timer> timers_of(const std::string& order_id) override {
    Statement& s = statement("SELECT * FROM timers WHERE order_id = ? ORDER BY due, id");
    Reset r{s};
    s.bind(1, order_id);
    return read_timers(s);
  }

  std::vector<Timer> due_timers(int64_t until, size_t limit) override {
    Statement& s = statement("SELECT * FROM timers WHERE due <= ? ORDER BY due, id LIMIT ?");
    Reset r{s};
    s.bind(1, until).bind(2, static_cast<int64_t>(limit));
    return read_timers(s);
  }

  std::optional<int64_t> next_due() override {
    Statement& s = statement("SELECT min(due) FROM timers");
    Reset r{s};
    s.step();
    if (s.is_null(0)) return std::nullopt;
    return s.integer(0);
  }

  int64_t add_deployment(const Deployment& d) override {
    nlohmann::json files = nlohmann::json::array();
    for (const DeploymentFile& f : d.files) files.push_back({{"path", f.path}, {"text", f.text}});
    Statement& s = statement(
        "INSERT INTO deployments(content_hash, version, owner, title, deployed_at, source, files) "
        "VALUES(?,?,?,?,?,?,?)");
    Reset r{s};
    s.bind(1, d.content_hash).bind(2, d.version).bind(3, d.owner).bind(4, d.title).bind(5, d.deployed_at);
    s.bind(6, d.source).bind(7, files.dump());
    s.step();
    return sqlite3_last_insert_rowid(db_);
  }

  void set_live(int64_t deployment) override {
    Statement& s = statement("INSERT OR REPLACE INTO live VALUES(1, ?)");
    Reset r{s};
    s.bind(1, deployment);
    s.step();
  }

  std::optional<int64_t> live() override {
    Statement& s = statement("SELECT deployment FROM live");
    Reset r{s};
    if (!s.step()) return std::nullopt;
    return s.integer(0);
  }

  std::vector<Deployment> deployments(bool with_files) override {
    Statement s(db_, "SELECT * FROM deployments ORDER BY id", path_);
    std::vector<Deployment> out;
    while (s.step()) out.push_back(read_deployment(s, with_files));
    return out;
  }

  std::optional<Deployment> deployment(int64_t id) override {
    Statement& s = statement("SELECT * FROM deployments WHERE id = ?");
    Reset r{s};
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return read_deployment(s, true);
  }

  int64_t add_dead_letter(const DeadLetter& d) override {
    Statement& s = statement("INSERT INTO dead_letters(received_at, source, body, error) VALUES(?,?,?,?)");
    Reset r{s};
    s.bind(1, d.received_at).bind(2, d.source).bind_blob(3, d.body).bind(4, d.error);
    s.step();
    return sqlite3_last_insert_rowid(db_);
  }

  std::vector<DeadLetter> dead_letters() override {
    Statement s(db_, "SELECT id, received_at, source, body, error FROM dead_letters ORDER BY id", path_);
    std::vector<DeadLetter> out;
    while (s.step()) out.push_back({s.integer(0), s.integer(1), s.text(2), s.text(3), s.text(4)});
    return out;
  }

  void clear_projections() override {
    exec("DELETE FROM orders");
    exec("DELETE FROM timers");
    exec("DELETE FROM stock");
  }

  std::optional<StockRow> stock(const std::string& node, const std::string& sku) override {
    Statement& s = statement("SELECT node, sku, on_hand, reserved, safety_stock FROM stock WHERE node = ? AND sku = ?");
    Reset r{s};
    s.bind(1, node).bind(2, sku);
    if (!s.step()) return std::nullopt;
    return StockRow{s.text(0), s.text(1), s.integer(2), s.integer(3), s.integer(4)};
  }

  void put_stock(const StockRow& row) override {
    Statement& s = statement("INSERT OR REPLACE INTO stock VALUES(?,?,?,?,?)");
    Reset r{s};
    s.bind(1, row.node).bind(2, row.sku).bind(3, row.on_hand).bind(4, row.reserved).bind(5, row.safety_stock);
    s.step();
  }

  void scan_stock(const std::function<void(const StockRow&)>& visit) override {
    Statement s(db_, "SELECT node, sku, on_hand, reserved, safety_stock FROM stock ORDER BY node, sku", path_);
    while (s.step()) visit({s.text(0), s.text(1), s.integer(2), s.integer(3), s.integer(4)});
  }

  int64_t log_stock(StockChange& c) override {
    Statement& s = statement(
        "INSERT INTO stock_log(at, node, sku, on_hand_change, reserved_change, safety_stock, cause, order_id) "
        "VALUES(?,?,?,?,?,?,?,?)");
    Reset r{s};
    s.bind(1, c.at).bind(2, c.node).bind(3, c.sku).bind(4, c.on_hand_change).bind(5, c.reserved_change);
    if (c.safety_stock) s.bind(6, *c.safety_stock);
    s.bind(7, c.cause).bind(8, c.order_id);
    s.step();
    c.seq = sqlite3_last_insert_rowid(db_);
    return c.seq;
  }

  void scan_stock_log(const std::function<void(const StockChange&)>& visit) override {
    Statement s(db_, "SELECT * FROM stock_log ORDER BY seq", path_);
    while (s.step()) {
      StockChange c;
      c.seq = s.integer(0);
      c.at = s.integer(1);
      c.node = s.text(2);
      c.sku = s.text(3);
      c.on_hand_change = s.integer(4);
      c.reserved_change = s.integer(5);
      if (!s.is_null(6)) c.safety_stock = s.integer(6);
      c.cause = s.text(7);
      c.order_id = s.text(8);
      visit(c);
    }
  }

  std::map<std::string, int64_t> orders_reserved_since(int64_t since) override {
    Statement& s = statement(
        "SELECT node, count(DISTINCT order_id) FROM stock_log WHERE cause = 'reserved' AND at >= ? GROUP BY node");
    Reset r{s};
    s.bind(1, since);
    std::map<std::string, int64_t> out;
    while (s.step()) out[s.text(0)] = s.integer(1);
    return out;
  }

  std::vector<std::string> orders_in_state(const std::string& state) override {
    Statement& s = statement("SELECT order_id FROM orders WHERE state = ? ORDER BY state_since, order_id");
    Reset r{s};
    s.bind(1, state);
    std::vector<std::string> out;
    while (s.step()) out.push_back(s.text(0));
    return out;
  }

  std::optional<int64_t> advertised(const std::string& channel, const std::string& sku) override {
    Statement& s = statement("SELECT quantity FROM advertised WHERE channel = ? AND sku = ?");
    Reset r{s};
    s.bind(1, channel).bind(2, sku);
    if (!s.step()) return std::nullopt;
    return s.integer(0);
  }

  void put_advertised(const std::string& channel, const std::string& sku, int64_t quantity) override {
    Statement& s = statement("INSERT OR REPLACE INTO advertised VALUES(?,?,?)");
    Reset r{s};
    s.bind(1, channel).bind(2, sku).bind(3, quantity);
    s.step();
  }

  int64_t add_outbox(const OutboxMessage& m) override {
    Statement& s = statement("INSERT INTO outbox(created_at, channel, kind, body) VALUES(?,?,?,?)");
    Reset r{s};
    s.bind(1, m.created_at).bind(2, m.channel).bind(3, m.kind).bind(4, m.body.dump());
    s.step();
    return sqlite3_last_insert_rowid(db_);
  }

  std::vector<OutboxMessage> outbox_after(int64_t id, size_t limit) override {
    Statement& s = statement("SELECT * FROM outbox WHERE id > ? ORDER BY id LIMIT ?");
    Reset r{s};
    s.bind(1, id).bind(2, static_cast<int64_t>(limit));
    std::vector<OutboxMessage> out;
    while (s.step()) out.push_back(read_outbox(s));
    return out;
  }

  std::vector<JournalEntry> journal_after(int64_t seq, size_t limit) override {
    Statement& s = statement("SELECT seq, order_id, at, kind, body FROM journal WHERE seq > ? ORDER BY seq LIMIT ?");
    Reset r{s};
    s.bind(1, seq).bind(2, static_cast<int64_t>(limit));
    std::vector<JournalEntry> out;
    while (s.step()) out.push_back(read_entry(s));
    return out;
  }

  int64_t last_journal_seq() override {
    Statement& s = statement("SELECT coalesce(max(seq), 0) FROM journal");
    Reset r{s};
    return s.step() ? s.integer(0) : 0;
  }

  std::vector<OutboxMessage> outbox(bool unsent_only, size_t limit) override {
    Statement& s = statement(unsent_only ? "SELECT * FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT ?"
                                         : "SELECT * FROM outbox ORDER BY id LIMIT ?");
    Reset r{s};
    s.bind(1, static_cast<int64_t>(limit));
    std::vector<OutboxMessage> out;
    while (s.step()) out.push_back(read_outbox(s));
    return out;
  }

 private:
  void setup() {
    if (options_.read_only) {
      int64_t version = pragma_int("PRAGMA user_version");
      if (version < 1 || version > kSchemaVersion)
        throw StoreError(fmt::format("'{}' is not an orderflow database (schema version {})", path_, version));
      return;
    }
    std::string mode = pragma_text("PRAGMA journal_mode=WAL");
    if (mode != "wal")
      throw StoreError(fmt::format("cannot use '{}' in WAL mode (it is in '{}' mode)", path_, mode));
    exec(options_.sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    exec("PRAGMA foreign_keys=ON");
    // The journal's order index takes inserts all over; 64 MiB of cache keeps it in memory.
    exec("PRAGMA cache_size=-65536");
    if (options_.max_pages > 0) exec(fmt::format("PRAGMA max_page_count={}", options_.max_pages).c_str());
    int64_t version = pragma_int("PRAGMA user_version");
    if (version < kSchemaVersion) {
      exec("BEGIN IMMEDIATE");
      try {
        exec(kSchema);
        exec(fmt::format("PRAGMA user_version={}", kSchemaVersion).c_str());
        exec("COMMIT");
      } catch (...) {
        rollback();
        throw;
      }
    } else if (version > kSchemaVersion) {
      throw StoreError(fmt::format("'{}' has orderflow schema version {}; this build knows version {}", path_,
                                   version, kSchemaVersion));
    }
  }

  void exec(const char* sql) {
    DatabaseClock::Scope timed{stats_};
    sqlite::exec(db_, sql, path_);
  }
  void exec(const std::string& sql) { exec(sql.c_str()); }

  int64_t pragma_int(const char* sql) {
    Statement s(db_, sql, path_);
    return s.step() ? s.integer(0) : 0;
  }
  std::string pragma_text(const char* sql) {
    Statement s(db_, sql, path_);
    return s.step() ? s.text(0) : "";
  }

  Statement& statement(const char* sql) { return statements_.get(db_, sql, path_, &stats_); }

  JournalEntry read_entry(const Statement& s) {
    JournalEntry e;
    e.seq = s.integer(0);
    e.order_id = s.text(1);
    e.at = s.integer(2);
    e.kind = s.text(3);
    e.body = nlohmann::json::parse(s.text(4), nullptr, false);
    if (e.body.is_discarded())
      throw StoreError(fmt::format("the database '{}' is corrupt: journal entry {} is not JSON", path_, e.seq),
                       SQLITE_CORRUPT);
    return e;
  }

  static OutboxMessage read_outbox(const Statement& s) {
    OutboxMessage m{s.integer(0), s.integer(1), s.text(2), s.text(3), nlohmann::json::parse(s.text(4), nullptr, false),
                    std::nullopt};
    if (!s.is_null(5)) m.sent_at = s.integer(5);
    return m;
  }

  StoredOrder read_order(const Statement& s) {
    StoredOrder o;
    o.order_id = s.text(0);
    o.channel = s.text(1);
    o.external_id = s.text(2);
    o.deployment = s.integer(3);
    o.state = s.text(4);
    o.state_since = s.integer(5);
    o.state_entry = s.integer(6);
    nlohmann::json body = nlohmann::json::parse(s.text(7), nullptr, false);
    try {
      read_order_body(body, o);
    } catch (const nlohmann::json::exception&) {
      throw StoreError(fmt::format("the database '{}' is corrupt: order '{}' cannot be read", path_, o.order_id),
                       SQLITE_CORRUPT);
    }
    o.last_seq = s.integer(8);
    return o;
  }

  static std::vector<Timer> read_timers(Statement& s) {
    std::vector<Timer> out;
    while (s.step()) out.push_back({s.integer(0), s.text(1), s.integer(2), s.text(3), s.integer(4)});
    return out;
  }

  Deployment read_deployment(const Statement& s, bool with_files) {
    Deployment d;
    d.id = s.integer(0);
    d.content_hash = s.text(1);
    d.version = s.text(2);
    d.owner = s.text(3);
    d.title = s.text(4);
    d.deployed_at = s.integer(5);
    d.source = s.text(6);
    if (with_files) {
      nlohmann::json files = nlohmann::json::parse(s.text(7), nullptr, false);
      if (!files.is_array())
        throw StoreError(fmt::format("the database '{}' is corrupt: deployment {} cannot be read", path_, d.id),
                         SQLITE_CORRUPT);
      for (const auto& f : files) d.files.push_back({f.value("path", ""), f.value("text", "")});
    }
    return d;
  }

  std::string path_;
  SqliteOptions options_;
  StoreStats stats_;
  sqlite3* db_ = nullptr;
  sqlite::StatementCache statements_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string& path, const SqliteOptions& options) {
  return std::make_unique<SqliteStore>(path, options);
}

}  // namespace orderflow::runtime
