#include "runtime/engine/engine_thread.h"

#include <fmt/format.h>

#include <pthread.h>

#include <algorithm>
#include <future>
#include <iostream>

namespace orderflow::runtime {

namespace {

// The longest the thread sleeps without looking at the clock: a manual
// clock may move without a wake().
constexpr auto kLookAgain = std::chrono::milliseconds(250);

Ack failed(const std::string& message) {
  Ack ack;
  ack.status = Ack::Status::Failed;
  ack.message = "not stored, send it again: " + message;
  return ack;
}

}  // namespace

EngineThread::EngineThread(OrderEngine& engine, const Clock& clock, Options options, ManualClock* replay_clock)
    : engine_(engine), clock_(clock), options_(std::move(options)), replay_clock_(replay_clock) {
  if (options_.timing == Timing::Replay && !replay_clock_)
    throw std::logic_error("an engine thread in Replay timing needs the manual clock the engine reads");
  // A replay waits for a whole batch, so the queue must hold one.
  options_.max_batch = std::max<size_t>(options_.max_batch, 1);
  options_.queue_limit = std::max(options_.queue_limit, options_.max_batch);
  live_bundle_.store(engine_.live().bundle);
  // A replay goes on from where the database's clock is, never back.
  if (replay_clock_ && engine_.latest_applied() > replay_clock_->now()) replay_clock_->set(engine_.latest_applied());
  syncer_ = std::thread([this] { sync_loop(); });
  thread_ = std::thread([this] { run(); });
}

EngineThread::~EngineThread() { stop(); }

void EngineThread::post(Input input, Completion done) {
  // Decoded here, on the poster's thread, not the engine's.
  prepare_input(input, live_bundle_.load());
  std::unique_lock lock(mutex_);
  space_ready_.wait(lock, [&] { return queue_.size() < options_.queue_limit || stopping_; });
  if (stopping_) {
    lock.unlock();
    if (done) done(failed("the engine is stopping"));
    return;
  }
  queue_.push_back({std::move(input), std::move(done), {}});
  lock.unlock();
  work_ready_.notify_one();
}

void EngineThread::post_all(std::vector<std::pair<Input, Completion>> inputs) {
  auto bundle = live_bundle_.load();
  for (auto& [input, done] : inputs) prepare_input(input, bundle);
  size_t i = 0;
  while (i < inputs.size()) {
    std::unique_lock lock(mutex_);
    space_ready_.wait(lock, [&] { return queue_.size() < options_.queue_limit || stopping_; });
    if (stopping_) break;
    for (; i < inputs.size() && queue_.size() < options_.queue_limit; ++i)
      queue_.push_back({std::move(inputs[i].first), std::move(inputs[i].second), {}});
    lock.unlock();
    work_ready_.notify_one();
  }
  for (; i < inputs.size(); ++i)
    if (inputs[i].second) inputs[i].second(failed("the engine is stopping"));
}

void EngineThread::post_task(Task task, std::function<void()> done) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      if (done) done();
      return;
    }
    queue_.push_back({std::move(task), {}, std::move(done)});
    ++tasks_queued_;
  }
  work_ready_.notify_one();
}

void EngineThread::advance_to(int64_t until) {
  post_task([this, until](OrderEngine& engine) {
    if (!replay_clock_) return;
    std::vector<Ack> fired = engine.fire_due(until, true);
    if (until > replay_clock_->now()) replay_clock_->set(until);
    if (report_fired_) report_fired_(std::move(fired));
  });
}

void EngineThread::flush() {
  std::promise<void> done;
  std::future<void> finished = done.get_future();
  post_task([](OrderEngine&) {}, [&done] { done.set_value(); });
  finished.wait();
}

void EngineThread::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  work_ready_.notify_one();
}

void EngineThread::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  work_ready_.notify_all();
  space_ready_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(synced_mutex_);
    sync_stopping_ = true;
  }
  synced_ready_.notify_all();
  if (syncer_.joinable()) syncer_.join();
}

size_t EngineThread::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void EngineThread::run() {
  pthread_setname_np(pthread_self(), "of-engine");  // in top, perf and gdb
  for (;;) {
    std::vector<Posted> batch;
    {
      std::unique_lock lock(mutex_);
      // A replay cuts its batches at max_batch inputs or after a task, never
      // at a lull in posting, so that the same file is committed in the same
      // batches every time (what a batch coalesces, such as the channels'
      // stock updates, is then the same too).
      auto ready = [&] {
        if (options_.timing == Timing::Replay)
          return queue_.size() >= options_.max_batch || tasks_queued_ > 0 || woken_ || stopping_;
        return !queue_.empty() || woken_ || stopping_;
      };
      if (!ready() && options_.timing == Timing::Live) {
        // Sleep until the next timer is due (or something comes).
        lock.unlock();
        std::optional<int64_t> next;
        try {
          next = engine_.next_timer();
        } catch (const std::exception&) {
        }
        lock.lock();
        auto until = std::chrono::steady_clock::now() + kLookAgain;
        if (next) {
          int64_t wait = *next - clock_.now();
          if (wait <= 0) until = std::chrono::steady_clock::now();
          else if (wait < kLookAgain.count()) until = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait);
        }
        work_ready_.wait_until(lock, until, ready);
      } else if (!ready()) {
        work_ready_.wait(lock, ready);
      }
      woken_ = false;
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        bool task = std::holds_alternative<Task>(queue_.front().work);
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
        if (task) {
          --tasks_queued_;
          if (options_.timing == Timing::Replay) break;
        }
      }
      if (batch.empty() && stopping_) break;
    }
    space_ready_.notify_all();
    process(batch);
  }
}

