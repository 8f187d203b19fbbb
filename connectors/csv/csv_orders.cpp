#include "connectors/csv/csv_orders.h"

#include <fmt/format.h>

#include <map>
#include <set>

#include "compiler/check/csv.h"
#include "compiler/support/source.h"

namespace orderflow::connectors {

namespace {

const std::set<std::string> kRequired = {"order_id", "channel",  "placed_at", "currency",
                                         "sku",      "quantity", "unit_price"};

// Columns that describe the order rather than the line: every row of an
// order must agree on them (or leave them empty).
const std::vector<std::pair<const char*, const char*>> kOrderColumns = {{"channel", "channel"},
                                                                        {"placed_at", "placed_at"},
                                                                        {"currency", ""},
                                                                        {"delivery", "delivery"},
                                                                        {"dispatch_by", "dispatch_by"},
                                                                        {"payment_method", ""},
                                                                        {"payment_status", ""},
                                                                        {"customer_id", ""},
                                                                        {"customer_name", ""},
                                                                        {"customer_email", ""},
                                                                        {"customer_phone", ""},
                                                                        {"ship_name", ""},
                                                                        {"ship_phone", ""},
                                                                        {"ship_line1", ""},
                                                                        {"ship_line2", ""},
                                                                        {"ship_city", ""},
                                                                        {"ship_region", ""},
                                                                        {"ship_postal_code", ""},
                                                                        {"ship_country", ""},
                                                                        {"shipping_fee", ""},
                                                                        {"total", ""},
                                                                        {"tags", ""}};

const std::set<std::string> kLineColumns = {"order_id", "line_id", "sku", "title", "quantity", "unit_price"};

struct Row {
  const check::CsvRow* csv;
  const std::map<std::string, size_t>* columns;
  std::string get(const std::string& name) const {
    auto it = columns->find(name);
    if (it == columns->end() || it->second >= csv->fields.size()) return "";
    return csv->fields[it->second].text;
  }
  std::string where(const std::string& name) const { return fmt::format("row {}, column {}", csv->line, name); }
};

struct Building {
  nlohmann::json order;
  std::map<std::string, std::pair<std::string, Row>> order_values;  // column -> first value and its row
  std::vector<std::string> line_amounts;                            // unit price times quantity
};

}  // namespace

Normalized orders_from_csv(std::string_view text) {
  check::CsvResult csv = check::read_csv(text);
  if (csv.error)
    return PayloadError{fmt::format("row {}, column {}", csv.error->line, csv.error->column), csv.error->message};
  if (csv.rows.empty())
    return PayloadError{"row 1", "the sheet is empty: a header row and one row per line are needed"};
  for (const check::CsvRow& row : csv.rows)
    for (size_t i = 0; i < row.fields.size(); ++i) {
      size_t bad = first_invalid_utf8(row.fields[i].text);
      if (bad == std::string_view::npos) continue;
      const auto& names = csv.rows.front().fields;
      std::string column = i < names.size() && &row != &csv.rows.front() ? names[i].text : std::to_string(row.fields[i].column);
      return PayloadError{fmt::format("row {}, column {}", row.line, column),
                          fmt::format("not UTF-8 text (the byte 0x{:02X}); save the sheet as \"CSV UTF-8\", or read it "
                                      "as Windows-1252 (`orderflow normalize --encoding windows-1252`)",
                                      static_cast<unsigned char>(row.fields[i].text[bad]))};
    }
  std::map<std::string, size_t> columns;
  const check::CsvRow& header = csv.rows.front();
  for (size_t i = 0; i < header.fields.size(); ++i) {
    const std::string& name = header.fields[i].text;
    bool known = kLineColumns.count(name) > 0;
    for (const auto& [column, key] : kOrderColumns) known = known || name == column;
    if (!known)
      return PayloadError{fmt::format("row {}, column {}", header.line, header.fields[i].column),
                          fmt::format("'{}' is not a column orderflow reads (see connectors/README.md)", name)};
    if (!columns.emplace(name, i).second)
      return PayloadError{fmt::format("row {}, column {}", header.line, header.fields[i].column),
                          fmt::format("'{}' is given twice", name)};
  }
  for (const std::string& required : kRequired)
    if (!columns.count(required))
      return PayloadError{fmt::format("row {}", header.line), fmt::format("the column '{}' is missing", required)};

  std::vector<std::string> order_ids;
  std::map<std::string, Building> orders;
  try {
    for (size_t r = 1; r < csv.rows.size(); ++r) {
      Row row{&csv.rows[r], &columns};
      for (const char* required : {"order_id", "sku", "quantity", "unit_price"})
        if (row.get(required).empty()) throw PayloadError{row.where(required), "is empty"};
      std::string id = row.get("order_id");
      auto [it, fresh] = orders.try_emplace(id);
      Building& b = it->second;
      if (fresh) order_ids.push_back(id);
      for (const auto& [column, key] : kOrderColumns) {
        std::string value = row.get(column);
        if (value.empty()) continue;
        auto [seen, first] = b.order_values.try_emplace(column, value, row);
        if (!first && seen->second.first != value)
          throw PayloadError{row.where(column), fmt::format("'{}' differs from '{}' in {} of the same order", value,
                                                            seen->second.first, seen->second.second.where(column))};
      }
      // A later row of an order may leave the order's columns empty.
      for (const char* required : {"channel", "placed_at", "currency"})
        if (!b.order_values.count(required))
          throw PayloadError{row.where(required), "is empty, and no earlier row of the order gives it"};
      std::string currency = b.order_values.at("currency").first;
      int64_t quantity = 0;
      try {
        size_t used = 0;
        quantity = std::stoll(row.get("quantity"), &used);
        if (used != row.get("quantity").size() || quantity <= 0) throw std::invalid_argument("");
      } catch (const std::exception&) {
        throw PayloadError{row.where("quantity"),
                           fmt::format("'{}' is not a whole number of units", row.get("quantity"))};
      }
      std::string price = row.get("unit_price");
      // The line's amount, for the total when the sheet gives none.
      b.line_amounts.push_back(multiply_amount(price, quantity, row.where("unit_price")));
      nlohmann::json line = {
          {"sku", row.get("sku")}, {"quantity", quantity}, {"unit_price", {{"amount", price}, {"currency", currency}}}};
      if (std::string v = row.get("line_id"); !v.empty()) line["id"] = v;
      if (std::string v = row.get("title"); !v.empty()) line["title"] = v;
      b.order["lines"].push_back(line);
    }
  } catch (const PayloadError& e) {
    return e;
  }

  std::vector<nlohmann::json> out;
  try {
    for (const std::string& id : order_ids) {
      Building& b = orders.at(id);
      auto value = [&](const char* column) {
        auto it = b.order_values.find(column);
        return it == b.order_values.end() ? std::string() : it->second.first;
      };
      nlohmann::json& o = b.order;
      std::string currency = value("currency");
      o["id"] = id;
      o["external_id"] = id;
      o["channel"] = value("channel");
      o["placed_at"] = value("placed_at");
      for (const char* key : {"delivery", "dispatch_by"})
        if (std::string v = value(key); !v.empty()) o[key] = v;
      nlohmann::json payment = {{"method", value("payment_method").empty() ? "prepaid" : value("payment_method")}};
      if (std::string v = value("payment_status"); !v.empty()) payment["status"] = v;
      o["payment"] = std::move(payment);
      nlohmann::json customer = nlohmann::json::object();
      for (auto [column, key] : {std::pair{"customer_id", "id"},
                                 {"customer_name", "name"},
                                 {"customer_email", "email"},
                                 {"customer_phone", "phone"}})
        if (std::string v = value(column); !v.empty()) customer[key] = v;
      o["customer"] = std::move(customer);
      nlohmann::json ship = nlohmann::json::object();
      for (auto [column, key] : {std::pair{"ship_name", "name"},
                                 {"ship_phone", "phone"},
                                 {"ship_line1", "line1"},
                                 {"ship_line2", "line2"},
                                 {"ship_city", "city"},
                                 {"ship_region", "region"},
                                 {"ship_postal_code", "postal_code"},
                                 {"ship_country", "country"}})
        if (std::string v = value(column); !v.empty()) ship[key] = v;
      if (!ship.empty()) o["ship_to"] = ship;
      std::string fee = value("shipping_fee");
      if (!fee.empty()) o["shipping_fee"] = {{"amount", fee}, {"currency", currency}};
      std::string total = value("total");
      if (total.empty()) {
        // The lines' amounts plus the shipping fee.
        std::vector<std::string> terms = b.line_amounts;
        if (!fee.empty()) terms.push_back(fee);
        total = sum_amounts(terms, fmt::format("order {}, column total", id));
      }
      o["total"] = {{"amount", total}, {"currency", currency}};
      if (std::string tags = value("tags"); !tags.empty()) {
        nlohmann::json list = nlohmann::json::array();
        size_t start = 0;
        while (start <= tags.size()) {
          size_t end = tags.find(';', start);
          if (end == std::string::npos) end = tags.size();
          if (end > start) list.push_back(tags.substr(start, end - start));
          start = end + 1;
        }
        o["tags"] = std::move(list);
      }
      out.push_back(std::move(o));
    }
  } catch (const PayloadError& e) {
    return e;
  }
  return out;
}

std::string utf8_from_windows_1252(std::string_view text) {
  // 0x80 to 0x9F, where Windows-1252 differs from Latin-1; 0 where it has no character.
  static constexpr char16_t kHigh[32] = {0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
                                         0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
                                         0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
                                         0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    uint32_t cp = byte < 0x80 ? byte : byte < 0xa0 ? kHigh[byte - 0x80] : byte;
    if (cp == 0 && byte != 0) cp = 0xfffd;
    append_utf8(out, cp);
  }
  return out;
}

}  // namespace orderflow::connectors
