// `orderflow check --emit ast`: the syntax tree as indented text, for
// golden tests and bug reports.
#include <fmt/format.h>

#include "compiler/syntax/ast.h"
#include "compiler/syntax/parser.h"

namespace orderflow::syntax {

const char* binary_op_spelling(BinaryOp op) {
  switch (op) {
    case BinaryOp::Or: return "or";
    case BinaryOp::And: return "and";
    case BinaryOp::Eq: return "==";
    case BinaryOp::Ne: return "!=";
    case BinaryOp::Lt: return "<";
    case BinaryOp::Le: return "<=";
    case BinaryOp::Gt: return ">";
    case BinaryOp::Ge: return ">=";
    case BinaryOp::Add: return "+";
    case BinaryOp::Sub: return "-";
    case BinaryOp::Mul: return "*";
    case BinaryOp::Div: return "/";
    case BinaryOp::Mod: return "%";
  }
  return "?";
}

const char* decision_keyword(DecisionKind kind) {
  switch (kind) {
    case DecisionKind::Accept: return "accept";
    case DecisionKind::Hold: return "hold";
    case DecisionKind::Reject: return "reject";
    case DecisionKind::Cancel: return "cancel";
    case DecisionKind::Backorder: return "backorder";
    case DecisionKind::Approve: return "approve";
    case DecisionKind::Restock: return "restock";
    case DecisionKind::Quarantine: return "quarantine";
    case DecisionKind::WriteOff: return "write off";
    case DecisionKind::ReturnToVendor: return "return to vendor";
    case DecisionKind::Reattempt: return "reattempt";
    case DecisionKind::Reschedule: return "reschedule";
    case DecisionKind::ReturnToOrigin: return "return to origin";
  }
  return "?";
}

const char* refund_timing_words(RefundTiming timing) {
  switch (timing) {
    case RefundTiming::Now: return "now";
    case RefundTiming::AfterReceipt: return "after receipt";
    case RefundTiming::Unspecified:
    case RefundTiming::AfterInspection: return "after inspection";
  }
  return "?";
}

namespace {

class Dumper {
 public:
  std::string out;

  void line(int depth, const std::string& text) { out += std::string(depth * 2, ' ') + text + "\n"; }

  static std::string at(const SourceRange& r) { return fmt::format("@{}:{}", r.begin.line, r.begin.column); }

  void expr(int d, const Expr* e) {
    if (!e) {
      line(d, "<none>");
      return;
    }
    switch (e->kind) {
      case ExprKind::Name: line(d, fmt::format("name {} {}", e->text, at(e->range))); return;
      case ExprKind::Member:
        line(d, fmt::format("member .{} {}", e->text, at(e->range)));
        break;
      case ExprKind::Call: line(d, fmt::format("call {} {}", e->text, at(e->range))); break;
      case ExprKind::Literal: line(d, fmt::format("literal {} {}", e->text, at(e->range))); return;
      case ExprKind::List: line(d, fmt::format("list {}", at(e->range))); break;
      case ExprKind::Negate: line(d, fmt::format("negate {}", at(e->range))); break;
      case ExprKind::Not: line(d, fmt::format("not {}", at(e->range))); break;
      case ExprKind::Binary: line(d, fmt::format("binary {} {}", binary_op_spelling(e->binary_op), at(e->range))); break;
      case ExprKind::Is: line(d, fmt::format("is{} {}", e->negated ? " not" : "", at(e->range))); break;
      case ExprKind::Presence:
        line(d, fmt::format("is{} {} {}", e->negated ? " not" : "", e->tests_present ? "present" : "missing",
                            at(e->range)));
        break;
      case ExprKind::In: line(d, fmt::format("{}in {}", e->negated ? "not " : "", at(e->range))); break;
      case ExprKind::Matches: line(d, fmt::format("matches {}", at(e->range))); break;
      case ExprKind::Method: line(d, fmt::format("method {} {}", e->text, at(e->range))); break;
      case ExprKind::Quantifier:
        line(d, fmt::format("{} {} {}", e->quantifier_all ? "all" : "any", e->text, at(e->range)));
        break;
      case ExprKind::Comprehension:
        line(d, fmt::format("for {}{} {}", e->text, e->args.size() > 2 ? " where" : "", at(e->range)));
        break;
      case ExprKind::Now: line(d, fmt::format("now {}", at(e->range))); return;
      case ExprKind::Nodes: line(d, fmt::format("nodes {}", at(e->range))); return;
    }
    for (const auto& a : e->args) expr(d + 1, a.get());
  }

