// Loading the data files that `use` declarations name.
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "compiler/check/checker_internal.h"
#include "compiler/check/csv.h"
#include "compiler/support/suggest.h"

namespace orderflow::check {

namespace {

// "mon", "Monday", "3", "mon-fri", "*": the weekdays (1 = Monday) named.
std::vector<int> parse_weekdays(std::string_view text) {
  static const char* const names[] = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};
  auto one = [](std::string_view t) -> int {
    std::string lower;
    for (char c : t) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.size() == 1 && lower[0] >= '1' && lower[0] <= '7') return lower[0] - '0';
    for (int i = 0; i < 7; ++i) {
      std::string_view full = names[i];
      if (lower == full || (lower.size() == 3 && full.substr(0, 3) == lower)) return i + 1;
    }
    return 0;
  };
  if (text == "*") return {1, 2, 3, 4, 5, 6, 7};
  size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    int d = one(text);
    return d ? std::vector<int>{d} : std::vector<int>{};
  }
  int from = one(text.substr(0, dash)), to = one(text.substr(dash + 1));
  if (!from || !to) return {};
  std::vector<int> days;
  for (int d = from;; d = d % 7 + 1) {
    days.push_back(d);
    if (d == to) break;
  }
  return days;
}

}  // namespace

std::optional<std::vector<CsvRow>> Checker::read_data_file(const std::string& shown, const std::string& text,
                                                           CsvPlaces& places) {
  places.file = out_.sources->add(shown, text);
  // Read as the source manager keeps it: any byte that is not UTF-8 reported, and read as U+FFFD.
  report_not_utf8(out_.sources->file(places.file), places.file, diags_);
  CsvResult csv = read_csv(out_.sources->file(places.file).text());
  if (csv.error) {
    diags_.error("E0702", places.at(csv.error->line, csv.error->column),
                 fmt::format("malformed CSV: {}", csv.error->message),
                 "see RFC 4180: values with commas or quotes go in double quotes");
    return std::nullopt;
  }
  return std::move(csv.rows);
}

