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
  for (auto& row : rows_) row.resize(ids_.size());
  return index;
}

std::optional<size_t> StockBook::find_node(std::string_view id) const {
  auto it = by_id_.find(std::string(id));
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

const model::StockLevel* StockBook::levels(std::string_view sku) const {
  int64_t n = skus_.find(sku);
  return n < 0 ? nullptr : levels_[static_cast<size_t>(n)].data();
}

uint32_t StockBook::number(std::string_view sku) {
  uint32_t n = skus_.add(sku);
  if (n >= levels_.size()) {
    levels_.resize(n + 1, std::vector<model::StockLevel>(ids_.size()));
    rows_.resize(n + 1, std::vector<bool>(ids_.size(), false));
    versions_.resize(n + 1, 0);
  }
  return n;
}

model::StockLevel& StockBook::level(size_t node, std::string_view sku) { return levels_[number(sku)].at(node); }

bool StockBook::has_row(size_t node, std::string_view sku) const {
  int64_t n = skus_.find(sku);
  return n >= 0 && node < rows_[static_cast<size_t>(n)].size() && rows_[static_cast<size_t>(n)][node];
}

void StockBook::mark_row(size_t node, std::string_view sku) { rows_[number(sku)].at(node) = true; }

uint64_t StockBook::version(std::string_view sku) const {
  int64_t n = skus_.find(sku);
  return n < 0 ? 0 : versions_[static_cast<size_t>(n)];
}

void StockBook::touch(std::string_view sku) { ++versions_[number(sku)]; }

void StockBook::clear() {
  for (auto& row : levels_) std::fill(row.begin(), row.end(), model::StockLevel{});
  for (auto& row : rows_) std::fill(row.begin(), row.end(), false);
  for (uint64_t& v : versions_) ++v;
}

// ------------------------------------------------------------ inventory

namespace {

// The units a routing rule keeps back when that is a number the bundle
// states (`keep 2 units safety stock`); a keep that depends on the order
// cannot be known before there is one.
int64_t constant_keep(const check::CheckedBundle& bundle) {
  int64_t most = 0;
  const check::Policy* routing = bundle.policy(check::PolicyKind::Routing);
  if (!routing) return 0;
  auto consider = [&](const check::Rule& rule) {
    for (const check::Action& a : rule.actions) {
      if (a.kind != check::ActionKind::Route || !a.route.safety_stock) continue;
      const check::Expr& keep = *a.route.safety_stock;
      if ((keep.kind == check::ExprKind::Literal || keep.kind == check::ExprKind::Const) &&
          keep.value.kind == model::Value::Kind::Int)
        most = std::max(most, keep.value.i);
    }
  };
  for (const check::Rule& r : routing->rules) consider(r);
  if (routing->otherwise) consider(*routing->otherwise);
  return most;
}

}  // namespace

LiveInventory::LiveInventory(const check::CheckedBundle& bundle, StockBook& book)
    : book_(book), keep_(constant_keep(bundle)) {
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
    inactive_.push_back(active_.back() ? 0 : 1);
    any_inactive_ |= !active_.back();
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
  auto it = reordered_.find(sku);
  if (it == reordered_.end()) it = reordered_.emplace(std::string(sku), Reordered{}).first;
  Reordered& copy = it->second;
  uint64_t version = book_.version(sku);
  if (copy.levels.size() != to_book_.size() || copy.version != version) {
    copy.levels.resize(to_book_.size());
    for (size_t i = 0; i < to_book_.size(); ++i) copy.levels[i] = row[to_book_[i]];
    copy.version = version;
  }
  return copy.levels.data();
}

int64_t LiveInventory::available(size_t node, std::string_view sku) const {
  const model::StockLevel* levels = sku_stock(sku);
  return levels ? levels[node].available(keep_) : 0;
}

// ------------------------------------------------------------ channels

ChannelPlan ChannelPlan::from_bundle(const check::CheckedBundle& bundle) {
  ChannelPlan plan;
  int channel_enum = bundle.schema.find_enum("Channel");
  if (channel_enum < 0) return plan;
  for (const std::string& c : bundle.schema.enum_def(channel_enum).values) plan.rules.push_back({c, 0, {}, ""});
  for (const check::CheckedBundle::ChannelSetting& s : bundle.channel_settings)
    for (ChannelRule& rule : plan.rules)
      if (rule.channel == s.channel) rule = {s.channel, s.buffer, s.nodes, s.tag};
  return plan;
}

int64_t ChannelPlan::sellable(const ChannelRule& rule, const LiveInventory& nodes, std::string_view sku) const {
  int64_t total = 0;
  for (size_t n = 0; n < nodes.node_count(); ++n) {
    if (!nodes.active(n)) continue;
    const std::string& id = nodes.node_id(n);
    if (!rule.nodes.empty() && std::find(rule.nodes.begin(), rule.nodes.end(), id) == rule.nodes.end()) continue;
    const std::vector<std::string>& tags = nodes.tags(n);
    if (!rule.tag.empty() && std::find(tags.begin(), tags.end(), rule.tag) == tags.end()) continue;
    total += nodes.available(n, sku);
  }
  return std::max<int64_t>(0, total - rule.buffer);
}

// ------------------------------------------------------------ keeper

void StockKeeper::load(const std::vector<std::string>& first) {
  first_ = first;
  for (const std::string& id : first) book_.add_node(id);
  store_.stock().scan([&](const StockRow& row) {
    size_t node = book_.add_node(row.node);
    book_.level(node, row.sku) = {row.on_hand, row.reserved, row.safety_stock};
    book_.mark_row(node, row.sku);
    book_.touch(row.sku);
    if (row.quarantined || row.written_off || row.to_vendor)
      apart_[{row.node, row.sku}] = {row.quarantined, row.written_off, row.to_vendor};
  });
}

void StockKeeper::reload() {
  day_ = -1;
  orders_today_.clear();
  advertised_.clear();
  apart_.clear();
  book_.clear();
  load(first_);
}

std::vector<StockChange> StockKeeper::unseeded(const check::CheckedBundle& bundle, int64_t at,
                                               const std::string& cause) const {
  std::vector<StockChange> out;
  if (!bundle.inventory) return out;
  const model::StaticInventory& inv = *bundle.inventory;
  for (const std::string& sku : inv.skus()) {
    const model::StockLevel* row = inv.sku_stock(sku);
    for (size_t n = 0; row && n < inv.node_count(); ++n) {
      if (row[n].on_hand == 0 && row[n].reserved == 0 && row[n].safety == 0) continue;
      std::optional<size_t> known = book_.find_node(inv.node_id(n));
      if (known && book_.has_row(*known, sku)) continue;
      StockChange c;
      c.at = at;
      c.node = inv.node_id(n);
      c.sku = sku;
      c.on_hand_change = row[n].on_hand;
      c.reserved_change = row[n].reserved;
      c.safety_stock = row[n].safety;
      c.cause = cause;
      out.push_back(std::move(c));
    }
  }
  return out;
}

StockRow StockKeeper::apply(const StockChange& c) {
  size_t node = book_.add_node(c.node);
  model::StockLevel& level = book_.level(node, c.sku);
  level.on_hand += c.on_hand_change;
  level.reserved += c.reserved_change;
  if (c.safety_stock) level.safety = *c.safety_stock;
  book_.mark_row(node, c.sku);
  book_.touch(c.sku);
  if (c.quarantined_change || c.written_off_change || c.to_vendor_change) {
    KeptApart& apart = apart_[{c.node, c.sku}];
    apart.quarantined += c.quarantined_change;
    apart.written_off += c.written_off_change;
    apart.to_vendor += c.to_vendor_change;
  }
  StockRow out{c.node, c.sku, level.on_hand, level.reserved, level.safety};
  kept_apart(out);
  return out;
}

StockRow StockKeeper::row(const std::string& node, const std::string& sku) {
  StockRow out{node, sku};
  std::optional<size_t> n = book_.find_node(node);
  if (n && book_.levels(sku)) {
    const model::StockLevel& level = book_.levels(sku)[*n];
    out.on_hand = level.on_hand;
    out.reserved = level.reserved;
    out.safety_stock = level.safety;
  }
  kept_apart(out);
  return out;
}

void StockKeeper::kept_apart(StockRow& row) const {
  if (apart_.empty()) return;
  auto apart = apart_.find({row.node, row.sku});
  if (apart == apart_.end()) return;
  row.quarantined = apart->second.quarantined;
  row.written_off = apart->second.written_off;
  row.to_vendor = apart->second.to_vendor;
}

void StockKeeper::restore(const StockRow& row) {
  size_t node = book_.add_node(row.node);
  book_.level(node, row.sku) = {row.on_hand, row.reserved, row.safety_stock};
  book_.touch(row.sku);
  if (row.quarantined || row.written_off || row.to_vendor)
    apart_[{row.node, row.sku}] = {row.quarantined, row.written_off, row.to_vendor};
  else
    apart_.erase({row.node, row.sku});
}

int64_t StockKeeper::orders_today(const std::string& node, int64_t now) {
  constexpr int64_t kDay = 24LL * 3600 * 1000;
  int64_t day = now >= 0 ? now / kDay : (now - kDay + 1) / kDay;
  if (day != day_) {
    orders_today_ = store_.stock().orders_reserved_since(day * kDay);
    day_ = day;
  }
  auto it = orders_today_.find(node);
  return it == orders_today_.end() ? 0 : it->second;
}

void StockKeeper::count_order(const std::string& node, int64_t now) {
  orders_today(node, now);  // the right day's counts first
  ++orders_today_[node];
}

void StockKeeper::uncount_order(const std::string& node, int64_t now) {
  orders_today(node, now);
  if (orders_today_[node] > 0) --orders_today_[node];
}

void StockKeeper::advertise(const ChannelPlan& plan, const LiveInventory& nodes, const std::set<std::string>& skus,
                            int64_t at) {
  for (const std::string& sku : skus)
    for (const ChannelRule& rule : plan.rules) {
      int64_t quantity = plan.sellable(rule, nodes, sku);
      std::string key = rule.channel + '\0' + sku;
      auto known = advertised_.find(key);
      std::optional<int64_t> before = known != advertised_.end() ? std::optional<int64_t>(known->second)
                                                                 : store_.outbox().advertised(rule.channel, sku);
      advertised_[key] = quantity;
      if (before == quantity) continue;
      store_.outbox().put_advertised(rule.channel, sku, quantity);
      OutboxMessage m;
      m.created_at = at;
      m.channel = rule.channel;
      m.kind = "inventory_update";
      m.sku = sku;
      m.quantity = quantity;
      m.previous = before;
      store_.outbox().add(m);
    }
}

}  // namespace orderflow::runtime
