#pragma once
// The Store on SQLite: one file in WAL mode, written by one engine at a
// time (writer_lock.h). Every SQLite failure becomes a StoreError that says
// what happened to which file and what to do about it.
#include <memory>
#include <string>

#include "runtime/store/store.h"

namespace orderflow::runtime {

struct SqliteOptions {
  // FULL: a commit survives power loss (an fsync per commit; group commit
  // keeps that affordable). NORMAL: it survives the process being killed.
  bool sync_full = true;
  bool read_only = false;  // the audit, versions and diff commands only read
  int busy_timeout_ms = 2000;
  // Caps the file (in pages of 4 KiB) so that tests can fill it up; 0: no cap.
  int64_t max_pages = 0;
  // The SQLite VFS to open the file through; "" is SQLite's own. Tests name
  // fault_injection.h's to make writes and syncs fail.
  std::string vfs;
};

// Opens (creating and upgrading its schema when needed) the database at
// `path`. A database of an older schema that needs its journal rewritten
// is refused with a message that says to run `orderflow migrate`, unless
// `upgrade` is set (that command's way in).
std::unique_ptr<Store> open_sqlite_store(const std::string& path, const SqliteOptions& options = {});

// Rewrites a database of an older schema to this build's (version 2: the
// journal in its binary form, the order rows without the orders' text;
// version 3: the journal's records chained by order). Returns how many
// journal entries (from 2) or records (from 3) it rewrote; 0 when the
// database was current.
int64_t upgrade_sqlite_store(const std::string& path, const SqliteOptions& options = {});

}  // namespace orderflow::runtime
