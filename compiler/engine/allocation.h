#pragma once
// Routing's shared half: what an order needs, how candidate nodes are
// ranked, and which nodes ship which lines. Both engines compute each
// candidate's filter and preference keys in their own way, then hand them
// to RouteSelection, so that they rank, allocate and explain identically.
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "compiler/check/bundle.h"
#include "compiler/engine/engine.h"

namespace orderflow::engine {

// The fields routing reads by name: order.lines, line.sku, line.quantity,
// line.cancelled_quantity and node.id.
struct RoutingFields {
  int order_lines = -1;
  int line_record = -1;
  int line_sku = -1;
  int line_quantity = -1;
  int line_cancelled = -1;  // optional
  int node_id = -1;
  // Where they are in the record images, for reading them without lookups.
  uint32_t lines_offset = 0;
  uint32_t line_size = 0;
  uint32_t sku_offset = 0;
  uint32_t quantity_offset = 0;
  uint32_t cancelled_offset = 0;
  uint32_t node_id_offset = 0;

  // nullopt when the schema lacks one of them.
  static std::optional<RoutingFields> resolve(const check::CheckedBundle& bundle);
};

// What an order needs of one SKU: every line of that SKU ships from the
// same node.
struct Demand {
  std::string_view sku;
  int64_t quantity = 0;
  const model::StockLevel* stock = nullptr;  // one per node; null when no node has the SKU
  uint32_t first_line = 0;                   // its lines: Demands::lines[first_line, first_line + line_count)
  uint32_t line_count = 0;
};

struct DemandLine {
  uint32_t line = 0;  // index into order.lines
  int64_t quantity = 0;
};

// An order's demands. Clearing keeps the capacity, so routing one order
// after another does not allocate.
struct Demands {
  std::vector<Demand> items;
  std::vector<DemandLine> lines;

  size_t size() const { return items.size(); }
  const Demand& operator[](size_t i) const { return items[i]; }
};

// What an order still needs shipped, grouped by SKU in order of first
// appearance; lines with nothing left (all cancelled) are left out.
void order_demands(const check::CheckedBundle& bundle, const RoutingFields& fields, const std::byte* order,
                   const model::Inventory& inventory, Demands& out);

// The node's id (field `id` of its record image).
std::string_view node_id(const check::CheckedBundle& bundle, const RoutingFields& fields, const std::byte* node);

struct Assignment {
  size_t node = 0;              // index into the inventory
  std::vector<size_t> demands;  // indices into the demand list
};

// `ranked` holds candidate nodes, best first; `can_ship(rank, demand)` says
// whether the candidate at that rank has the demand's quantity available.
// Finds the assignment with the fewest nodes (at most max_shipments); among
// those, the one whose nodes rank best (compared as sorted lists of ranks);
// each demand then goes to the best-ranked chosen node that can ship it.
// Returns nullopt when no assignment exists within the limit.
std::optional<std::vector<Assignment>> find_allocation(const std::vector<size_t>& ranked, size_t demand_count,
                                                       int max_shipments,
                                                       const std::function<bool(size_t rank, size_t demand)>& can_ship);

// One route attempt: nodes are reported in inventory order (excluded,
// filtered out, or a candidate with its preference keys and safety stock),
// then finish() ranks and allocates.
class RouteSelection {
 public:
  RouteSelection(const check::CheckedBundle& bundle, const RoutingFields& fields, const check::Route& route,
                 const model::Inventory& inventory, const Demands& demands, TraceDetail detail, Outcome& out);

  // A node routing may not use: inactive, or excluded by the caller (it
  // refused the order before).
  void excluded(size_t node);
  void filtered_out(size_t node, std::vector<std::string> facts);
  // `keys`: one per preference of the route.
  void candidate(size_t node, const model::Value* keys, int64_t safety, std::vector<std::string> facts);

  // True when the order is allocated (out.shipments filled), false when no
  // assignment exists within the route's limit; OpFailure when two keys
  // cannot be compared (amounts in currencies without a rate).
  std::variant<bool, model::OpFailure> finish(std::vector<std::string>* rule_facts);

 private:
  struct Candidate {
    size_t node;
    int64_t safety;
  };
  const model::Value& key(size_t candidate, size_t k) const { return keys_[candidate * route_.prefer.size() + k]; }
  const check::CheckedBundle& bundle_;
  const RoutingFields& fields_;
  const check::Route& route_;
  const model::Inventory& inventory_;
  const Demands& demands_;
  bool values_;
  Outcome& out_;
  std::vector<Candidate> candidates_;
  std::vector<model::Value> keys_;  // each candidate's keys, one after the other
  std::vector<size_t> trace_index_;  // candidate -> its entry in out.nodes
};

// Records one allocation in the outcome: a shipment per node, its lines.
void record_shipments(const check::CheckedBundle& bundle, const RoutingFields& fields,
                      const model::Inventory& inventory, const Demands& demands,
                      const std::vector<Assignment>& assignments, Outcome& out);
// The common case without building an Assignment: everything from one node.
void record_single_shipment(const check::CheckedBundle& bundle, const RoutingFields& fields,
                            const model::Inventory& inventory, const Demands& demands, size_t node, Outcome& out);

}  // namespace orderflow::engine
