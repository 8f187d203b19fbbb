#pragma once
// The Store on SQLite: one file in WAL mode, written by one engine at a
// time. Every SQLite failure becomes a StoreError that says what happened
// to which file and what to do about it.
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
};

std::unique_ptr<Store> open_sqlite_store(const std::string& path, const SqliteOptions& options = {});

}  // namespace orderflow::runtime
