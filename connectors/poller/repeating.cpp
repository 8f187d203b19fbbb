#include "connectors/poller/repeating.h"

#include <fmt/format.h>

#include <iostream>
#include <random>

namespace orderflow::poller {

Repeating::Repeating(std::string what, Timing timing, std::function<void()> work)
    : what_(std::move(what)), timing_(timing), work_(std::move(work)) {}

Repeating::~Repeating() { stop(); }

void Repeating::start() {
  thread_ = std::thread([this] {
    std::mt19937 jitter(std::random_device{}());
    std::chrono::milliseconds backoff = timing_.backoff_first;
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      std::chrono::milliseconds wait = timing_.every;
      try {
        work_();
        backoff = timing_.backoff_first;
      } catch (const std::exception& e) {
        std::cerr << fmt::format("orderflow serve: {} failed, trying again in {} ms: {}\n", what_, backoff.count(),
                                 e.what());
        wait = backoff + std::chrono::milliseconds(jitter() % (backoff.count() / 4 + 1));
        backoff = std::min(backoff * 2, timing_.backoff_most);
      }
      lock.lock();
      wake_.wait_for(lock, wait, [&] { return stopping_; });
    }
  });
}

void Repeating::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace orderflow::poller
