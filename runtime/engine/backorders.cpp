#include "runtime/engine/backorders.h"

#include <nlohmann/json.hpp>

namespace orderflow::runtime {

namespace {

std::string queue_key(const std::string& sku, const std::string& node) { return sku + '\0' + node; }

}  // namespace

void Backorders::clear() {
  loaded_ = false;
  orders_.clear();
  queues_.clear();
}

void Backorders::wait(Waiting waiting) {
  if (orders_.count(waiting.order_id)) return;
  Place place{waiting.since, waiting.order_id};
  for (const auto& [sku, units] : waiting.needs) {
    if (waiting.nodes.empty()) queues_[queue_key(sku, "")].insert(place);
    for (const std::string& node : waiting.nodes) queues_[queue_key(sku, node)].insert(place);
  }
  std::string id = waiting.order_id;
  orders_.emplace(std::move(id), std::move(waiting));
}

void Backorders::stop_waiting(const std::string& order_id) {
  auto it = orders_.find(order_id);
  if (it == orders_.end()) return;
  const Waiting& w = it->second;
  Place place{w.since, w.order_id};
  auto drop = [&](const std::string& key) {
    auto queue = queues_.find(key);
    if (queue == queues_.end()) return;
    queue->second.erase(place);
    if (queue->second.empty()) queues_.erase(queue);
  };
  for (const auto& [sku, units] : w.needs) {
    if (w.nodes.empty()) drop(queue_key(sku, ""));
    for (const std::string& node : w.nodes) drop(queue_key(sku, node));
  }
  orders_.erase(it);
}

const Backorders::Waiting* Backorders::find(const std::string& order_id) const {
  auto it = orders_.find(order_id);
  return it == orders_.end() ? nullptr : &it->second;
}

bool Backorders::next(const std::string& sku, const std::string& node, Place& place) const {
  std::optional<Place> best;
  for (const std::string& key : {queue_key(sku, node), queue_key(sku, "")}) {
    auto queue = queues_.find(key);
    if (queue == queues_.end()) continue;
    auto it = queue->second.upper_bound(place);
    if (it != queue->second.end() && (!best || *it < *best)) best = *it;
  }
  if (!best) return false;
  place = *best;
  return true;
}

std::map<std::string, int64_t> units_needed(const std::string& order_json) {
  std::map<std::string, int64_t> out;
  nlohmann::json order = nlohmann::json::parse(order_json, nullptr, false);
  if (!order.is_object() || !order.contains("lines") || !order["lines"].is_array()) return out;
  for (const auto& line : order["lines"]) {
    if (!line.is_object() || !line.contains("sku") || !line["sku"].is_string()) continue;
    int64_t left = line.value("quantity", int64_t{0}) - line.value("cancelled_quantity", int64_t{0});
    if (left > 0) out[line["sku"].get<std::string>()] += left;
  }
  return out;
}

}  // namespace orderflow::runtime