  void type(int d, const TypeRef* t) {
    if (!t) return;
    switch (t->kind) {
      case TypeRef::Kind::Named: line(d, "type " + t->name); break;
      case TypeRef::Kind::List:
        line(d, "type list of");
        type(d + 1, t->element.get());
        break;
      case TypeRef::Kind::Set:
        line(d, "type set of");
        type(d + 1, t->element.get());
        break;
    }
  }

  void decision(int d, const Decision& x) {
    std::string head = fmt::format("{}", decision_keyword(x.kind));
    if (!x.reason.empty()) head += fmt::format(" \"{}\"", x.reason);
    line(d, head + " " + at(x.range));
    if (x.hold_for) {
      line(d + 1, "for");
      expr(d + 2, x.hold_for.get());
    }
    if (x.hold_until) {
      line(d + 1, "until");
      expr(d + 2, x.hold_until.get());
    }
    if (x.hold_until_clock) line(d + 1, fmt::format("until next {:02d}:{:02d}", *x.hold_until_clock / 3'600'000, *x.hold_until_clock / 60'000 % 60));
    if (x.on_timeout) {
      line(d + 1, "on timeout");
      decision(d + 2, *x.on_timeout);
    }
    if (x.refund != RefundTiming::Unspecified) line(d + 1, fmt::format("refund {}", refund_timing_words(x.refund)));
    if (x.keep_item) line(d + 1, "keep item");
    if (x.restock_node) line(d + 1, fmt::format("to \"{}\"", *x.restock_node));
    if (x.reschedule_to) {
      line(d + 1, "to");
      expr(d + 2, x.reschedule_to.get());
    }
  }

  void action(int d, const Action& a) {
    switch (a.kind) {
      case ActionKind::Decision: decision(d, a.decision); return;
      case ActionKind::SetPriority: line(d, "set priority"); expr(d + 1, a.value.get()); return;
      case ActionKind::SetField: line(d, "set " + a.field); expr(d + 1, a.value.get()); return;
      case ActionKind::Tag: line(d, "tag"); expr(d + 1, a.value.get()); return;
      case ActionKind::RefundShipping: line(d, "refund shipping"); return;
      case ActionKind::Charge:
        line(d, a.field.empty() ? std::string("charge fee") : fmt::format("charge {} fee", a.field));
        expr(d + 1, a.value.get());
        return;
      case ActionKind::Notify:
      case ActionKind::Escalate:
        line(d, a.kind == ActionKind::Notify ? "notify" : "escalate to");
        expr(d + 1, a.value.get());
        if (a.priority) {
          line(d + 1, "priority");
          expr(d + 2, a.priority.get());
        }
        return;
      case ActionKind::Route: {
        const RouteSpec& r = a.route;
        line(d, "route from nodes");
        if (r.filter) {
          line(d + 1, "where");
          expr(d + 2, r.filter.get());
        }
        for (const Preference& p : r.prefer) {
          static const char* names[] = {"nearest", "cheapest", "lowest", "highest"};
          line(d + 1, std::string("prefer ") + names[static_cast<int>(p.kind)]);
          if (p.expr) expr(d + 2, p.expr.get());
        }
        if (r.split == RouteSpec::Split::None) line(d + 1, "no split");
        if (r.split == RouteSpec::Split::AtMost) {
          line(d + 1, "split at most");
          expr(d + 2, r.split_limit.get());
        }
        if (r.safety_stock) {
          line(d + 1, "safety stock");
          expr(d + 2, r.safety_stock.get());
        }
        if (r.else_continue) line(d + 1, "else continue");
        if (r.else_decision) {
          line(d + 1, "else");
          decision(d + 2, *r.else_decision);
        }
        return;
      }
    }
  }
};

}  // namespace

std::string dump_ast(const ParsedFile& file) {
  Dumper dm;
  for (const EnumDecl& e : file.enums) {
    std::string values;
    for (const auto& v : e.values) values += " " + v.name;
    dm.line(0, fmt::format("{}enum {}:{}", e.extend ? "extend " : "", e.name, values));
  }
  for (const RecordDecl& r : file.records) {
    dm.line(0, fmt::format("{}record {}", r.extend ? "extend " : "", r.name));
    for (const FieldDecl& f : r.fields) {
      dm.line(1, fmt::format("field {}{}", f.name, f.optional ? "?" : ""));
      dm.type(2, f.type.get());
      if (f.default_value) {
        dm.line(2, "default");
        dm.expr(3, f.default_value.get());
      }
    }
  }
  for (const UseDecl& u : file.uses) {
    static const char* kinds[] = {"list", "geo", "rates", "table", "nodes", "stock"};
    dm.line(0, fmt::format("use {} {} from \"{}\"", kinds[static_cast<int>(u.kind)], u.name, u.path));
  }
  for (const ConstDecl& c : file.consts) {
    dm.line(0, "const " + c.name);
    dm.type(1, c.type.get());
    dm.expr(1, c.value.get());
  }
  for (const Table& t : file.tables) {
    dm.line(0, "table " + t.name);
    for (const TableParam& p : t.params) {
      dm.line(1, "param " + p.name);
      dm.type(2, p.type.get());
    }
    dm.line(1, "result");
    dm.type(2, t.result.get());
    for (const TableRow& r : t.rows) {
      dm.line(1, "row");
      for (const TableCell& c : r.cells) {
        static const char* kinds[] = {"*", "---", "value", "compare", "not"};
        dm.line(2, std::string("cell ") + kinds[static_cast<int>(c.kind)] +
                       (c.kind == TableCell::Kind::Compare ? std::string(" ") + binary_op_spelling(c.op) : ""));
        if (c.expr) dm.expr(3, c.expr.get());
      }
    }
  }
  for (const Policy& p : file.policies) {
    dm.line(0, fmt::format("policy {} \"{}\"", p.kind, p.title));
    if (p.version) dm.line(1, "version \"" + *p.version + "\"");
    if (p.owner) dm.line(1, "owner \"" + *p.owner + "\"");
    for (const Rule& r : p.rules) {
      dm.line(1, fmt::format("rule \"{}\" {}", r.name, Dumper::at(r.range)));
      if (r.when) {
        dm.line(2, "when");
        dm.expr(3, r.when.get());
      }
      dm.line(2, "then");
      for (const Action& a : r.actions) dm.action(3, a);
    }
    for (const Otherwise& o : p.otherwise) {
      dm.line(1, "otherwise");
      for (const Action& a : o.actions) dm.action(2, a);
    }
  }
  for (const Machine& m : file.machines) {
    dm.line(0, "machine " + m.name);
    if (m.initial) dm.line(1, "initial " + m.initial->name);
    for (const Transition& t : m.transitions) {
      std::string src, dst;
      for (const auto& s : t.sources) src += (src.empty() ? "" : ",") + s.name;
      for (const auto& s : t.targets) dst += (dst.empty() ? "" : "|") + s.name;
      std::string line = src + " -> " + dst;
      if (t.event) line += " on " + t.event->name;
      if (t.by_policy) line += " by " + t.by_policy->name;
      dm.line(1, line);
      if (t.after) {
        dm.line(2, "after");
        dm.expr(3, t.after.get());
      }
      if (t.guard) {
        dm.line(2, "when");
        dm.expr(3, t.guard.get());
      }
    }
    std::string terms;
    for (const auto& t : m.terminals) terms += " " + t.name;
    if (!terms.empty()) dm.line(1, "terminal" + terms);
  }
  for (const Test& t : file.tests) {
    dm.line(0, fmt::format("test \"{}\"", t.name));
    if (t.order_file) dm.line(1, "order from \"" + *t.order_file + "\"");
    if (t.order_inline) dm.line(1, "order inline");
    if (t.history_file) dm.line(1, "history from \"" + *t.history_file + "\"");
    if (t.at) dm.line(1, "at \"" + *t.at + "\"");
    for (const TestAssignment& a : t.assignments) {
      std::string path;
      for (const auto& p : a.path) path += (path.empty() ? "" : ".") + p.name;
      dm.line(1, "with " + path);
      dm.expr(2, a.value.get());
    }
    for (const TestExpectation& x : t.expectations) {
      dm.line(1, "expect");
      if (x.kind == TestExpectation::Kind::Decision) dm.decision(2, x.decision);
      if (x.value) dm.expr(2, x.value.get());
      for (const auto& s : x.strings) dm.line(2, "\"" + s + "\"");
      if (x.by_rule) dm.line(2, "by rule \"" + *x.by_rule + "\"");
    }
  }
  return dm.out;
}

}  // namespace orderflow::syntax
