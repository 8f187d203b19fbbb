#include "compiler/check/checker.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "compiler/check/checker_internal.h"
#include "compiler/support/suggest.h"
#include "compiler/syntax/parser.h"
#include "stdlib/stdlib.h"

namespace orderflow::check {

namespace fs = std::filesystem;

namespace {

std::string display_path(const fs::path& p) {
  std::string s = p.lexically_normal().generic_string();
  while (s.rfind("./", 0) == 0) s.erase(0, 2);
  return s;
}

std::string sha256_hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

const std::map<std::string, TypeKind, std::less<>>& scalar_types() {
  static const std::map<std::string, TypeKind, std::less<>> types = {
      {"bool", TypeKind::Bool},         {"int", TypeKind::Int},         {"decimal", TypeKind::Decimal},
      {"float", TypeKind::Float},       {"money", TypeKind::Money},     {"string", TypeKind::String},
      {"duration", TypeKind::Duration}, {"time", TypeKind::Time},       {"distance", TypeKind::Distance},
  };
  return types;
}

}  // namespace

Checker::Checker(const std::vector<std::string>& paths, const CheckOptions& options, CheckOutcome& out)
    : options_(options),
      paths_(paths),
      out_(out),
      diags_(out.diagnostics),
      bundle_(std::make_unique<CheckedBundle>()),
      b_(*bundle_) {
  out_.sources = std::make_shared<SourceManager>();
  b_.sources = out_.sources;
}

void Checker::symbol(SourceRange use, SourceRange def, std::string kind, std::string detail, std::string doc) {
  if (!use.known()) return;
  out_.symbols.push_back({use, def, std::move(kind), std::move(detail), std::move(doc)});
}

void Checker::run() {
  load_sources();
  declare_schema();
  declare_globals();
  declare_timezone();
  declare_data();
  // Tables first: a computed default may call one.
  check_tables();
  check_record_defaults();
  load_all_data();
  load_channels();
  for (size_t i = 0; i < b_.constants.size(); ++i) check_const(static_cast<int>(i));
  check_policies();
  check_machine();
  check_tests();
  analyze_rules();
  analyze_machine();
  analyze_currencies();
  finish();
}

// ------------------------------------------------------------ sources

void Checker::load_sources() {
  SourceManager& sources = *out_.sources;
  for (const StdlibFile& f : stdlib_files()) {
    FileId id = sources.add(std::string(f.path), std::string(f.text));
    stdlib_files_.push_back(syntax::parse_file(sources, id, diags_));
  }

  std::vector<std::pair<fs::path, std::string>> files;  // path on disk, display path
  for (const std::string& given : paths_) {
    fs::path p(given);
    std::error_code ec;
    bool in_overlay = options_.overlay.count(given) > 0;
    if (!in_overlay && !fs::exists(p, ec)) {
      diags_.error("E0005", {}, fmt::format("cannot read '{}': no such file or folder", given));
      continue;
    }
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> found;
      for (auto it = fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec);
           it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        std::string name = it->path().filename().string();
        if (it->is_directory() && (name.starts_with(".") || name == "node_modules")) {
          it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file() && it->path().extension() == ".flow") found.push_back(it->path());
      }
      std::sort(found.begin(), found.end());
      if (found.empty()) diags_.error("E0005", {}, fmt::format("no .flow files in '{}'", given));
      for (const fs::path& f : found) files.push_back({f, display_path(f)});
    } else {
      files.push_back({p, display_path(p)});
    }
  }
  for (const auto& [path, shown] : files) {
    std::optional<std::string> text;
    auto o = options_.overlay.find(path.string());
    if (o == options_.overlay.end()) o = options_.overlay.find(shown);
    if (o != options_.overlay.end())
      text = o->second;
    else
      text = read_text_file(path);
    if (!text) {
      diags_.error("E0005", {}, fmt::format("cannot read '{}'", shown));
      continue;
    }
    FileId id = sources.add(shown, std::move(*text));
    b_.bundle_files.push_back(id);
    out_.parsed.push_back(syntax::parse_file(sources, id, diags_));
  }
  for (auto& f : stdlib_files_) all_files_.push_back(&f);
  for (auto& f : out_.parsed) all_files_.push_back(&f);
  for (auto* f : all_files_) any_syntax_errors_ |= f->had_syntax_errors;
}

