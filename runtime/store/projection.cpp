#include "runtime/store/projection.h"

#include <nlohmann/json.hpp>
#include <xxhash.h>

#include <algorithm>
#include <map>

#include "compiler/model/value.h"

namespace orderflow::runtime {

namespace {

void add_tags(StoredOrder& order, const std::vector<std::string>& tags) {
  for (const std::string& tag : tags)
    if (std::find(order.tags.begin(), order.tags.end(), tag) == order.tags.end()) order.tags.push_back(tag);
}

// Units settled (released or shipped) leave the allocation they were reserved by.
void settle(StoredOrder& order, const std::vector<Allocation>& done) {
  for (const Allocation& d : done)
    for (Allocation& a : order.allocations)
      if (a.line == d.line && a.node == d.node && a.sku == d.sku) {
        a.quantity -= d.quantity;
        break;
      }
  std::erase_if(order.allocations, [](const Allocation& a) { return a.quantity <= 0; });
}

struct Apply {
  const journal::Record& record;
  StoredOrder& order;

  void operator()(const journal::Received& r) {
    order.order_id = record.order_id;
    order.channel = r.channel;
    order.external_id = r.external_id;
    order.deployment = r.deployment;
    order.order = r.order;
    order.received_seq = record.seq;
    order.order_changed = false;
    order.state_since = record.at;
    order.sent_hash = sent_hash(r.order);
  }
  void operator()(const journal::OrderUpdated& u) {
    nlohmann::json now = nlohmann::json::parse(u.order, nullptr, false);
    nlohmann::json was = nlohmann::json::parse(order.order, nullptr, false);
    if (!now.is_object()) return;
    // What the engine keeps of its own goes on: units that events cancelled
    // (on a line of the same SKU in the same place), and when it changed.
    if (was.is_object() && was.contains("lines") && now.contains("lines") && was["lines"].is_array() &&
        now["lines"].is_array())
      for (size_t i = 0; i < std::min(was["lines"].size(), now["lines"].size()); ++i) {
        const nlohmann::json& before = was["lines"][i];
        nlohmann::json& line = now["lines"][i];
        if (!before.is_object() || !line.is_object() || !before.contains("cancelled_quantity") ||
            before.value("sku", "") != line.value("sku", ""))
          continue;
        line["cancelled_quantity"] = std::min(before["cancelled_quantity"].get<int64_t>(), line.value("quantity", int64_t{0}));
      }
    now["edited_at"] = model::format_time(record.at);
    order.order = now.dump();
    order.order_changed = true;
    order.sent_hash = sent_hash(u.order);
  }
  void operator()(const journal::StateChanged& s) {
    if (s.entered) {
      order.state_since = record.at;
      auto last = std::find_if(order.entered.begin(), order.entered.end(), [&](const auto& e) { return e.first == s.to; });
      if (last != order.entered.end())
        last->second = record.at;
      else
        order.entered.emplace_back(s.to, record.at);
      order.state_entry = s.entry;
      order.fired.clear();
      if (s.to != "held") order.hold.reset();
    }
    order.state = s.to;
    order.lines = s.lines;
  }
  OrderReturn* find_return(const std::string& id) {
    for (OrderReturn& r : order.returns)
      if (r.id == id) return &r;
    return nullptr;
  }
  void operator()(const journal::Decided& d) {
    if (d.ndr_attempt) {  // about a failed delivery
      order.ndr_decision = d.decision;
      order.ndr_on_timeout = d.on_timeout;
      add_tags(order, d.tags);
      return;
    }
    if (!d.return_id.empty()) {  // about a return or one of its units, not the order
      OrderReturn* r = find_return(d.return_id);
      if (!r) return;
      if (d.policy == "returns") {
        if (r->refund.empty()) r->refund = d.refund;  // an exchange or a return to origin said already
        r->keep_item = d.keep_item.value_or(false);
      } else if (d.policy == "disposition" && !r->units.empty()) {
        r->units.back().disposition = d.decision;
        r->units.back().node = d.restock_to;
        r->units.back().fees = d.refund_terms;
      }
      add_tags(order, d.tags);
      return;
    }
    if (d.decision == "route" && !d.shipments.empty()) order.node = d.shipments.front().node;
    if (d.decision == "hold") order.hold = Hold{d.reason, d.rule.value_or(""), d.until, d.on_timeout, d.on_timeout_reason};
    if (!d.priority.empty()) order.priority = d.priority;
    add_tags(order, d.tags);
    if (!d.delivery.empty()) change_order([&](nlohmann::json& changed) { changed["delivery"] = d.delivery; });
  }
  void operator()(const journal::EventApplied& e) {
    if (!e.carrier.empty()) order.carrier = e.carrier;
    if (!e.tracking_number.empty()) order.tracking_number = e.tracking_number;
    if (e.set.empty() && e.cancelled_units.empty()) return;
    change_order([&](nlohmann::json& changed) {
      if (!e.set.empty()) {
        nlohmann::json set = nlohmann::json::parse(e.set, nullptr, false);
        if (set.is_object())
          for (const auto& [field, value] : set.items()) changed[field] = value;
      }
      for (const auto& [line, quantity] : e.cancelled_units) {
        if (!changed.contains("lines") || !changed["lines"].is_array() || line < 0 ||
            static_cast<size_t>(line) >= changed["lines"].size())
          continue;
        nlohmann::json& l = changed["lines"][static_cast<size_t>(line)];
        l["cancelled_quantity"] = l.value("cancelled_quantity", int64_t{0}) + quantity;
      }
    });
  }
  // The order as the channel sent it, with what events and policies changed since.
  template <class Change>
  void change_order(Change change) {
    nlohmann::json changed = nlohmann::json::parse(order.order, nullptr, false);
    if (!changed.is_object()) return;
    change(changed);
    order.order = changed.dump();
    order.order_changed = true;
  }
  void operator()(const journal::Escalated& e) {
    order.fired.insert(order.fired.end(), e.rules.begin(), e.rules.end());
    add_tags(order, e.tags);
    if (!e.priority.empty()) order.priority = e.priority;
  }
  void operator()(const journal::TimerSet& t) {
    order.timers.push_back({t.id, record.order_id, t.due, t.kind, t.state_entry});
  }
  void operator()(const journal::TimerFired& t) {
    std::erase_if(order.timers, [&](const Timer& x) { return x.id == t.id; });
  }
  void operator()(const journal::TimerCancelled& t) {
    std::erase_if(order.timers, [&](const Timer& x) { return x.id == t.id; });
  }
  void operator()(const journal::Refused&) {}
  void operator()(const journal::ReturnRequested& r) {
    order.returns.push_back({r.return_id, r.kind, r.reason, "requested", r.lines, r.refund, false, {}, "", false});
    entered_return(r.return_id, "requested");
    if (!r.exchange.empty()) order.exchanges.push_back({r.return_id, r.exchange, ""});
  }
  void operator()(const journal::ExchangeOpened& x) {
    for (Exchange& e : order.exchanges)
      if (e.return_id == x.return_id) e.order_id = x.order_id;
  }
  void operator()(const journal::NdrReported& n) {
    order.ndr_attempts = std::max(order.ndr_attempts, n.attempt);
  }
  void operator()(const journal::ReturnChanged& c) {
    if (OrderReturn* r = find_return(c.return_id)) {
      r->state = c.to;
      entered_return(c.return_id, c.to);
    }
  }
  void entered_return(const std::string& id, const std::string& state) {
    for (ReturnEntered& e : order.return_entered)
      if (e.return_id == id && e.state == state) {
        e.at = record.at;
        return;
      }
    order.return_entered.push_back({id, state, record.at});
  }
  void operator()(const journal::UnitGraded& g) {
    if (OrderReturn* r = find_return(g.return_id)) r->units.push_back({g.line, g.sku, g.grade, g.reason, "", "", {}});
  }
  void operator()(const journal::Refunded& f) {
    if (OrderReturn* r = find_return(f.return_id)) {
      r->refunded = f.amount;
      r->refunded_shipping = f.shipping;
    }
  }
  void operator()(const journal::Migrated& m) { order.deployment = m.to; }
  void operator()(const journal::Reserved& r) {
    order.allocations.insert(order.allocations.end(), r.units.begin(), r.units.end());
  }
  void operator()(const journal::StockSettled& s) {
    settle(order, s.released);
    settle(order, s.consumed);
    if (!s.exclude_node.empty() &&
        std::find(order.excluded_nodes.begin(), order.excluded_nodes.end(), s.exclude_node) == order.excluded_nodes.end())
      order.excluded_nodes.push_back(s.exclude_node);
  }
};

}  // namespace

void apply_entry(const journal::Record& record, const journal::Entry& entry, StoredOrder& order) {
  std::visit(Apply{record, order}, entry);
  order.last_seq = record.seq;
  order.last_at = record.at;
}

int64_t sent_hash(std::string_view text) {
  auto h = static_cast<int64_t>(XXH3_64bits(text.data(), text.size()));
  return h == 0 ? 1 : h;
}

void apply_record(const journal::Record& record, StoredOrder& order) {
  for (const journal::Entry& e : record.entries) apply_entry(record, e, order);
}

RebuildReport rebuild_projections(Store& store) {
  RebuildReport report;
  std::map<std::string, StoredOrder> orders;
  store.journal().scan([&](const journal::Record& r) {
    ++report.records;
    apply_record(r, orders[r.order_id]);
  });
  std::map<std::pair<std::string, std::string>, StockRow> stock;
  store.stock().scan_log([&](const StockChange& c) {
    ++report.stock_changes;
    StockRow& row = stock[{c.node, c.sku}];
    row.node = c.node;
    row.sku = c.sku;
    row.on_hand += c.on_hand_change;
    row.reserved += c.reserved_change;
    if (c.safety_stock) row.safety_stock = *c.safety_stock;
    row.quarantined += c.quarantined_change;
    row.written_off += c.written_off_change;
    row.to_vendor += c.to_vendor_change;
  });
  bool own = !store.in_transaction();
  if (own) store.begin();
  try {
    store.clear_projections();
    for (const auto& [id, order] : orders) {
      store.orders().put(order);
      for (const Timer& t : order.timers) {
        store.orders().add_timer(t);
        ++report.timers;
      }
    }
    for (const auto& [key, row] : stock) store.stock().put(row);
    if (own) store.commit();
  } catch (...) {
    if (own) store.rollback();
    throw;
  }
  report.orders = static_cast<int64_t>(orders.size());
  return report;
}

}  // namespace orderflow::runtime