void Checker::load_data(const syntax::UseDecl& use, FileId file) {
  namespace fs = std::filesystem;
  fs::path path = data_path(file, use.path);
  std::string shown = path.lexically_normal().generic_string();
  std::optional<std::string> text;
  std::error_code ec;
  if (auto o = options_.overlay.find(shown); o != options_.overlay.end())
    text = o->second;
  else if (fs::is_regular_file(path, ec))
    text = read_text_file(path);
  if (!text) {
    std::string hint = "data files are found relative to the .flow file that names them";
    std::vector<std::string> nearby;
    fs::path dir = path.parent_path();
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
      if (it->is_regular_file()) nearby.push_back(it->path().filename().string());
    if (auto m = closest_match(path.filename().string(), nearby)) hint = "did you mean '" + *m + "'?";
    diags_.error("E0701", use.path_range, fmt::format("data file '{}' not found", shown), hint);
    return;
  }
  CsvPlaces places;
  auto read = read_data_file(shown, *text, places);
  if (!read) return;
  auto at = [&](uint32_t line, uint32_t column, uint32_t width = 1) { return places.at(line, column, width); };
  auto cell_range = [&](const CsvRow& row, const CsvField& f) { return places.cell(row, f); };
  std::vector<CsvRow>& rows = *read;

  // Files with a header: which column holds which name.
  auto header = [&](const std::vector<std::string>& required, const std::vector<std::string>& optional,
                    std::map<std::string, size_t>& columns) {
    if (rows.empty()) {
      diags_.error("E0702", at(1, 1), fmt::format("'{}' is empty; it needs a header line: {}", shown,
                                                  join_alternatives(required, ",")));
      return false;
    }
    for (size_t i = 0; i < rows[0].fields.size(); ++i) columns[rows[0].fields[i].text] = i;
    bool ok = true;
    for (const std::string& name : required) {
      if (columns.count(name)) continue;
      std::vector<std::string> present;
      for (const auto& f : rows[0].fields) present.push_back(f.text);
      std::string hint = "the header line names the columns: " + join_alternatives(required, ",");
      for (const auto& p : present)
        if (edit_distance(p, name) <= 2 && p != name) hint = fmt::format("did you mean '{}' for '{}'?", name, p);
      diags_.error("E0702", at(rows[0].line, 1), fmt::format("'{}' has no column '{}'", shown, name), hint);
      ok = false;
    }
    (void)optional;
    return ok;
  };
  auto cell = [&](const CsvRow& row, size_t column) -> const CsvField* {
    return column < row.fields.size() ? &row.fields[column] : nullptr;
  };

  switch (use.kind) {
    case syntax::UseDecl::Kind::List: {
      model::DataList& list = b_.lists[globals_.at(use.name).index];
      if (list.element.kind != TypeKind::String && list.element.kind != TypeKind::Int) {
        if (!list.element.is_error())
          diags_.error("E0306", use.element->range, "a list from a data file holds texts or whole numbers",
                       "write `use list name of string` or `of int`");
        return;
      }
      std::vector<std::string> strings;
      for (const CsvRow& row : rows) {
        if (row.fields.size() != 1) {
          diags_.error("E0702", at(row.line, row.fields[1].column),
                       fmt::format("expected one value a line, found {}", row.fields.size()),
                       "a list file holds one value on each line, with no header");
          return;
        }
        const CsvField& f = row.fields[0];
        if (list.element.kind == TypeKind::Int) {
          auto d = model::parse_decimal(f.text);
          if (!d || *d % model::kDecimalScale != 0) {
            diags_.error("E0703", cell_range(row, f), fmt::format("'{}' is not a whole number", f.text));
            return;
          }
          list.integers.push_back(*d / model::kDecimalScale);
        } else {
          strings.push_back(f.text);
        }
      }
      if (list.element.kind == TypeKind::String) {
        list.strings = model::StringSet(strings);
        for (const std::string& s : list.strings.values()) list.values.push_back(Value::string(s));
      } else {
        std::sort(list.integers.begin(), list.integers.end());
        list.integers.erase(std::unique(list.integers.begin(), list.integers.end()), list.integers.end());
        for (int64_t v : list.integers) list.values.push_back(Value::integer(v));
      }
      return;
    }
    case syntax::UseDecl::Kind::Geo: {
      std::map<std::string, size_t> columns;
      if (!header({"postal_code", "lat", "lon"}, {}, columns)) return;
      auto geo = std::make_unique<model::GeoTable>();
      geo->name = use.name;
      for (size_t r = 1; r < rows.size(); ++r) {
        const CsvRow& row = rows[r];
        const CsvField* code = cell(row, columns["postal_code"]);
        const CsvField* lat = cell(row, columns["lat"]);
        const CsvField* lon = cell(row, columns["lon"]);
        if (!code || !lat || !lon) {
          diags_.error("E0702", at(row.line, 1), "this line has too few values", "postal_code,lat,lon");
          return;
        }
        char* end = nullptr;
        double la = std::strtod(lat->text.c_str(), &end);
        bool lat_ok = !lat->text.empty() && *end == 0 && la >= -90 && la <= 90;
        double lo = std::strtod(lon->text.c_str(), &end);
        bool lon_ok = !lon->text.empty() && *end == 0 && lo >= -180 && lo <= 180;
        if (!lat_ok) {
          diags_.error("E0703", cell_range(row, *lat), fmt::format("'{}' is not a latitude", lat->text),
                       "a latitude is a number from -90 to 90");
          return;
        }
        if (!lon_ok) {
          diags_.error("E0703", cell_range(row, *lon), fmt::format("'{}' is not a longitude", lon->text),
                       "a longitude is a number from -180 to 180");
          return;
        }
        geo->add(code->text, {la, lo});
      }
      b_.geo = std::move(geo);
      return;
    }
    case syntax::UseDecl::Kind::Rates: {
      std::map<std::string, size_t> columns;
      if (!header({"from", "to", "rate"}, {}, columns)) return;
      auto rates = std::make_unique<model::RateTable>();
      rates->name = use.name;
      for (size_t r = 1; r < rows.size(); ++r) {
        const CsvRow& row = rows[r];
        const CsvField* from = cell(row, columns["from"]);
        const CsvField* to = cell(row, columns["to"]);
        const CsvField* rate = cell(row, columns["rate"]);
        if (!from || !to || !rate) {
          diags_.error("E0702", at(row.line, 1), "this line has too few values", "from,to,rate");
          return;
        }
        auto f = model::currency_from_code(from->text);
        auto t = model::currency_from_code(to->text);
        auto v = model::parse_decimal(rate->text);
        if (!f || !t) {
          const CsvField* bad = f ? to : from;
          diags_.error("E0703", cell_range(row, *bad), fmt::format("'{}' is not a currency", bad->text),
                       "write an ISO 4217 code such as INR");
          return;
        }
        if (!v || *v <= 0) {
          diags_.error("E0703", cell_range(row, *rate), fmt::format("'{}' is not a rate", rate->text),
                       "a rate is a positive number: how much of `to` one `from` buys");
          return;
        }
        rates->add(*f, *t, *v);
      }
      b_.rates = std::move(rates);
      return;
    }
    case syntax::UseDecl::Kind::Table:
    case syntax::UseDecl::Kind::Nodes: {
      bool nodes = use.kind == syntax::UseDecl::Kind::Nodes;
      nodes_declared_ |= nodes;
      int record = nodes ? b_.node_record : b_.keyed_tables[globals_.at(use.name).index].record;
      if (record < 0) return;
      if (nodes && b_.inventory) {
        diags_.error("E0105", use.range, "the bundle's nodes are already given", "list every node in one file");
        return;
      }
      const model::RecordDef& def = b_.schema.record_def(record);
      int key = nodes ? def.find("id") : (use.key.empty() ? 0 : def.find(use.key));
      if (key < 0 || def.fields.empty()) {
        std::vector<std::string> names;
        for (const auto& f : def.fields) names.push_back(f.name);
        diags_.error("E0102", use.key_range, fmt::format("{} has no field '{}'", def.name, use.key),
                     did_you_mean(use.key, names));
        return;
      }
      if (def.fields[key].type.kind != TypeKind::String) {
        diags_.error("E0306", use.key_range.known() ? use.key_range : use.range,
                     fmt::format("a table is looked up by a text field, and {} is {}", def.fields[key].name,
                                 type_name(def.fields[key].type)));
        return;
      }
      std::vector<std::string> required;
      for (const auto& f : def.fields)
        if (!f.optional && f.default_kind == model::DefaultKind::None && f.type.kind != TypeKind::Record &&
            !f.type.is_collection())
          required.push_back(f.name);
      std::map<std::string, size_t> columns;
      if (!header(required, {}, columns)) return;
      // Map columns to fields; a column the record lacks is an error, so a
      // misspelt header never loses data silently.
      std::vector<int> field_of(rows[0].fields.size(), -1);
      bool ok = true;
      for (size_t c = 0; c < rows[0].fields.size(); ++c) {
        const std::string& name = rows[0].fields[c].text;
        int f = def.find(name);
        if (f < 0 || def.fields[f].type.kind == TypeKind::Record) {
          std::vector<std::string> names;
          for (const auto& fd : def.fields) names.push_back(fd.name);
          diags_.error("E0702", cell_range(rows[0], rows[0].fields[c]),
                       fmt::format("{} has no field '{}'", def.name, name), did_you_mean(name, names));
          ok = false;
        }
        field_of[c] = f;
      }
      if (!ok) return;
      auto store = std::make_shared<model::RecordStore>();
      auto inventory = nodes ? std::make_unique<model::StaticInventory>() : nullptr;
      model::KeyedTable scratch_table;
      model::KeyedTable& table = nodes ? scratch_table : b_.keyed_tables[globals_.at(use.name).index];
      table.key_field = key;
      table.store = store;
      std::map<std::string, uint32_t> seen;
      for (size_t r = 1; r < rows.size(); ++r) {
        const CsvRow& row = rows[r];
        std::byte* image = nodes ? inventory->store().allocate(def.size) : store->allocate(def.size);
        model::Arena& arena = nodes ? inventory->store().arena() : store->arena();
        for (size_t c = 0; c < row.fields.size() && c < field_of.size(); ++c) {
          const CsvField& f = row.fields[c];
          if (f.text.empty()) continue;
          const model::FieldDef& fd = def.fields[field_of[c]];
          auto v = model::parse_text_value(b_.schema, fd.type, f.text, arena);
          if (auto* err = std::get_if<std::string>(&v)) {
            diags_.error("E0703", cell_range(row, f), fmt::format("{}: '{}' is not valid", fd.name, f.text), *err);
            ok = false;
            continue;
          }
          if (fd.name == "timezone" && fd.type.kind == TypeKind::String &&
              !time_zone_named(f.text, cell_range(row, f))) {
            ok = false;
            continue;
          }
          model::write_slot(fd.type, image + fd.offset, std::get<Value>(v));
          model::set_presence_bit(image, fd.index);
        }
        // Too few values is as wrong as too many: a missing cost would read
        // as the field's default (0), and the node would look cheapest.
        if (row.fields.size() != field_of.size()) {
          bool extra = row.fields.size() > field_of.size();
          diags_.error("E0702", at(row.line, extra ? row.fields[field_of.size()].column : 1),
                       fmt::format("this line has {} values but the header names {}", row.fields.size(),
                                   field_of.size()),
                       extra ? "" : "leave a value empty with nothing between its commas");
          ok = false;
          continue;
        }
        for (const std::string& name : required) {
          const model::FieldDef& fd = def.fields[def.find(name)];
          if (!model::presence_bit(image, fd.index)) {
            diags_.error("E0703", at(row.line, 1), fmt::format("this line has no {}", name),
                         "every line needs a value in that column");
            ok = false;
          }
        }
        model::apply_constant_defaults(b_.schema, record, image);
        std::string key_text(model::read_slot(b_.schema, def.fields[key].type, image + def.fields[key].offset).as_string());
        if (auto prior = seen.find(key_text); prior != seen.end()) {
          Diagnostic& d = diags_.error("E0704", at(row.line, 1),
                                       fmt::format("'{}' appears twice in '{}'", key_text, shown),
                                       "each line needs its own " + def.fields[key].name);
          d.related.push_back({at(prior->second, 1), "first here"});
          ok = false;
          continue;
        }
        seen[key_text] = row.line;
        if (nodes) {
          model::Value active = model::RecordRef(b_.schema, record, image).get("active");
          inventory->add_node(key_text, image, active.kind != model::Value::Kind::Bool || active.b);
        } else {
          table.add(key_text, image);
        }
      }
      if (!ok) return;
      if (nodes) b_.inventory = std::move(inventory);
      return;
    }
    case syntax::UseDecl::Kind::Stock: {
      if (!b_.inventory && nodes_declared_) return;  // the nodes file has errors, reported already
      if (!b_.inventory) {
        diags_.error("E0701", use.range, "stock needs nodes: declare `use nodes from \"...\"` first",
                     "the stock file names nodes by their id");
        return;
      }
      std::map<std::string, size_t> columns;
      if (!header({"node", "sku", "on_hand"}, {"reserved", "safety_stock"}, columns)) return;
      // Every line's mistakes are reported in one run, as a .flow file's are.
      std::map<std::pair<std::string, std::string>, uint32_t> seen;
      size_t width = rows[0].fields.size();
      for (size_t r = 1; r < rows.size(); ++r) {
        const CsvRow& row = rows[r];
        if (row.fields.size() != width) {
          diags_.error("E0702", at(row.line, 1),
                       fmt::format("this line has {} values but the header names {}", row.fields.size(), width),
                       "leave a value empty with nothing between its commas: BLR-WH,TEE-M,40,,");
          continue;
        }
        const CsvField* node = cell(row, columns["node"]);
        const CsvField* sku = cell(row, columns["sku"]);
        auto index = b_.inventory->find_node(node->text);
        if (!index) {
          std::vector<std::string> ids;
          for (size_t i = 0; i < b_.inventory->node_count(); ++i) ids.push_back(b_.inventory->node_id(i));
          std::string hint = did_you_mean(node->text, ids);
          diags_.error("E0703", cell_range(row, *node), fmt::format("there is no node '{}'", node->text),
                       hint.empty() ? "node ids come from the nodes file" : hint);
          continue;
        }
        if (auto [prior, fresh] = seen.emplace(std::pair{node->text, sku->text}, row.line); !fresh) {
          Diagnostic& d = diags_.error("E0704", at(row.line, 1),
                                       fmt::format("{} at {} appears twice in '{}'", sku->text, node->text, shown),
                                       "keep one line for each node and SKU");
          d.related.push_back({at(prior->second, 1), "first here"});
          continue;
        }
        model::StockLevel level;
        auto number = [&](const char* column, int64_t& out) {
          auto it = columns.find(column);
          if (it == columns.end()) return true;
          const CsvField* f = cell(row, it->second);
          if (!f || f->text.empty()) return true;
          auto d = model::parse_decimal(f->text);
          if (!d || *d % model::kDecimalScale != 0 || *d < 0) {
            diags_.error("E0703", cell_range(row, *f), fmt::format("{}: '{}' is not a count of units", column, f->text));
            return false;
          }
          out = *d / model::kDecimalScale;
          return true;
        };
        bool counts_ok = number("on_hand", level.on_hand);
        counts_ok &= number("reserved", level.reserved);
        counts_ok &= number("safety_stock", level.safety);
        if (!counts_ok) continue;
        b_.inventory->stock(*index, sku->text) = level;
      }
      return;
    }
    case syntax::UseDecl::Kind::Calendar: {
      model::DataList& list = b_.lists[globals_.at(use.name).index];
      std::map<std::string, size_t> columns;
      if (!header({"date"}, {"name"}, columns)) return;
      std::vector<std::string> dates;
      for (size_t r = 1; r < rows.size(); ++r) {
        const CsvField* f = cell(rows[r], columns["date"]);
        if (!f) {
          diags_.error("E0702", at(rows[r].line, 1), "this line has no date");
          continue;
        }
        auto day = model::parse_date(f->text);
        if (auto* why = std::get_if<std::string>(&day)) {
          diags_.error("E0703", cell_range(rows[r], *f), fmt::format("'{}' is not a date", f->text), *why);
          continue;
        }
        // Written back in one spelling, so that date() of a time finds it.
        dates.push_back(model::format_date(std::get<int64_t>(day)));
      }
      list.strings = model::StringSet(dates);
      for (const std::string& d : list.strings.values()) list.values.push_back(Value::string(d));
      return;
    }
    case syntax::UseDecl::Kind::Hours: load_hours(use, rows, places); return;
  }
}

