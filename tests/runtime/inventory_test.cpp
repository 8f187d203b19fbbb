// Inventory: reservations made with the routing decision, released on
// cancellation and re-routing, consumed by shipping; restocks wake
// backordered orders oldest first; threads racing for the last units never
// oversell; what channels may sell follows every change.
#include <gmock/gmock.h>

#include <fmt/format.h>

#include <thread>

#include "runtime/engine/engine_thread.h"
#include "runtime/engine/explain.h"
#include "runtime/store/projection.h"
#include "tests/runtime/engine_fixture.h"

namespace orderflow::runtime::testing {
namespace {

using ::testing::HasSubstr;

const std::string kLastUnits = std::string(ORDERFLOW_SOURCE_DIR) + "/tests/runtime/bundles/last-units";

class InventoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lock_.emplace(WriterLock::acquire(dir_.file("stock.db"), "inventory test"));
    store_ = open_sqlite_store(dir_.file("stock.db"), {.sync_full = false});
    EngineChoice interp;
    interp.kind = "interp";
    DeployResult r = deploy_bundle(*store_, kLastUnits, at("2026-11-19T00:00:00Z"), interp);
    ASSERT_EQ(r.status, DeployResult::Status::Deployed) << r.message << r.diagnostics;
    clock_.set(at("2026-11-20T06:00:00Z"));
    EngineOptions options;
    options.engine = interp;
    engine_ = std::make_unique<OrderEngine>(*store_, *lock_, clock_, options);
  }
  Ack submit(const nlohmann::json& input) {
    clock_.advance(1000);
    Ack ack = engine_->submit(read_input(input, "test"));
    engine_->commit();
    return ack;
  }
  Ack event(const std::string& order, const std::string& name, nlohmann::json extra = {}) {
    nlohmann::json e = {{"type", "event"}, {"order_id", order}, {"event", name}};
    if (extra.is_object()) e.update(extra);
    return submit(e);
  }
  StockRow row(const std::string& node, const std::string& sku) { return *store_->stock().row(node, sku); }
  StoredOrder order(const std::string& id) { return *store_->orders().get(id); }
  // The explanation of the order's last decision by `policy`, derived again from the journal.
  Explanation explanation(const std::string& id, const std::string& policy) {
    std::vector<journal::Record> records = store_->journal().of_order(id);
    Explainer explainer(*store_);
    Explanation found;
    for (size_t r = 0; r < records.size(); ++r)
      for (size_t e = 0; e < records[r].entries.size(); ++e)
        if (auto* d = std::get_if<journal::Decided>(&records[r].entries[e]); d && d->policy == policy)
          found = explainer.explain(records, r, e);
    return found;
  }

  TempDir dir_;
  ManualClock clock_;
  std::optional<WriterLock> lock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<OrderEngine> engine_;
};

TEST_F(InventoryTest, StockStartsFromTheBundleAndIsLogged) {
  EXPECT_EQ(row("BLR-DS1", "LAST-UNITS").on_hand, 3);
  EXPECT_EQ(row("DEL-WH1", "LAST-UNITS").on_hand, 2);
  int seeded = 0;
  store_->stock().scan_log([&](const StockChange& c) { seeded += c.cause == "seeded from deployment 1"; });
  EXPECT_EQ(seeded, 5) << "rows with nothing in them are not seeded";
}

