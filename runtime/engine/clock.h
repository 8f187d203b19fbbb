#pragma once
// The engine's idea of now. Tests and replays drive a ManualClock; the
// engine in production reads the system clock.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace orderflow::runtime {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now() const = 0;  // ms since the epoch
};

class SystemClock final : public Clock {
 public:
  int64_t now() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start = 0) : now_(start) {}
  int64_t now() const override { return now_.load(); }
  void set(int64_t t) { now_.store(t); }
  void advance(int64_t ms) { now_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace orderflow::runtime
