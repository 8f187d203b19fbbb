#include "compiler/engine/allocation.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/container/small_vector.hpp>
#include <cstring>

#include "compiler/check/checker.h"

namespace orderflow::engine {

namespace {
// Beyond this many node combinations the search stops looking for fewer
// shipments and takes the greedy answer: large node networks with
// `split at most 4` must not stall an order.
constexpr size_t kMaxCombinations = 200'000;
}  // namespace

std::optional<std::vector<Assignment>> find_allocation(const std::vector<size_t>& ranked, size_t demand_count,
                                                       int max_shipments,
                                                       const std::function<bool(size_t, size_t)>& can_ship) {
  if (demand_count == 0) return std::vector<Assignment>{};
  // Which candidates can ship which demands, computed once.
  std::vector<uint8_t> ship_table(ranked.size() * demand_count);
  auto ships_row = [&](size_t r) { return ship_table.data() + r * demand_count; };
  struct Row {
    const uint8_t* cells;
    bool operator[](size_t d) const { return cells[d]; }
  };
  auto ships = [&](size_t r) { return Row{ships_row(r)}; };
  boost::container::small_vector<size_t, 32> useful;  // ranks that can ship at least one demand
  for (size_t r = 0; r < ranked.size(); ++r) {
    bool any = false;
    for (size_t d = 0; d < demand_count; ++d) any |= (ships_row(r)[d] = can_ship(r, d));
    if (any) useful.push_back(r);
  }
  for (size_t d = 0; d < demand_count; ++d) {
    bool somewhere = false;
    for (size_t r : useful) somewhere |= ships(r)[d];
    if (!somewhere) return std::nullopt;
  }
  auto assign = [&](const std::vector<size_t>& chosen) {
    std::vector<Assignment> out;
    for (size_t r : chosen) out.push_back({ranked[r], {}});
    for (size_t d = 0; d < demand_count; ++d)
      for (size_t i = 0; i < chosen.size(); ++i)
        if (ships(chosen[i])[d]) {
          out[i].demands.push_back(d);
          break;
        }
    std::vector<Assignment> used;
    for (auto& a : out)
      if (!a.demands.empty()) used.push_back(std::move(a));
    return used;
  };
  size_t examined = 0;
  int limit = std::min<int>(max_shipments, static_cast<int>(useful.size()));
  for (int k = 1; k <= limit; ++k) {
    // Combinations of k useful ranks in lexicographic order: the first that
    // covers every demand is the best-ranked one with k nodes.
    std::vector<size_t> idx(k);
    for (int i = 0; i < k; ++i) idx[i] = i;
    while (true) {
      if (++examined > kMaxCombinations) goto greedy;
      {
        bool covers = true;
        for (size_t d = 0; d < demand_count && covers; ++d) {
          bool ok = false;
          for (int i = 0; i < k && !ok; ++i) ok = ships(useful[idx[i]])[d];
          covers = ok;
        }
        if (covers) {
          std::vector<size_t> chosen;
          for (int i = 0; i < k; ++i) chosen.push_back(useful[idx[i]]);
          return assign(chosen);
        }
      }
      int i = k - 1;
      while (i >= 0 && idx[i] == useful.size() - k + i) --i;
      if (i < 0) break;
      ++idx[i];
      for (int j = i + 1; j < k; ++j) idx[j] = idx[j - 1] + 1;
    }
  }
  return std::nullopt;
greedy:
  {
    // Take the node that ships the most still-unshipped demands, best rank
    // first on ties, until everything is covered or the limit is reached.
    std::vector<bool> covered(demand_count, false);
    std::vector<size_t> chosen;
    size_t left = demand_count;
    while (left > 0 && static_cast<int>(chosen.size()) < max_shipments) {
      size_t best = SIZE_MAX, best_count = 0;
      for (size_t r : useful) {
        size_t count = 0;
        for (size_t d = 0; d < demand_count; ++d) count += !covered[d] && ships(r)[d];
        if (count > best_count) {
          best = r;
          best_count = count;
        }
      }
      if (best == SIZE_MAX) break;
      chosen.push_back(best);
      for (size_t d = 0; d < demand_count; ++d)
        if (!covered[d] && ships(best)[d]) {
          covered[d] = true;
          --left;
        }
    }
    if (left > 0) return std::nullopt;
    std::sort(chosen.begin(), chosen.end());
    return assign(chosen);
  }
}

std::optional<RoutingFields> RoutingFields::resolve(const check::CheckedBundle& b) {
  RoutingFields f;
  if (b.order_record < 0 || b.node_record < 0) return std::nullopt;
  const model::RecordDef& order = b.schema.record_def(b.order_record);
  f.order_lines = order.find("lines");
  if (f.order_lines < 0) return std::nullopt;
  model::Type lines = order.fields[f.order_lines].type;
  if (lines.kind != model::TypeKind::List) return std::nullopt;
  model::Type line = b.schema.element_type(lines);
  if (line.kind != model::TypeKind::Record) return std::nullopt;
  f.line_record = line.ref;
  const model::RecordDef& ld = b.schema.record_def(line.ref);
  f.line_sku = ld.find("sku");
  f.line_quantity = ld.find("quantity");
  f.line_cancelled = ld.find("cancelled_quantity");
  if (f.line_sku < 0 || ld.fields[f.line_sku].type.kind != model::TypeKind::String) return std::nullopt;
  if (f.line_quantity < 0 || ld.fields[f.line_quantity].type.kind != model::TypeKind::Int) return std::nullopt;
  if (f.line_cancelled >= 0 && ld.fields[f.line_cancelled].type.kind != model::TypeKind::Int) f.line_cancelled = -1;
  const model::RecordDef& node = b.schema.record_def(b.node_record);
  f.node_id = node.find("id");
  if (f.node_id < 0 || node.fields[f.node_id].type.kind != model::TypeKind::String) return std::nullopt;
  f.lines_offset = order.fields[f.order_lines].offset;
  f.line_size = ld.size;
  f.sku_offset = ld.fields[f.line_sku].offset;
  f.quantity_offset = ld.fields[f.line_quantity].offset;
  if (f.line_cancelled >= 0) f.cancelled_offset = ld.fields[f.line_cancelled].offset;
  f.node_id_offset = node.fields[f.node_id].offset;
  return f;
}

void order_demands(const check::CheckedBundle& b, const RoutingFields& f, const std::byte* order,
                   const model::Inventory& inventory, Demands& out) {
  out.items.clear();
  out.lines.clear();
  // Direct reads: the decoder guarantees lines, sku and quantity are there.
  const std::byte* data;
  uint64_t count;
  std::memcpy(&data, order + f.lines_offset, sizeof(data));
  std::memcpy(&count, order + f.lines_offset + 8, sizeof(count));
  struct Entry {
    std::string_view sku;
    uint32_t line;
    int64_t quantity;
  };
  thread_local std::vector<Entry> entries;
  entries.clear();
  for (uint64_t i = 0; i < count; ++i) {
    const std::byte* line = data + i * f.line_size;
    if (!model::presence_bit(line, f.line_sku) || !model::presence_bit(line, f.line_quantity)) continue;
    std::string_view sku = model::string_slot(line + f.sku_offset);
    int64_t left;
    std::memcpy(&left, line + f.quantity_offset, sizeof(left));
    if (f.line_cancelled >= 0 && model::presence_bit(line, f.line_cancelled)) {
      int64_t cancelled;
      std::memcpy(&cancelled, line + f.cancelled_offset, sizeof(cancelled));
      left -= cancelled;
    }
    if (left <= 0) continue;
    entries.push_back({sku, static_cast<uint32_t>(i), left});
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    bool seen = false;
    for (size_t j = 0; j < i && !seen; ++j) seen = entries[j].sku == entries[i].sku;
    if (seen) continue;
    Demand d;
    d.sku = entries[i].sku;
    d.stock = inventory.sku_stock(d.sku);
    d.first_line = static_cast<uint32_t>(out.lines.size());
    for (size_t j = i; j < entries.size(); ++j) {
      if (entries[j].sku != d.sku) continue;
      out.lines.push_back({entries[j].line, entries[j].quantity});
      d.quantity += entries[j].quantity;
      ++d.line_count;
    }
    out.items.push_back(d);
  }
  (void)b;
}

std::string_view node_id(const check::CheckedBundle&, const RoutingFields& f, const std::byte* node) {
  return model::string_slot(node + f.node_id_offset);
}

void record_shipments(const check::CheckedBundle& b, const RoutingFields& f, const model::Inventory& inventory,
                      const Demands& demands, const std::vector<Assignment>& assignments, Outcome& out) {
  for (const Assignment& a : assignments) {
    uint32_t index = static_cast<uint32_t>(out.shipments.size());
    out.shipments.push_back({a.node, node_id(b, f, inventory.node(a.node))});
    size_t first = out.shipment_lines.size();
    for (size_t d : a.demands)
      for (uint32_t i = 0; i < demands[d].line_count; ++i) {
        const DemandLine& l = demands.lines[demands[d].first_line + i];
        out.shipment_lines.push_back({index, l.line, l.quantity});
      }
    std::sort(out.shipment_lines.begin() + first, out.shipment_lines.end(),
              [](const ShipmentLine& x, const ShipmentLine& y) { return x.line < y.line; });
  }
}

void record_single_shipment(const check::CheckedBundle& b, const RoutingFields& f, const model::Inventory& inventory,
                            const Demands& demands, size_t node, Outcome& out) {
  // Nothing to ship (no lines, or every line cancelled) makes no shipment,
  // as in the general assignment.
  if (demands.lines.empty()) return;
  uint32_t index = static_cast<uint32_t>(out.shipments.size());
  out.shipments.push_back({node, node_id(b, f, inventory.node(node))});
  size_t first = out.shipment_lines.size();
  for (const DemandLine& l : demands.lines) out.shipment_lines.push_back({index, l.line, l.quantity});
  std::sort(out.shipment_lines.begin() + first, out.shipment_lines.end(),
            [](const ShipmentLine& x, const ShipmentLine& y) { return x.line < y.line; });
}

RouteSelection::RouteSelection(const check::CheckedBundle& bundle, const RoutingFields& fields,
                               const check::Route& route, const model::Inventory& inventory,
                               const Demands& demands, TraceDetail detail, Outcome& out)
    : bundle_(bundle),
      fields_(fields),
      route_(route),
      inventory_(inventory),
      demands_(demands),
      values_(detail == TraceDetail::Values),
      out_(out) {}

void RouteSelection::excluded(size_t node) {
  if (!values_) return;
  const uint8_t* inactive = inventory_.inactive();
  out_.nodes.push_back({std::string(node_id(bundle_, fields_, inventory_.node(node))),
                        inactive && inactive[node] ? "inactive: never routed to" : "excluded: it refused this order before",
                        {}});
}

void RouteSelection::filtered_out(size_t node, std::vector<std::string> facts) {
  if (values_)
    out_.nodes.push_back({std::string(node_id(bundle_, fields_, inventory_.node(node))), "filtered out", std::move(facts)});
}

void RouteSelection::candidate(size_t node, const model::Value* keys, int64_t safety,
                               std::vector<std::string> facts) {
  candidates_.push_back({node, safety});
  keys_.insert(keys_.end(), keys, keys + route_.prefer.size());
  if (values_) {
    trace_index_.push_back(out_.nodes.size());
    out_.nodes.push_back({std::string(node_id(bundle_, fields_, inventory_.node(node))), "", std::move(facts)});
  }
}

std::variant<bool, model::OpFailure> RouteSelection::finish(std::vector<std::string>* rule_facts) {
  // Rank: each preference in turn, missing keys last, then inventory order.
  boost::container::small_vector<size_t, 32> order(candidates_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::optional<model::OpFailure> failure;
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    for (size_t k = 0; k < route_.prefer.size(); ++k) {
      const model::Value& a = key(x, k);
      const model::Value& c = key(y, k);
      if (a.is_missing() != c.is_missing()) return c.is_missing();
      if (a.is_missing()) continue;
      auto r = model::compare_values(*model::compare_form_of(a.kind), a, c, bundle_.rates.get());
      if (auto* f = std::get_if<model::OpFailure>(&r)) {
        failure = *f;
        return false;
      }
      int cmp = std::get<int>(r);
      if (cmp == 0) continue;
      bool lowest = route_.prefer[k].direction == check::Preference::Direction::Lowest;
      return lowest ? cmp < 0 : cmp > 0;
    }
    return false;
  });
  if (failure) return *failure;
  std::vector<size_t> ranked;
  for (size_t i : order) ranked.push_back(candidates_[i].node);
  auto can_ship = [&](size_t rank, size_t demand) {
    const Demand& d = demands_[demand];
    return d.stock && d.stock[ranked[rank]].available(candidates_[order[rank]].safety) >= d.quantity;
  };
  auto allocation = find_allocation(ranked, demands_.size(), route_.max_shipments, can_ship);
  if (values_ && rule_facts) {
    // A preference that cannot be measured (a distance to an order with no
    // known location) ranks nothing: say so once, not only node by node.
    for (size_t k = 0; k < route_.prefer.size(); ++k) {
      size_t unknown = 0;
      for (size_t c = 0; c < candidates_.size(); ++c) unknown += key(c, k).is_missing();
      if (unknown == 0) continue;
      rule_facts->push_back(
          unknown == candidates_.size()
              ? fmt::format("{}: unknown for every candidate node{}, so it does not rank them{}",
                            route_.prefer[k].label,
                            route_.prefer[k].label == "nearest" ? " (the order's ship_to has no known location)" : "",
                            k + 1 < route_.prefer.size() ? "; the next preference does" : "; inventory order does")
              : fmt::format("{}: unknown for {} of the {} candidate nodes, which rank after the others on it",
                            route_.prefer[k].label, unknown, candidates_.size()));
    }
  }
  if (values_) {
    for (size_t r = 0; r < order.size(); ++r) {
      const Candidate& c = candidates_[order[r]];
      NodeTrace& t = out_.nodes[trace_index_[order[r]]];
      t.status = fmt::format("candidate {}", r + 1);
      for (size_t k = 0; k < route_.prefer.size(); ++k)
        t.facts.push_back(fmt::format("{}: {}", route_.prefer[k].label,
                                      key(order[r], k).is_missing() ? "unknown"
                                                                    : check::print_value(bundle_, key(order[r], k))));
      for (size_t d = 0; d < demands_.size(); ++d)
        if (!can_ship(r, d))
          t.facts.push_back(fmt::format("cannot ship {} x {}: {} available", demands_[d].quantity, demands_[d].sku,
                                        demands_[d].stock ? demands_[d].stock[c.node].available(c.safety) : 0));
    }
  }
  if (!allocation) {
    if (rule_facts)
      rule_facts->push_back(candidates_.empty()
                                ? "no node passed the filter"
                                : fmt::format("no {} of the {} candidate node{} can ship every line",
                                              route_.max_shipments == 1 ? std::string("one")
                                                                        : fmt::format("{} or fewer", route_.max_shipments),
                                              candidates_.size(), candidates_.size() == 1 ? "" : "s"));
    return false;
  }
  record_shipments(bundle_, fields_, inventory_, demands_, *allocation, out_);
  if (values_)
    for (const Assignment& a : *allocation)
      for (size_t r = 0; r < order.size(); ++r)
        if (candidates_[order[r]].node == a.node) out_.nodes[trace_index_[order[r]]].status = "chosen";
  return true;
}

}  // namespace orderflow::engine