// A deployment that adds a node seeds that node's stock, once; the rows the
// store has already are never seeded again, whatever the new bundle says.
TEST_F(InventoryTest, ANewDeploymentSeedsOnlyTheStockRowsItAdds) {
  submit(order_of("BEFORE", {{"LAST-UNITS", 1}}));
  TempDir copy;
  std::filesystem::copy(kLastUnits, copy.path(), std::filesystem::copy_options::recursive);
  std::ofstream(copy.path() + "/data/nodes.csv", std::ios::app)
      << "BOM-WH1,Mumbai warehouse,warehouse,true,19.0760,72.8777,400001,IN,20,500,3\n";
  std::ofstream(copy.path() + "/data/stock.csv", std::ios::app) << "BOM-WH1,LAST-UNITS,7,0,0\nBLR-DS1,NEW-SKU,4,0,0\n";
  // The bundle now says BLR-DS1 has 3 of LAST-UNITS: it had, and has 3 still, of which one is reserved.
  EngineChoice interp;
  interp.kind = "interp";
  ASSERT_EQ(deploy_bundle(*store_, copy.path(), at("2026-11-20T07:00:00Z"), interp).status,
            DeployResult::Status::Deployed);
  EXPECT_TRUE(engine_->follow_live());
  EXPECT_EQ(row("BOM-WH1", "LAST-UNITS").on_hand, 7);
  EXPECT_EQ(row("BLR-DS1", "NEW-SKU").on_hand, 4);
  EXPECT_EQ(row("BLR-DS1", "LAST-UNITS").on_hand, 3);
  EXPECT_EQ(row("BLR-DS1", "LAST-UNITS").reserved, 1);
  int seeded_twice = 0;
  std::map<std::pair<std::string, std::string>, int> seeds;
  store_->stock().scan_log([&](const StockChange& c) {
    if (c.cause.rfind("seeded from deployment", 0) == 0) seeded_twice += ++seeds[{c.node, c.sku}] > 1;
  });
  EXPECT_EQ(seeded_twice, 0);
  EXPECT_EQ(submit(order_of("AFTER", {{"LAST-UNITS", 5}})).state, "allocated") << "the new node's stock is routed";
}

TEST_F(InventoryTest, ThreadsRacingForTheLastUnitsNeverOversell) {
  // Eight threads post to the engine thread, as HTTP handlers and the intake's decider do.
  constexpr int kThreads = 8, kEach = 4;
  EngineThread engine_thread(*engine_, clock_, {});
  std::atomic<int> answered = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        engine_thread.post(read_input(order_of(fmt::format("RACE-{}-{}", t, i), {{"LAST-UNITS", 1}}), "thread"),
                           [&](const Ack& ack) { answered += ack.status == Ack::Status::Stored; });
    });
  for (auto& th : threads) th.join();
  engine_thread.flush();
  engine_thread.stop();
  EXPECT_EQ(answered, kThreads * kEach);
  int allocated = 0, backordered = 0;
  store_->orders().scan([&](const StoredOrder& o) {
    allocated += o.state == "allocated";
    backordered += o.state == "backordered";
  });
  EXPECT_EQ(allocated, 5) << "exactly the five units there were";
  EXPECT_EQ(backordered, kThreads * kEach - 5);
  for (const char* node : {"BLR-DS1", "DEL-WH1"}) {
    StockRow r = row(node, "LAST-UNITS");
    EXPECT_EQ(r.reserved, r.on_hand) << node;
    EXPECT_LE(r.reserved, r.on_hand) << node;
  }
}

TEST_F(InventoryTest, OrderNoNodeCanFillIsSplitOverTheFewestNodes) {
  Ack ack = submit(order_of("SPLIT-1", {{"KURTA-M-IND", 1}, {"SCARF-WOOL-GRY", 1}}));
  EXPECT_EQ(ack.state, "allocated");
  StoredOrder o = order("SPLIT-1");
  ASSERT_EQ(o.allocations.size(), 2u);
  EXPECT_EQ(o.allocations[0].node, "BLR-DS1");
  EXPECT_EQ(o.allocations[0].sku, "KURTA-M-IND");
  EXPECT_EQ(o.allocations[1].node, "DEL-WH1");
  EXPECT_EQ(o.allocations[1].sku, "SCARF-WOOL-GRY");
  EXPECT_EQ(row("BLR-DS1", "KURTA-M-IND").reserved, 1);
  // The same order again: no kurta is left anywhere.
  EXPECT_EQ(submit(order_of("SPLIT-2", {{"KURTA-M-IND", 1}, {"SCARF-WOOL-GRY", 1}})).state, "backordered");
}

