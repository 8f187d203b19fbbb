#pragma once
// One thread drives the engine. Everything that has inputs for it (the
// intake's decider, the HTTP API, `run`'s reader, the timers) posts them
// here with a completion; this thread decides them in the order posted and
// commits them in groups, as leveldb's writer queue does: whatever was
// queued while the last commit ran goes into the next. Timers fire from
// here too, when the clock says they are due.
//
// A batch is acknowledged only once it survives a power loss. The engine
// thread commits it and goes on to decide the next; a second thread, the
// syncer, waits for the disk to confirm what was committed (one sync for
// every batch committed meanwhile), then runs the batches' completions, in
// order. A batch that could not be committed is answered "send again"; a
// sync the disk refuses ends the engine (what the disk holds is then not
// known), and every input after it is answered so.
//
// Thread safety: post(), post_task(), flush(), wake() and stop() may be
// called from any thread. Tasks run on the engine thread; completions on
// the syncer, in the order their inputs were posted. Both must be quick and
// must not call flush() or stop().
//
// Locks: `mutex_` guards the input queue and the flags beside it;
// `synced_mutex_` guards the queue of committed batches waiting for their
// sync. Neither is held while the engine runs or the disk syncs, and
// neither is taken while the other is held. The engine is touched by the
// engine thread alone (its sync() only flushes a file).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "runtime/engine/order_engine.h"

namespace orderflow::runtime {

class EngineThread {
 public:
  using Completion = std::function<void(const Ack&)>;
  using Task = std::function<void(OrderEngine&)>;

  enum class Timing {
    // The engine's clock is its own (the system's): inputs are applied when
    // they come, timers fire when they are due.
    Live,
    // The clock follows the inputs (`run --clock events`): before each input
    // it moves to the input's time, never back, and the timers due in
    // between fire at their own moments. An input stamped before the clock
    // is applied at the clock, and its acknowledgement says so.
    Replay,
  };

  struct Options {
    Timing timing = Timing::Live;
    // Inputs in one commit at most. Live timing commits whatever came while
    // the last commit ran; Replay timing waits for a whole batch (or a task).
    size_t max_batch = 2048;
    size_t queue_limit = 8192;  // post() waits while this many wait
    // What fired timers did, after the batch they are in committed (or failed).
    std::function<void(const std::vector<Ack>&)> on_timers;
    // A batch could not be committed: its inputs were answered Failed.
    std::function<void(const std::string&)> on_failure;
    // How often to look for a deployment made live since (Live timing).
    std::chrono::milliseconds follow_live_every{1000};
  };

  // REQUIRES: in Replay timing, `replay_clock` is the clock `engine` reads.
  EngineThread(OrderEngine& engine, const Clock& clock, Options options, ManualClock* replay_clock = nullptr);
  ~EngineThread();
  EngineThread(const EngineThread&) = delete;
  EngineThread& operator=(const EngineThread&) = delete;

  // Queues an input; `done` runs once it is durable (or its batch failed).
  // Waits while the queue is full.
  void post(Input input, Completion done);
  // Queues several inputs at once, in order: one wake of the engine thread
  // for all of them, so that it decides them in one batch, not one by one.
  void post_all(std::vector<std::pair<Input, Completion>> inputs);
  // Runs `task` on the engine thread between inputs, in order with them;
  // what it writes is committed with the batch. `done` runs after that commit.
  void post_task(Task task, std::function<void()> done = {});
  // In Replay timing: moves the clock to `until` (never back), firing the
  // timers due by then at their own moments.
  void advance_to(int64_t until);
  // Waits until everything posted so far is decided, committed and answered.
  void flush();
  // The clock moved (a test's manual clock): look at the timers now.
  void wake();
  // Answers what is queued, then ends the thread. Called by the destructor.
  void stop();

  // The bundle new orders are decoded against where they are posted.
  std::shared_ptr<const check::CheckedBundle> live_bundle() const { return live_bundle_.load(); }
  // Batches committed so far, and inputs in them: for /metrics.
  int64_t batches() const { return batches_.load(); }
  size_t queued() const;

 private:
  struct Posted {
    std::variant<Input, Task> work;
    Completion done;
    std::function<void()> task_done;
  };

  // What a batch did, in the order it happened: inputs answered and timers
  // fired in between; `posted` is the index into its batch, or kTimer.
  struct Happened {
    size_t posted;
    Ack ack;
  };
  static constexpr size_t kTimer = SIZE_MAX;
  struct Committed {
    std::vector<Posted> batch;
    std::vector<Happened> happened;
    bool needs_sync = true;  // false: the batch failed, and is answered so as it is
  };

  void run();
  void process(std::vector<Posted>& batch);
  void sync_loop();
  void deliver(Committed& committed);

  OrderEngine& engine_;
  const Clock& clock_;
  Options options_;
  ManualClock* replay_clock_;

  mutable std::mutex mutex_;
  std::condition_variable work_ready_;   // signalled when there is work, a wake or a stop
  std::condition_variable space_ready_;  // signalled when the queue has room
  std::deque<Posted> queue_;             // GUARDED_BY(mutex_)
  size_t tasks_queued_ = 0;              // GUARDED_BY(mutex_)
  bool woken_ = false;                   // GUARDED_BY(mutex_)
  bool stopping_ = false;                // GUARDED_BY(mutex_)

  std::mutex synced_mutex_;
  std::condition_variable synced_ready_;
  std::deque<Committed> committed_;      // GUARDED_BY(synced_mutex_)
  bool sync_stopping_ = false;           // GUARDED_BY(synced_mutex_)
  std::atomic<bool> disk_failed_{false};  // a sync failed: nothing more is taken
  std::string disk_failure_;             // set before disk_failed_, read after
  std::thread syncer_;
  // While a batch is decided: how a task reports timers it fired (engine thread only).
  std::function<void(std::vector<Ack>)> report_fired_;
  std::atomic<int64_t> batches_{0};
  // The live deployment's bundle, for posters to decode new orders against.
  std::atomic<std::shared_ptr<const check::CheckedBundle>> live_bundle_;
  std::chrono::steady_clock::time_point followed_live_ = std::chrono::steady_clock::now();
  std::thread thread_;
};

}  // namespace orderflow::runtime