fs::path Checker::data_path(FileId file, const std::string& relative) const {
  fs::path base = fs::path(out_.sources->file(file).path()).parent_path();
  return base / relative;
}

// ------------------------------------------------------------ schema

Type Checker::resolve_type(const syntax::TypeRef& ref) {
  switch (ref.kind) {
    case syntax::TypeRef::Kind::List: return b_.schema.list_of(resolve_type(*ref.element));
    case syntax::TypeRef::Kind::Set: return b_.schema.set_of(resolve_type(*ref.element));
    case syntax::TypeRef::Kind::Named: break;
  }
  auto scalar = scalar_types().find(ref.name);
  if (scalar != scalar_types().end()) return Type::of(scalar->second);
  if (int r = b_.schema.find_record(ref.name); r >= 0) {
    symbol(ref.range, b_.schema.record_def(r).range, "record", "record " + ref.name, b_.schema.record_def(r).doc);
    return b_.schema.record_type(r);
  }
  if (int e = b_.schema.find_enum(ref.name); e >= 0) {
    symbol(ref.range, b_.schema.enum_def(e).range, "enum", "enum " + ref.name, b_.schema.enum_def(e).doc);
    return b_.schema.enum_type(e);
  }
  std::vector<std::string> candidates;
  for (const auto& [name, kind] : scalar_types()) candidates.push_back(name);
  for (size_t i = 0; i < b_.schema.record_count(); ++i) candidates.push_back(b_.schema.record_def(i).name);
  for (size_t i = 0; i < b_.schema.enum_count(); ++i) candidates.push_back(b_.schema.enum_def(i).name);
  std::string hint = did_you_mean(ref.name, candidates);
  if (hint.empty()) hint = "types are bool, int, decimal, float, money, string, duration, time, distance, an enum or a record";
  diags_.error("E0106", ref.range, fmt::format("unknown type '{}'", ref.name), hint);
  return Type::error();
}

