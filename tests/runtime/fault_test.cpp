// Faults injected through the Store interface: a commit that fails loses
// its batch as a whole (nothing of it was acknowledged) and the engine goes
// on; a failure inside one input undoes that input alone.
#include <gmock/gmock.h>

#include "tests/runtime/engine_fixture.h"

namespace orderflow::runtime::testing {
namespace {

// Passes everything to a real store, failing where told.
class FaultyStore final : public Store {
 public:
  explicit FaultyStore(Store& inner) : s_(inner) {}
  int fail_commits = 0;          // the next N commits fail (after rolling back)
  std::string fail_put_order;    // put_order of this order fails

  void begin() override { s_.begin(); }
  void commit() override {
    if (fail_commits > 0) {
      --fail_commits;
      throw StoreError("injected: disk I/O error", 10);
    }
    s_.commit();
  }
  void rollback() override { s_.rollback(); }
  bool in_transaction() const override { return s_.in_transaction(); }
  void mark() override { s_.mark(); }
  void release_mark() override { s_.release_mark(); }
  void undo_to_mark() override { s_.undo_to_mark(); }
  bool claim(const IntakeKey& k, const std::string& o) override { return s_.claim(k, o); }
  std::optional<std::string> claimed(const IntakeKey& k) override { return s_.claimed(k); }
  int64_t append(JournalEntry& e) override { return s_.append(e); }
  std::vector<JournalEntry> journal(const std::string& o) override { return s_.journal(o); }
  void scan_journal(const std::function<void(const JournalEntry&)>& v) override { s_.scan_journal(v); }
  void put_order(const StoredOrder& o) override {
    if (o.order_id == fail_put_order) throw std::runtime_error("injected: cannot write this order");
    s_.put_order(o);
  }
  std::optional<StoredOrder> get_order(const std::string& o) override { return s_.get_order(o); }
  void scan_orders(const std::function<void(const StoredOrder&)>& v) override { s_.scan_orders(v); }
  int64_t order_count() override { return s_.order_count(); }
  int64_t add_timer(const Timer& t) override { return s_.add_timer(t); }
  bool delete_timer(int64_t id) override { return s_.delete_timer(id); }
  std::vector<Timer> timers_of(const std::string& o) override { return s_.timers_of(o); }
  std::vector<Timer> due_timers(int64_t u, size_t l) override { return s_.due_timers(u, l); }
  std::optional<int64_t> next_due() override { return s_.next_due(); }
  int64_t add_deployment(const Deployment& d) override { return s_.add_deployment(d); }
  void set_live(int64_t d) override { s_.set_live(d); }
  std::optional<int64_t> live() override { return s_.live(); }
  std::vector<Deployment> deployments(bool f) override { return s_.deployments(f); }
  std::optional<Deployment> deployment(int64_t id) override { return s_.deployment(id); }
  int64_t add_dead_letter(const DeadLetter& d) override { return s_.add_dead_letter(d); }
  std::vector<DeadLetter> dead_letters() override { return s_.dead_letters(); }
  void clear_projections() override { s_.clear_projections(); }
  std::optional<StockRow> stock(const std::string& n, const std::string& k) override { return s_.stock(n, k); }
  void put_stock(const StockRow& r) override { s_.put_stock(r); }
  void scan_stock(const std::function<void(const StockRow&)>& v) override { s_.scan_stock(v); }
  int64_t log_stock(StockChange& c) override { return s_.log_stock(c); }
  void scan_stock_log(const std::function<void(const StockChange&)>& v) override { s_.scan_stock_log(v); }
  std::vector<std::string> orders_in_state(const std::string& st) override { return s_.orders_in_state(st); }
  std::map<std::string, int64_t> orders_reserved_since(int64_t t) override { return s_.orders_reserved_since(t); }
  std::optional<int64_t> advertised(const std::string& c, const std::string& k) override { return s_.advertised(c, k); }
  void put_advertised(const std::string& c, const std::string& k, int64_t q) override { s_.put_advertised(c, k, q); }
  int64_t add_outbox(const OutboxMessage& m) override { return s_.add_outbox(m); }
  std::vector<OutboxMessage> outbox(bool u, size_t l) override { return s_.outbox(u, l); }
  std::vector<OutboxMessage> outbox_after(int64_t id, size_t l) override { return s_.outbox_after(id, l); }
  std::vector<JournalEntry> journal_after(int64_t seq, size_t l) override { return s_.journal_after(seq, l); }
  int64_t last_journal_seq() override { return s_.last_journal_seq(); }

