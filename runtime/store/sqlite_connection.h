#pragma once
// The SQLite connection that the runtime's files (the store, the intake's
// inbox) share: opening through a chosen VFS (fault_injection.h's, in
// tests), errors that say what to do, prepared statements kept and timed.
// Internal to runtime/store.
#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>

#include "runtime/store/sqlite_store.h"
#include "runtime/store/store.h"

namespace orderflow::runtime::sqlite {

inline std::string explain_code(int code, const std::string& path) {
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return fmt::format("the database '{}' is locked by another process; stop it, or use another --db", path);
    case SQLITE_NOTADB:
      return fmt::format("'{}' is not an orderflow database (it is not SQLite, or its header is damaged)", path);
    case SQLITE_CORRUPT:
      return fmt::format(
          "the database '{}' is corrupt; restore it from a backup (`orderflow rebuild` can redo the "
          "order table from an intact journal)",
          path);
    case SQLITE_FULL:
      return fmt::format(
          "the database '{}' is full (no space left on its disk, or its size cap reached); nothing of "
          "the unfinished batch was stored",
          path);
    case SQLITE_READONLY:
      return fmt::format(
          "cannot write '{}': the file or its folder is read-only (SQLite also needs to create "
          "'{}-wal' beside it)",
          path, path);
    case SQLITE_CANTOPEN:
      return fmt::format("cannot open '{}': its folder does not exist or cannot be written", path);
    case SQLITE_IOERR:
      return fmt::format("input/output error on '{}'", path);
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return fmt::format("no permission to use '{}'", path);
    default:
      return fmt::format("database error on '{}'", path);
  }
}

// Adds the time spent in its scope to the stats.
struct TimedScope {
  StoreStats& stats;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  ~TimedScope() {
    stats.database_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }
};

class Statement {
 public:
  Statement(sqlite3* db, const char* sql, const std::string& path, StoreStats* stats = nullptr)
      : db_(db), path_(path), stats_(stats) {
    int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
    if (rc != SQLITE_OK) fail(rc);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;

  Statement& bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind_blob(int i, const std::string& v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind_null(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  // True while there is a row.
  bool step() {
    int rc;
    if (stats_) {
      TimedScope timed{*stats_};
      ++stats_->statements;
      rc = sqlite3_step(stmt_);
    } else {
      rc = sqlite3_step(stmt_);
    }
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    sqlite3_reset(stmt_);
    fail(rc);
  }
  void run() {
    step();
    reset();
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    return p ? std::string(static_cast<const char*>(p), sqlite3_column_bytes(stmt_, col)) : std::string();
  }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int columns() const { return sqlite3_column_count(stmt_); }

 private:
  [[noreturn]] void fail(int rc) {
    throw StoreError(fmt::format("{} ({})", explain_code(rc, path_), sqlite3_errmsg(db_)), rc);
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  const std::string& path_;
  StoreStats* stats_;
};

// Resets a statement when a scope ends, however it ends.
struct Reset {
  Statement& s;
  ~Reset() { s.reset(); }
};

// One open file. Not thread-safe: its owner uses it from one thread at a
// time (SQLITE_OPEN_NOMUTEX).
class Connection {
 public:
  // Opens `path` as the options say, or throws a StoreError that says what
  // to do; `what` names the file in errors ("database", "inbox").
  Connection(const std::string& path, const SqliteOptions& options, const char* what) : path_(path) {
    int flags = options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    std::error_code ec;
    if (options.read_only && !std::filesystem::exists(path, ec))
      throw StoreError(fmt::format("the {} '{}' does not exist", what, path), SQLITE_CANTOPEN);
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX,
                             options.vfs.empty() ? nullptr : options.vfs.c_str());
    if (rc != SQLITE_OK) {
      std::string detail = db_ ? sqlite3_errmsg(db_) : "";
      sqlite3_close(db_);
      db_ = nullptr;
      throw StoreError(fmt::format("{} ({})", explain_code(rc, path), detail), rc);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, options.busy_timeout_ms);
  }
  ~Connection() {
    statements_.clear();
    if (db_) {
      if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      sqlite3_close(db_);
    }
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const std::string& path() const { return path_; }
  StoreStats& stats() { return stats_; }
  sqlite3* handle() { return db_; }

  // SQL without results (pragmas, schema, BEGIN/COMMIT); throws a
  // StoreError that says what to do.
  void exec(const char* sql) {
    TimedScope timed{stats_};
    char* error = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error);
    if (rc != SQLITE_OK) {
      std::string detail = error ? error : sqlite3_errmsg(db_);
      sqlite3_free(error);
      throw StoreError(fmt::format("{} ({})", explain_code(rc, path_), detail), rc);
    }
  }
  void exec(const std::string& sql) { exec(sql.c_str()); }

  // A prepared statement, prepared once by its SQL text (a literal: the key
  // is its address).
  Statement& statement(const char* sql) {
    auto it = statements_.find(sql);
    if (it == statements_.end())
      it = statements_.emplace(sql, std::make_unique<Statement>(db_, sql, path_, &stats_)).first;
    return *it->second;
  }

  void begin() { exec("BEGIN IMMEDIATE"); }
  void commit() {
    exec("COMMIT");
    ++stats_.commits;
  }
  void rollback() {
    if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }
  int64_t changes() const { return sqlite3_changes(db_); }
  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

  int64_t pragma_int(const char* sql) {
    Statement s(db_, sql, path_);
    return s.step() ? s.integer(0) : 0;
  }
  std::string pragma_text(const char* sql) {
    Statement s(db_, sql, path_);
    return s.step() ? s.text(0) : "";
  }
  // A statement prepared for one use (a scan).
  std::unique_ptr<Statement> once(const char* sql) { return std::make_unique<Statement>(db_, sql, path_, &stats_); }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
  StoreStats stats_;
  std::unordered_map<const char*, std::unique_ptr<Statement>> statements_;
};

}  // namespace orderflow::runtime::sqlite
