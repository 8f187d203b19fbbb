#pragma once
// The engine's index behind history(KEY, WINDOW): every order it received,
// under its phones, email, address and pincode, with when it was received
// and when it was delivered, cancelled, returned or returned to origin.
// Kept up to date as inputs are written, so a decision asks it and never
// scans the journal; built from the journal when the engine starts with a
// deployment that calls history(). Owned by the engine thread, like the
// rest of OrderEngine: no lock.
#include <nlohmann/json_fwd.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "compiler/engine/history.h"
#include "runtime/store/journal.h"

namespace orderflow::runtime {

class Store;

class CustomerHistory final : public engine::HistorySource {
 public:
  // An order received at `at`, with its canonical JSON.
  void received(const std::string& order_id, int64_t at, const nlohmann::json& order);
  // The channel changed the order (its phone, its address): it counts under
  // its new keys from now on, and no longer under the old ones.
  void updated(const std::string& order_id, const nlohmann::json& order);
  // The order entered `state` at `at`: delivered, cancelled, returned and
  // rto are what history() counts; other states change nothing.
  void entered(const std::string& order_id, const std::string& state, int64_t at);
  // Both, from one journal record.
  void apply(const journal::Record& record);
  // Everything the journal holds; returns how many records it read.
  int64_t load(Store& store);

  engine::HistoryCounts counts(engine::HistoryKey kind, std::string_view key, int64_t from,
                               int64_t to) const override;

  size_t order_count() const { return facts_.size(); }
  size_t key_count() const;
  // Roughly what the index holds in memory.
  size_t bytes() const;

 private:
  static constexpr int64_t kNever = INT64_MAX;
  static constexpr int64_t kDay = 86'400'000;
  // Keys with this many orders are counted by day as well (a metro
  // pincode); fewer are read order by order, which costs less than days.
  static constexpr size_t kCountedByDay = 64;
  // A key's orders received on one UTC day, and how many of them have been
  // delivered, cancelled, returned or returned to origin so far.
  struct Day {
    int64_t day;
    uint32_t orders = 0, delivered = 0, cancelled = 0, returned = 0, rto = 0;
  };
  struct Key {
    std::vector<uint32_t> slots;  // its orders, by when they were received
    std::vector<Day> days;        // the same, counted by day, once there are kCountedByDay
    int64_t latest_outcome = INT64_MIN;
  };
  // What became of one order, by when; kNever until it happens.
  struct Facts {
    int64_t received;
    int64_t delivered = kNever;
    int64_t cancelled = kNever;
    int64_t returned = kNever;
    int64_t rto = kNever;
    std::array<Key*, 6> keys{};  // up to three phones, an email, an address, a pincode
  };
  // The lifecycle states history() counts, where an order's moment of each
  // is kept, and where a day counts them.
  struct Outcome {
    const char* state;
    int64_t Facts::*when;
    uint32_t Day::*counted;
  };
  static constexpr Outcome kOutcomes[] = {{"delivered", &Facts::delivered, &Day::delivered},
                                          {"cancelled", &Facts::cancelled, &Day::cancelled},
                                          {"returned", &Facts::returned, &Day::returned},
                                          {"rto", &Facts::rto, &Day::rto}};

  void index(engine::HistoryKey kind, const std::string& key, uint32_t slot);
  // Under each of its phones, its email, address and pincode.
  void index_keys(const nlohmann::json& order, uint32_t slot);
  Day& day_of(Key& key, int64_t received);
  // Orders of `key` received in [from, to) read one by one.
  void count_each(const Key& key, int64_t from, int64_t to, int64_t as_of, engine::HistoryCounts& c) const;

  std::vector<Facts> facts_;
  std::unordered_map<std::string, uint32_t> slot_of_;  // order id -> facts_
  // Per kind of key; a Key's address is stable (the map's nodes do not move).
  std::array<std::unordered_map<std::string, Key>, engine::kHistoryKeyKinds> keys_;
};

}  // namespace orderflow::runtime
