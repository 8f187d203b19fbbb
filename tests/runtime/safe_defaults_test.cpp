// The defaults an analyst assumes without reading the reference, held by
// the engine: an inactive node is never used, what routing keeps back is
// never offered to a channel, an impossible order is refused with the path
// of what is wrong, an acceptance-only bundle's orders can be fulfilled, a
// second deployment seeds only the stock rows it adds, and a restart never
// turns a valid order into a dead letter.
#include <gmock/gmock.h>

#include "runtime/engine/explain.h"
#include "tests/runtime/engine_fixture.h"

namespace orderflow::runtime::testing {
namespace {

using ::testing::HasSubstr;

const std::string kBundles = std::string(ORDERFLOW_SOURCE_DIR) + "/tests/runtime/bundles/";

// An engine over a fresh database with one of the test bundles deployed.
class BundleEngine {
 public:
  explicit BundleEngine(const std::string& bundle, const std::string& engine = "interp") {
    choice_.kind = engine;
    lock_.emplace(WriterLock::acquire(db(), "safe defaults test"));
    store_ = open_sqlite_store(db(), {.sync_full = false});
    DeployResult r = deploy_bundle(*store_, bundle, at("2026-11-19T00:00:00Z"), choice_);
    EXPECT_EQ(r.status, DeployResult::Status::Deployed) << r.message << r.diagnostics;
    clock_.set(at("2026-11-20T06:00:00Z"));
    start();
  }
  void start() {
    EngineOptions options;
    options.engine = choice_;
    engine_ = std::make_unique<OrderEngine>(*store_, *lock_, clock_, options);
  }
  void restart() {
    engine_.reset();
    store_.reset();
    lock_.reset();
    lock_.emplace(WriterLock::acquire(db(), "safe defaults test"));
    store_ = open_sqlite_store(db(), {.sync_full = false});
    start();
  }
  Ack submit(const nlohmann::json& input) {
    clock_.advance(1000);
    Ack ack = engine_->submit(read_input(input, "test"));
    engine_->commit();
    return ack;
  }
  Ack event(const std::string& order, const std::string& name) {
    return submit({{"type", "event"}, {"order_id", order}, {"event", name}});
  }
  Store& store() { return *store_; }
  OrderEngine& engine() { return *engine_; }
  std::string db() const { return dir_.file("orders.db"); }
  EngineChoice choice_;

