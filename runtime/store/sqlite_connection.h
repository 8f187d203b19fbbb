#pragma once
// What the SQLite files of the runtime (the store, the intake's inbox) share:
// errors that say what to do, timed prepared statements. Internal to
// runtime/store.
#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>

#include <filesystem>

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

// Time inside SQLite, by the store.
struct DatabaseClock {
  StoreStats stats;
  struct Scope {
    StoreStats& s;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    ~Scope() {
      s.database_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    }
  };
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
  // True while there is a row.
  bool step() {
    int rc;
    if (stats_) {
      DatabaseClock::Scope timed{*stats_};
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
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, col)) : std::string();
  }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

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

// Opens `path` as the options say, or throws a StoreError that says what
// to do; `what` names the file in the error ("database", "inbox").
inline sqlite3* open_connection(const std::string& path, const SqliteOptions& options, const char* what) {
  int flags = options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  std::error_code ec;
  if (options.read_only && !std::filesystem::exists(path, ec))
    throw StoreError(fmt::format("the {} '{}' does not exist", what, path), SQLITE_CANTOPEN);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string detail = db ? sqlite3_errmsg(db) : "";
    sqlite3_close(db);
    throw StoreError(fmt::format("{} ({})", explain_code(rc, path), detail), rc);
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  return db;
}

// Runs SQL without results (pragmas, schema, BEGIN/COMMIT); throws a
// StoreError that says what to do.
inline void exec(sqlite3* db, const char* sql, const std::string& path) {
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    std::string detail = error ? error : sqlite3_errmsg(db);
    sqlite3_free(error);
    throw StoreError(fmt::format("{} ({})", explain_code(rc, path), detail), rc);
  }
}

// A connection's prepared statements, each prepared once, by its SQL text
// (a literal: the key is its address).
class StatementCache {
 public:
  Statement& get(sqlite3* db, const char* sql, const std::string& path, StoreStats* stats = nullptr) {
    auto it = statements_.find(sql);
    if (it == statements_.end()) it = statements_.emplace(sql, std::make_unique<Statement>(db, sql, path, stats)).first;
    return *it->second;
  }
  void clear() { statements_.clear(); }

 private:
  std::unordered_map<const char*, std::unique_ptr<Statement>> statements_;
};

}  // namespace orderflow::runtime::sqlite