TEST_F(InventoryTest, RestockWakesBackorderedOrdersOldestFirst) {
  submit(order_of("FIRST", {{"KURTA-M-IND", 1}}));  // takes the only kurta
  EXPECT_EQ(submit(order_of("OLDER", {{"KURTA-M-IND", 1}})).state, "backordered");
  EXPECT_EQ(submit(order_of("NEWER", {{"KURTA-M-IND", 1}})).state, "backordered");
  Ack receipt = submit({{"type", "stock"}, {"node", "DEL-WH1"}, {"sku", "KURTA-M-IND"}, {"received", 1},
                        {"reason", "PO-7781"}, {"event_id", "grn-7781"}});
  EXPECT_EQ(receipt.status, Ack::Status::Stored);
  EXPECT_EQ(order("OLDER").state, "allocated");
  EXPECT_EQ(order("OLDER").allocations[0].node, "DEL-WH1");
  EXPECT_EQ(order("NEWER").state, "backordered");
  EXPECT_EQ(row("DEL-WH1", "KURTA-M-IND").reserved, 1);
  // The same goods receipt delivered twice is counted once.
  EXPECT_EQ(submit({{"type", "stock"}, {"node", "DEL-WH1"}, {"sku", "KURTA-M-IND"}, {"received", 1},
                    {"event_id", "grn-7781"}})
                .status,
            Ack::Status::Duplicate);
  EXPECT_EQ(row("DEL-WH1", "KURTA-M-IND").on_hand, 1);
}

TEST_F(InventoryTest, CancellingReleasesAndShippingConsumes) {
  submit(order_of("CANCEL-ME", {{"LAST-UNITS", 2}}));
  EXPECT_EQ(row("BLR-DS1", "LAST-UNITS").reserved, 2);
  event("CANCEL-ME", "cancel");
  EXPECT_EQ(row("BLR-DS1", "LAST-UNITS").reserved, 0);
  EXPECT_TRUE(order("CANCEL-ME").allocations.empty());

  submit(order_of("SHIP-ME", {{"LAST-UNITS", 3}}));
  event("SHIP-ME", "pack");
  event("SHIP-ME", "ship", {{"lines", {{{"line", 0}, {"quantity", 1}}}}});
  EXPECT_EQ(row("BLR-DS1", "LAST-UNITS").on_hand, 2);
  EXPECT_EQ(row("BLR-DS1", "LAST-UNITS").reserved, 2);
  event("SHIP-ME", "ship");
  EXPECT_EQ(row("BLR-DS1", "LAST-UNITS").on_hand, 0);
  EXPECT_EQ(row("BLR-DS1", "LAST-UNITS").reserved, 0);
  EXPECT_TRUE(order("SHIP-ME").allocations.empty());
}

TEST_F(InventoryTest, NodeThatRejectsTheAllocationIsLeftOutOfTheNextRouting) {
  submit(order_of("PICKY", {{"LAST-UNITS", 1}}));
  EXPECT_EQ(order("PICKY").allocations[0].node, "BLR-DS1");
  Ack ack = event("PICKY", "reject_allocation", {{"node", "BLR-DS1"}, {"reason", "damaged in the bin"}});
  EXPECT_EQ(ack.status, Ack::Status::Stored) << ack.message;
  EXPECT_EQ(ack.state, "allocated");
  StoredOrder o = order("PICKY");
  EXPECT_EQ(o.allocations[0].node, "DEL-WH1");
  EXPECT_THAT(o.excluded_nodes, ::testing::ElementsAre("BLR-DS1"));
  EXPECT_EQ(row("BLR-DS1", "LAST-UNITS").reserved, 0);
  EXPECT_EQ(row("DEL-WH1", "LAST-UNITS").reserved, 1);
  // Refused by every node that has the SKU: it waits for stock.
  EXPECT_EQ(event("PICKY", "reject_allocation", {{"node", "DEL-WH1"}}).state, "backordered");
  EXPECT_EQ(event("PICKY", "reject_allocation").status, Ack::Status::Refused);
}

TEST_F(InventoryTest, ChannelsAreToldWhatTheyMaySellWhenItChanges) {
  size_t before = store_->outbox().after(0, 10000).size();
  EXPECT_EQ(store_->outbox().advertised("amazon", "LAST-UNITS"), 5);
  submit(order_of("ONE", {{"LAST-UNITS", 1}}));
  EXPECT_EQ(store_->outbox().advertised("amazon", "LAST-UNITS"), 4);
  auto messages = store_->outbox().after(0, 10000);
  ASSERT_GT(messages.size(), before);
  const OutboxMessage& last = messages.back();
  EXPECT_EQ(last.kind, "inventory_update");
  EXPECT_EQ(last.sku, "LAST-UNITS");
  EXPECT_EQ(last.quantity, 4);
  EXPECT_EQ(last.previous, 5);
  size_t now = messages.size();
  submit(order_of("NO-CHANGE", {{"NOT-STOCKED", 1}}));
  EXPECT_EQ(store_->outbox().after(0, 10000).size(), now) << "nothing changed, nothing to tell";
}

