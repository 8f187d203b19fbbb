#pragma once
// One writer per database. The engine keeps the stock, the timers and the
// orders it is deciding in memory and writes them through; a second engine
// on the same file would decide on what it no longer knows (stock seeded
// twice, units promised twice, timers fired twice). Whoever drives an
// engine holds this lock: an advisory lock (flock) on "<db>-lock", which
// also says who holds it. The kernel lets go of it when the process ends,
// however it ends, so a killed engine never leaves the database locked.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace orderflow::runtime {

// Who holds a database's writer lock.
struct LockHolder {
  int64_t pid = 0;
  std::string command;  // "orderflow serve --db orders.db"
  int64_t since = 0;    // ms since the epoch
};

class WriterLock {
 public:
  // Takes the lock of the database at `db_path` for `command`, waiting up
  // to `wait` for its holder to let go. Throws a StoreError that names the
  // holder (pid, command, since) and says what to do instead.
  static WriterLock acquire(const std::string& db_path, const std::string& command,
                            std::chrono::milliseconds wait = std::chrono::milliseconds(0));
  // Who holds it now, if anyone (without taking it).
  static std::optional<LockHolder> holder(const std::string& db_path);

  WriterLock(WriterLock&& other) noexcept;
  WriterLock& operator=(WriterLock&& other) noexcept;
  WriterLock(const WriterLock&) = delete;
  ~WriterLock();

  const std::string& path() const { return path_; }

 private:
  WriterLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

// The lock file of a database: "<db>-lock".
std::string lock_path(const std::string& db_path);

}  // namespace orderflow::runtime
