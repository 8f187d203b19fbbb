// Stock is conserved over a generated day: 10,000 orders, some cancelled
// (wholly or in part), shipped, delivered or failed and returned to
// origin, returned by their customers, received and graded. Three things
// the engine keeps apart must agree at the end, per node and SKU: the
// stock table, the orders' units (where each is), and their returns
// (what came back and what became of it):
//
//   stock seeded = on hand + quarantined + written off + sent to the vendor
//                  + units shipped from the node and not graded back
//
// and `rebuild` must reproduce the order and stock tables exactly.
#include <fmt/format.h>

#include <fstream>
#include <random>

#include "runtime/store/projection.h"
#include "tests/runtime/engine_fixture.h"

namespace orderflow::runtime::testing {
namespace {

constexpr int kOrders = 10'000;
constexpr int kSkus = 12;
const char* const kNodes[] = {"BLR-WH", "DEL-WH", "MUM-WH"};
constexpr int64_t kSeeded = 6'000;  // of each SKU at each node

std::string sku_name(int k) { return fmt::format("SKU-{:02}", k); }

class ConservationTest : public EngineTest {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(bundle_dir_.file("data"));
    std::ofstream(bundle_dir_.file("policies.flow")) << R"(policy acceptance "Take every order"
version "1"
otherwise accept

policy routing "Cheapest node with stock"
version "1"
use nodes from "data/nodes.csv"
use stock from "data/stock.csv"
rule "Cheapest"
  then route from nodes prefer cheapest
       else backorder

policy returns "Every return, refunded once inspected"
version "1"
otherwise approve refund after inspection

policy disposition "By grade"
version "1"
rule "As new" when unit.grade is A then restock
rule "Opened" when unit.grade is B then quarantine
rule "Damaged" when unit.grade is D then write off
rule "Faulty" when unit.reason is defective then return to vendor
otherwise quarantine

policy ndr "Three tries"
version "1"
rule "Try again" when ndr.attempt < 3 then reattempt
otherwise return to origin
)";
    std::ofstream nodes(bundle_dir_.file("data/nodes.csv"));
    nodes << "id,kind,cost_per_order\n";
    for (size_t n = 0; n < std::size(kNodes); ++n) nodes << kNodes[n] << ",warehouse," << 10 + 5 * n << "\n";
    nodes.close();
    std::ofstream stock(bundle_dir_.file("data/stock.csv"));
    stock << "node,sku,on_hand\n";
    for (const char* node : kNodes)
      for (int k = 0; k < kSkus; ++k) stock << node << "," << sku_name(k) << "," << kSeeded << "\n";
    stock.close();
    EngineTest::SetUp();
  }
  std::string bundle() const override { return bundle_dir_.path(); }

  void take(const nlohmann::json& input, int64_t when) {
    clock_.set(when);
    engine_->fire_due(when, true);
    Ack ack = engine_->submit(read_input(input, "conservation"));
    ASSERT_TRUE(ack.status == Ack::Status::Stored || ack.status == Ack::Status::Refused)
        << input.dump() << ": " << ack.message;
    if (ack.status == Ack::Status::Refused) ++refused_;
    if (++uncommitted_ % 500 == 0) engine_->commit();
  }

  TempDir bundle_dir_;
  int refused_ = 0;
  int uncommitted_ = 0;
};