TEST_F(InventoryTest, BadStockInputsAreRefusedAndChangeNothing) {
  submit(order_of("HOLDS-TWO", {{"LAST-UNITS", 2}}));
  Ack unknown = submit({{"type", "stock"}, {"node", "NOWHERE"}, {"sku", "LAST-UNITS"}, {"received", 1}});
  EXPECT_EQ(unknown.status, Ack::Status::Invalid);
  EXPECT_THAT(unknown.message, HasSubstr("no node 'NOWHERE'"));
  Ack below = submit({{"type", "stock"}, {"node", "BLR-DS1"}, {"sku", "LAST-UNITS"}, {"on_hand", 1}});
  EXPECT_EQ(below.status, Ack::Status::Invalid);
  EXPECT_THAT(below.message, HasSubstr("2 are reserved"));
  EXPECT_EQ(row("BLR-DS1", "LAST-UNITS").on_hand, 3);
}

TEST_F(InventoryTest, NodeAtItsDailyCapacityTakesNoMoreOrdersThatDay) {
  // BLR-DS1 ships 3 orders a day.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(submit(order_of(fmt::format("TEE-{}", i), {{"TEE-M-BLK", 1}})).state, "allocated");
  EXPECT_EQ(submit(order_of("TEE-3", {{"TEE-M-BLK", 1}})).state, "backordered");
  Explanation routing = explanation("TEE-3", "routing");
  ASSERT_TRUE(routing.available) << routing.why_not;
  EXPECT_EQ(routing.mismatch, "");
  bool explained = false;
  for (const engine::NodeTrace& n : routing.outcome.nodes)
    explained |= n.node_id == "BLR-DS1" && n.status == "excluded: at its daily capacity (3 of 3 orders today)";
  EXPECT_TRUE(explained);
  // A new day, a new capacity; a restart counts the day from the store.
  clock_.set(at("2026-11-21T00:00:01Z"));
  EXPECT_EQ(submit(order_of("TEE-4", {{"TEE-M-BLK", 1}})).state, "allocated");
  EngineOptions options;
  options.engine.kind = "interp";
  engine_.reset();
  engine_ = std::make_unique<OrderEngine>(*store_, *lock_, clock_, options);
  EXPECT_EQ(submit(order_of("TEE-5", {{"TEE-M-BLK", 1}})).state, "allocated");
  EXPECT_EQ(submit(order_of("TEE-6", {{"TEE-M-BLK", 1}})).state, "allocated");
  EXPECT_EQ(submit(order_of("TEE-7", {{"TEE-M-BLK", 1}})).state, "backordered");
}

TEST_F(InventoryTest, StockTableRebuildsFromItsLog) {
  submit(order_of("A", {{"LAST-UNITS", 2}}));
  submit(order_of("B", {{"KURTA-M-IND", 1}, {"SCARF-WOOL-GRY", 2}}));
  event("A", "cancel");
  event("B", "pack");
  event("B", "ship");
  submit({{"type", "stock"}, {"node", "DEL-WH1"}, {"sku", "SCARF-WOOL-GRY"}, {"on_hand", 9}});
  std::vector<std::tuple<std::string, std::string, int64_t, int64_t, int64_t>> before, after;
  store_->stock().scan([&](const StockRow& r) { before.push_back({r.node, r.sku, r.on_hand, r.reserved, r.safety_stock}); });
  rebuild_projections(*store_);
  store_->stock().scan([&](const StockRow& r) { after.push_back({r.node, r.sku, r.on_hand, r.reserved, r.safety_stock}); });
  EXPECT_EQ(after, before);
  EXPECT_EQ(order("B").allocations.size(), 0u);
}

}  // namespace
}  // namespace orderflow::runtime::testing