 private:
  TempDir dir_;
  ManualClock clock_;
  std::optional<WriterLock> lock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<OrderEngine> engine_;
};

class SafeDefaults : public ::testing::TestWithParam<std::string> {};

TEST_P(SafeDefaults, AnInactiveNodeIsNeverRoutedToThoughNoRuleSaysSo) {
  BundleEngine e(kBundles + "keep-and-inactive", GetParam());
  // NEAR-DS is the nearest, has 50, and is inactive; FAR-WH has 5, of which routing keeps 2.
  Ack ack = e.submit(order_of("INACTIVE-1", {{"KURTA-M-IND", 3}}));
  EXPECT_EQ(ack.state, "allocated");
  std::optional<StoredOrder> o = e.store().orders().get("INACTIVE-1");
  ASSERT_EQ(o->allocations.size(), 1u);
  EXPECT_EQ(o->allocations[0].node, "FAR-WH");
  EXPECT_EQ(e.store().stock().row("NEAR-DS", "KURTA-M-IND")->reserved, 0);
  // The last two units at FAR-WH are kept back: the next order waits.
  EXPECT_EQ(e.submit(order_of("INACTIVE-2", {{"KURTA-M-IND", 1}})).state, "backordered");
  // Its explanation says why NEAR-DS was not used.
  std::vector<journal::Record> history = e.store().journal().of_order("INACTIVE-2");
  Explainer explainer(e.store());
  bool said = false;
  for (size_t r = 0; r < history.size(); ++r)
    for (size_t i = 0; i < history[r].entries.size(); ++i)
      if (auto* d = std::get_if<journal::Decided>(&history[r].entries[i]); d && d->policy == "routing") {
        Explanation x = explainer.explain(history, r, i);
        ASSERT_TRUE(x.available) << x.why_not;
        EXPECT_EQ(x.mismatch, "");
        for (const engine::NodeTrace& n : x.outcome.nodes) said |= n.node_id == "NEAR-DS" && n.status == "inactive: never routed to";
      }
  EXPECT_TRUE(said);
}

TEST_P(SafeDefaults, ChannelsAreNeverOfferedWhatRoutingKeepsBackOrWhatAnInactiveNodeHolds) {
  BundleEngine e(kBundles + "keep-and-inactive", GetParam());
  // FAR-WH: 5 kurtas, 2 kept back by routing: 3 to sell. NEAR-DS's 50 are not for sale.
  EXPECT_EQ(e.store().outbox().advertised("amazon", "KURTA-M-IND"), 3);
  // Scarves: 3 on hand, safety stock 1, routing keeps 2: the larger, 2, is kept; 1 to sell.
  EXPECT_EQ(e.store().outbox().advertised("amazon", "SCARF-WOOL-GRY"), 1);
  e.submit(order_of("KEEP-1", {{"KURTA-M-IND", 1}}));
  EXPECT_EQ(e.store().outbox().advertised("amazon", "KURTA-M-IND"), 2);
  std::vector<OutboxMessage> told = e.store().outbox().after(0, 100);
  ASSERT_FALSE(told.empty());
  EXPECT_EQ(told.back().quantity, 2);
  EXPECT_EQ(told.back().previous, 3);
}

TEST_P(SafeDefaults, ImpossibleOrdersAreRefusedWithThePathOfWhatIsWrong) {
  BundleEngine e(kBundles + "keep-and-inactive", GetParam());
  struct Case {
    std::string what;
    std::function<void(nlohmann::json&)> change;
    std::string path;
  };
  std::vector<Case> cases = {
      {"negative quantity", [](nlohmann::json& o) { o["lines"][0]["quantity"] = -5; }, "$.lines[0].quantity"},
      {"more cancelled than ordered",
       [](nlohmann::json& o) { o["lines"][0]["cancelled_quantity"] = 3; }, "$.lines[0].cancelled_quantity"},
      {"negative total", [](nlohmann::json& o) { o["total"]["amount"] = "-10.00"; }, "$.total.amount"},
      {"a line in another currency",
       [](nlohmann::json& o) { o["lines"][0]["unit_price"]["currency"] = "EUR"; }, "$.lines[0].unit_price.currency"},
      {"no lines", [](nlohmann::json& o) { o["lines"] = nlohmann::json::array(); }, "$.lines"},
      {"every unit cancelled", [](nlohmann::json& o) { o["lines"][0]["cancelled_quantity"] = 2; }, "$.lines"},
  };
  int n = 0;
  for (const Case& c : cases) {
    nlohmann::json o = order_of("IMPOSSIBLE-" + std::to_string(n++), {{"KURTA-M-IND", 2}});
    c.change(o);
    Ack ack = e.submit(o);
    EXPECT_EQ(ack.status, Ack::Status::Invalid) << c.what;
    EXPECT_THAT(ack.message, HasSubstr(c.path + ":")) << c.what;
  }
  EXPECT_EQ(e.store().orders().count(), 0) << "none was decided";
  EXPECT_EQ(e.store().dead_letters().list().size(), cases.size()) << "each is kept to be sent again";
  EXPECT_EQ(e.store().stock().row("FAR-WH", "KURTA-M-IND")->reserved, 0);
}

TEST_P(SafeDefaults, AnAcceptanceOnlyBundlesOrdersAreFulfilled) {
  BundleEngine e(kBundles + "acceptance-only", GetParam());
  Ack ack = e.submit(order_of("SIMPLE-1", {{"KURTA-M-IND", 1}}));
  EXPECT_EQ(ack.state, "accepted");
  EXPECT_EQ(e.event("SIMPLE-1", "pack").state, "packed");
  EXPECT_EQ(e.event("SIMPLE-1", "ship").state, "shipped");
  EXPECT_EQ(e.event("SIMPLE-1", "deliver").state, "delivered");
  nlohmann::json cod = order_of("SIMPLE-2", {{"KURTA-M-IND", 1}});
  cod["payment"]["method"] = "cod";
  cod["total"]["amount"] = "7500.00";
  EXPECT_EQ(e.submit(cod).state, "held");
}

// A restart reads the stock in the store's order, not the bundle's: the
// split order, whose SKUs sit at different nodes, is routed all the same.
TEST_P(SafeDefaults, ARestartNeverTurnsAValidOrderIntoADeadLetter) {
  BundleEngine e(kExample, GetParam());
  e.submit(example_order("amazon-express-prepaid.json"));
  e.restart();
  Ack split = e.submit(example_order("woocommerce-split-shipment.json"));
  EXPECT_EQ(split.status, Ack::Status::Stored) << split.message;
  EXPECT_EQ(split.state, "allocated");
  EXPECT_TRUE(e.store().dead_letters().list().empty());
}

INSTANTIATE_TEST_SUITE_P(Engines, SafeDefaults, ::testing::Values("interp", "jit"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace orderflow::runtime::testing
