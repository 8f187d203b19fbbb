// Faults injected where the store meets the disk (the SQLite VFS of
// fault_injection.h, as leveldb's fault-injecting Env): a commit whose
// writes fail loses its batch as a whole (nothing of it was acknowledged)
// and the engine goes on; a full disk says so; a failure inside one input
// undoes that input alone and the batch goes on.
#include <gmock/gmock.h>
#include <sqlite3.h>

#include <thread>

#include "runtime/engine/engine_thread.h"
#include "runtime/store/fault_injection.h"
#include "tests/runtime/engine_fixture.h"

namespace orderflow::runtime::testing {
namespace {

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fault_injection::reset();
    lock_.emplace(WriterLock::acquire(db(), "fault test"));
    open();
    EngineChoice interp;
    interp.kind = "interp";
    ASSERT_EQ(deploy_bundle(*store_, kExample, 0, interp).status, DeployResult::Status::Deployed);
    start();
    clock_.set(at("2026-11-20T06:00:00Z"));
  }
  void TearDown() override { fault_injection::reset(); }
  void open() {
    SqliteOptions options;
    options.sync_full = false;
    options.vfs = fault_injection::vfs_name();
    store_ = open_sqlite_store(db(), options);
  }
  void start() {
    EngineOptions options;
    options.engine.kind = "interp";
    engine_ = std::make_unique<OrderEngine>(*store_, *lock_, clock_, options);
  }
  Ack submit(const nlohmann::json& input) { return engine_->submit(read_input(input, "test")); }
  std::string db() const { return dir_.file("a.db"); }
  // What another connection sees: what was committed.
  std::unique_ptr<Store> looking() { return open_sqlite_store(db(), {.read_only = true}); }

  TempDir dir_;
  ManualClock clock_;
  std::optional<WriterLock> lock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<OrderEngine> engine_;
};

TEST_F(FaultTest, FailedCommitLosesTheBatchNotTheEngine) {
  submit(example_order("amazon-express-prepaid.json"));
  submit(example_order("flipkart-cod-high-value.json"));
  fault_injection::fail_writes("a.db", 1);
  EXPECT_THROW(engine_->commit(), StoreError);
  engine_->abort();
  fault_injection::reset();
  auto after = looking();
  EXPECT_EQ(after->orders().count(), 0);
  EXPECT_TRUE(after->journal().of_order("AMZ-407-1184403").empty());
  EXPECT_TRUE(after->orders().due_timers(INT64_MAX, 10).empty());
  EXPECT_EQ(after->stock().row("BLR-DS2", "KURTA-M-IND")->reserved, 0) << "the reservation went with its batch";
  // Sent again, both are new: nothing of the failed batch was kept, and the
  // engine's own memory (stock, orders, timers) forgot it too.
  EXPECT_EQ(submit(example_order("amazon-express-prepaid.json")).status, Ack::Status::Stored);
  EXPECT_EQ(submit(example_order("flipkart-cod-high-value.json")).status, Ack::Status::Stored);
  engine_->commit();
  after = looking();
  EXPECT_EQ(after->orders().count(), 2);
  EXPECT_EQ(after->orders().get("FK-OD33120099812")->state, "held");
  EXPECT_EQ(after->stock().row("BLR-DS2", "KURTA-M-IND")->reserved, 2);
}

TEST_F(FaultTest, FullDiskFailsTheBatchWithAClearMessage) {
  submit(example_order("amazon-express-prepaid.json"));
  engine_->commit();
  fault_injection::fill_disk_after("a.db", 0);
  submit(example_order("flipkart-cod-high-value.json"));
  try {
    engine_->commit();
    FAIL() << "committed to a full disk";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("is full"));
  }
  engine_->abort();
  fault_injection::reset();
  EXPECT_EQ(submit(example_order("flipkart-cod-high-value.json")).status, Ack::Status::Stored);
  engine_->commit();
  EXPECT_EQ(looking()->orders().count(), 2);
}

// The engine thread answers every input of a failed batch "send again",
// and goes on with the next.
TEST_F(FaultTest, EngineThreadAnswersAFailedBatchAndGoesOn) {
  EngineThread thread(*engine_, clock_, {});
  std::vector<Ack> answers;
  std::mutex m;
  auto keep = [&](const Ack& a) {
    std::lock_guard lock(m);
    answers.push_back(a);
  };
  fault_injection::fail_writes("a.db", 1);
  thread.post(read_input(example_order("amazon-express-prepaid.json"), "t"), keep);
  thread.flush();
  fault_injection::reset();
  thread.post(read_input(example_order("amazon-express-prepaid.json"), "t"), keep);
  thread.flush();
  thread.stop();
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].status, Ack::Status::Failed);
  EXPECT_THAT(answers[0].message, ::testing::HasSubstr("send it again"));
  EXPECT_EQ(answers[1].status, Ack::Status::Stored);
  EXPECT_EQ(looking()->orders().count(), 1);
}

