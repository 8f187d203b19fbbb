#include "runtime/store/projection.h"

#include <algorithm>

namespace orderflow::runtime {

namespace {

std::vector<std::vector<LineState>> read_lines(const nlohmann::json& lines) {
  std::vector<std::vector<LineState>> out;
  for (const auto& line : lines) {
    std::vector<LineState> parts;
    for (const auto& part : line) parts.push_back({part.at(0).get<std::string>(), part.at(1).get<int64_t>()});
    out.push_back(std::move(parts));
  }
  return out;
}

void add_tags(StoredOrder& order, const nlohmann::json& tags) {
  if (!tags.is_array()) return;
  for (const auto& t : tags) {
    std::string tag = t.get<std::string>();
    if (std::find(order.tags.begin(), order.tags.end(), tag) == order.tags.end()) order.tags.push_back(tag);
  }
}

}  // namespace

void apply_entry(const JournalEntry& e, StoredOrder& order) {
  const nlohmann::json& b = e.body;
  order.last_seq = e.seq;
  if (e.kind == "received") {
    order.order_id = e.order_id;
    order.channel = b.at("channel").get<std::string>();
    order.external_id = b.at("external_id").get<std::string>();
    order.deployment = b.at("deployment").get<int64_t>();
    order.order = b.at("order");
    order.state_since = e.at;
  } else if (e.kind == "state") {
    std::string to = b.at("to").get<std::string>();
    if (b.value("entered", true)) {
      order.state_since = e.at;
      order.state_entry = b.at("entry").get<int64_t>();
      order.fired.clear();
      if (to != "held") order.hold = nullptr;
    }
    order.state = to;
    order.lines = read_lines(b.at("lines"));
  } else if (e.kind == "decision") {
    if (b.value("decision", "") == "hold") {
      nlohmann::json hold = {{"reason", b.value("reason", "")}, {"rule", b.value("rule", "")}};
      if (b.contains("until")) hold["until"] = b["until"];
      if (b.contains("on_timeout")) hold["on_timeout"] = b["on_timeout"];
      order.hold = std::move(hold);
    }
    if (b.contains("priority")) order.priority = b["priority"].get<std::string>();
    if (b.contains("tags")) add_tags(order, b["tags"]);
  } else if (e.kind == "event") {
    if (b.contains("set"))
      for (const auto& [field, value] : b["set"].items()) order.order[field] = value;
    if (b.contains("cancelled_units"))
      for (const auto& unit : b["cancelled_units"]) {
        nlohmann::json& line = order.order["lines"][unit.at("line").get<size_t>()];
        line["cancelled_quantity"] = line.value("cancelled_quantity", int64_t{0}) + unit.at("quantity").get<int64_t>();
      }
  } else if (e.kind == "escalation") {
    for (const auto& rule : b.at("rules")) order.fired.push_back(rule.get<std::string>());
    if (b.contains("tags")) add_tags(order, b["tags"]);
    if (b.contains("priority")) order.priority = b["priority"].get<std::string>();
  } else if (e.kind == "allocation") {
    for (const auto& a : b.at("reserved")) order.allocations.push_back(a);
  } else if (e.kind == "stock") {
    // Released or shipped units leave the allocations they were reserved by.
    for (const char* key : {"released", "consumed"})
      for (const auto& done : b.value(key, nlohmann::json::array())) {
        for (auto& a : order.allocations)
          if (a["line"] == done["line"] && a["node"] == done["node"] && a["sku"] == done["sku"]) {
            a["quantity"] = a["quantity"].get<int64_t>() - done["quantity"].get<int64_t>();
            break;
          }
        nlohmann::json kept = nlohmann::json::array();
        for (auto& a : order.allocations)
          if (a["quantity"].get<int64_t>() > 0) kept.push_back(a);
        order.allocations = std::move(kept);
      }
    if (b.contains("exclude_node")) {
      std::string node = b["exclude_node"].get<std::string>();
      if (std::find(order.excluded_nodes.begin(), order.excluded_nodes.end(), node) == order.excluded_nodes.end())
        order.excluded_nodes.push_back(node);
    }
  } else if (e.kind == "migrated") {
    order.deployment = b.at("to").get<int64_t>();
  }
  // refused, timer_* entries: the audit trail only (timers: apply_timer_entry).
}

void apply_timer_entry(const JournalEntry& e, std::map<int64_t, Timer>& timers) {
  if (e.kind == "timer_set") {
    Timer t;
    t.id = e.body.at("id").get<int64_t>();
    t.order_id = e.order_id;
    t.due = e.body.at("due").get<int64_t>();
    t.kind = e.body.at("kind").get<std::string>();
    t.state_entry = e.body.at("state_entry").get<int64_t>();
    timers[t.id] = t;
  } else if (e.kind == "timer_fired" || e.kind == "timer_cancelled") {
    timers.erase(e.body.at("id").get<int64_t>());
  }
}

RebuildReport rebuild_projections(Store& store) {
  RebuildReport report;
  std::map<std::string, StoredOrder> orders;
  std::map<int64_t, Timer> timers;
  store.scan_journal([&](const JournalEntry& e) {
    ++report.entries;
    apply_entry(e, orders[e.order_id]);
    apply_timer_entry(e, timers);
  });
  std::map<std::pair<std::string, std::string>, StockRow> stock;
  store.scan_stock_log([&](const StockChange& c) {
    ++report.stock_changes;
    StockRow& row = stock[{c.node, c.sku}];
    row.node = c.node;
    row.sku = c.sku;
    row.on_hand += c.on_hand_change;
    row.reserved += c.reserved_change;
    if (c.safety_stock) row.safety_stock = *c.safety_stock;
  });
  store.begin();
  try {
    store.clear_projections();
    for (const auto& [id, order] : orders) store.put_order(order);
    for (const auto& [id, timer] : timers) store.add_timer(timer);
    for (const auto& [key, row] : stock) store.put_stock(row);
    store.commit();
  } catch (...) {
    store.rollback();
    throw;
  }
  report.orders = static_cast<int64_t>(orders.size());
  report.timers = static_cast<int64_t>(timers.size());
  return report;
}

}  // namespace orderflow::runtime
