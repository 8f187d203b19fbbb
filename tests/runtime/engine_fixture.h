#pragma once
// A fresh database with the example bundle deployed, an engine over it on a
// manual clock (driven from the test's thread), and the example's real
// orders to feed it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "compiler/model/value.h"
#include "runtime/engine/inputs.h"
#include "runtime/engine/order_engine.h"
#include "runtime/store/sqlite_store.h"
#include "runtime/store/writer_lock.h"

namespace orderflow::runtime::testing {

inline const std::string kExample = std::string(ORDERFLOW_SOURCE_DIR) + "/examples/marketplace";

inline nlohmann::json example_order(const std::string& file) {
  std::ifstream in(kExample + "/orders/" + file);
  return nlohmann::json::parse(in);
}

// A real order (the example's Amazon order, to Bengaluru, 560034) with other lines.
inline nlohmann::json order_of(const std::string& id, std::vector<std::pair<std::string, int>> lines) {
  nlohmann::json o = example_order("amazon-express-prepaid.json");
  o["id"] = id;
  o["external_id"] = id;
  o["lines"] = nlohmann::json::array();
  for (auto& [sku, quantity] : lines)
    o["lines"].push_back({{"sku", sku}, {"quantity", quantity}, {"unit_price", {{"amount", "100.00"}, {"currency", "INR"}}}});
  return o;
}

inline int64_t at(const char* iso) { return *model::parse_time(iso); }

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "orderflow-test-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// One journal entry with its record's place, its body as `audit --format
// json` shows it: what tests read of an order's history.
struct Entry {
  int64_t seq = 0;
  std::string order_id;
  int64_t at = 0;
  std::string kind;
  nlohmann::ordered_json body;
};

inline std::vector<Entry> entries_of(Store& store, const std::string& order_id) {
  std::vector<Entry> out;
  for (const journal::Record& r : store.journal().of_order(order_id))
    for (const journal::Entry& e : r.entries)
      out.push_back({r.seq, r.order_id, r.at, journal::kind_name(e), journal::to_json(e)});
  return out;
}

// Parameterised by the engine that decides: "interp" or "jit".
class EngineTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    lock_.emplace(WriterLock::acquire(db(), "engine test"));
    store_ = open_sqlite_store(db(), {.sync_full = false});
    DeployResult r = deploy_bundle(*store_, bundle(), at("2026-11-19T00:00:00Z"), choice());
    ASSERT_EQ(r.status, DeployResult::Status::Deployed) << r.message << r.diagnostics;
    start();
  }
  // The bundle deployed before each test.
  virtual std::string bundle() const { return kExample; }
  virtual EngineChoice choice() const {
    EngineChoice c;
    c.kind = GetParam();
    return c;
  }
  virtual EngineOptions options() const {
    EngineOptions options;
    options.engine = choice();
    return options;
  }
  void start() { engine_ = std::make_unique<OrderEngine>(*store_, *lock_, clock_, options()); }
  // Stops the engine and opens the database again, as after a restart.
  void restart() {
    engine_.reset();
    store_.reset();
    lock_.reset();
    lock_.emplace(WriterLock::acquire(db(), "engine test"));
    store_ = open_sqlite_store(db(), {.sync_full = false});
    start();
  }
  std::string db() const { return dir_.file("orders.db"); }

  Ack submit(const nlohmann::json& input, const char* when) {
    clock_.set(at(when));
    Ack ack = engine_->submit(read_input(input, "test"));
    engine_->commit();
    return ack;
  }
  Ack event(const std::string& order, const std::string& name, const char* when, nlohmann::json extra = {}) {
    nlohmann::json e = {{"type", "event"}, {"order_id", order}, {"event", name}};
    if (extra.is_object()) e.update(extra);
    return submit(e, when);
  }
  std::vector<Ack> advance_to(const char* when) {
    clock_.set(at(when));
    auto acks = engine_->fire_due(at(when), true);
    engine_->commit();
    return acks;
  }
  StoredOrder order(const std::string& id) { return *store_->orders().get(id); }
  nlohmann::json order_json(const std::string& id) { return nlohmann::json::parse(order(id).order); }
  std::vector<Entry> history(const std::string& id) { return entries_of(*store_, id); }
  std::vector<std::string> kinds(const std::string& id) {
    std::vector<std::string> out;
    for (const auto& e : history(id)) out.push_back(e.kind);
    return out;
  }

  TempDir dir_;
  ManualClock clock_;
  std::optional<WriterLock> lock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<OrderEngine> engine_;
};

}  // namespace orderflow::runtime::testing
