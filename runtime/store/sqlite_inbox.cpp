#include <xxhash.h>

#include "runtime/store/checkpointer.h"
#include "runtime/store/inbox.h"
#include "runtime/store/sqlite_connection.h"

namespace orderflow::runtime {

namespace {

using sqlite::Reset;
using sqlite::Statement;

const char* kInboxSchema = R"sql(
CREATE TABLE IF NOT EXISTS inbox(
  seq INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  channel TEXT NOT NULL,
  source TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS cursors(
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fetches(
  channel TEXT NOT NULL,
  external_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  requested_at INTEGER NOT NULL,
  PRIMARY KEY(channel, external_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS told(
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  channel TEXT NOT NULL,
  about TEXT NOT NULL,
  request TEXT NOT NULL,
  status INTEGER NOT NULL,
  answer TEXT NOT NULL);
PRAGMA user_version=1;
)sql";

class SqliteInbox final : public Inbox {
 public:
  SqliteInbox(const std::string& path, const SqliteOptions& options) : db_(path, options, "inbox") {
    if (options.read_only) return;
    // Small pages: every add also writes the leaf of the key index it falls
    // in, a random one (keys are hashes), and each such leaf is a WAL frame.
    // At 16 KiB a webhook of 7.6 KiB cost 25 KiB of writes; at 4 KiB, 9.5.
    db_.exec("PRAGMA page_size=4096");
    db_.exec("PRAGMA journal_mode=WAL");
    db_.exec(options.sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    db_.exec(kInboxSchema);
    checkpointer_ = std::make_unique<Checkpointer>(db_.handle(), path, options, "inbox", "of-inbox-ckpt");
  }
  ~SqliteInbox() override { checkpointer_.reset(); }

  void begin() override { db_.begin(); }
  void commit() override { db_.commit(); }
  void rollback() override { db_.rollback(); }
  bool in_transaction() const override { return db_.in_transaction(); }

  bool add(InboxEntry& e) override {
    Statement& s = statement("INSERT OR IGNORE INTO inbox(key, channel, source, received_at, body) VALUES(?,?,?,?,?)");
    Reset r{s};
    s.bind(1, e.key).bind(2, e.channel).bind(3, e.source).bind(4, e.received_at).bind_blob(5, e.body);
    s.step();
    if (db_.changes() != 1) return false;
    e.seq = db_.last_insert_rowid();
    return true;
  }

  std::vector<InboxEntry> after(int64_t seq, size_t limit) override {
    Statement& s =
        statement("SELECT seq, key, channel, source, received_at, body FROM inbox WHERE seq > ? ORDER BY seq LIMIT ?");
    Reset r{s};
    s.bind(1, seq).bind(2, static_cast<int64_t>(limit));
    std::vector<InboxEntry> out;
    while (s.step()) out.push_back({s.integer(0), s.text(1), s.text(2), s.text(3), s.integer(4), s.text(5)});
    return out;
  }

  int64_t forget_bodies(int64_t decided, int64_t received_before) override {
    Statement& s = statement("UPDATE inbox SET body = x'' WHERE seq <= ? AND received_at < ? AND length(body) > 0");
    Reset r{s};
    s.bind(1, decided).bind(2, received_before);
    s.step();
    return db_.changes();
  }

  int64_t last_seq() override {
    Statement& s = statement("SELECT coalesce(max(seq), 0) FROM inbox");
    Reset r{s};
    return s.step() ? s.integer(0) : 0;
  }

  std::optional<std::string> cursor(const std::string& name) override {
    Statement& s = statement("SELECT value FROM cursors WHERE name = ?");
    Reset r{s};
    s.bind(1, name);
    if (!s.step()) return std::nullopt;
    return s.text(0);
  }

  void set_cursor(const std::string& name, const std::string& value) override {
    Statement& s = statement("INSERT INTO cursors VALUES(?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value");
    Reset r{s};
    s.bind(1, name).bind(2, value);
    s.step();
  }

  void request_fetch(const FetchRequest& f) override {
    Statement& s = statement("INSERT OR IGNORE INTO fetches VALUES(?,?,?,?)");
    Reset r{s};
    s.bind(1, f.channel).bind(2, f.external_id).bind(3, f.reason).bind(4, f.requested_at);
    s.step();
  }

  std::vector<FetchRequest> fetches(const std::string& channel, size_t limit) override {
    Statement& s = statement(
        "SELECT channel, external_id, reason, requested_at FROM fetches WHERE channel = ? ORDER BY requested_at LIMIT "
        "?");
    Reset r{s};
    s.bind(1, channel).bind(2, static_cast<int64_t>(limit));
    std::vector<FetchRequest> out;
    while (s.step()) out.push_back({s.text(0), s.text(1), s.text(2), s.integer(3)});
    return out;
  }

  void fetched(const std::string& channel, const std::string& external_id) override {
    Statement& s = statement("DELETE FROM fetches WHERE channel = ? AND external_id = ?");
    Reset r{s};
    s.bind(1, channel).bind(2, external_id);
    s.step();
  }

  void log_told(const ToldRecord& t) override {
    Statement& s = statement("INSERT INTO told(at, channel, about, request, status, answer) VALUES(?,?,?,?,?,?)");
    Reset r{s};
    s.bind(1, t.at).bind(2, t.channel).bind(3, t.about).bind(4, t.request).bind(5, t.status).bind(6, t.answer);
    s.step();
  }

  std::vector<ToldRecord> told(size_t limit) override {
    Statement& s = statement("SELECT at, channel, about, request, status, answer FROM told ORDER BY id DESC LIMIT ?");
    Reset r{s};
    s.bind(1, static_cast<int64_t>(limit));
    std::vector<ToldRecord> out;
    while (s.step())
      out.push_back({s.integer(0), s.text(1), s.text(2), s.text(3), static_cast<int>(s.integer(4)), s.text(5)});
    return out;
  }

 private:
  Statement& statement(const char* sql) { return db_.statement(sql); }

  sqlite::Connection db_;
  std::unique_ptr<Checkpointer> checkpointer_;  // stopped before db_ closes
};

}  // namespace

std::string inbox_key(const std::string& channel, const std::string& body) {
  XXH128_hash_t hash = XXH3_128bits(body.data(), body.size());
  return fmt::format("{}|{:016x}{:016x}", channel, hash.high64, hash.low64);
}

std::string inbox_path(const std::string& store_path) {
  return store_path + "-inbox";
}

std::unique_ptr<Inbox> open_sqlite_inbox(const std::string& path, const SqliteOptions& options) {
  return std::make_unique<SqliteInbox>(path, options);
}

}  // namespace orderflow::runtime
