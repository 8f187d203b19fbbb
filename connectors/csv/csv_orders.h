#pragma once
// Orders from a spreadsheet, for channels without an API (a marketplace's
// order report, phone orders, a wholesale sheet): one row per line, the
// rows of one order sharing its order_id. The columns are in README.md.
#include <string>
#include <string_view>

#include "connectors/connector.h"

namespace orderflow::connectors {

// Canonical orders, in the order their first rows appear; or the first
// problem, located as "row 12, column quantity" (a cell that is not UTF-8
// text among them).
Normalized orders_from_csv(std::string_view text);

// A sheet saved as Windows-1252 (what spreadsheets on Windows export as
// "CSV"; Latin-1 is its subset) in UTF-8. For a sheet that is not UTF-8,
// read this way on the user's word that it is that encoding.
std::string utf8_from_windows_1252(std::string_view text);

}  // namespace orderflow::connectors