// A timer whose batch cannot be written is not lost and does not end the
// engine: the failure is reported, and the timer fires once the disk takes
// writes again (serve's timers used to be able to end the server this way).
TEST_F(FaultTest, TimerThatCannotBeStoredFiresLaterAndTheEngineGoesOn) {
  submit(example_order("flipkart-cod-high-value.json"));  // held for 24h
  engine_->commit();
  std::atomic<int> failures = 0;
  std::vector<Ack> fired;
  std::mutex m;
  EngineThread::Options options;
  options.on_failure = [&](const std::string&) { ++failures; };
  options.on_timers = [&](const std::vector<Ack>& acks) {
    std::lock_guard lock(m);
    fired.insert(fired.end(), acks.begin(), acks.end());
  };
  EngineThread thread(*engine_, clock_, options);
  fault_injection::fail_writes("a.db", 1000000);
  clock_.set(at("2026-11-21T07:00:00Z"));
  thread.wake();
  for (int i = 0; i < 200 && failures == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_GT(failures, 0);
  EXPECT_EQ(looking()->orders().get("FK-OD33120099812")->state, "held");
  fault_injection::reset();
  thread.wake();
  for (int i = 0; i < 300 && looking()->orders().get("FK-OD33120099812")->state != "cancelled"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  thread.stop();
  EXPECT_EQ(looking()->orders().get("FK-OD33120099812")->state, "cancelled");
  std::lock_guard lock(m);
  EXPECT_TRUE(std::any_of(fired.begin(), fired.end(), [](const Ack& a) { return a.state == "cancelled"; }));
}

// An order whose stored text no longer decodes (written by hand, or by a
// schema it no longer fits) fails the event on it; the batch's other inputs
// are kept, and so is the failed input, as a dead letter.
TEST_F(FaultTest, FailureInsideOneInputUndoesOnlyThatInput) {
  submit(example_order("amazon-express-prepaid.json"));
  submit(example_order("woocommerce-split-shipment.json"));
  engine_->commit();
  engine_.reset();
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db().c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw, "UPDATE orders SET order_text = '{\"id\": \"WC-727\"}' WHERE order_id = 'WC-727'",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
  }
  start();
  int64_t reserved_before = looking()->stock().row("BLR-DS1", "KURTA-M-IND")->reserved;
  nlohmann::json pack_broken = {{"type", "event"}, {"order_id", "WC-727"}, {"event", "pack"}};
  nlohmann::json pack = {{"type", "event"}, {"order_id", "AMZ-407-1184403"}, {"event", "pack"}};
  EXPECT_EQ(submit(pack).status, Ack::Status::Stored);
  Ack failed = submit(pack_broken);
  EXPECT_EQ(failed.status, Ack::Status::Invalid);
  EXPECT_THAT(failed.message, ::testing::HasSubstr("no longer decodes"));
  engine_->commit();
  auto after = looking();
  EXPECT_EQ(after->orders().get("AMZ-407-1184403")->state, "packed");
  EXPECT_EQ(after->orders().get("WC-727")->state, "allocated") << "the failed event changed nothing";
  EXPECT_EQ(after->stock().row("BLR-DS1", "KURTA-M-IND")->reserved, reserved_before);
  ASSERT_EQ(after->dead_letters().list().size(), 1u) << "the input is kept for replay";
  EXPECT_THAT(after->dead_letters().list()[0].body, ::testing::HasSubstr("WC-727"));
}

TEST_F(FaultTest, SecondEngineOnTheDatabaseIsRefusedAndToldWho) {
  try {
    WriterLock::acquire(db(), "orderflow run --db a.db");
    FAIL() << "two engines got the database";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("is being written by `fault test` (pid "));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("orderflow import"));
  }
  std::optional<LockHolder> holder = WriterLock::holder(db());
  ASSERT_TRUE(holder);
  EXPECT_EQ(holder->pid, getpid());
  engine_.reset();
  lock_.reset();
  EXPECT_FALSE(WriterLock::holder(db())) << "a released lock names nobody";
  EXPECT_NO_THROW(WriterLock::acquire(db(), "next"));
}

}  // namespace
}  // namespace orderflow::runtime::testing