void EngineThread::process(std::vector<Posted>& batch) {
  Committed committed;
  std::vector<Happened>& happened = committed.happened;
  happened.reserve(batch.size());
  auto fired = [&](std::vector<Ack> acks) {
    for (Ack& a : acks) happened.push_back({kTimer, std::move(a)});
  };
  report_fired_ = fired;
  std::string failure;
  try {
    if (disk_failed_) throw std::runtime_error(disk_failure_);
    if (options_.timing == Timing::Live &&
        std::chrono::steady_clock::now() - followed_live_ > options_.follow_live_every) {
      followed_live_ = std::chrono::steady_clock::now();
      engine_.follow_live();
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      Posted& p = batch[i];
      if (auto* task = std::get_if<Task>(&p.work)) {
        (*task)(engine_);
        happened.push_back({i, {}});
        continue;
      }
      Input& input = std::get<Input>(p.work);
      if (options_.timing == Timing::Replay && input.at && *input.at > replay_clock_->now()) {
        // The timers due before this input fire first, each at its own moment.
        fired(engine_.fire_due(*input.at, true));
        replay_clock_->set(*input.at);
      }
      happened.push_back({i, engine_.submit(input)});
    }
    if (options_.timing == Timing::Live) {
      std::optional<int64_t> next = engine_.next_timer();
      if (next && *next <= clock_.now()) fired(engine_.fire_due(clock_.now()));
    }
    engine_.commit_unsynced();
    ++batches_;
    if (engine_.live().bundle != live_bundle_.load()) live_bundle_.store(engine_.live().bundle);
  } catch (const std::exception& e) {
    // The store failed: nothing of the batch was kept, and every input in
    // it hears so (a sender sends again; the inbox's decider tries again).
    failure = e.what();
    if (!disk_failed_) {
      try {
        engine_.abort();
      } catch (const std::exception& again) {
        failure += fmt::format(" (and then: {})", again.what());
      }
    }
    // Those not reached yet are answered too.
    std::vector<bool> answered(batch.size(), false);
    for (const Happened& h : happened)
      if (h.posted != kTimer) answered[h.posted] = true;
    for (size_t i = 0; i < batch.size(); ++i)
      if (!answered[i]) happened.push_back({i, {}});
    for (Happened& h : happened) h.ack = failed(failure);
    committed.needs_sync = false;
    if (options_.on_failure) options_.on_failure(failure);
  }
  report_fired_ = nullptr;
  committed.batch = std::move(batch);
  {
    std::lock_guard lock(synced_mutex_);
    committed_.push_back(std::move(committed));
  }
  synced_ready_.notify_one();
}

void EngineThread::sync_loop() {
  pthread_setname_np(pthread_self(), "of-sync");
  for (;;) {
    std::deque<Committed> ready;
    {
      std::unique_lock lock(synced_mutex_);
      synced_ready_.wait(lock, [&] { return !committed_.empty() || sync_stopping_; });
      if (committed_.empty()) return;
      ready.swap(committed_);
    }
    // One sync for every batch committed meanwhile.
    bool needed = std::any_of(ready.begin(), ready.end(), [](const Committed& c) { return c.needs_sync; });
    std::string failure;
    if (needed && !disk_failed_) {
      try {
        engine_.sync();
      } catch (const std::exception& e) {
        failure = e.what();
        disk_failure_ = fmt::format("the engine stopped taking inputs after the disk failed to confirm a write: {}; "
                                    "restart orderflow",
                                    failure);
        disk_failed_ = true;
      }
    } else if (needed) {
      failure = disk_failure_;
    }
    for (Committed& c : ready) {
      if (c.needs_sync && !failure.empty()) {
        for (Happened& h : c.happened) h.ack = failed(failure);
        if (options_.on_failure) options_.on_failure(failure);
      }
      deliver(c);
    }
  }
}

void EngineThread::deliver(Committed& committed) {
  std::vector<Ack> timers;
  auto tell_timers = [&] {
    if (!timers.empty() && options_.on_timers) options_.on_timers(timers);
    timers.clear();
  };
  for (Happened& h : committed.happened) {
    if (h.posted == kTimer) {
      timers.push_back(std::move(h.ack));
      continue;
    }
    tell_timers();
    Posted& p = committed.batch[h.posted];
    try {
      if (p.done) p.done(h.ack);
      if (p.task_done) p.task_done();
    } catch (const std::exception& e) {
      std::cerr << "orderflow: an input's completion failed: " << e.what() << "\n";
    }
  }
  tell_timers();
}

}  // namespace orderflow::runtime
