#pragma once
// The live inventory: stock per node and SKU, kept in the store (the stock
// table and the log of every change) and in memory for routing, and what
// each channel may advertise. Available to promise is on hand - reserved -
// safety stock, never below zero.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "compiler/check/bundle.h"
#include "compiler/model/data.h"
#include "runtime/store/store.h"

namespace orderflow::runtime {

// Stock levels by SKU, one per node, for every node any deployment names.
class StockBook {
 public:
  size_t add_node(const std::string& id);  // its index, added when new
  const std::string& node_id(size_t index) const { return ids_.at(index); }
  size_t node_count() const { return ids_.size(); }
  // One level per node for the SKU, or null when no node has a row for it.
  const model::StockLevel* levels(std::string_view sku) const;
  model::StockLevel& level(size_t node, std::string_view sku);
  std::vector<std::string> skus() const { return skus_.texts(); }

 private:
  std::vector<std::string> ids_;
  std::unordered_map<std::string, size_t> by_id_;
  model::TextIndex skus_;
  std::vector<std::vector<model::StockLevel>> levels_;  // by SKU number
};

// One deployment's view of the live stock: its own nodes' records, the
// book's levels.
class LiveInventory final : public model::Inventory {
 public:
  LiveInventory(const check::CheckedBundle& bundle, StockBook& book);
  size_t node_count() const override { return images_.size(); }
  const std::byte* const* node_images() const override { return images_.data(); }
  const model::StockLevel* sku_stock(std::string_view sku) const override;
  const std::string& node_id(size_t index) const { return book_.node_id(to_book_[index]); }
  std::optional<size_t> find_node(std::string_view id) const;
  // The node's daily_capacity (orders a day), when it has one; read once.
  std::optional<int64_t> daily_capacity(size_t node) const { return capacity_[node]; }
  bool active(size_t node) const { return active_[node]; }
  const std::vector<std::string>& tags(size_t node) const { return tags_[node]; }

 private:
  StockBook& book_;
  std::vector<const std::byte*> images_;
  std::vector<size_t> to_book_;
  // What channel sync and capacity read of each node, read from its record once.
  std::vector<std::optional<int64_t>> capacity_;
  std::vector<bool> active_;
  std::vector<std::vector<std::string>> tags_;
  bool same_order_ = true;  // node i is the book's node i
};

// Which nodes serve a channel and how many units to hold back from it, from
// the bundle's optional `channels.csv` (channel,buffer,nodes; nodes is `*`,
// node ids separated by `;`, or `tag:NAME`). Channels it does not name are
// served by every active node with no buffer.
struct ChannelRule {
  std::string channel;
  int64_t buffer = 0;
  std::vector<std::string> nodes;  // empty: every node
  std::string tag;                 // nodes with this tag
};

struct ChannelPlan {
  std::vector<ChannelRule> rules;  // one per channel of the schema
  // Parses channels.csv; an error names the line.
  static ChannelPlan from_files(const check::CheckedBundle& bundle, const std::vector<DeploymentFile>& files,
                                std::string* error);
};

// Writes stock changes through to the store (row and log) and the book,
// and keeps each channel's advertised quantity.
class StockKeeper {
 public:
  explicit StockKeeper(Store& store) : store_(store) {}
  StockBook& book() { return book_; }
  bool empty() const { return empty_; }

  // Reads every row from the store.
  void load();
  // Forgets what it holds and reads the store again: after the store undid
  // changes (a failed input, a failed commit).
  void reload();
  // When the store has no stock yet, starts it from the bundle's `use stock` file.
  void seed(const check::CheckedBundle& bundle, int64_t at, const std::string& cause);

  // Applies one change (logged with its cause) and returns the new row.
  StockRow change(StockChange change);
  // Reserves `quantity` if it is available to promise right now, checked
  // against the store's own row (another engine may have changed it).
  bool reserve(const std::string& node, const std::string& sku, int64_t quantity, const std::string& order_id,
               int64_t at);

  // Orders a node has been allocated on the (UTC) day of `now`, for its
  // daily capacity; count_order() adds one.
  int64_t orders_today(const std::string& node, int64_t now);
  void count_order(const std::string& node, int64_t now);

  // Recomputes what each channel may sell of `sku`; when that changed,
  // records it and queues an inventory update for the channel's connector.
  void advertise(const ChannelPlan& plan, const LiveInventory& nodes, const std::string& sku, int64_t at);

 private:
  Store& store_;
  StockBook book_;
  bool empty_ = true;
  std::unordered_map<std::string, int64_t> advertised_;  // channel '\0' sku -> quantity
  int64_t day_ = -1;                                      // the day orders_today_ counts
  std::map<std::string, int64_t> orders_today_;
};

}  // namespace orderflow::runtime