void Checker::declare_schema() {
  model::Schema& schema = b_.schema;
  auto duplicate = [&](const std::string& what, const std::string& name, SourceRange here, SourceRange before) {
    Diagnostic& d = diags_.error("E0105", here, fmt::format("{} '{}' is already defined", what, name),
                                 "give it another name, or use `extend` to add to it");
    d.related.push_back({before, "first defined here"});
  };

  // Enums, then their extensions.
  for (auto* file : all_files_) {
    for (const syntax::EnumDecl& e : file->enums) {
      if (e.extend) continue;
      if (int prior = schema.find_enum(e.name); prior >= 0) {
        duplicate("enum", e.name, e.name_range, schema.enum_def(prior).range);
        continue;
      }
      model::EnumDef def;
      def.name = e.name;
      def.range = e.name_range;
      def.doc = e.doc;
      for (const auto& v : e.values) {
        if (def.find(v.name) >= 0) {
          diags_.error("E0105", v.range, fmt::format("'{}' is listed twice in {}", v.name, e.name));
          continue;
        }
        def.values.push_back(v.name);
        def.value_ranges.push_back(v.range);
        def.value_docs.push_back(v.doc);
      }
      schema.add_enum(std::move(def));
    }
  }
  declare_machine();
  for (auto* file : all_files_) {
    for (const syntax::EnumDecl& e : file->enums) {
      if (!e.extend) continue;
      int index = schema.find_enum(e.name);
      if (index < 0) {
        std::vector<std::string> names;
        for (size_t i = 0; i < schema.enum_count(); ++i) names.push_back(schema.enum_def(i).name);
        diags_.error("E0111", e.name_range, fmt::format("there is no enum '{}' to extend", e.name),
                     did_you_mean(e.name, names));
        continue;
      }
      model::EnumDef& def = schema.enum_def(index);
      symbol(e.name_range, def.range, "enum", "enum " + def.name, def.doc);
      for (const auto& v : e.values) {
        if (int prior = def.find(v.name); prior >= 0) {
          duplicate("value", v.name, v.range, def.value_ranges[prior]);
          continue;
        }
        def.values.push_back(v.name);
        def.value_ranges.push_back(v.range);
        def.value_docs.push_back(v.doc);
      }
    }
  }

  // Records: names first, so that fields can refer to any record.
  std::vector<std::pair<int, const syntax::RecordDecl*>> declared;
  for (auto* file : all_files_) {
    for (const syntax::RecordDecl& r : file->records) {
      if (r.extend) continue;
      if (int prior = schema.find_record(r.name); prior >= 0) {
        duplicate("record", r.name, r.name_range, schema.record_def(prior).range);
        continue;
      }
      if (schema.find_enum(r.name) >= 0 || scalar_types().count(r.name)) {
        diags_.error("E0105", r.name_range, fmt::format("'{}' is already the name of a type", r.name));
        continue;
      }
      model::RecordDef def;
      def.name = r.name;
      def.range = r.name_range;
      def.doc = r.doc;
      declared.push_back({schema.add_record(std::move(def)), &r});
    }
  }
  auto add_fields = [&](int record, const syntax::RecordDecl& decl) {
    for (const syntax::FieldDecl& f : decl.fields) {
      model::RecordDef& def = schema.record_def(record);
      if (int prior = def.find(f.name); prior >= 0) {
        Diagnostic& d = diags_.error("E0110", f.name_range,
                                     fmt::format("{} already has a field '{}'", def.name, f.name),
                                     "give the new field another name");
        d.related.push_back({def.fields[prior].range, "defined here"});
        continue;
      }
      Type t = resolve_type(*f.type);
      model::FieldDef fd;
      fd.name = f.name;
      fd.type = t;
      fd.optional = f.optional;
      fd.doc = f.doc;
      fd.range = f.name_range;
      fd.index = static_cast<uint32_t>(def.fields.size());
      // Lists and sets are never missing: an absent one is empty.
      if (t.is_collection() && f.optional)
        diags_.warning("W0310", f.range, fmt::format("a {} is never missing, only empty", type_name(t)),
                       "remove the `?`");
      if (t.is_collection()) fd.optional = false;
      schema.record_def(record).fields.push_back(std::move(fd));
      symbol(f.name_range, f.name_range, "field", fmt::format("{}: {}{}", f.name, type_name(t), f.optional ? "?" : ""),
             f.doc);
    }
  };
  for (auto& [index, decl] : declared) add_fields(index, *decl);
  for (auto* file : all_files_) {
    for (const syntax::RecordDecl& r : file->records) {
      if (!r.extend) continue;
      int index = schema.find_record(r.name);
      if (index < 0) {
        std::vector<std::string> names;
        for (size_t i = 0; i < schema.record_count(); ++i) names.push_back(schema.record_def(i).name);
        diags_.error("E0111", r.name_range, fmt::format("there is no record '{}' to extend", r.name),
                     did_you_mean(r.name, names));
        continue;
      }
      symbol(r.name_range, schema.record_def(index).range, "record", "record " + r.name, schema.record_def(index).doc);
      add_fields(index, r);
    }
  }
  for (const std::string& cyclic : schema.compute_layouts())
    diags_.error("E0106", schema.record_def(schema.find_record(cyclic)).range,
                 fmt::format("record {} contains itself", cyclic), "hold the inner records in a `list of`");

  b_.order_record = schema.find_record("Order");
  b_.node_record = schema.find_record("Node");
  b_.line_record = schema.find_record("Line");
  b_.address_record = schema.find_record("Address");
  b_.priority_enum = schema.find_enum("Priority");
  b_.history_record = schema.find_record("CustomerHistory");
  b_.return_record = schema.find_record("Return");
  b_.unit_record = schema.find_record("ReturnUnit");
  b_.ndr_record = schema.find_record("Ndr");
  if (b_.order_record < 0) diags_.error("E0106", {}, "the schema has no record Order");
  if (b_.order_record >= 0) {
    const model::RecordDef& order = schema.record_def(b_.order_record);
    int delivery = order.find("delivery");
    if (delivery >= 0 && order.fields[delivery].type.kind == TypeKind::Enum) b_.delivery_field = delivery;
  }
}

static bool is_return_machine(const syntax::Machine& m) { return m.name == kReturnMachineName; }

void Checker::declare_machine() {
  declare_machine(MachineRole::Order);
  declare_machine(MachineRole::Return);
}

