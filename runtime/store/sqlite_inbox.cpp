#include <xxhash.h>

#include <deque>
#include <unordered_set>

#include "runtime/store/checkpointer.h"
#include "runtime/store/inbox.h"
#include "runtime/store/sqlite_connection.h"

namespace orderflow::runtime {

namespace {

using sqlite::Reset;
using sqlite::Statement;

// Version 2: the key of a body is in a table of its own, written in seq
// order. Version 1 kept it in `inbox` under a UNIQUE index, whose leaf for
// a hashed key is a random page: one more WAL frame (and one more
// checkpointed page) for every webhook, a third of what taking one cost.
const char* kInboxSchema = R"sql(
CREATE TABLE IF NOT EXISTS inbox(
  seq INTEGER PRIMARY KEY,
  channel TEXT NOT NULL,
  source TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS inbox_keys(
  seq INTEGER PRIMARY KEY,
  key TEXT NOT NULL);
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
PRAGMA user_version=2;
)sql";

// Run between renaming version 1's inbox to inbox_1 and creating the
// version 2 tables: bodies and keys move over as they are.
const char* kCopyFrom1 = R"sql(
INSERT INTO inbox SELECT seq, channel, source, received_at, body FROM inbox_1;
INSERT INTO inbox_keys SELECT seq, key FROM inbox_1;
DROP TABLE inbox_1;
)sql";

// The keys of the latest bodies, to answer a redelivery "duplicate" without
// storing it again. Older ones are not looked for: a body received again
// after this many others is stored again, and the engine knows the order or
// event it carries by its intake key, so nothing is decided twice.
constexpr size_t kRecentKeys = 200'000;

struct KeyDigest {
  uint64_t high, low;
  bool operator==(const KeyDigest&) const = default;
};
struct KeyDigestHash {
  size_t operator()(const KeyDigest& d) const { return static_cast<size_t>(d.low); }
};
KeyDigest digest_of(const std::string& key) {
  XXH128_hash_t h = XXH3_128bits(key.data(), key.size());
  return {h.high64, h.low64};
}

class SqliteInbox final : public Inbox {
 public:
  SqliteInbox(const std::string& path, const SqliteOptions& options) : db_(path, options, "inbox") {
    if (options.read_only) return;
    // Bodies of a few KiB, appended in seq order: 16 KiB pages hold two or
    // more, so a webhook costs a WAL frame or less. (Page size only applies
    // to a new file.)
    db_.exec("PRAGMA page_size=16384");
    db_.exec("PRAGMA journal_mode=WAL");
    db_.exec(options.sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    if (user_version() == 1) {
      db_.begin();
      db_.exec("ALTER TABLE inbox RENAME TO inbox_1");
      db_.exec(kInboxSchema);
      db_.exec(kCopyFrom1);
      db_.commit();
    }
    db_.exec(kInboxSchema);
    load_recent_keys();
    checkpointer_ = std::make_unique<Checkpointer>(db_.handle(), path, options, "inbox", "of-inbox-ckpt");
  }
  ~SqliteInbox() override { checkpointer_.reset(); }

  void begin() override { db_.begin(); }
  void commit() override {
    db_.commit();
    added_ = 0;
    trim_recent();
  }
  void rollback() override {
    db_.rollback();
    // What the batch added was not stored: its keys, the newest, are not known after all.
    for (; added_ > 0; --added_) {
      recent_.erase(order_.back());
      order_.pop_back();
    }
  }
  bool in_transaction() const override { return db_.in_transaction(); }

  bool add(InboxEntry& e) override {
    KeyDigest d = digest_of(e.key);
    if (recent_.count(d)) return false;
    Statement& s = statement("INSERT INTO inbox(channel, source, received_at, body) VALUES(?,?,?,?)");
    Reset r{s};
    s.bind(1, e.channel).bind(2, e.source).bind(3, e.received_at).bind_blob(4, e.body);
    s.step();
    e.seq = db_.last_insert_rowid();
    Statement& k = statement("INSERT INTO inbox_keys(seq, key) VALUES(?,?)");
    Reset rk{k};
    k.bind(1, e.seq).bind(2, e.key);
    k.step();
    remember(d);
    if (db_.in_transaction()) ++added_;
    else trim_recent();  // stored already: there is no batch to undo
    return true;
  }

  std::vector<InboxEntry> after(int64_t seq, size_t limit) override {
    Statement& s = statement(
        "SELECT seq, coalesce(key, ''), channel, source, received_at, body FROM inbox LEFT JOIN inbox_keys USING(seq) "
        "WHERE seq > ? ORDER BY seq LIMIT ?");
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
    int64_t emptied = db_.changes();
    // Keys older than the recent ones are never looked for again.
    Statement& k = statement(
        "DELETE FROM inbox_keys WHERE seq < (SELECT coalesce(min(seq), 0) FROM "
        "(SELECT seq FROM inbox_keys ORDER BY seq DESC LIMIT ?))");
    Reset rk{k};
    k.bind(1, static_cast<int64_t>(kRecentKeys));
    k.step();
    return emptied;
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

  int64_t user_version() {
    Statement& s = statement("PRAGMA user_version");
    Reset r{s};
    return s.step() ? s.integer(0) : 0;
  }

  void load_recent_keys() {
    Statement& s = statement("SELECT key FROM inbox_keys ORDER BY seq DESC LIMIT ?");
    Reset r{s};
    s.bind(1, static_cast<int64_t>(kRecentKeys));
    std::vector<KeyDigest> newest_first;
    while (s.step()) newest_first.push_back(digest_of(s.text(0)));
    for (auto it = newest_first.rbegin(); it != newest_first.rend(); ++it) remember(*it);
  }

  void trim_recent() {
    while (order_.size() > kRecentKeys) {
      recent_.erase(order_.front());
      order_.pop_front();
    }
  }

  void remember(const KeyDigest& d) {  // trimmed to kRecentKeys once stored
    recent_.insert(d);
    order_.push_back(d);
  }

  sqlite::Connection db_;
  // The writer's alone (the intake's committer, under its inbox lock).
  std::unordered_set<KeyDigest, KeyDigestHash> recent_;  // the last kRecentKeys keys
  std::deque<KeyDigest> order_;                          // the same, oldest first
  size_t added_ = 0;                                     // by the open batch: the newest of order_
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