void Checker::load_hours(const syntax::UseDecl& use, const std::vector<CsvRow>& rows, const CsvPlaces& places) {
  auto at = [&](uint32_t line, uint32_t column, uint32_t width) { return places.at(line, column, width); };
  auto cell_range = [&](const CsvRow& row, const CsvField& f) { return places.cell(row, f); };
  model::WorkingHours& hours = b_.hours[globals_.at(use.name).index];
  if (!use.closed_on.empty()) {
    auto g = globals_.find(use.closed_on);
    if (g == globals_.end() || g->second.kind != GlobalName::Kind::List || !b_.lists[g->second.index].calendar) {
      std::vector<std::string> calendars;
      for (const model::DataList& l : b_.lists)
        if (l.calendar) calendars.push_back(l.name);
      diags_.error("E0101", use.closed_on_range, fmt::format("'{}' is not a calendar of this bundle", use.closed_on),
                   calendars.empty() ? "declare one: use calendar holidays from \"data/holidays.csv\""
                                     : did_you_mean(use.closed_on, calendars));
    } else {
      symbol(use.closed_on_range, g->second.range, "calendar", "calendar " + use.closed_on);
      for (const Value& d : b_.lists[g->second.index].values)
        hours.close_on(std::get<int64_t>(model::parse_date(d.as_string())));
    }
  }
  std::map<std::string, size_t> columns;
  const std::vector<std::string> names = {"node", "weekday", "open", "close"};
  if (rows.empty()) {
    diags_.error("E0702", at(1, 1, 1), "the hours file is empty; it needs a header line: node,weekday,open,close");
    return;
  }
  for (size_t i = 0; i < rows[0].fields.size(); ++i) columns[rows[0].fields[i].text] = i;
  for (const std::string& n : names)
    if (!columns.count(n)) {
      diags_.error("E0702", at(rows[0].line, 1, 1), fmt::format("the hours file has no column '{}'", n),
                   "the header line names the columns: node,weekday,open,close");
      return;
    }
  // Every malformed line is reported, not only the first.
  for (size_t r = 1; r < rows.size(); ++r) {
    const CsvRow& row = rows[r];
    std::vector<const CsvField*> f;
    for (const std::string& n : names) {
      size_t c = columns[n];
      f.push_back(c < row.fields.size() && !row.fields[c].text.empty() ? &row.fields[c] : nullptr);
    }
    if (std::find(f.begin(), f.end(), nullptr) != f.end()) {
      diags_.error("E0702", at(row.line, 1, 1), "this line needs a node, a weekday, an opening and a closing time",
                   "node,weekday,open,close as in: blr-wh,mon-fri,09:00,18:00");
      continue;
    }
    const std::string& node = f[0]->text;
    if (b_.inventory && !b_.inventory->find_node(node)) {
      std::vector<std::string> ids;
      for (size_t i = 0; i < b_.inventory->node_count(); ++i) ids.push_back(b_.inventory->node_id(i));
      diags_.error("E0703", cell_range(row, *f[0]), fmt::format("there is no node '{}'", node),
                   did_you_mean(node, ids));
      continue;
    }
    auto days = parse_weekdays(f[1]->text);
    if (days.empty()) {
      diags_.error("E0703", cell_range(row, *f[1]), fmt::format("'{}' is not a day of the week", f[1]->text),
                   "write mon, tue, ... sun, or a range such as mon-fri");
      continue;
    }
    auto clock = [&](const CsvField& field, bool closing) -> std::optional<int64_t> {
      const std::string& t = field.text;
      size_t colon = t.find(':');
      bool digits = colon != std::string::npos && colon >= 1 && colon <= 2 && t.size() == colon + 3 &&
                    std::all_of(t.begin(), t.end(), [](char c) { return c == ':' || (c >= '0' && c <= '9'); });
      int h = digits ? std::stoi(t.substr(0, colon)) : -1, m = digits ? std::stoi(t.substr(colon + 1)) : -1;
      if (digits && ((h <= 23 && m <= 59) || (closing && h == 24 && m == 0)))
        return (static_cast<int64_t>(h) * 60 + m) * 60'000;
      diags_.error("E0703", cell_range(row, field), fmt::format("'{}' is not a time of day", t),
                   closing ? "write HH:MM, 00:00 to 24:00" : "write HH:MM, 00:00 to 23:59");
      return std::nullopt;
    };
    auto open = clock(*f[2], false), close = clock(*f[3], true);
    if (!open || !close) continue;
    if (*open == *close) {
      diags_.error("E0703", cell_range(row, *f[3]), "the node closes when it opens",
                   "for a whole day write 00:00,24:00");
      continue;
    }
    for (int day : days) {
      if (*close > *open) {
        hours.add(node, day, {*open, *close});
      } else {  // open past midnight: the rest of the day, and the next morning
        hours.add(node, day, {*open, model::kMillisPerDay});
        hours.add(node, day % 7 + 1, {0, *close});
      }
    }
  }
  hours.finish();
  if (b_.inventory)
    for (size_t i = 0; i < b_.inventory->node_count(); ++i)
      if (!hours.has_node(b_.inventory->node_id(i)))
        diags_.warning("W0705", use.path_range,
                       fmt::format("node '{}' has no working hours in {}, so working time there is missing",
                                   b_.inventory->node_id(i), use.path),
                       "give it a line for each day it works");
}

