#pragma once
// Choosing which nodes ship which lines, once a routing rule has filtered
// and ranked the candidates. Shared by every engine, so that the
// interpreter and the JIT allocate identically.
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "compiler/check/bundle.h"

namespace orderflow::engine {

// What an order needs of one SKU: every line of that SKU ships from the
// same node.
struct Demand {
  std::string_view sku;
  int64_t quantity = 0;
  std::vector<size_t> lines;       // indices into order.lines
  std::vector<int64_t> quantities; // per line
};

struct Assignment {
  size_t node = 0;           // index into the inventory
  std::vector<size_t> demands;  // indices into the demand list
};

// `ranked` holds candidate nodes, best first. `can_ship(rank, demand)` says
// whether the candidate at that rank has the demand's quantity available.
// Finds the assignment with the fewest nodes (at most max_shipments); among
// those, the one whose nodes rank best (compared as sorted lists of ranks);
// each demand then goes to the best-ranked chosen node that can ship it.
// Returns nullopt when no assignment exists within the limit.
std::optional<std::vector<Assignment>> find_allocation(const std::vector<size_t>& ranked, size_t demand_count,
                                                       int max_shipments,
                                                       const std::function<bool(size_t rank, size_t demand)>& can_ship);

// The fields routing reads by name: order.lines, line.sku, line.quantity,
// line.cancelled_quantity and node.id.
struct RoutingFields {
  int order_lines = -1;
  int line_record = -1;
  int line_sku = -1;
  int line_quantity = -1;
  int line_cancelled = -1;  // optional
  int node_id = -1;

  // nullopt when the schema lacks one of them.
  static std::optional<RoutingFields> resolve(const check::CheckedBundle& bundle);
};

// What an order still needs shipped, grouped by SKU in the order of first
// appearance; lines with nothing left (all cancelled) are left out.
std::vector<Demand> order_demands(const check::CheckedBundle& bundle, const RoutingFields& fields,
                                  const std::byte* order);

// The node's id (field `id` of its record image).
std::string_view node_id(const check::CheckedBundle& bundle, const RoutingFields& fields, const std::byte* node);

}  // namespace orderflow::engine
