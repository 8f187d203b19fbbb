#pragma once
// The orders waiting for stock: in a state that takes `restock`, filed by
// each SKU they need and each node their routing may ship from, the longest
// waiting first. When stock comes in at a node (a receipt, a count, units a
// cancellation gave back), the engine looks only at the orders that stock
// could serve, instead of deciding every backorder again.
//
// Thread safety: the engine thread alone.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace orderflow::runtime {

class Backorders {
 public:
  using Place = std::pair<int64_t, std::string>;  // since, order id: the queue's order

  struct Waiting {
    std::string order_id;
    int64_t since = 0;
    std::map<std::string, int64_t> needs;  // units of each SKU it still needs
    // The nodes its routing may use (it passes their filter and has not
    // been refused by them); empty: any node (it could not be worked out).
    std::set<std::string> nodes;
  };

  // Read from the store when first needed; forgotten with a failed batch.
  bool loaded() const { return loaded_; }
  void set_loaded() { loaded_ = true; }
  void clear();

  void wait(Waiting waiting);
  void stop_waiting(const std::string& order_id);
  bool waiting(const std::string& order_id) const { return orders_.count(order_id) > 0; }
  const Waiting* find(const std::string& order_id) const;
  // The next order after `place` (start from {INT64_MIN, ""}) that needs
  // the SKU and may be shipped from the node; false when there is none.
  bool next(const std::string& sku, const std::string& node, Place& place) const;
  size_t size() const { return orders_.size(); }

 private:
  bool loaded_ = false;
  std::unordered_map<std::string, Waiting> orders_;
  // SKU '\0' node (or "" for any node) -> the orders filed there.
  std::unordered_map<std::string, std::set<Place>> queues_;
};

// The units of each SKU an order still needs (its quantity less what was
// cancelled), from its canonical JSON.
std::map<std::string, int64_t> units_needed(const std::string& order_json);

}  // namespace orderflow::runtime
