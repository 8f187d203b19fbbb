#pragma once
// The live inventory: stock per node and SKU, held in memory by the engine
// (the one writer of its database, writer_lock.h) and written through to
// the store's stock table and log, and what each channel may advertise.
//
// Available to promise has one definition, model::StockLevel::available:
// on hand - reserved - the larger of the row's safety stock and what
// routing keeps back, never below zero. Routing reads it with its rule's
// `keep N units`; what `orderflow stock` shows and what the channels are
// told read it with the most any routing rule keeps (LiveInventory::keep),
// so a channel is never told it may sell a unit routing would not.
//
// Thread safety: the engine thread alone.
#include <map>
#include <memory>
#include <optional>
#include <set>
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
  std::optional<size_t> find_node(std::string_view id) const;
  size_t node_count() const { return ids_.size(); }
  // One level per node (in the book's order) for the SKU, or null when no
  // node has had a row for it.
  const model::StockLevel* levels(std::string_view sku) const;
  model::StockLevel& level(size_t node, std::string_view sku);
  // Whether the store has a row for the node and SKU (it may be all zeros).
  bool has_row(size_t node, std::string_view sku) const;
  void mark_row(size_t node, std::string_view sku);
  // Moves on every change of any node's level of the SKU.
  uint64_t version(std::string_view sku) const;
  void touch(std::string_view sku);
  std::vector<std::string> skus() const { return skus_.texts(); }
  void clear();

 private:
  uint32_t number(std::string_view sku);  // the SKU's number, added when new

  std::vector<std::string> ids_;
  std::unordered_map<std::string, size_t> by_id_;
  model::TextIndex skus_;
  std::vector<std::vector<model::StockLevel>> levels_;  // by SKU number
  std::vector<std::vector<bool>> rows_;                 // by SKU number
  std::vector<uint64_t> versions_;                      // by SKU number
};

// One deployment's view of the live stock: its own nodes, in its own order,
// over the book's levels.
class LiveInventory final : public model::Inventory {
 public:
  LiveInventory(const check::CheckedBundle& bundle, StockBook& book);
  size_t node_count() const override { return images_.size(); }
  const std::byte* const* node_images() const override { return images_.data(); }
  const model::StockLevel* sku_stock(std::string_view sku) const override;
  const uint8_t* inactive() const override { return any_inactive_ ? inactive_.data() : nullptr; }
  const std::string& node_id(size_t index) const { return book_.node_id(to_book_[index]); }
  std::optional<size_t> find_node(std::string_view id) const;
  // The node's daily_capacity (orders a day), when it has one; read once.
  std::optional<int64_t> daily_capacity(size_t node) const { return capacity_[node]; }
  // Inactive nodes are never routed to and never counted as stock a channel may sell.
  bool active(size_t node) const { return active_[node]; }
  const std::vector<std::string>& tags(size_t node) const { return tags_[node]; }
  // Units routing keeps back at every node: the most any routing rule
  // keeps with a constant `keep N units safety stock`.
  int64_t keep() const { return keep_; }
  // Available to promise at the node, as channels and `orderflow stock` see it.
  int64_t available(size_t node, std::string_view sku) const;

 private:
  StockBook& book_;
  std::vector<const std::byte*> images_;
  std::vector<size_t> to_book_;
  // What channel sync and capacity read of each node, read from its record once.
  std::vector<std::optional<int64_t>> capacity_;
  std::vector<bool> active_;
  std::vector<uint8_t> inactive_;
  bool any_inactive_ = false;
  std::vector<std::vector<std::string>> tags_;
  int64_t keep_ = 0;
  bool same_order_ = true;  // node i is the book's node i
  // A deployment that lists its nodes in another order than the book reads
  // each SKU's levels through a copy in its own order, made again when the
  // book's levels of the SKU change. Each SKU has its own copy, so the
  // levels of the several SKUs of one order are all valid at once.
  struct Reordered {
    uint64_t version = 0;
    std::vector<model::StockLevel> levels;
  };
  mutable std::unordered_map<std::string, Reordered, model::TextHash, std::equal_to<>> reordered_;
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
  // From the bundle's channels.csv, which the checker read (and refused
  // when malformed); channels it does not name sell every node's stock.
  static ChannelPlan from_bundle(const check::CheckedBundle& bundle);
  // What the channel may be told it can sell of the SKU.
  int64_t sellable(const ChannelRule& rule, const LiveInventory& nodes, std::string_view sku) const;
};

// The engine's stock: the book in memory, the store's rows behind it.
class StockKeeper {
 public:
  explicit StockKeeper(Store& store) : store_(store) {}
  StockBook& book() { return book_; }

  // Reads every row from the store; `first` names nodes to number first
  // (the live deployment's, so that its inventory reads the book directly).
  void load(const std::vector<std::string>& first);
  // Forgets what it holds and reads the store again: after the store undid
  // changes (a failed commit).
  void reload();

  // The stock rows the bundle's `use stock` file has that the store has
  // never had, as changes to apply (the first engine on a database, or a
  // deployment that adds a node or a SKU).
  std::vector<StockChange> unseeded(const check::CheckedBundle& bundle, int64_t at, const std::string& cause) const;

  // Applies one change to the book and returns the row after it; the
  // caller writes the change and the row to the store.
  StockRow apply(const StockChange& change);
  StockRow row(const std::string& node, const std::string& sku);
  // Puts a row back as row() gave it before an input that is undone.
  void restore(const StockRow& row);

  // Orders a node has been allocated on the (UTC) day of `now`, for its
  // daily capacity; count_order() adds one, uncount_order() takes it back.
  int64_t orders_today(const std::string& node, int64_t now);
  void count_order(const std::string& node, int64_t now);
  void uncount_order(const std::string& node, int64_t now);

  // Recomputes what each channel may sell of the SKUs; where that moved,
  // records it and queues an inventory update for the channel's connector.
  // REQUIRES: inside the engine's open transaction.
  void advertise(const ChannelPlan& plan, const LiveInventory& nodes, const std::set<std::string>& skus, int64_t at);

 private:
  Store& store_;
  StockBook book_;
  std::vector<std::string> first_;
  // Returned units kept out of stock, by node and SKU: never sold, so not
  // in the book that routing reads. Few rows have any: most changes (every
  // reservation) find the map empty and look nothing up.
  struct KeptApart {
    int64_t quarantined = 0;
    int64_t written_off = 0;
    int64_t to_vendor = 0;
  };
  std::map<std::pair<std::string, std::string>, KeptApart> apart_;
  void kept_apart(StockRow& row) const;  // fills the row's kept-apart counts
  std::unordered_map<std::string, int64_t> advertised_;  // channel '\0' sku -> quantity
  int64_t day_ = -1;                                      // the day orders_today_ counts
  std::map<std::string, int64_t> orders_today_;
};

}  // namespace orderflow::runtime