// The bundle's own machine replaces the standard library's. A machine named
// `return_lifecycle` is the returns'; any other is the order's.
void Checker::declare_machine(MachineRole role) {
  bool returns = role == MachineRole::Return;
  const char* enum_name = returns ? "ReturnState" : "OrderState";
  const syntax::Machine* chosen = nullptr;
  FileId chosen_file = kNoFile;
  for (auto& f : out_.parsed) {
    for (const syntax::Machine& m : f.machines) {
      if (is_return_machine(m) != returns) continue;
      if (!chosen) {
        chosen = &m;
        chosen_file = f.file;
      } else {
        Diagnostic& d = diags_.error("E0607", m.name_range,
                                     returns ? "a bundle has one return_lifecycle machine"
                                             : "a bundle has one order lifecycle machine",
                                     "remove this machine or merge it into the first");
        d.related.push_back({chosen->name_range, "the first machine"});
      }
    }
  }
  if (!chosen) {
    for (auto& f : stdlib_files_) {
      for (const syntax::Machine& m : f.machines)
        if (is_return_machine(m) == returns && !chosen) {
          chosen = &m;
          chosen_file = f.file;
        }
    }
  }
  model::EnumDef states;
  states.name = enum_name;
  states.doc = returns ? "The states of a return, from machine return_lifecycle."
                       : "The states of the order lifecycle machine.";
  std::optional<Machine>& slot = returns ? b_.return_machine : b_.machine;
  if (chosen) {
    states.range = chosen->name_range;
    auto add = [&](const syntax::NameRef& n) {
      if (states.find(n.name) < 0) {
        states.values.push_back(n.name);
        states.value_ranges.push_back(n.range);
        states.value_docs.push_back({});
      }
    };
    if (chosen->initial) add(*chosen->initial);
    for (const auto& t : chosen->transitions) {
      for (const auto& s : t.sources) add(s);
      for (const auto& s : t.targets) add(s);
    }
    for (const auto& s : chosen->terminals) add(s);
    (returns ? return_machine_decl_ : machine_decl_) = chosen;
    Machine m;
    m.name = chosen->name;
    m.file = chosen_file;
    m.range = chosen->name_range;
    m.states = states.values;
    m.state_ranges = states.value_ranges;
    m.terminal.assign(m.states.size(), false);
    slot = std::move(m);
  }
  if (int prior = b_.schema.find_enum(enum_name); prior >= 0) {
    diags_.error("E0105", b_.schema.enum_def(prior).range,
                 fmt::format("{} is the machine's list of states; it cannot be declared as an enum", enum_name),
                 "declare the states in a `machine`");
    return;
  }
  int index = b_.schema.add_enum(std::move(states));
  if (slot) slot->state_enum = index;
}

// ------------------------------------------------------------ globals

bool Checker::declare_global(const std::string& name, SourceRange range, GlobalName::Kind kind, int index) {
  {
    if (name == "order" || name == "node" || name == "now" || name == "nodes") {
      diags_.error("E0105", range, fmt::format("'{}' is a built-in name", name), "choose another name");
      return false;
    }
    auto it = globals_.find(name);
    if (it != globals_.end()) {
      Diagnostic& d = diags_.error("E0105", range, fmt::format("'{}' is already defined", name),
                                   "constants, lists, tables and data files share one set of names");
      d.related.push_back({it->second.range, "first defined here"});
      return false;
    }
    globals_[name] = {kind, index, range};
    return true;
  }
}

void Checker::declare_globals() {
  auto declare = [&](const std::string& name, SourceRange range, GlobalName::Kind kind, int index) {
    return declare_global(name, range, kind, index);
  };

  for (auto* file : all_files_) {
    for (const syntax::ConstDecl& c : file->consts) {
      int index = static_cast<int>(b_.constants.size());
      if (!declare(c.name, c.name_range, GlobalName::Kind::Const, index)) continue;
      Constant k;
      k.name = c.name;
      k.range = c.name_range;
      k.doc = c.doc;
      b_.constants.push_back(std::move(k));
      const_decls_[index] = &c;
    }
    for (const syntax::Table& t : file->tables) {
      int index = static_cast<int>(b_.tables.size());
      if (!declare(t.name, t.name_range, GlobalName::Kind::Table, index)) continue;
      Table table;
      table.name = t.name;
      table.range = t.name_range;
      table.doc = t.doc;
      b_.tables.push_back(std::move(table));
    }
  }
  const_state_.assign(b_.constants.size(), 0);
}

std::optional<model::TimeZone> Checker::time_zone_named(std::string_view name, SourceRange range) {
  if (auto zone = model::TimeZone::find(name)) return zone;
  std::string hint = did_you_mean(std::string(name), model::TimeZone::names());
  if (hint.empty()) hint = "time zones are named as in the tz database: \"Asia/Kolkata\", \"Asia/Singapore\", \"UTC\"";
  diags_.error("E0310", range, fmt::format("there is no time zone '{}'", name), hint);
  return std::nullopt;
}

