#include "runtime/engine/stock.h"

#include <fmt/format.h>

#include <algorithm>

#include "compiler/check/csv.h"
#include "compiler/model/record.h"

namespace orderflow::runtime {

// ------------------------------------------------------------ book

size_t StockBook::add_node(const std::string& id) {
  auto it = by_id_.find(id);
  if (it != by_id_.end()) return it->second;
  size_t index = ids_.size();
  ids_.push_back(id);
  by_id_.emplace(id, index);
  for (auto& row : levels_) row.resize(ids_.size());
  return index;
}

const model::StockLevel* StockBook::levels(std::string_view sku) const {
  int64_t n = skus_.find(sku);
  return n < 0 ? nullptr : levels_[static_cast<size_t>(n)].data();
}

model::StockLevel& StockBook::level(size_t node, std::string_view sku) {
  uint32_t n = skus_.add(sku);
  if (n >= levels_.size()) levels_.resize(n + 1, std::vector<model::StockLevel>(ids_.size()));
  return levels_[n].at(node);
}

// ------------------------------------------------------------ inventory

LiveInventory::LiveInventory(const check::CheckedBundle& bundle, StockBook& book) : book_(book) {
  const model::StaticInventory* nodes = bundle.inventory.get();
  if (!nodes) return;
  for (size_t i = 0; i < nodes->node_count(); ++i) {
    images_.push_back(nodes->node(i));
    to_book_.push_back(book.add_node(nodes->node_id(i)));
    model::RecordRef node(bundle.schema, bundle.node_record, nodes->node(i));
    model::Value capacity = node.get("daily_capacity");
    capacity_.push_back(capacity.kind == model::Value::Kind::Int ? std::optional<int64_t>(capacity.i) : std::nullopt);
    model::Value active = node.get("active");
    active_.push_back(active.kind != model::Value::Kind::Bool || active.b);
    model::Value tags = node.get("tags");
    std::vector<std::string> texts;
    for (uint64_t t = 0; tags.kind == model::Value::Kind::List && t < tags.size; ++t)
      texts.emplace_back(model::list_element(bundle.schema, tags, t).as_string());
    tags_.push_back(std::move(texts));
    same_order_ &= to_book_.back() == i;
  }
}

std::optional<size_t> LiveInventory::find_node(std::string_view id) const {
  for (size_t i = 0; i < to_book_.size(); ++i)
    if (book_.node_id(to_book_[i]) == id) return i;
  return std::nullopt;
}

const model::StockLevel* LiveInventory::sku_stock(std::string_view sku) const {
  const model::StockLevel* row = book_.levels(sku);
  if (!row || same_order_) return row;
  // This deployment lists its nodes in another order than the book.
  thread_local std::vector<model::StockLevel> ordered;
  ordered.resize(to_book_.size());
  for (size_t i = 0; i < to_book_.size(); ++i) ordered[i] = row[to_book_[i]];
  return ordered.data();
}

// ------------------------------------------------------------ channels

ChannelPlan ChannelPlan::from_files(const check::CheckedBundle& bundle, const std::vector<DeploymentFile>& files,
                                    std::string* error) {
  ChannelPlan plan;
  int channel_enum = bundle.schema.find_enum("Channel");
  if (channel_enum < 0) return plan;
  for (const std::string& c : bundle.schema.enum_def(channel_enum).values) plan.rules.push_back({c, 0, {}, ""});
  auto file = std::find_if(files.begin(), files.end(), [](const DeploymentFile& f) { return f.path == "channels.csv"; });
  if (file == files.end()) return plan;
  check::CsvResult csv = check::read_csv(file->text);
  auto fail = [&](uint32_t line, const std::string& message) {
    if (error) *error = fmt::format("channels.csv:{}: {}", line, message);
    return ChannelPlan{};
  };
  if (csv.error) return fail(csv.error->line, csv.error->message);
  bool header = true;
  for (const check::CsvRow& row : csv.rows) {
    if (header) {
      header = false;
      continue;
    }
    if (row.fields.size() < 2) return fail(row.line, "expected channel,buffer[,nodes]");
    auto rule = std::find_if(plan.rules.begin(), plan.rules.end(),
                             [&](const ChannelRule& r) { return r.channel == row.fields[0].text; });
    if (rule == plan.rules.end()) return fail(row.line, fmt::format("unknown channel '{}'", row.fields[0].text));
    try {
      rule->buffer = std::stoll(row.fields[1].text);
    } catch (const std::exception&) {
      return fail(row.line, fmt::format("the buffer '{}' is not a whole number", row.fields[1].text));
    }
    if (rule->buffer < 0) return fail(row.line, "the buffer cannot be negative");
    std::string nodes = row.fields.size() > 2 ? row.fields[2].text : "*";
    if (nodes.rfind("tag:", 0) == 0) {
      rule->tag = nodes.substr(4);
    } else if (nodes != "*") {
      size_t start = 0;
      while (start <= nodes.size()) {
        size_t end = nodes.find(';', start);
        if (end == std::string::npos) end = nodes.size();
        std::string id = nodes.substr(start, end - start);
        if (!id.empty()) rule->nodes.push_back(id);
        start = end + 1;
      }
    }
  }
  return plan;
}

// ------------------------------------------------------------ keeper

void StockKeeper::load() {
  store_.scan_stock([&](const StockRow& row) {
    model::StockLevel& level = book_.level(book_.add_node(row.node), row.sku);
    level = {row.on_hand, row.reserved, row.safety_stock};
    empty_ = false;
  });
}

void StockKeeper::seed(const check::CheckedBundle& bundle, int64_t at, const std::string& cause) {
  if (!empty_ || !bundle.inventory) return;
  const model::StaticInventory& inv = *bundle.inventory;
  for (const std::string& sku : inv.skus()) {
    const model::StockLevel* row = inv.sku_stock(sku);
    for (size_t n = 0; row && n < inv.node_count(); ++n) {
      if (row[n].on_hand == 0 && row[n].reserved == 0 && row[n].safety == 0) continue;
      StockChange c;
      c.at = at;
      c.node = inv.node_id(n);
      c.sku = sku;
      c.on_hand_change = row[n].on_hand;
      c.reserved_change = row[n].reserved;
      c.safety_stock = row[n].safety;
      c.cause = cause;
      change(std::move(c));
    }
  }
}

int64_t StockKeeper::orders_today(const std::string& node, int64_t now) {
  constexpr int64_t kDay = 24LL * 3600 * 1000;
  int64_t day = now >= 0 ? now / kDay : (now - kDay + 1) / kDay;
  if (day != day_) {
    orders_today_ = store_.orders_reserved_since(day * kDay);
    day_ = day;
  }
  auto it = orders_today_.find(node);
  return it == orders_today_.end() ? 0 : it->second;
}

void StockKeeper::count_order(const std::string& node, int64_t now) {
  orders_today(node, now);  // the right day's counts first
  ++orders_today_[node];
}

void StockKeeper::reload() {
  day_ = -1;
  orders_today_.clear();
  for (const std::string& sku : book_.skus())
    for (size_t n = 0; n < book_.node_count(); ++n) book_.level(n, sku) = {};
  advertised_.clear();
  empty_ = true;
  load();
}

StockRow StockKeeper::change(StockChange c) {
  std::optional<StockRow> current = store_.stock(c.node, c.sku);
  StockRow row = current.value_or(StockRow{c.node, c.sku, 0, 0, 0});
  row.on_hand += c.on_hand_change;
  row.reserved += c.reserved_change;
  if (c.safety_stock) row.safety_stock = *c.safety_stock;
  store_.put_stock(row);
  store_.log_stock(c);
  book_.level(book_.add_node(row.node), row.sku) = {row.on_hand, row.reserved, row.safety_stock};
  empty_ = false;
  return row;
}

bool StockKeeper::reserve(const std::string& node, const std::string& sku, int64_t quantity,
                          const std::string& order_id, int64_t at) {
  std::optional<StockRow> row = store_.stock(node, sku);
  if (row) book_.level(book_.add_node(node), sku) = {row->on_hand, row->reserved, row->safety_stock};
  if (!row || row->on_hand - row->reserved - row->safety_stock < quantity) return false;
  StockChange c;
  c.at = at;
  c.node = node;
  c.sku = sku;
  c.reserved_change = quantity;
  c.cause = "reserved";
  c.order_id = order_id;
  change(std::move(c));
  return true;
}

void StockKeeper::advertise(const ChannelPlan& plan, const LiveInventory& nodes, const std::string& sku, int64_t at) {
  const model::StockLevel* levels = nodes.sku_stock(sku);
  for (const ChannelRule& rule : plan.rules) {
    int64_t total = 0;
    for (size_t n = 0; levels && n < nodes.node_count(); ++n) {
      if (!nodes.active(n)) continue;
      const std::string& id = nodes.node_id(n);
      if (!rule.nodes.empty() && std::find(rule.nodes.begin(), rule.nodes.end(), id) == rule.nodes.end()) continue;
      const std::vector<std::string>& tags = nodes.tags(n);
      if (!rule.tag.empty() && std::find(tags.begin(), tags.end(), rule.tag) == tags.end()) continue;
      total += levels[n].available(0);
    }
    int64_t quantity = std::max<int64_t>(0, total - rule.buffer);
    std::string key = rule.channel + '\0' + sku;
    auto known = advertised_.find(key);
    std::optional<int64_t> before =
        known != advertised_.end() ? std::optional<int64_t>(known->second) : store_.advertised(rule.channel, sku);
    if (before == quantity) {
      advertised_[key] = quantity;
      continue;
    }
    store_.put_advertised(rule.channel, sku, quantity);
    advertised_[key] = quantity;
    OutboxMessage m;
    m.created_at = at;
    m.channel = rule.channel;
    m.kind = "inventory_update";
    m.body = {{"sku", sku}, {"quantity", quantity}};
    if (before) m.body["previous"] = *before;
    store_.add_outbox(m);
  }
}

}  // namespace orderflow::runtime
