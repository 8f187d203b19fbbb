#pragma once
// Work that runs again and again on a thread of its own (a poller's
// rounds, the sender's): every `every` while it succeeds; after a failure,
// after a backoff that doubles from `backoff_first` to `backoff_most`, with
// jitter so that many of them do not retry in step.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace orderflow::poller {

struct Timing {
  std::chrono::milliseconds every{60000};
  std::chrono::milliseconds backoff_first{1000};
  std::chrono::milliseconds backoff_most{300000};
};

class Repeating {
 public:
  // `what` names it in the message a failure prints ("the amazon poller").
  Repeating(std::string what, Timing timing, std::function<void()> work);
  ~Repeating();
  void start();
  void stop();

 private:
  std::string what_;
  Timing timing_;
  std::function<void()> work_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

}  // namespace orderflow::poller