void Checker::declare_timezone() {
  const syntax::TimezoneDecl* first = nullptr;
  for (auto* file : all_files_)
    for (const syntax::TimezoneDecl& t : file->timezones) {
      if (first) {
        if (t.name != first->name) {
          Diagnostic& d = diags_.error(
              "E0207", t.range, fmt::format("the bundle's time zone is already '{}'", first->name),
              "a bundle has one local time; pass another zone where it is needed: hour(t, \"Asia/Singapore\")");
          d.related.push_back({first->range, "given here"});
        }
        continue;
      }
      first = &t;
      if (auto zone = time_zone_named(t.name, t.range)) {
        b_.timezone = *zone;
        b_.timezone_name = t.name;
      }
    }
}

void Checker::declare_data() {
  // Names first, so that constants, defaults and rules can refer to any data
  // file; the files are read by load_all_data().
  for (auto* file : all_files_) {
    for (const syntax::UseDecl& u : file->uses) {
      switch (u.kind) {
        case syntax::UseDecl::Kind::List:
          if (declare_global(u.name, u.name_range, GlobalName::Kind::List, static_cast<int>(b_.lists.size()))) {
            model::DataList list;
            list.name = u.name;
            list.element = u.element ? resolve_type(*u.element) : Type::of(TypeKind::String);
            b_.lists.push_back(std::move(list));
            pending_data_.push_back({&u, file->file});
          }
          break;
        case syntax::UseDecl::Kind::Table: {
          int record = b_.schema.find_record(u.record);
          if (record < 0) {
            std::vector<std::string> names;
            for (size_t i = 0; i < b_.schema.record_count(); ++i) names.push_back(b_.schema.record_def(i).name);
            diags_.error("E0106", u.record_range, fmt::format("unknown record '{}'", u.record),
                         did_you_mean(u.record, names));
            break;
          }
          if (declare_global(u.name, u.name_range, GlobalName::Kind::KeyedTable,
                             static_cast<int>(b_.keyed_tables.size()))) {
            model::KeyedTable table;
            table.name = u.name;
            table.record = record;
            b_.keyed_tables.push_back(std::move(table));
            pending_data_.push_back({&u, file->file});
          }
          break;
        }
        case syntax::UseDecl::Kind::Geo:
        case syntax::UseDecl::Kind::Rates: {
          bool geo = u.kind == syntax::UseDecl::Kind::Geo;
          bool& seen = geo ? geo_declared_ : rates_declared_;
          if (seen) {
            diags_.error("E0105", u.name_range,
                         geo ? "a bundle has one geo table" : "a bundle has one exchange rate table",
                         "merge the files into one");
            break;
          }
          seen = true;
          if (declare_global(u.name, u.name_range, geo ? GlobalName::Kind::Geo : GlobalName::Kind::Rates, 0))
            pending_data_.push_back({&u, file->file});
          break;
        }
        case syntax::UseDecl::Kind::Nodes: pending_data_.push_back({&u, file->file}); break;
        case syntax::UseDecl::Kind::Calendar:
          if (declare_global(u.name, u.name_range, GlobalName::Kind::List, static_cast<int>(b_.lists.size()))) {
            model::DataList list;
            list.name = u.name;
            list.calendar = true;
            list.element = Type::of(TypeKind::String);
            b_.lists.push_back(std::move(list));
            pending_data_.push_back({&u, file->file});
          }
          break;
        case syntax::UseDecl::Kind::Hours:
          if (declare_global(u.name, u.name_range, GlobalName::Kind::Hours, static_cast<int>(b_.hours.size()))) {
            b_.hours.emplace_back();
            b_.hours.back().name = u.name;
            b_.hours.back().calendar_name = u.closed_on;
          }
          break;
        case syntax::UseDecl::Kind::Stock: break;  // after the nodes, below
      }
    }
  }
  // Stock names nodes; working hours name nodes and calendars.
  for (auto* file : all_files_)
    for (const syntax::UseDecl& u : file->uses)
      if (u.kind == syntax::UseDecl::Kind::Stock) pending_data_.push_back({&u, file->file});
  for (auto* file : all_files_)
    for (const syntax::UseDecl& u : file->uses)
      if (u.kind == syntax::UseDecl::Kind::Hours && globals_.count(u.name) &&
          globals_.at(u.name).kind == GlobalName::Kind::Hours && globals_.at(u.name).range == u.name_range)
        pending_data_.push_back({&u, file->file});
  has_geo_ = geo_declared_;
}

