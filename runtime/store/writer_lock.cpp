#include "runtime/store/writer_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "compiler/model/value.h"
#include "runtime/store/store.h"

namespace orderflow::runtime {

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<LockHolder> read_holder(int fd) {
  char buffer[4096];
  ssize_t n = pread(fd, buffer, sizeof(buffer) - 1, 0);
  if (n <= 0) return std::nullopt;
  buffer[n] = 0;
  // "pid since command\n"
  LockHolder h;
  char* end = nullptr;
  h.pid = std::strtoll(buffer, &end, 10);
  if (end == buffer) return std::nullopt;
  char* next = nullptr;
  h.since = std::strtoll(end, &next, 10);
  while (*next == ' ') ++next;
  h.command = next;
  while (!h.command.empty() && (h.command.back() == '\n' || h.command.back() == '\r')) h.command.pop_back();
  return h;
}

}  // namespace

std::string lock_path(const std::string& db_path) { return db_path + "-lock"; }

WriterLock WriterLock::acquire(const std::string& db_path, const std::string& command,
                               std::chrono::milliseconds wait) {
  std::string path = lock_path(db_path);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw StoreError(fmt::format("cannot create the lock file '{}' beside the database: {}", path,
                                 std::strerror(errno)));
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      int error = errno;
      ::close(fd);
      throw StoreError(fmt::format("cannot lock '{}': {}", path, std::strerror(error)));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      // The holder writes who it is just after it takes the lock: give it a moment.
      std::optional<LockHolder> h = read_holder(fd);
      for (int i = 0; i < 50 && !h; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        h = read_holder(fd);
      }
      ::close(fd);
      std::string who = h ? fmt::format("`{}` (pid {}, since {})", h->command, h->pid, model::format_time(h->since))
                          : std::string("another orderflow process");
      throw StoreError(fmt::format(
          "the database '{}' is being written by {}; one engine writes a database at a time. Stop it first, or "
          "give new orders and events to it: `orderflow import --db {} --events FILE` queues a file into the "
          "running server's inbox",
          db_path, who, db_path));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::string line = fmt::format("{} {} {}\n", getpid(), now_ms(), command);
  if (ftruncate(fd, 0) != 0 || pwrite(fd, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size())) {
    // The lock is held all the same; only the note of who holds it is missing.
  }
  return WriterLock(fd, path);
}

std::optional<LockHolder> WriterLock::holder(const std::string& db_path) {
  int fd = ::open(lock_path(db_path).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::optional<LockHolder> h;
  if (flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) h = read_holder(fd);
  ::close(fd);
  return h;
}

WriterLock::WriterLock(WriterLock&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

WriterLock& WriterLock::operator=(WriterLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

WriterLock::~WriterLock() {
  // Closing the file lets go of the lock.
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace orderflow::runtime
