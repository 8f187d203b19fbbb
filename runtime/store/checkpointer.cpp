#include "runtime/store/checkpointer.h"

#include <pthread.h>

namespace orderflow::runtime {

Checkpointer::Checkpointer(sqlite3* writer, const std::string& path, const SqliteOptions& options, const char* what,
                           const char* thread_name)
    : writer_(writer), thread_name_(thread_name) {
  SqliteOptions own = options;
  own.busy_timeout_ms = 0;  // a busy file is tried again later, not waited for
  db_ = std::make_unique<sqlite::Connection>(path, own, what);
  thread_ = std::thread([this] { run(); });
  sqlite3_wal_hook(writer_, &Checkpointer::committed, this);
}

Checkpointer::~Checkpointer() {
  sqlite3_wal_hook(writer_, nullptr, nullptr);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  signal_.notify_all();
  thread_.join();
}

int Checkpointer::committed(void* self, sqlite3*, const char*, int frames) {
  auto* c = static_cast<Checkpointer*>(self);
  {
    std::lock_guard lock(c->mutex_);
    c->frames_ = frames;
  }
  if (frames >= kFrames) c->signal_.notify_one();
  return SQLITE_OK;
}

void Checkpointer::run() {
  pthread_setname_np(pthread_self(), thread_name_.c_str());
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    signal_.wait(lock, [&] { return stopping_ || frames_ >= kFrames; });
    if (stopping_) return;
    frames_ = 0;
    lock.unlock();
    // A connection that has read nothing has no WAL open: its checkpoints
    // do nothing at all (SQLite answers OK, with -1 frames), and the WAL
    // grew for as long as the process ran. Reading the schema opens it.
    if (!wal_open_)
      wal_open_ = sqlite3_exec(db_->handle(), "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr) == SQLITE_OK;
    // PASSIVE: copies what no reader still needs, and never blocks the writer.
    sqlite3_wal_checkpoint_v2(db_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    lock.lock();
  }
}

}  // namespace orderflow::runtime