void Checker::load_all_data() {
  for (const auto& [use, file] : pending_data_) load_data(*use, file);
}

void Checker::check_record_defaults() {
  // Which defaults read the record (or the clock) is known from their words
  // before any is checked, so that a default reading a field declared after
  // it reads that field's default too, whichever is checked first.
  for (auto* file : all_files_)
    for (const syntax::RecordDecl& r : file->records) {
      int record = b_.schema.find_record(r.name);
      if (record < 0) continue;
      const model::RecordDef& def = b_.schema.record_def(record);
      for (const syntax::FieldDecl& f : r.fields) {
        int field = def.find(f.name);
        if (!f.default_value || field < 0 || def.fields[field].type.is_error()) continue;
        std::function<bool(const syntax::Expr&)> reads_record = [&](const syntax::Expr& x) {
          if (x.kind == syntax::ExprKind::Now || x.kind == syntax::ExprKind::Nodes) return true;
          if (x.kind == syntax::ExprKind::Name && def.find(x.text) >= 0) return true;
          for (const auto& a : x.args)
            if (reads_record(*a)) return true;
          return false;
        };
        if (!reads_record(*f.default_value)) continue;
        b_.schema.record_def(record).fields[field].default_kind = model::DefaultKind::Computed;
        b_.computed_defaults[{record, field}] = std::make_unique<Expr>();
        pending_defaults_.insert({record, field});
      }
    }
  for (auto* file : all_files_) {
    for (const syntax::RecordDecl& r : file->records) {
      int record = b_.schema.find_record(r.name);
      if (record < 0) continue;
      for (const syntax::FieldDecl& f : r.fields) {
        if (!f.default_value) continue;
        int field = b_.schema.record_def(record).find(f.name);
        if (field < 0) continue;
        model::FieldDef& fd = b_.schema.record_def(record).fields[field];
        if (fd.type.is_error()) continue;
        Scope scope;
        scope.context = "a field default";
        scope.now = true;
        scope.self_record = record;
        int slots = 0;
        scope.max_slots = &slots;
        ExprPtr e = check_as(*f.default_value, scope, fd.type, "the default");
        if (pending_defaults_.erase({record, field})) {
          // Filled in where it stands: fields checked before point at it.
          if (!e->type.is_error()) *b_.computed_defaults.at({record, field}) = std::move(*e);
          continue;
        }
        if (e->type.is_error()) continue;
        bool constant = true;
        std::function<void(const Expr&)> visit = [&](const Expr& x) {
          if (x.kind == ExprKind::Self || x.kind == ExprKind::Now || x.kind == ExprKind::Field ||
              x.kind == ExprKind::Var || x.kind == ExprKind::Nodes)
            constant = false;
          for (const auto& a : x.args) visit(*a);
        };
        visit(*e);
        if (constant) {
          if (auto v = fold(*e, "a default")) {
            fd.default_kind = model::DefaultKind::Constant;
            fd.default_value = intern_value(*v);
          }
        } else {
          fd.default_kind = model::DefaultKind::Computed;
          b_.computed_defaults[{record, field}] = std::move(e);
        }
      }
    }
  }
  check_default_cycles();
}

