#include "runtime/engine/customer_history.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "runtime/canonical/json_parse.h"
#include "runtime/store/store.h"

namespace orderflow::runtime {

using engine::HistoryKey;

namespace {

std::string text_at(const nlohmann::json& order, const char* record, const char* field) {
  auto r = order.find(record);
  if (r == order.end() || !r->is_object()) return "";
  auto f = r->find(field);
  return f != r->end() && f->is_string() ? f->get<std::string>() : "";
}

int64_t day_number(int64_t t, int64_t day) { return t >= 0 ? t / day : -((-t + day - 1) / day); }

}  // namespace

CustomerHistory::Day& CustomerHistory::day_of(Key& key, int64_t received) {
  int64_t d = day_number(received, kDay);
  auto it = std::lower_bound(key.days.begin(), key.days.end(), d, [](const Day& x, int64_t v) { return x.day < v; });
  if (it == key.days.end() || it->day != d) it = key.days.insert(it, Day{d});
  return *it;
}

void CustomerHistory::index(HistoryKey kind, const std::string& key, uint32_t slot) {
  if (key.empty()) return;
  Key& k = keys_[static_cast<size_t>(kind)][key];
  Facts& f = facts_[slot];
  for (Key*& place : f.keys)
    if (!place) {
      place = &k;
      break;
    }
  // By when received; inputs come in order, so this is nearly always the end.
  k.slots.insert(std::upper_bound(k.slots.begin(), k.slots.end(), f.received,
                                  [&](int64_t t, uint32_t s) { return t < facts_[s].received; }),
                 slot);
  // What became of it already counts too: an order indexed again after an edit.
  for (const Outcome& o : kOutcomes)
    if (f.*o.when != kNever) k.latest_outcome = std::max(k.latest_outcome, f.*o.when);
  if (!k.days.empty()) {
    Day& d = day_of(k, f.received);
    ++d.orders;
    for (const Outcome& o : kOutcomes) d.*o.counted += f.*o.when != kNever;
  } else if (k.slots.size() >= kCountedByDay) {
    // A busy key from now on: its days are counted, so a question reads
    // days, not each of its orders.
    for (uint32_t s : k.slots) {
      const Facts& each = facts_[s];
      Day& d = day_of(k, each.received);
      ++d.orders;
      for (const Outcome& o : kOutcomes) d.*o.counted += each.*o.when != kNever;
    }
  }
}

void CustomerHistory::received(const std::string& order_id, int64_t at, const nlohmann::json& order) {
  if (!order.is_object() || slot_of_.count(order_id)) return;
  auto slot = static_cast<uint32_t>(facts_.size());
  facts_.push_back({at});
  slot_of_.emplace(order_id, slot);
  index_keys(order, slot);
}

void CustomerHistory::updated(const std::string& order_id, const nlohmann::json& order) {
  auto found = slot_of_.find(order_id);
  if (!order.is_object() || found == slot_of_.end()) return;
  uint32_t slot = found->second;
  Facts& f = facts_[slot];
  for (Key*& k : f.keys) {
    if (!k) break;
    k->slots.erase(std::find(k->slots.begin(), k->slots.end(), slot));
    if (!k->days.empty()) {
      Day& d = day_of(*k, f.received);
      --d.orders;
      for (const Outcome& o : kOutcomes) d.*o.counted -= f.*o.when != kNever;
    }
    k = nullptr;
  }
  index_keys(order, slot);
}

void CustomerHistory::index_keys(const nlohmann::json& order, uint32_t slot) {
  // One phone given as the customer's and the recipient's is one key.
  std::vector<std::string> phones;
  for (const char* record : {"customer", "ship_to", "bill_to"}) {
    std::string phone = engine::normalize_history_key(HistoryKey::Phone, text_at(order, record, "phone"));
    if (std::find(phones.begin(), phones.end(), phone) == phones.end()) phones.push_back(phone);
  }
  for (const std::string& phone : phones) index(HistoryKey::Phone, phone, slot);
  index(HistoryKey::Email, engine::normalize_history_key(HistoryKey::Email, text_at(order, "customer", "email")), slot);
  std::string pincode = text_at(order, "ship_to", "postal_code");
  index(HistoryKey::Pincode, engine::normalize_history_key(HistoryKey::Pincode, pincode), slot);
  index(HistoryKey::Address, engine::address_history_key(text_at(order, "ship_to", "line1"), pincode), slot);
}

void CustomerHistory::entered(const std::string& order_id, const std::string& state, int64_t at) {
  const Outcome* outcome = nullptr;
  for (const Outcome& o : kOutcomes)
    if (state == o.state) outcome = &o;
  if (!outcome) return;
  auto slot = slot_of_.find(order_id);
  if (slot == slot_of_.end()) return;
  Facts& f = facts_[slot->second];
  if (f.*outcome->when != kNever) return;  // the first time counts: a replay finds it where it was
  f.*outcome->when = at;
  for (Key* k : f.keys) {
    if (!k) break;
    if (!k->days.empty()) ++(day_of(*k, f.received).*outcome->counted);
    k->latest_outcome = std::max(k->latest_outcome, at);
  }
}

void CustomerHistory::apply(const journal::Record& record) {
  for (const journal::Entry& e : record.entries) {
    if (const auto* r = std::get_if<journal::Received>(&e))
      received(record.order_id, record.at, parse_json(r->order));
    else if (const auto* u = std::get_if<journal::OrderUpdated>(&e))
      updated(record.order_id, parse_json(u->order));
    else if (const auto* s = std::get_if<journal::StateChanged>(&e); s && s->entered)
      entered(record.order_id, s->to, record.at);
  }
}

int64_t CustomerHistory::load(Store& store) {
  int64_t records = 0;
  store.journal().scan([&](const journal::Record& r) {
    ++records;
    apply(r);
  });
  return records;
}

void CustomerHistory::count_each(const Key& key, int64_t from, int64_t to, int64_t as_of,
                                 engine::HistoryCounts& c) const {
  auto first = std::lower_bound(key.slots.begin(), key.slots.end(), from,
                                [&](uint32_t s, int64_t t) { return facts_[s].received < t; });
  for (auto it = first; it != key.slots.end(); ++it) {
    const Facts& f = facts_[*it];
    if (f.received >= to) break;
    ++c.orders;
    c.delivered += f.delivered < as_of;
    c.cancelled += f.cancelled < as_of;
    c.returned += f.returned < as_of;
    c.rto += f.rto < as_of;
  }
}

engine::HistoryCounts CustomerHistory::counts(HistoryKey kind, std::string_view key, int64_t from, int64_t to) const {
  engine::HistoryCounts c;
  const auto& by_key = keys_[static_cast<size_t>(kind)];
  auto found = by_key.find(std::string(key));
  if (found == by_key.end() || from >= to) return c;
  const Key& k = found->second;
  // Whole days inside the window are read from their counts, which are as
  // of now; that is as of the decision when nothing became of these orders
  // since (always, deciding live; not always, explaining an old decision).
  int64_t first_day = day_number(from + kDay - 1, kDay), end_day = day_number(to, kDay);
  if (k.days.empty() || k.latest_outcome >= to || first_day >= end_day) {
    count_each(k, from, to, to, c);
    return c;
  }
  count_each(k, from, first_day * kDay, to, c);
  auto day = std::lower_bound(k.days.begin(), k.days.end(), first_day, [](const Day& x, int64_t v) { return x.day < v; });
  for (; day != k.days.end() && day->day < end_day; ++day) {
    c.orders += day->orders;
    c.delivered += day->delivered;
    c.cancelled += day->cancelled;
    c.returned += day->returned;
    c.rto += day->rto;
  }
  count_each(k, end_day * kDay, to, to, c);
  return c;
}

size_t CustomerHistory::key_count() const {
  size_t n = 0;
  for (const auto& by_key : keys_) n += by_key.size();
  return n;
}

size_t CustomerHistory::bytes() const {
  size_t n = facts_.capacity() * sizeof(Facts);
  for (const auto& [id, slot] : slot_of_) n += sizeof(id) + id.capacity() + sizeof(slot) + 2 * sizeof(void*);
  for (const auto& by_key : keys_)
    for (const auto& [text, key] : by_key)
      n += sizeof(text) + text.capacity() + sizeof(key) + key.slots.capacity() * sizeof(uint32_t) +
           key.days.capacity() * sizeof(Day) + 2 * sizeof(void*);
  return n;
}

}  // namespace orderflow::runtime