 private:
  Store& s_;
};

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    real_ = open_sqlite_store(dir_.file("a.db"), {.sync_full = false});
    EngineChoice interp;
    interp.kind = "interp";
    ASSERT_EQ(deploy_bundle(*real_, kExample, 0, interp).status, DeployResult::Status::Deployed);
    faulty_ = std::make_unique<FaultyStore>(*real_);
    EngineOptions options;
    options.engine = interp;
    engine_ = std::make_unique<OrderEngine>(*faulty_, clock_, options);
    clock_.set(at("2026-11-20T06:00:00Z"));
  }
  TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<Store> real_;
  std::unique_ptr<FaultyStore> faulty_;
  std::unique_ptr<OrderEngine> engine_;
};

TEST_F(FaultTest, FailedCommitLosesTheBatchNotTheEngine) {
  engine_->submit(example_order("amazon-express-prepaid.json"), "test");
  engine_->submit(example_order("flipkart-cod-high-value.json"), "test");
  faulty_->fail_commits = 1;
  EXPECT_THROW(engine_->commit(), StoreError);
  engine_->abort();
  EXPECT_EQ(real_->order_count(), 0);
  EXPECT_TRUE(real_->journal("AMZ-407-1184403").empty());
  EXPECT_TRUE(real_->due_timers(INT64_MAX, 10).empty());
  // Sent again, both are new: nothing of the failed batch was kept.
  EXPECT_EQ(engine_->submit(example_order("amazon-express-prepaid.json"), "test").status, Ack::Status::Stored);
  EXPECT_EQ(engine_->submit(example_order("flipkart-cod-high-value.json"), "test").status, Ack::Status::Stored);
  engine_->commit();
  EXPECT_EQ(real_->order_count(), 2);
  EXPECT_EQ(real_->get_order("FK-OD33120099812")->state, "held");
}

TEST_F(FaultTest, FailureInsideOneInputUndoesOnlyThatInput) {
  faulty_->fail_put_order = "FK-OD33120099812";
  EXPECT_EQ(engine_->submit(example_order("amazon-express-prepaid.json"), "test").status, Ack::Status::Stored);
  Ack failed = engine_->submit(example_order("flipkart-cod-high-value.json"), "test");
  EXPECT_EQ(failed.status, Ack::Status::Invalid);
  EXPECT_THAT(failed.message, ::testing::HasSubstr("injected: cannot write this order"));
  EXPECT_EQ(engine_->submit(example_order("shopify-cod-repeat-rto.json"), "test").status, Ack::Status::Stored);
  engine_->commit();
  EXPECT_EQ(real_->order_count(), 2);
  EXPECT_TRUE(real_->journal("FK-OD33120099812").empty());
  EXPECT_FALSE(real_->claimed({"flipkart", "OD331200998121000", "order"}));
  ASSERT_EQ(real_->dead_letters().size(), 1u) << "the input is kept for replay";
  // Once the fault is gone, the dead letter's order goes through.
  faulty_->fail_put_order.clear();
  EXPECT_EQ(engine_->submit(nlohmann::json::parse(real_->dead_letters()[0].body), "replay").status,
            Ack::Status::Stored);
}

}  // namespace
}  // namespace orderflow::runtime::testing