// Defaults that read each other in a circle (a = b + 1, b = a + 1) have no
// value: an error at each, naming the circle.
void Checker::check_default_cycles() {
  using Key = std::pair<int, int>;
  std::map<Key, std::vector<Key>> reads;
  for (const auto& [key, e] : b_.computed_defaults) {
    std::function<void(const Expr&)> walk = [&](const Expr& x) {
      if (x.kind == ExprKind::Field && x.computed_default) reads[key].push_back({x.record, x.field});
      for (const auto& a : x.args) walk(*a);
    };
    walk(*e);
  }
  auto name = [&](Key k) {
    const model::RecordDef& def = b_.schema.record_def(k.first);
    return def.name + "." + def.fields[k.second].name;
  };
  std::map<Key, int> state;  // 1: on the path, 2: done
  std::vector<Key> path;
  std::set<Key> reported;
  std::function<void(Key)> visit = [&](Key k) {
    state[k] = 1;
    path.push_back(k);
    for (Key next : reads[k]) {
      if (state[next] == 1) {
        std::vector<Key> circle(std::find(path.begin(), path.end(), next), path.end());
        for (size_t i = 0; i < circle.size(); ++i) {
          if (!reported.insert(circle[i]).second) continue;
          // The circle as read from this field round to it again.
          std::vector<std::string> names;
          for (size_t j = 0; j <= circle.size(); ++j) names.push_back(name(circle[(i + j) % circle.size()]));
          const model::FieldDef& fd = b_.schema.record_def(circle[i].first).fields[circle[i].second];
          diags_.error("E0113", fd.range,
                       fmt::format("the default of {} reads itself: {}", name(circle[i]), fmt::join(names, " -> ")),
                       "give one of them a value that does not depend on the others");
        }
      } else if (state[next] == 0) {
        visit(next);
      }
    }
    path.pop_back();
    state[k] = 2;
  };
  for (const auto& [key, e] : b_.computed_defaults)
    if (state[key] == 0) visit(key);
}

Value Checker::intern_value(const Value& v) {
  if (v.kind == Value::Kind::String) return Value::string(b_.schema.strings().intern(v.as_string()));
  return v;
}

// ------------------------------------------------------------ layout

void Checker::layout_for_use() {
  model::Schema& schema = b_.schema;
  // Which fields any expression reads, per record.
  std::vector<std::vector<bool>> used(schema.record_count());
  for (size_t r = 0; r < schema.record_count(); ++r) used[r].assign(schema.record_def(r).fields.size(), false);
  std::function<void(const Expr&)> visit = [&](const Expr& e) {
    if ((e.kind == ExprKind::Field || e.kind == ExprKind::Project) && e.record >= 0) used[e.record][e.field] = true;
    for (const auto& a : e.args) visit(*a);
  };
  auto rule = [&](const Rule& r) {
    if (r.when) visit(*r.when);
    for (const Action& a : r.actions) {
      for (const Expr* x : {a.value.get(), a.priority.get(), a.decision.hold_for.get(), a.route.filter.get(),
                            a.route.safety_stock.get()})
        if (x) visit(*x);
      for (const Preference& p : a.route.prefer) visit(*p.key);
      if (a.route.else_decision && a.route.else_decision->hold_for) visit(*a.route.else_decision->hold_for);
    }
  };
  for (const Policy& p : b_.policies) {
    for (const Rule& r : p.rules) rule(r);
    if (p.otherwise) rule(*p.otherwise);
  }
  for (const auto& [key, e] : b_.computed_defaults) visit(*e);
  if (b_.machine)
    for (const Transition& t : b_.machine->transitions)
      if (t.guard) visit(*t.guard);
  // Routing reads the lines' SKUs and quantities itself.
  if (b_.policy(PolicyKind::Routing) && b_.order_record >= 0) {
    const model::RecordDef& order = schema.record_def(b_.order_record);
    if (int lines = order.find("lines"); lines >= 0) {
      used[b_.order_record][lines] = true;
      model::Type line = schema.element_type(order.fields[lines].type);
      if (line.kind == TypeKind::Record)
        for (const char* name : {"sku", "quantity", "cancelled_quantity"})
          if (int f = schema.record_def(line.ref).find(name); f >= 0) used[line.ref][f] = true;
    }
  }
  // Records whose images exist already (nodes, keyed tables) keep their layout.
  std::vector<bool> frozen(schema.record_count(), false);
  if (b_.node_record >= 0) frozen[b_.node_record] = true;
  for (const model::KeyedTable& t : b_.keyed_tables)
    if (t.record >= 0) frozen[t.record] = true;
  for (size_t r = 0; r < schema.record_count(); ++r) {
    if (frozen[r]) continue;
    const model::RecordDef& def = schema.record_def(static_cast<int>(r));
    std::vector<int> order;
    // Used values first, then used nested records (their own used fields
    // first), then everything nothing reads.
    for (int pass = 0; pass < 3; ++pass)
      for (size_t f = 0; f < def.fields.size(); ++f) {
        bool nested = def.fields[f].type.kind == TypeKind::Record;
        if ((pass == 0 && used[r][f] && !nested) || (pass == 1 && used[r][f] && nested) || (pass == 2 && !used[r][f]))
          order.push_back(static_cast<int>(f));
      }
    schema.relayout(static_cast<int>(r), order);
  }
}

