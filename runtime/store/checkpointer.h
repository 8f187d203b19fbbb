#pragma once
// Copies a SQLite file's WAL into the file on a thread and a connection of
// its own, so that the writer's commits never wait for it. SQLite would
// otherwise do it inside whichever commit passes 1000 pages of WAL: for the
// engine a stall of a batch, for the inbox of every webhook waiting on it.
// The writer's connection tells it how big the WAL has grown after each
// commit (its WAL hook, which also turns SQLite's own checkpoints off).
//
// Locks: `mutex_` guards `frames_` and `stopping_`.
#include <sqlite3.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "runtime/store/sqlite_connection.h"

namespace orderflow::runtime {

class Checkpointer {
 public:
  // REQUIRES: `writer` outlives this. `thread_name` shows in top and gdb.
  Checkpointer(sqlite3* writer, const std::string& path, const SqliteOptions& options, const char* what,
               const char* thread_name);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

 private:
  static constexpr int kFrames = 1000;  // as SQLite's default

  static int committed(void* self, sqlite3*, const char*, int frames);
  void run();

  sqlite3* writer_;
  std::string thread_name_;
  std::unique_ptr<sqlite::Connection> db_;
  std::mutex mutex_;
  std::condition_variable signal_;
  int frames_ = 0;         // GUARDED_BY(mutex_)
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  bool wal_open_ = false;  // the checkpoint thread's alone
  std::thread thread_;
};

}  // namespace orderflow::runtime
