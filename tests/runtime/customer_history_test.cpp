// The index behind history(): its answers, read by day for busy keys, are
// the ones counting each order gives, as of any moment (a live decision,
// or an old one explained), and keys are matched as LANGUAGE.md says.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>

#include "runtime/engine/customer_history.h"

namespace orderflow::runtime {
namespace {

using engine::HistoryKey;

TEST(CustomerHistory, BusyKeysCountedByDayAgreeWithCountingEachOrder) {
  constexpr int64_t kHour = 3'600'000;
  std::mt19937_64 rng(7);
  CustomerHistory h;
  struct Made {
    int64_t received;
    std::string pincode;
    std::map<std::string, int64_t> outcomes;
  };
  std::vector<Made> made;
  const char* states[] = {"delivered", "cancelled", "returned", "rto", "packed"};
  for (int i = 0; i < 3000; ++i) {
    Made m{static_cast<int64_t>(i) * kHour / 3, fmt::format("56{:04}", rng() % 6), {}};  // six pincodes, all busy
    h.received(fmt::format("O{}", i), m.received, {{"ship_to", {{"postal_code", m.pincode}}}});
    made.push_back(m);
    // Outcomes of earlier orders, as the journal brings them.
    if (i > 20 && rng() % 2) {
      size_t which = rng() % made.size();
      std::string state = states[rng() % 5];
      int64_t at = m.received;
      h.entered(fmt::format("O{}", which), state, at);
      if (state != "packed" && !made[which].outcomes.count(state)) made[which].outcomes[state] = at;
    }
  }
  for (int q = 0; q < 2000; ++q) {
    std::string pincode = fmt::format("56{:04}", rng() % 6);
    // Half as a live decision asks (after everything journalled), half as
    // an old decision explained (things happened since).
    int64_t to = static_cast<int64_t>(rng() % 1000 + (q % 2 ? 1000 : 0)) * kHour + static_cast<int64_t>(rng() % kHour);
    int64_t from = to - static_cast<int64_t>(rng() % 400) * kHour - static_cast<int64_t>(rng() % kHour);
    engine::HistoryCounts want;
    for (const Made& m : made) {
      if (m.pincode != pincode || m.received < from || m.received >= to) continue;
      ++want.orders;
      auto before = [&](const char* s) { return m.outcomes.count(s) && m.outcomes.at(s) < to; };
      want.delivered += before("delivered");
      want.cancelled += before("cancelled");
      want.returned += before("returned");
      want.rto += before("rto");
    }
    engine::HistoryCounts got = h.counts(HistoryKey::Pincode, pincode, from, to);
    ASSERT_EQ(std::tie(got.orders, got.delivered, got.cancelled, got.returned, got.rto),
              std::tie(want.orders, want.delivered, want.cancelled, want.returned, want.rto))
        << "pincode " << pincode << " from " << from << " to " << to;
  }
}

// A channel that sends an order changed (a new address) moves it from its
// old keys to its new ones, with what became of it so far, busy keys by day
// as well as quiet ones order by order.
TEST(CustomerHistory, AnEditedOrderCountsUnderItsNewKeysOnly) {
  constexpr int64_t kHour = 3'600'000;
  std::mt19937_64 rng(11);
  CustomerHistory h;
  std::vector<std::pair<int64_t, std::string>> made;  // received, pincode
  std::vector<int64_t> returned_at;
  auto order = [](const std::string& pincode) { return nlohmann::json{{"ship_to", {{"postal_code", pincode}}}}; };
  // Pincodes 560000-560002 are busy (counted by day); 560100-560139 quiet.
  auto pincode = [&] {
    return rng() % 2 ? fmt::format("5600{:02}", rng() % 3) : fmt::format("5601{:02}", rng() % 40);
  };
  for (int i = 0; i < 2000; ++i) {
    made.push_back({static_cast<int64_t>(i) * kHour / 2, pincode()});
    returned_at.push_back(INT64_MAX);
    h.received(fmt::format("O{}", i), made.back().first, order(made.back().second));
    size_t which = rng() % made.size();
    if (rng() % 3 == 0 && returned_at[which] == INT64_MAX) {
      returned_at[which] = made.back().first;
      h.entered(fmt::format("O{}", which), "returned", returned_at[which]);
    }
    if (rng() % 4 == 0) {
      made[which].second = pincode();
      h.updated(fmt::format("O{}", which), order(made[which].second));
    }
  }
  int64_t end = static_cast<int64_t>(made.size()) * kHour;
  for (int key = 0; key < 43; ++key) {
    std::string code = key < 3 ? fmt::format("5600{:02}", key) : fmt::format("5601{:02}", key - 3);
    engine::HistoryCounts want;
    for (size_t i = 0; i < made.size(); ++i)
      if (made[i].second == code) {
        ++want.orders;
        want.returned += returned_at[i] < end;
      }
    engine::HistoryCounts got = h.counts(HistoryKey::Pincode, code, 0, end);
    EXPECT_EQ(std::tie(got.orders, got.returned), std::tie(want.orders, want.returned)) << "pincode " << code;
  }
}

TEST(CustomerHistory, KeysAreMatchedAsAnAnalystWritesThem) {
  CustomerHistory h;
  h.received("A", 1000, {{"customer", {{"phone", "+91 98450 12345"}, {"email", " Asha@Mail.Example "}}},
                         {"ship_to", {{"phone", "098450-12345"}, {"line1", "12, M.G. Road"}, {"postal_code", "560 001"}}}});
  h.received("B", 2000, {{"customer", {{"phone", "N/A"}}}, {"bill_to", {{"phone", "9845012345"}}}});
  h.entered("A", "rto", 1500);
  auto phone = engine::normalize_history_key(HistoryKey::Phone, "(+91) 98450-12345");
  EXPECT_EQ(phone, "9845012345");
  EXPECT_EQ(h.counts(HistoryKey::Phone, phone, 0, 3000).orders, 2) << "one number, however written, counted once an order";
  EXPECT_EQ(h.counts(HistoryKey::Phone, phone, 0, 3000).rto, 1);
  EXPECT_EQ(h.counts(HistoryKey::Phone, phone, 0, 1500).rto, 0) << "as of 1500 it had not come back yet";
  EXPECT_EQ(h.counts(HistoryKey::Phone, phone, 0, 1000).orders, 0) << "the order being decided is not counted";
  EXPECT_EQ(h.counts(HistoryKey::Email, engine::normalize_history_key(HistoryKey::Email, "asha@mail.example"), 0, 3000).orders, 1);
  EXPECT_EQ(h.counts(HistoryKey::Pincode, engine::normalize_history_key(HistoryKey::Pincode, "560001"), 0, 3000).orders, 1);
  EXPECT_EQ(h.counts(HistoryKey::Address, engine::address_history_key("12 m g road", "560001"), 0, 3000).orders, 1);
  EXPECT_EQ(engine::normalize_history_key(HistoryKey::Phone, "N/A"), "") << "nothing that identifies anyone";
  EXPECT_EQ(engine::normalize_history_key(HistoryKey::Email, "not an email"), "");
}

}  // namespace
}  // namespace orderflow::runtime