// ------------------------------------------------------------ finish

void Checker::finish() {
  diags_.sort(*out_.sources);
  if (diags_.has_errors()) return;
  layout_for_use();
  for (size_t r = 0; r < b_.schema.record_count(); ++r) {
    const model::RecordDef& def = b_.schema.record_def(static_cast<int>(r));
    auto typed = [&](const char* name, TypeKind kind) {
      int f = def.find(name);
      return f >= 0 && def.fields[f].type.kind == kind ? f : -1;
    };
    b_.places.push_back({typed("lat", TypeKind::Float), typed("lon", TypeKind::Float),
                         typed("postal_code", TypeKind::String)});
  }
  std::string all;
  for (FileId f : b_.bundle_files) {
    const SourceFile& file = out_.sources->file(f);
    all += file.path();
    all += '\0';
    all += file.text();
    all += '\0';
  }
  b_.content_hash = sha256_hex(all);
  out_.bundle = std::move(bundle_);
}

// ------------------------------------------------------------ entry

CheckOutcome check_bundle(const std::vector<std::string>& paths, const CheckOptions& options) {
  CheckOutcome out;
  Checker checker(paths, options, out);
  checker.run();
  return out;
}

std::shared_ptr<const CheckedBundle> standard_library() {
  static const std::shared_ptr<const CheckedBundle> bundle = [] {
    CheckOptions options;
    options.overlay["<standard library>.flow"] = "";
    CheckOutcome out = check_bundle({"<standard library>.flow"}, options);
    if (!out.ok()) throw std::logic_error("the standard library does not check");
    return std::shared_ptr<const CheckedBundle>(std::move(out.bundle));
  }();
  return bundle;
}

// ------------------------------------------------------------ bundle

const char* policy_kind_name(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::Acceptance: return "acceptance";
    case PolicyKind::Routing: return "routing";
    case PolicyKind::Escalation: return "escalation";
    case PolicyKind::Returns: return "returns";
    case PolicyKind::Disposition: return "disposition";
    case PolicyKind::Ndr: return "ndr";
  }
  return "?";
}

std::optional<PolicyKind> policy_kind_named(std::string_view name) {
  for (PolicyKind kind : kPolicyKinds)
    if (name == policy_kind_name(kind)) return kind;
  return std::nullopt;
}

const char* policy_subject(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::Returns: return "return";
    case PolicyKind::Disposition: return "unit";
    case PolicyKind::Ndr: return "ndr";
    default: return nullptr;
  }
}

int CheckedBundle::subject_record(PolicyKind kind) const {
  switch (kind) {
    case PolicyKind::Returns: return return_record;
    case PolicyKind::Disposition: return unit_record;
    case PolicyKind::Ndr: return ndr_record;
    default: return -1;
  }
}

const char* decision_target_state(DecisionKind kind, bool routed) {
  switch (kind) {
    case DecisionKind::Accept: return routed ? "allocated" : "accepted";
    case DecisionKind::Hold: return "held";
    case DecisionKind::Reject: return "rejected";
    case DecisionKind::Cancel: return "cancelled";
    case DecisionKind::Backorder: return "backordered";
    case DecisionKind::Approve: return "authorized";
    case DecisionKind::Restock:
    case DecisionKind::Quarantine:
    case DecisionKind::WriteOff:
    case DecisionKind::ReturnToVendor: return "disposed";
    case DecisionKind::Reattempt:
    case DecisionKind::Reschedule: return "shipped";
    case DecisionKind::ReturnToOrigin: return "rto";
  }
  return "?";
}

int Machine::find_state(std::string_view name) const {
  for (size_t i = 0; i < states.size(); ++i)
    if (states[i] == name) return static_cast<int>(i);
  return -1;
}

const Policy* CheckedBundle::policy(PolicyKind kind) const {
  for (const Policy& p : policies)
    if (p.kind == kind) return &p;
  return nullptr;
}

std::string CheckedBundle::declared_version() const {
  if (const Policy* p = policy(PolicyKind::Acceptance); p && !p->version.empty()) return p->version;
  for (const Policy& p : policies)
    if (!p.version.empty()) return p.version;
  return "";
}

std::string_view CheckedBundle::source_text(const SourceRange& range) const {
  if (!sources || !range.known()) return {};
  return sources->file(range.file).slice(range, true);
}

}  // namespace orderflow::check
