// Semantic checks over the typed bundle: rules that can never decide,
// decision tables that miss an input or hide a row, and lifecycle machines
// with unreachable states, dead ends or decisions they cannot carry out.
#include <fmt/format.h>

#include <cmath>
#include <deque>
#include <functional>
#include <set>

#include <nlohmann/json.hpp>

#include "compiler/check/checker_internal.h"
#include "compiler/support/suggest.h"

namespace orderflow::check {

using model::CompareForm;
using model::CompareOp;

namespace {

// ------------------------------------------------------------ implication

void conjuncts(const Expr* e, std::vector<const Expr*>& out) {
  if (e->kind == ExprKind::And) {
    conjuncts(e->args[0].get(), out);
    conjuncts(e->args[1].get(), out);
  } else {
    out.push_back(e);
  }
}

bool is_constant(const Expr& e) { return e.kind == ExprKind::Literal || e.kind == ExprKind::Const; }

std::optional<int> three_way(CompareForm form, const Value& a, const Value& b) {
  auto r = model::compare_values(form, a, b, nullptr);
  if (auto* c = std::get_if<int>(&r)) return *c;
  return std::nullopt;
}

// The values an atom accepts, when it tests one expression against constants.
struct Constraint {
  std::string subject;  // canonical text of the tested expression
  CompareForm form = CompareForm::Int;
  enum class Kind { Compare, OneOf } kind = Kind::Compare;
  CompareOp op = CompareOp::Eq;
  Value bound;
  std::vector<Value> values;  // OneOf
};

std::optional<Constraint> constraint_of(const CheckedBundle& b, const Expr& e) {
  if (e.kind == ExprKind::Compare && e.compare_op != CompareOp::Ne) {
    const Expr* l = e.args[0].get();
    const Expr* r = e.args[1].get();
    CompareOp op = e.compare_op;
    if (is_constant(*l) && !is_constant(*r)) {
      std::swap(l, r);
      switch (op) {
        case CompareOp::Lt: op = CompareOp::Gt; break;
        case CompareOp::Le: op = CompareOp::Ge; break;
        case CompareOp::Gt: op = CompareOp::Lt; break;
        case CompareOp::Ge: op = CompareOp::Le; break;
        default: break;
      }
    }
    if (!is_constant(*r) || is_constant(*l)) return std::nullopt;
    Constraint c;
    c.subject = print_expr(b, *l);
    c.form = e.compare;
    c.op = op;
    c.bound = r->value;
    if (op == CompareOp::Eq) {
      c.kind = Constraint::Kind::OneOf;
      c.values = {r->value};
    }
    return c;
  }
  if (e.kind == ExprKind::InList && !e.negated) {
    Constraint c;
    c.subject = print_expr(b, *e.args[0]);
    c.form = e.compare;
    c.kind = Constraint::Kind::OneOf;
    for (size_t i = 1; i < e.args.size(); ++i) {
      if (!is_constant(*e.args[i])) return std::nullopt;
      c.values.push_back(e.args[i]->value);
    }
    return c;
  }
  return std::nullopt;
}

bool satisfies(const Constraint& c, const Value& v) {
  if (c.kind == Constraint::Kind::OneOf) {
    for (const Value& x : c.values)
      if (three_way(c.form, v, x) == 0) return true;
    return false;
  }
  auto t = three_way(c.form, v, c.bound);
  return t && model::compare_outcome(c.op, *t);
}

// Does every value that satisfies `strong` satisfy `weak`?
bool constraint_implies(const Constraint& strong, const Constraint& weak) {
  if (strong.subject != weak.subject || strong.form != weak.form) return false;
  if (strong.kind == Constraint::Kind::OneOf) {
    for (const Value& v : strong.values)
      if (!satisfies(weak, v)) return false;
    return true;
  }
  if (weak.kind == Constraint::Kind::OneOf) return false;
  auto cmp = three_way(strong.form, strong.bound, weak.bound);
  if (!cmp) return false;
  bool strong_upper = strong.op == CompareOp::Lt || strong.op == CompareOp::Le;
  bool weak_upper = weak.op == CompareOp::Lt || weak.op == CompareOp::Le;
  if (strong_upper != weak_upper) return false;
  if (!strong_upper) {  // x > s implies x > w when s >= w; x >= s implies x > w when s > w
    if (weak.op == CompareOp::Ge) return *cmp >= 0;
    return strong.op == CompareOp::Gt ? *cmp >= 0 : *cmp > 0;
  }
  if (weak.op == CompareOp::Le) return *cmp <= 0;
  return strong.op == CompareOp::Lt ? *cmp <= 0 : *cmp < 0;
}

// An atom of a condition, prepared once: its canonical text, and the values
// it accepts when it tests one expression against constants.
struct PreparedAtom {
  std::string text;
  SourceRange range;  // as written, for messages
  std::optional<Constraint> constraint;
  std::string subject;  // what it tests: the constraint's subject, else its text
};

PreparedAtom prepare_atom(const CheckedBundle& b, const Expr& e) {
  PreparedAtom p;
  p.text = print_expr(b, e);
  p.range = e.range;
  p.constraint = constraint_of(b, e);
  p.subject = p.constraint ? p.constraint->subject : p.text;
  return p;
}

// Whether no value satisfies both: `x > 10000 and x < 5000`, `method is cod
// and method is upi`, `x in [a, b] and x is c`. Unknown (money in two
// currencies, with no rates here) is not a contradiction.
bool constraints_disjoint(const Constraint& a, const Constraint& b) {
  if (a.subject != b.subject || a.form != b.form) return false;
  if (a.kind == Constraint::Kind::OneOf || b.kind == Constraint::Kind::OneOf) {
    const Constraint& set = a.kind == Constraint::Kind::OneOf ? a : b;
    const Constraint& other = &set == &a ? b : a;
    for (const Value& v : set.values) {
      if (other.kind == Constraint::Kind::OneOf) {
        for (const Value& w : other.values) {
          auto t = three_way(set.form, v, w);
          if (!t || *t == 0) return false;
        }
      } else {
        auto t = three_way(set.form, v, other.bound);
        if (!t || model::compare_outcome(other.op, *t)) return false;
      }
    }
    return true;
  }
  bool a_upper = a.op == CompareOp::Lt || a.op == CompareOp::Le;
  bool b_upper = b.op == CompareOp::Lt || b.op == CompareOp::Le;
  if (a_upper == b_upper) return false;
  const Constraint& lower = a_upper ? b : a;
  const Constraint& upper = a_upper ? a : b;
  auto t = three_way(lower.form, lower.bound, upper.bound);
  if (!t) return false;
  bool strict = lower.op == CompareOp::Gt || upper.op == CompareOp::Lt;
  return *t > 0 || (*t == 0 && strict);
}

bool atom_implies(const PreparedAtom& strong, const PreparedAtom& weak) {
  if (strong.text == weak.text) return true;
  return strong.constraint && weak.constraint && constraint_implies(*strong.constraint, *weak.constraint);
}

// Why a condition's parts cannot all hold (which part admits no value, or
// which two contradict each other), or nullopt.
std::optional<std::string> contradiction(const CheckedBundle& bundle, const std::vector<PreparedAtom>& atoms) {
  for (size_t i = 0; i < atoms.size(); ++i) {
    const auto& a = atoms[i].constraint;
    if (!a) continue;
    if (a->kind == Constraint::Kind::OneOf && a->values.empty())
      return fmt::format("`{}` tests an empty list", bundle.source_text(atoms[i].range));
    for (size_t j = i + 1; j < atoms.size(); ++j) {
      const auto& b = atoms[j].constraint;
      if (b && constraints_disjoint(*a, *b))
        return fmt::format("`{}` and `{}` cannot both hold", bundle.source_text(atoms[i].range),
                           bundle.source_text(atoms[j].range));
    }
  }
  return std::nullopt;
}

// Whether a rule decides every order it matches. A route that falls through
// to the next rule (`else continue`) does not.
bool always_decides(const Rule& r) {
  if (r.deciding_action < 0) return false;
  const Action& a = r.actions[r.deciding_action];
  return a.kind == ActionKind::Decision || a.route.otherwise == Route::Else::Decide;
}

bool has_error(const Expr& e) {
  if (e.type.is_error()) return true;
  for (const auto& a : e.args)
    if (has_error(*a)) return true;
  return false;
}

bool mentions_slot(const Expr& e, int slot) {
  if (e.kind == ExprKind::Var && e.index == slot) return true;
  for (const auto& a : e.args)
    if (mentions_slot(*a, slot)) return true;
  if (e.computed_default && mentions_slot(*e.computed_default, slot)) return true;
  return false;
}

}  // namespace

void Checker::analyze_quantifiers(const Expr& q) {
  std::vector<const Expr*> parts;
  conjuncts(q.args[1].get(), parts);
  if (parts.size() < 2) return;
  for (const Expr* part : parts) {
    if (mentions_slot(*part, q.index)) continue;
    diags_.warning("W0403", part->range,
                   fmt::format("this part of the condition does not mention '{}', yet it is read as part of "
                               "`where`",
                               q.name),
                   fmt::format("to test it for the whole order, put the {} in parentheses: "
                               "({} {} in ... where ...) and ...",
                               q.quantifier_all ? "all" : "any", q.quantifier_all ? "all" : "any", q.name));
  }
}

void Checker::analyze_rules() {
  for (const Policy& p : b_.policies) {
    if (p.kind == PolicyKind::Escalation) continue;
    // Each rule's atoms, prepared once; a bit per atom subject lets most
    // pairs of rules be told apart without comparing atoms (a rule can only
    // cover another whose condition tests everything it tests).
    struct Prepared {
      bool usable = true;
      std::vector<PreparedAtom> atoms;
      uint64_t subjects = 0;
    };
    std::vector<Prepared> prepared(p.rules.size());
    for (size_t i = 0; i < p.rules.size(); ++i) {
      const Rule& r = p.rules[i];
      if (r.when && has_error(*r.when)) {
        prepared[i].usable = false;
        continue;
      }
      std::vector<const Expr*> atoms;
      if (r.when) conjuncts(r.when.get(), atoms);
      for (const Expr* a : atoms) {
        prepared[i].atoms.push_back(prepare_atom(b_, *a));
        prepared[i].subjects |= uint64_t{1} << (std::hash<std::string>{}(prepared[i].atoms.back().subject) % 64);
      }
    }
    for (size_t i = 0; i < p.rules.size(); ++i) {
      const Rule& later = p.rules[i];
      if (!prepared[i].usable) continue;
      if (later.when && is_constant(*later.when) && later.when->type.kind == TypeKind::Bool && !later.when->value.b) {
        diags_.warning("W0402", later.when->range, fmt::format("rule \"{}\" never matches: its condition is false",
                                                               later.name));
        continue;
      }
      if (auto why = contradiction(b_, prepared[i].atoms)) {
        diags_.warning("W0402", later.when->range, fmt::format("rule \"{}\" never matches: {}", later.name, *why),
                       "one of the parts is wrong: check the values, or whether `or` was meant");
        continue;
      }
      for (size_t j = 0; j < i; ++j) {
        const Rule& earlier = p.rules[j];
        if (!prepared[j].usable || !always_decides(earlier)) continue;
        if ((prepared[j].subjects & ~prepared[i].subjects) != 0) continue;
        bool covered = true;
        for (const PreparedAtom& weak : prepared[j].atoms) {
          bool implied = false;
          for (const PreparedAtom& strong : prepared[i].atoms) implied = implied || atom_implies(strong, weak);
          if (!implied) {
            covered = false;
            break;
          }
        }
        if (!covered) continue;
        SourceRange where = later.range;
        where.end = later.name_range.end;
        where.end.line = later.name_range.end.line;
        const char* verb = later.deciding_action >= 0 ? "decide" : "apply";
        std::string message =
            earlier.when ? fmt::format("rule \"{}\" can never {}: every order it matches, rule \"{}\" above "
                                       "already decides",
                                       later.name, verb, earlier.name)
                         : fmt::format("rule \"{}\" can never {}: rule \"{}\" above always matches", later.name, verb,
                                       earlier.name);
        Diagnostic& d = diags_.warning("W0401", where, message,
                                       fmt::format("move it above rule \"{}\", or narrow that rule's condition",
                                                   earlier.name));
        d.related.push_back({earlier.name_range, "the rule that decides first"});
        break;
      }
    }
  }
}

// ------------------------------------------------------------ tables

void Checker::analyze_table(const Table& table, const syntax::Table& decl) {
  // For each column, a set of inputs that stands for every possible input:
  // every value of an enum; for ordered values, each constant a cell names
  // and the values just either side of it.
  std::vector<std::vector<Value>> points(table.param_types.size());
  for (size_t c = 0; c < table.param_types.size(); ++c) {
    Type t = table.param_types[c];
    std::vector<Value>& pts = points[c];
    if (t.kind == TypeKind::Enum) {
      for (size_t v = 0; v < b_.schema.enum_def(t.ref).values.size(); ++v)
        pts.push_back(Value::enumeration(static_cast<uint32_t>(t.ref), static_cast<int64_t>(v)));
      continue;
    }
    if (t.kind == TypeKind::Bool) {
      pts = {Value::boolean(false), Value::boolean(true)};
      continue;
    }
    std::vector<Value> constants;
    for (const TableRow& row : table.rows)
      if (row.cells[c].kind != TableCell::Kind::Any) constants.push_back(row.cells[c].value);
    if (t.kind == TypeKind::String) {
      pts = constants;
      pts.push_back(Value::string("\x01(any other text)"));
      continue;
    }
    if (t.kind == TypeKind::Money) {
      for (const Value& v : constants)
        if (v.aux != constants.front().aux) return;  // amounts in several currencies: not analysed
    }
    if (constants.empty()) {
      pts.push_back(Value::integer(0));  // only `*` cells: any value stands for all
      continue;
    }
    for (const Value& v : constants) {
      Value below = v, above = v;
      if (v.kind == Value::Kind::Float || v.kind == Value::Kind::Distance) {
        below.f = std::nextafter(v.f, -INFINITY);
        above.f = std::nextafter(v.f, INFINITY);
      } else {
        below.i = v.i - 1;
        above.i = v.i + 1;
      }
      pts.push_back(below);
      pts.push_back(v);
      pts.push_back(above);
    }
  }
  size_t combinations = 1;
  for (const auto& p : points) {
    combinations *= std::max<size_t>(p.size(), 1);
    if (combinations > 200000) return;  // too large to enumerate; checked at run time instead
  }
  auto cell_matches = [&](const TableCell& cell, const Value& v) {
    if (cell.kind == TableCell::Kind::Any) return true;
    auto t = three_way(cell.form, v, cell.value);
    if (!t) return false;
    switch (cell.kind) {
      case TableCell::Kind::Equal: return *t == 0;
      case TableCell::Kind::NotEqual: return *t != 0;
      case TableCell::Kind::Compare: return model::compare_outcome(cell.op, *t);
      case TableCell::Kind::Any: return true;
    }
    return false;
  };
  std::vector<bool> used(table.rows.size(), false);
  std::vector<size_t> index(points.size(), 0);
  std::optional<std::vector<Value>> uncovered;
  size_t uncovered_count = 0;
  for (size_t n = 0; n < combinations; ++n) {
    bool matched = false;
    for (size_t r = 0; r < table.rows.size() && !matched; ++r) {
      bool all = true;
      for (size_t c = 0; c < points.size() && all; ++c) all = cell_matches(table.rows[r].cells[c], points[c][index[c]]);
      if (all) {
        used[r] = true;
        matched = true;
      }
    }
    if (!matched) {
      ++uncovered_count;
      if (!uncovered) {
        uncovered.emplace();
        for (size_t c = 0; c < points.size(); ++c) uncovered->push_back(points[c][index[c]]);
      }
    }
    for (size_t c = points.size(); c-- > 0;) {
      if (++index[c] < points[c].size()) break;
      index[c] = 0;
    }
  }
  if (uncovered) {
    std::string input;
    for (size_t c = 0; c < uncovered->size(); ++c) {
      const Value& v = (*uncovered)[c];
      std::string shown = v.kind == Value::Kind::String && v.as_string().starts_with("\x01")
                              ? "any other text"
                              : print_value(b_, v);
      input += fmt::format("{}{} = {}", c ? ", " : "", table.param_names[c], shown);
    }
    diags_.error("E0502", decl.name_range,
                 fmt::format("table {} has no row for {}{}", table.name, input,
                             uncovered_count > 1 ? fmt::format(" (and {} more inputs)", uncovered_count - 1) : ""),
                 "add a row for it, or end the table with a row of `*`");
  }
  for (size_t r = 0; r < table.rows.size(); ++r) {
    if (used[r]) continue;
    diags_.warning("W0501", table.rows[r].range, fmt::format("this row of table {} can never match", table.name),
                   "the rows above match every input it would; move it up or remove it");
  }
}

// ------------------------------------------------------------ machine

void Checker::analyze_machine() {
  if (any_syntax_errors_) return;  // a transition that failed to parse would mislead every check below
  if (b_.return_machine && return_machine_decl_) analyze_return_machine();
  if (!b_.machine || !machine_decl_) return;
  const Machine& m = *b_.machine;
  analyze_machine_graph(m);

  // Every decision a policy can make needs a transition to carry it out.
  auto has_transition = [&](std::optional<PolicyKind> by, int event, std::string_view target,
                            std::optional<int> from) {
    int t_state = m.find_state(target);
    if (t_state < 0) return false;
    for (const Transition& t : m.transitions) {
      if (by && t.by != by) continue;
      if (event >= 0 && t.event != event) continue;
      if (from && std::find(t.sources.begin(), t.sources.end(), *from) == t.sources.end()) continue;
      if (std::find(t.targets.begin(), t.targets.end(), t_state) != t.targets.end()) return true;
    }
    return false;
  };
  int timeout = m.event_enum >= 0 ? b_.schema.enum_def(m.event_enum).find("timeout") : -1;
  std::function<void(const Decision&, PolicyKind, const std::string&)> need = [&](const Decision& d, PolicyKind kind,
                                                                                 const std::string& rule) {
    // A decision the policy may not make at all is reported as such already.
    if (!policy_decides(kind, d.kind)) return;
    const char* target = decision_target_state(d.kind, false);
    if (!has_transition(kind, -1, target, std::nullopt)) {
      diags_.error("E0604", d.range,
                   fmt::format("rule \"{}\" can {} an order, but machine {} has no `by {}` transition to '{}'", rule,
                               syntax::decision_keyword(d.kind), m.name, policy_kind_name(kind), target),
                   fmt::format("add a transition such as `... -> {} by {}`", target, policy_kind_name(kind)));
    }
    if (d.on_timeout) {
      const char* after = decision_target_state(d.on_timeout->kind, false);
      int held = m.find_state("held");
      if (timeout < 0 || held < 0 || !has_transition(std::nullopt, timeout, after, held)) {
        diags_.error("E0604", d.on_timeout->range,
                     fmt::format("rule \"{}\" ends a hold with {}, but machine {} has no transition from 'held' to "
                                 "'{}' on timeout",
                                 rule, syntax::decision_keyword(d.on_timeout->kind), m.name, after),
                     fmt::format("add `held -> {} on timeout`", after));
      }
    }
  };
  for (const Policy& p : b_.policies) {
    // Returns, units and failed deliveries are decided apart from the
    // order's own machine.
    if (p.kind == PolicyKind::Escalation || policy_subject(p.kind)) continue;
    auto visit = [&](const Rule& r) {
      if (r.deciding_action < 0) return;
      const Action& a = r.actions[r.deciding_action];
      if (a.kind == ActionKind::Decision) {
        need(a.decision, p.kind, r.name);
      } else if (a.kind == ActionKind::Route) {
        if (!has_transition(PolicyKind::Routing, -1, "allocated", std::nullopt))
          diags_.error("E0604", a.range,
                       fmt::format("rule \"{}\" routes orders, but machine {} has no `by routing` transition to "
                                   "'allocated'",
                                   r.name, m.name),
                       "add `accepted -> allocated by routing`");
        if (a.route.else_decision) need(*a.route.else_decision, p.kind, r.name);
      }
    };
    for (const Rule& r : p.rules) visit(r);
    if (p.otherwise) visit(*p.otherwise);
  }
}

// What every machine must be: each state reachable, each way out leading
// somewhere, ends marked terminal, every event some state accepts.
void Checker::analyze_machine_graph(const Machine& m) {
  bool returns = b_.return_machine && &m == &*b_.return_machine;
  const char* things = returns ? "returns" : "orders";
  size_t n = m.states.size();
  std::vector<bool> reachable(n, false), has_exit(n, false);
  if (m.initial >= 0 && static_cast<size_t>(m.initial) < n) {
    std::deque<int> queue = {m.initial};
    reachable[m.initial] = true;
    while (!queue.empty()) {
      int s = queue.front();
      queue.pop_front();
      for (const Transition& t : m.transitions) {
        if (std::find(t.sources.begin(), t.sources.end(), s) == t.sources.end()) continue;
        for (int target : t.targets)
          if (!reachable[target]) {
            reachable[target] = true;
            queue.push_back(target);
          }
      }
    }
  }
  for (const Transition& t : m.transitions)
    for (int s : t.sources) has_exit[s] = true;
  for (size_t s = 0; s < n; ++s) {
    if (!reachable[s] && static_cast<int>(s) != m.initial && m.initial >= 0) {
      diags_.warning("W0601", m.state_ranges[s], fmt::format("state '{}' can never be reached", m.states[s]),
                     fmt::format("add a transition into '{}', or remove it", m.states[s]));
    }
    if (!has_exit[s] && !m.terminal[s]) {
      diags_.error("E0602", m.state_ranges[s],
                   fmt::format("state '{}' has no way out and is not terminal: {} would stay there forever",
                               m.states[s], things),
                   fmt::format("add a transition from '{}', or list it after `terminal`", m.states[s]));
    }
    if (has_exit[s] && m.terminal[s]) {
      // At the transition that leaves it, which is what contradicts `terminal`.
      SourceRange out = m.state_ranges[s];
      for (const Transition& t : m.transitions)
        if (std::find(t.sources.begin(), t.sources.end(), static_cast<int>(s)) != t.sources.end()) {
          out = t.range;
          break;
        }
      diags_.error("E0609", out, fmt::format("state '{}' is terminal but this transition leaves it", m.states[s]),
                   fmt::format("a terminal state is where {} end; remove it from `terminal` or remove the transition",
                               things));
    }
  }
  if (m.event_enum >= 0) {
    const model::EnumDef& events = b_.schema.enum_def(m.event_enum);
    std::vector<std::string> ignored;
    for (size_t e = 0; e < events.values.size(); ++e) {
      bool accepted = false;
      for (const Transition& t : m.transitions) accepted |= t.event == static_cast<int>(e);
      if (!accepted) ignored.push_back(events.values[e]);
    }
    if (!ignored.empty())
      diags_.warning("W0603", m.range,
                     fmt::format("no state of machine {} accepts the event{} {}", m.name,
                                 ignored.size() == 1 ? "" : "s", join_alternatives(ignored, " and ")),
                     returns ? fmt::format("a return the engine takes that step on stays where it is; add a "
                                           "transition `on {}`",
                                           ignored.front())
                             : fmt::format("every such event sent to an order will be refused; add a transition `on {}`",
                                           ignored.front()));
  }
}

// The return machine carries out what the returns policy decides, and what
// the engine does to every return (receive, grade, dispose, refund, close).
void Checker::analyze_return_machine() {
  const Machine& m = *b_.return_machine;
  analyze_machine_graph(m);
  auto decided_into = [&](const char* target) {
    int t_state = m.find_state(target);
    for (const Transition& t : m.transitions)
      if (t.by == PolicyKind::Returns && std::find(t.targets.begin(), t.targets.end(), t_state) != t.targets.end())
        return true;
    return false;
  };
  for (const Policy& p : b_.policies) {
    if (p.kind != PolicyKind::Returns) continue;
    auto visit = [&](const Rule& r) {
      if (r.deciding_action < 0) return;
      const Action& a = r.actions[r.deciding_action];
      if (a.kind != ActionKind::Decision || !policy_decides(p.kind, a.decision.kind)) return;
      const char* target = decision_target_state(a.decision.kind, false);
      if (!decided_into(target))
        diags_.error("E0604", a.decision.range,
                     fmt::format("rule \"{}\" can {} a return, but machine {} has no `by returns` transition to '{}'",
                                 r.name, syntax::decision_keyword(a.decision.kind), m.name, target),
                     fmt::format("add a transition such as `requested -> {} by returns`", target));
    };
    for (const Rule& r : p.rules) visit(r);
    if (p.otherwise) visit(*p.otherwise);
  }
}

// Money in two currencies cannot be compared without exchange rates: each
// such comparison holds the order with policy_error at run time. Which
// currencies orders come in is not known here, but the bundle's own money
// and its tests' orders say which it expects; money in any other is flagged.
void Checker::analyze_currencies() {
  if (rates_declared_) return;
  std::map<std::string, int> seen;  // currency -> how often the bundle writes it
  std::vector<const MoneyLiteral*> own;
  auto in_test = [&](const SourceRange& r) {
    for (const PolicyTest& t : b_.tests)
      if (t.range.file == r.file && !(r.begin < t.range.begin) && !(t.range.end < r.end)) return true;
    return false;
  };
  for (const MoneyLiteral& m : money_literals_) {
    if (std::find(b_.bundle_files.begin(), b_.bundle_files.end(), m.range.file) == b_.bundle_files.end()) continue;
    if (in_test(m.range)) {
      seen[m.currency] += 2;  // an order's money, as a test writes it
      continue;
    }
    own.push_back(&m);
    ++seen[m.currency];
  }
  for (const PolicyTest& t : b_.tests) {
    nlohmann::json order = nlohmann::json::parse(t.order_json, nullptr, false);
    std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& j) {
      if (j.is_object()) {
        if (auto c = j.find("currency"); c != j.end() && c->is_string()) seen[c->get<std::string>()] += 2;
        for (const auto& [key, value] : j.items()) walk(value);
      } else if (j.is_array()) {
        for (const auto& value : j) walk(value);
      }
    };
    walk(order);
  }
  if (seen.size() < 2) return;
  std::string usual = seen.begin()->first;
  for (const auto& [currency, count] : seen)
    if (count > seen[usual]) usual = currency;
  for (const MoneyLiteral* m : own) {
    if (m->currency == usual) continue;
    diags_.warning("W0311", m->range,
                   fmt::format("this bundle works in {} but has no exchange rates: an amount in {} compared with "
                               "this {} holds the order with policy_error",
                               usual, usual, m->currency),
                   fmt::format("add `use rates fx from \"data/fx.csv\"` (from,to,rate), or write it in {}", usual));
  }
}

}  // namespace orderflow::check
