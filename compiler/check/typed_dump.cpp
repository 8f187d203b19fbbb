// The canonical text of typed expressions and `orderflow check --emit typed`.
#include <fmt/format.h>

#include "compiler/check/builtin_table.h"
#include "compiler/check/checker_internal.h"

namespace orderflow::check {

namespace {

const char* arith_symbol(model::ArithForm f) {
  using model::ArithForm;
  switch (f) {
    case ArithForm::IntAdd:
    case ArithForm::DecimalAdd:
    case ArithForm::FloatAdd:
    case ArithForm::MoneyAdd:
    case ArithForm::DurationAdd:
    case ArithForm::TimeAdd:
    case ArithForm::DistanceAdd:
    case ArithForm::StringConcat: return "+";
    case ArithForm::IntSub:
    case ArithForm::DecimalSub:
    case ArithForm::FloatSub:
    case ArithForm::MoneySub:
    case ArithForm::DurationSub:
    case ArithForm::TimeDiff:
    case ArithForm::TimeSub:
    case ArithForm::DistanceSub: return "-";
    case ArithForm::IntMul:
    case ArithForm::DecimalMul:
    case ArithForm::FloatMul:
    case ArithForm::MoneyScale:
    case ArithForm::DurationScale:
    case ArithForm::DistanceScale: return "*";
    case ArithForm::IntMod: return "%";
    default: return "/";
  }
}

}  // namespace

std::string print_value(const CheckedBundle& b, const Value& v) {
  if (v.kind == Value::Kind::Time) return fmt::format("time(\"{}\")", model::format_time(v.i));
  return model::format_value(v, b.schema);
}

std::string print_expr(const CheckedBundle& b, const Expr& e) {
  auto arg = [&](size_t i) { return print_expr(b, *e.args[i]); };
  switch (e.kind) {
    case ExprKind::Literal: return e.type.is_error() ? "<error>" : print_value(b, e.value);
    case ExprKind::Const: return b.constants.at(e.index).name;
    case ExprKind::Var: return e.name.empty() ? fmt::format("${}", e.index) : e.name;
    case ExprKind::Self: return "self";
    case ExprKind::Now: return "now";
    case ExprKind::Nodes: return "nodes";
    case ExprKind::Field: {
      const std::string& field = b.schema.record_def(e.record).fields[e.field].name;
      if (e.args[0]->kind == ExprKind::Self) return field;
      return arg(0) + "." + field;
    }
    case ExprKind::Project: return arg(0) + "." + b.schema.record_def(e.record).fields[e.field].name;
    case ExprKind::Convert: return fmt::format("{}({})", model::scalar_type_name(e.type.kind), arg(0));
    case ExprKind::Negate: return "-" + arg(0);
    case ExprKind::Not: return "not (" + arg(0) + ")";
    case ExprKind::And: return "(" + arg(0) + " and " + arg(1) + ")";
    case ExprKind::Or: return "(" + arg(0) + " or " + arg(1) + ")";
    case ExprKind::Arith: return "(" + arg(0) + " " + arith_symbol(e.arith) + " " + arg(1) + ")";
    case ExprKind::Compare:
      return "(" + arg(0) + " " + model::compare_op_spelling(e.compare_op) + " " + arg(1) + ")";
    case ExprKind::Presence: return "(" + arg(0) + (e.negated ? " is missing)" : " is present)");
    case ExprKind::InList: {
      std::string items;
      for (size_t i = 1; i < e.args.size(); ++i) items += (i > 1 ? ", " : "") + arg(i);
      return "(" + arg(0) + (e.negated ? " not in [" : " in [") + items + "])";
    }
    case ExprKind::InData: return "(" + arg(0) + (e.negated ? " not in " : " in ") + b.lists.at(e.index).name + ")";
    case ExprKind::InCollection: return "(" + arg(0) + (e.negated ? " not in " : " in ") + arg(1) + ")";
    case ExprKind::Quantifier:
      return fmt::format("({} {} in {} where {})", e.quantifier_all ? "all" : "any", e.name, arg(0), arg(1));
    case ExprKind::Comprehension:
      return fmt::format("{} for {} in {}{}", arg(1), e.name, arg(0), e.args.size() > 2 ? " where " + arg(2) : "");
    case ExprKind::Call: {
      if (e.builtin == Builtin::Entered) {
        // arg(0) is the list it reads, "order.state_entered": printed as written.
        std::string list = arg(0);
        std::string_view suffix = ".state_entered";
        if (list.ends_with(suffix)) list.resize(list.size() - suffix.size());
        return fmt::format("{}.entered({})", list, arg(1));
      }
      if (e.builtin == Builtin::NodeNamed) return "order.node";
      if (e.builtin == Builtin::Matches)
        return fmt::format("{} matches {}", arg(0), print_value(b, Value::string(b.patterns.at(e.index).source())));
      std::string args;
      for (size_t i = 0; i < e.args.size(); ++i) args += (i ? ", " : "") + arg(i);
      return fmt::format("{}({})", builtin_spec(e.builtin).name, args);
    }
    case ExprKind::TableCall: {
      std::string args;
      for (size_t i = 0; i < e.args.size(); ++i) args += (i ? ", " : "") + arg(i);
      return fmt::format("{}({})", b.tables.at(e.index).name, args);
    }
    case ExprKind::Lookup: return fmt::format("{}({})", b.keyed_tables.at(e.index).name, arg(0));
    case ExprKind::List: {
      std::string items;
      for (size_t i = 0; i < e.args.size(); ++i) items += (i ? ", " : "") + arg(i);
      return "[" + items + "]";
    }
  }
  return "?";
}

namespace {

std::string print_decision(const CheckedBundle& b, const Decision& d) {
  std::string out = syntax::decision_keyword(d.kind);
  if (!d.reason.empty()) out += fmt::format(" \"{}\"", d.reason);
  if (d.hold_for) out += " for " + print_expr(b, *d.hold_for);
  if (d.on_timeout) out += " on timeout " + print_decision(b, *d.on_timeout);
  if (d.kind == DecisionKind::Approve) {
    out += fmt::format(" refund {}", syntax::refund_timing_words(d.refund));
    if (d.keep_item) out += " keep item";
  }
  if (!d.restock_node.empty()) out += fmt::format(" to \"{}\"", d.restock_node);
  if (d.reschedule_to) out += " to " + print_expr(b, *d.reschedule_to);
  return out;
}

void dump_rule(std::string& out, const CheckedBundle& b, const Rule& r) {
  out += fmt::format("  rule \"{}\"\n", r.name);
  if (r.when) out += fmt::format("    when {} : {}\n", print_expr(b, *r.when), b.schema.type_name(r.when->type));
  for (size_t i = 0; i < r.actions.size(); ++i) {
    const Action& a = r.actions[i];
    std::string marker = static_cast<int>(i) == r.deciding_action ? "decide" : "annotate";
    switch (a.kind) {
      case ActionKind::Decision: out += fmt::format("    {} {}\n", marker, print_decision(b, a.decision)); break;
      case ActionKind::SetPriority: out += fmt::format("    {} set priority {}\n", marker, print_expr(b, *a.value)); break;
      case ActionKind::SetDelivery: out += fmt::format("    {} set delivery {}\n", marker, print_expr(b, *a.value)); break;
      case ActionKind::Tag: out += fmt::format("    {} tag {}\n", marker, print_expr(b, *a.value)); break;
      case ActionKind::RefundShipping: out += fmt::format("    {} refund shipping\n", marker); break;
      case ActionKind::Charge:
        out += fmt::format("    {} charge {}fee {} : {}\n", marker, a.label.empty() ? "" : a.label + " ",
                           print_expr(b, *a.value), b.schema.type_name(a.value->type));
        break;
      case ActionKind::Notify:
      case ActionKind::Escalate:
        out += fmt::format("    {} {} {}{}\n", marker, a.kind == ActionKind::Notify ? "notify" : "escalate to",
                           print_expr(b, *a.value), a.priority ? " priority " + print_expr(b, *a.priority) : "");
        break;
      case ActionKind::Route: {
        const Route& r2 = a.route;
        out += fmt::format("    {} route from nodes\n", marker);
        if (r2.filter) out += fmt::format("      where {}\n", print_expr(b, *r2.filter));
        for (const Preference& p : r2.prefer)
          out += fmt::format("      prefer {} {} : {}\n",
                             p.direction == Preference::Direction::Lowest ? "lowest" : "highest",
                             print_expr(b, *p.key), b.schema.type_name(p.key->type));
        out += fmt::format("      at most {} shipment{}\n", r2.max_shipments, r2.max_shipments == 1 ? "" : "s");
        if (r2.safety_stock) out += fmt::format("      keep {} units safety stock\n", print_expr(b, *r2.safety_stock));
        out += fmt::format("      else {}\n",
                           r2.else_decision ? print_decision(b, *r2.else_decision) : std::string("continue"));
        break;
      }
    }
  }
}

}  // namespace

std::string dump_typed(const CheckedBundle& b) {
  std::string out;
  const model::Schema& s = b.schema;
  for (size_t i = 0; i < s.enum_count(); ++i) {
    const model::EnumDef& e = s.enum_def(i);
    std::string values;
    for (size_t v = 0; v < e.values.size(); ++v) values += (v ? ", " : "") + e.values[v];
    out += fmt::format("enum {} = {}\n", e.name, values);
  }
  for (size_t i = 0; i < s.record_count(); ++i) {
    const model::RecordDef& r = s.record_def(i);
    out += fmt::format("record {} ({} bytes)\n", r.name, r.size);
    for (const model::FieldDef& f : r.fields) {
      std::string def;
      if (f.default_kind == model::DefaultKind::Constant) def = " = " + print_value(b, f.default_value);
      if (f.default_kind == model::DefaultKind::Computed) {
        auto it = b.computed_defaults.find({static_cast<int>(i), static_cast<int>(f.index)});
        if (it != b.computed_defaults.end()) def = " = " + print_expr(b, *it->second);
      }
      out += fmt::format("  {}: {}{}{} @{}\n", f.name, s.type_name(f.type), f.optional ? "?" : "", def, f.offset);
    }
  }
  for (const Constant& c : b.constants)
    out += fmt::format("const {}: {} = {}\n", c.name, s.type_name(c.type), print_value(b, c.value));
  for (const model::DataList& l : b.lists)
    out += fmt::format("list {}: set of {} ({} values)\n", l.name, s.type_name(l.element),
                       l.values.size());
  if (b.geo) out += fmt::format("geo {} ({} places)\n", b.geo->name, b.geo->size());
  if (b.rates) out += fmt::format("rates {}\n", b.rates->name);
  for (const model::KeyedTable& t : b.keyed_tables)
    out += fmt::format("table {} of {} ({} rows)\n", t.name, s.record_def(t.record).name, t.rows.size());
  if (b.inventory) out += fmt::format("nodes ({})\n", b.inventory->node_count());
  for (const Table& t : b.tables) {
    std::string params;
    for (size_t i = 0; i < t.param_names.size(); ++i)
      params += (i ? ", " : "") + t.param_names[i] + ": " + s.type_name(t.param_types[i]);
    out += fmt::format("table {}({}) -> {}\n", t.name, params, s.type_name(t.result));
    for (const TableRow& row : t.rows) {
      std::string cells;
      for (const TableCell& c : row.cells) {
        switch (c.kind) {
          case TableCell::Kind::Any: cells += " *"; break;
          case TableCell::Kind::Equal: cells += " " + print_value(b, c.value); break;
          case TableCell::Kind::NotEqual: cells += " not " + print_value(b, c.value); break;
          case TableCell::Kind::Compare:
            cells += fmt::format(" {} {}", model::compare_op_spelling(c.op), print_value(b, c.value));
            break;
        }
        cells += " |";
      }
      out += fmt::format("  |{} {}\n", cells, print_value(b, row.result));
    }
  }
  for (const Policy& p : b.policies) {
    out += fmt::format("policy {} \"{}\"", policy_kind_name(p.kind), p.title);
    if (!p.version.empty()) out += fmt::format(" version \"{}\"", p.version);
    if (!p.owner.empty()) out += fmt::format(" owner \"{}\"", p.owner);
    out += fmt::format(" ({} slots)\n", p.slot_count);
    for (const Rule& r : p.rules) dump_rule(out, b, r);
    if (p.otherwise) dump_rule(out, b, *p.otherwise);
  }
  if (b.machine) {
    const Machine& m = *b.machine;
    out += fmt::format("machine {} initial {}\n", m.name, m.states.at(m.initial));
    for (const Transition& t : m.transitions) {
      std::string src, dst;
      for (int x : t.sources) src += (src.empty() ? "" : ", ") + m.states[x];
      for (int x : t.targets) dst += (dst.empty() ? "" : " | ") + m.states[x];
      out += fmt::format("  [{}] -> {}", src, dst);
      if (t.event >= 0) out += " on " + s.enum_def(m.event_enum).values[t.event];
      if (t.by) out += std::string(" by ") + policy_kind_name(*t.by);
      if (t.guard) out += " when " + print_expr(b, *t.guard);
      out += "\n";
    }
    std::string terms;
    for (size_t i = 0; i < m.states.size(); ++i)
      if (m.terminal[i]) terms += (terms.empty() ? "" : ", ") + m.states[i];
    out += "  terminal " + terms + "\n";
  }
  out += fmt::format("tests {}\n", b.tests.size());
  return out;
}

}  // namespace orderflow::check
