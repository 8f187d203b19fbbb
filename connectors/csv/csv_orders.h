#pragma once
// Orders from a spreadsheet, for channels without an API (a marketplace's
// order report, phone orders, a wholesale sheet): one row per line, the
// rows of one order sharing its order_id. The columns are in README.md.
#include <string>
#include <string_view>

#include "connectors/connector.h"

namespace orderflow::connectors {

// Canonical orders, in the order their first rows appear; or the first
// problem, located as "row 12, column quantity".
Normalized orders_from_csv(std::string_view text);

}  // namespace orderflow::connectors