TEST_P(ConservationTest, StockIsAccountedForOverADayOfReturnsRtosAndCancellations) {
  std::mt19937 rng(20261206);
  auto chance = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const int64_t start = at("2026-12-01T00:00:00Z");
  const int64_t minute = 60'000;
  const char* grades[] = {"A", "A", "A", "B", "C", "D"};
  int rtos = 0, returns = 0, cancels = 0;
  for (int i = 0; i < kOrders; ++i) {
    std::string id = fmt::format("GEN-{:05}", i);
    int64_t t = start + i * 8'000;  // 10,000 orders over a day
    nlohmann::json order = {{"id", id},
                            {"channel", "web"},
                            {"placed_at", model::format_time(t)},
                            {"total", {{"amount", "100.00"}, {"currency", "INR"}}},
                            {"payment", {{"method", chance(30) ? "cod" : "prepaid"}}},
                            {"customer", {{"phone", fmt::format("+91 98450 {:05}", pick(3000))}}},
                            {"ship_to", {{"line1", "1 MG Road"}, {"city", "Bengaluru"}, {"postal_code", "560001"},
                                         {"country", "IN"}}},
                            {"lines", nlohmann::json::array()}};
    int lines = 1 + pick(2);
    for (int l = 0; l < lines; ++l)
      order["lines"].push_back({{"id", std::to_string(l + 1)},
                                {"sku", sku_name((i + 5 * l) % kSkus)},
                                {"quantity", 1 + pick(3)},
                                {"unit_price", {{"amount", "50.00"}, {"currency", "INR"}}}});
    take({{"type", "order"}, {"order", order}}, t);
    auto event = [&](const char* name, int64_t when, nlohmann::json extra = nlohmann::json::object()) {
      nlohmann::json e = {{"type", "event"}, {"order_id", id}, {"event", name}};
      e.update(extra);
      take(e, when);
    };
    if (chance(8)) {  // cancelled before it ships: wholly, or one unit of its first line
      ++cancels;
      if (order["lines"][0]["quantity"].get<int>() > 1 && chance(50)) {
        event("cancel", t + minute, {{"lines", {{{"id", "1"}, {"quantity", 1}}}}, {"initiator", "buyer"}});
      } else {
        event("cancel", t + minute, {{"initiator", "seller"}});
        continue;
      }
    }
    event("pack", t + 2 * minute);
    event("ship", t + 3 * minute, {{"carrier", "Delhivery"}});
    if (chance(12)) {  // failed deliveries: delivered on a later try, or back to origin after the third
      int failures = 1 + pick(3);
      for (int a = 1; a <= failures; ++a)
        take({{"type", "ndr"}, {"order_id", id}, {"reason", "customer_unavailable"}}, t + (60 + a) * minute);
      if (failures == 3) {
        ++rtos;
        if (chance(90)) event("return_received", t + 200 * minute);
        continue;
      }
    }
    event("deliver", t + 100 * minute);
    if (chance(20)) {  // a customer return: a line, or one unit of it
      ++returns;
      nlohmann::json line = {{"id", "1"}};
      if (chance(50)) line["quantity"] = 1;
      take({{"type", "return"}, {"order_id", id}, {"lines", {line}}, {"reason", chance(20) ? "defective" : "size"}},
           t + 300 * minute);
      if (chance(90)) event("return_received", t + 400 * minute);
    }
  }
  engine_->commit();
  // Graded last, each return's units as they came in: every return received.
  int64_t grading = start + 3 * 24 * 3600'000LL;
  std::vector<std::pair<std::string, int64_t>> to_grade;  // order, units
  store_->orders().scan([&](const StoredOrder& o) {
    for (const OrderReturn& r : o.returns) {
      if (r.state != "received" || chance(10)) continue;  // some wait to be graded
      int64_t units = 0;
      for (const auto& [line, quantity] : r.lines) units += quantity;
      to_grade.push_back({o.order_id, units});
    }
  });
  for (const auto& [id, units] : to_grade) {
    nlohmann::json graded = nlohmann::json::array();
    for (int64_t u = 0; u < units; ++u) graded.push_back({{"grade", grades[pick(6)]}});
    take({{"type", "grade"}, {"order_id", id}, {"units", graded}}, grading += minute);
  }
  engine_->commit();
  EXPECT_EQ(refused_, 0) << "every input of the day is one its order takes";
  ASSERT_GT(rtos, 100);
  ASSERT_GT(returns, 1000);
  ASSERT_GT(cancels, 500);

  // Where every unit is, from the orders and their returns.
  std::map<std::pair<std::string, std::string>, int64_t> out;  // shipped from the node and not graded back
  int orders = 0, graded_units = 0;
  store_->orders().scan([&](const StoredOrder& o) {
    ++orders;
    nlohmann::json sold = nlohmann::json::parse(o.order);
    for (size_t l = 0; l < o.lines.size(); ++l) {
      std::string sku = sold["lines"][l]["sku"];
      for (const LineState& part : o.lines[l])
        if (part.state != "new" && part.state != "accepted" && part.state != "allocated" && part.state != "packed" &&
            part.state != "cancelled" && part.state != "backordered")
          out[{o.node, sku}] += part.quantity;  // shipped: out for delivery, delivered, back to origin, returned
    }
    for (const OrderReturn& r : o.returns)
      for (const ReturnedUnit& u : r.units) {
        ++graded_units;
        out[{o.node, u.sku}] -= 1;
      }
  });
  EXPECT_EQ(orders, kOrders);
  EXPECT_GT(graded_units, 1000);
  std::vector<StockRow> stock;
  store_->stock().scan([&](const StockRow& r) { stock.push_back(r); });
  ASSERT_EQ(stock.size(), std::size(kNodes) * kSkus);
  int64_t apart = 0;
  for (const StockRow& r : stock) {
    apart += r.quarantined + r.written_off + r.to_vendor;
    EXPECT_EQ(r.reserved, 0) << r.node << " " << r.sku << ": every order shipped or was cancelled";
    int64_t outside = out[std::make_pair(r.node, r.sku)];
    EXPECT_EQ(r.on_hand + r.quarantined + r.written_off + r.to_vendor + outside, kSeeded)
        << r.node << " " << r.sku << ": on hand " << r.on_hand << ", quarantined " << r.quarantined
        << ", written off " << r.written_off << ", to vendor " << r.to_vendor << ", out " << outside;
  }
  EXPECT_GT(apart, 300);

  std::vector<StoredOrder> live;
  store_->orders().scan([&](const StoredOrder& o) { live.push_back(o); });
  rebuild_projections(*store_);
  std::vector<StockRow> rebuilt_stock;
  store_->stock().scan([&](const StockRow& r) { rebuilt_stock.push_back(r); });
  EXPECT_TRUE(rebuilt_stock == stock) << "the stock table rebuilt from its log differs";
  size_t i = 0, differ = 0;
  store_->orders().scan([&](const StoredOrder& o) { differ += i >= live.size() || !(o == live[i++]); });
  EXPECT_EQ(i, live.size());
  EXPECT_EQ(differ, 0u) << "orders that rebuild does not reproduce";
}

INSTANTIATE_TEST_SUITE_P(Interpreter, ConservationTest, ::testing::Values("interp"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace orderflow::runtime::testing