void Checker::load_channels() {
  namespace fs = std::filesystem;
  fs::path root = options_.bundle_root;
  if (root.empty() && !paths_.empty()) {
    std::error_code ec;
    root = fs::is_directory(paths_[0], ec) ? fs::path(paths_[0]) : fs::path(paths_[0]).parent_path();
  }
  fs::path path = root / "channels.csv";
  std::string shown = path.lexically_normal().generic_string();
  std::optional<std::string> text;
  std::error_code ec;
  if (auto o = options_.overlay.find(shown); o != options_.overlay.end())
    text = o->second;
  else if (fs::is_regular_file(path, ec))
    text = read_text_file(path);
  if (!text) return;  // no file: every channel sells every node's stock, in full
  CsvPlaces places;
  auto read = read_data_file(shown, *text, places);
  if (!read) return;
  auto at = [&](uint32_t line, uint32_t column, uint32_t width = 1) { return places.at(line, column, width); };
  auto cell_range = [&](const CsvRow& row, const CsvField& f) { return places.cell(row, f); };
  CsvResult csv{std::move(*read), std::nullopt};
  int channel_enum = b_.schema.find_enum("Channel");
  if (csv.rows.empty() || channel_enum < 0) return;
  std::map<std::string, size_t> columns;
  for (size_t i = 0; i < csv.rows[0].fields.size(); ++i) columns[csv.rows[0].fields[i].text] = i;
  for (const char* required : {"channel", "buffer"})
    if (!columns.count(required)) {
      diags_.error("E0702", at(csv.rows[0].line, 1), fmt::format("channels.csv has no column '{}'", required),
                   "the header line names the columns: channel,buffer[,nodes]");
      return;
    }
  const model::EnumDef& channels = b_.schema.enum_def(channel_enum);
  std::map<std::string, uint32_t> seen;
  size_t width = csv.rows[0].fields.size();
  for (size_t r = 1; r < csv.rows.size(); ++r) {
    const CsvRow& row = csv.rows[r];
    // `nodes` may be left off the end of a line: every node.
    size_t needed = std::max(columns["channel"], columns["buffer"]) + 1;
    if (row.fields.size() > width || row.fields.size() < needed) {
      diags_.error("E0702", at(row.line, 1),
                   fmt::format("this line has {} value{} but the header names {}", row.fields.size(),
                               row.fields.size() == 1 ? "" : "s", width),
                   "channel,buffer[,nodes]: a channel and the units held back from it");
      continue;
    }
    const CsvField& channel = row.fields[columns["channel"]];
    const CsvField& buffer = row.fields[columns["buffer"]];
    bool ok = true;
    if (channels.find(channel.text) < 0) {
      diags_.error("E0703", cell_range(row, channel), fmt::format("there is no channel '{}'", channel.text),
                   did_you_mean(channel.text, channels.values));
      ok = false;
    } else if (auto [prior, fresh] = seen.emplace(channel.text, row.line); !fresh) {
      Diagnostic& d = diags_.error("E0704", at(row.line, 1), fmt::format("'{}' appears twice in channels.csv", channel.text),
                                   "keep one line for each channel");
      d.related.push_back({at(prior->second, 1), "first here"});
      ok = false;
    }
    auto units = model::parse_decimal(buffer.text);
    if (!units || *units % model::kDecimalScale != 0 || *units < 0) {
      diags_.error("E0703", cell_range(row, buffer), fmt::format("buffer: '{}' is not a count of units", buffer.text),
                   "the units held back from what the channel is told, 0 or more");
      ok = false;
    }
    CheckedBundle::ChannelSetting setting;
    setting.channel = channel.text;
    setting.buffer = units ? *units / model::kDecimalScale : 0;
    if (auto n = columns.find("nodes"); n != columns.end() && n->second < row.fields.size()) {
      const CsvField& nodes = row.fields[n->second];
      if (nodes.text.rfind("tag:", 0) == 0) {
        setting.tag = nodes.text.substr(4);
      } else if (!nodes.text.empty() && nodes.text != "*") {
        for (size_t start = 0; start <= nodes.text.size();) {
          size_t end = nodes.text.find(';', start);
          if (end == std::string::npos) end = nodes.text.size();
          std::string id = nodes.text.substr(start, end - start);
          start = end + 1;
          if (id.empty()) continue;
          if (b_.inventory && !b_.inventory->find_node(id)) {
            std::vector<std::string> ids;
            for (size_t i = 0; i < b_.inventory->node_count(); ++i) ids.push_back(b_.inventory->node_id(i));
            std::string hint = did_you_mean(id, ids);
            diags_.error("E0703", cell_range(row, nodes), fmt::format("there is no node '{}'", id),
                         hint.empty() ? "node ids come from the nodes file; `*` is every node, `tag:x` the tagged ones"
                                      : hint);
            ok = false;
          }
          setting.nodes.push_back(id);
        }
      }
    }
    if (ok) b_.channel_settings.push_back(std::move(setting));
  }
}

}  // namespace orderflow::check
