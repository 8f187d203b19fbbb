#include "compiler/interp/interpreter.h"

#include <boost/container/small_vector.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "compiler/check/checker.h"
#include "compiler/engine/allocation.h"
#include "compiler/engine/builtins.h"
#include "compiler/model/record.h"

namespace orderflow::interp {

using check::Builtin;
using check::Expr;
using check::ExprKind;
using engine::Outcome;
using engine::Verdict;
using model::Value;

namespace {

// Evaluation could not finish (an overflow, no exchange rate). The order is
// held with policy_error; `what` goes into the trace.
struct EvalFailure {
  std::string what;
};

class Evaluation {
 public:
  Evaluation(const check::CheckedBundle& b, const engine::EvalInput& input, engine::TraceDetail detail, int slots)
      : b_(b), input_(input), detail_(detail), slots_(std::max(slots, 2)) {
    inventory_ = input.inventory ? input.inventory : b.inventory.get();
    if (b.order_record >= 0) slots_[0] = Value::record(static_cast<uint32_t>(b.order_record), input.order);
  }
  // `return`, `unit` or `ndr`: what the policy decides about besides the order.
  void bind_subject(int record) {
    if (record >= 0 && input_.subject) slots_[1] = Value::record(static_cast<uint32_t>(record), input_.subject);
  }

  const model::Inventory* inventory() const { return inventory_; }
  void bind(int slot, Value v) { slots_.at(slot) = v; }

  // Whether a condition holds. Missing counts as false.
  bool holds(const Expr& e) {
    Value v = condition(e);
    return v.kind == Value::Kind::Bool && v.b;
  }

  // A condition's value; a plain true/false value in it (a field such as
  // order.customer.is_new, a table's answer) is recorded as a fact too.
  Value condition(const Expr& e) {
    Value v = eval(e);
    if (facts_ && check::is_leaf_fact(e))
      facts_->push_back(
          fmt::format("{}: {}", b_.source_text(e.range), v.is_missing() ? "missing" : (v.b ? "true" : "false")));
    return v;
  }

  void record_facts(std::vector<std::string>* facts) { facts_ = facts; }

  Value eval(const Expr& e) {
    switch (e.kind) {
      case ExprKind::Literal:
      case ExprKind::Const: return e.value;
      case ExprKind::Var: return slots_.at(e.index);
      case ExprKind::Self: return self_;
      case ExprKind::Now: return Value::time(input_.now);
      case ExprKind::Nodes: throw EvalFailure{"`nodes` used outside `any ... in nodes`"};
      case ExprKind::Field: return field(e);
      case ExprKind::Project: return project(e);
      case ExprKind::Convert: {
        Value v = eval(*e.args[0]);
        if (v.is_missing()) return v;
        return unwrap(model::convert_number(v, e.type.kind));
      }
      case ExprKind::Negate: {
        Value v = eval(*e.args[0]);
        if (v.is_missing()) return v;
        if (v.kind == Value::Kind::Float || v.kind == Value::Kind::Distance) {
          v.f = -v.f;
        } else {
          if (v.i == INT64_MIN) throw EvalFailure{"a negation is too large"};
          v.i = -v.i;
        }
        return v;
      }
      case ExprKind::Not: {
        Value v = condition(*e.args[0]);
        if (v.is_missing()) return v;
        return Value::boolean(!v.b);
      }
      case ExprKind::And:
      case ExprKind::Or: {
        bool is_and = e.kind == ExprKind::And;
        Value l = condition(*e.args[0]);
        if (!l.is_missing() && l.b != is_and) return Value::boolean(l.b);
        Value r = condition(*e.args[1]);
        if (!r.is_missing() && r.b != is_and) return Value::boolean(r.b);
        if (l.is_missing() || r.is_missing()) return Value::missing();
        return Value::boolean(is_and);
      }
      case ExprKind::Arith: {
        Value l = eval(*e.args[0]);
        Value r = eval(*e.args[1]);
        if (l.is_missing() || r.is_missing()) return Value::missing();
        return unwrap(model::apply_arith(e.arith, l, r, b_.rates.get(), &scratch_));
      }
      case ExprKind::Compare: {
        Value l = eval(*e.args[0]);
        Value r = eval(*e.args[1]);
        bool result = false;
        if (!l.is_missing() && !r.is_missing())
          result = model::compare_outcome(e.compare_op, three_way(e.compare, l, r));
        fact(e, result, {{e.args[0].get(), l}, {e.args[1].get(), r}});
        return Value::boolean(result);
      }
      case ExprKind::Presence: {
        Value v = eval(*e.args[0]);
        bool present = !v.is_missing();
        bool result = e.negated ? !present : present;
        fact(e, result, {{e.args[0].get(), v}});
        return Value::boolean(result);
      }
      case ExprKind::InList: {
        Value l = eval(*e.args[0]);
        bool found = false;
        if (!l.is_missing()) {
          for (size_t i = 1; i < e.args.size() && !found; ++i) {
            Value item = eval(*e.args[i]);
            found = !item.is_missing() && three_way(e.compare, l, item) == 0;
          }
        }
        bool result = !l.is_missing() && (e.negated ? !found : found);
        fact(e, result, {{e.args[0].get(), l}});
        return Value::boolean(result);
      }
      case ExprKind::InData: {
        Value l = eval(*e.args[0]);
        bool result = !l.is_missing() && (b_.lists.at(e.index).contains(l) != e.negated);
        fact(e, result, {{e.args[0].get(), l}});
        return Value::boolean(result);
      }
      case ExprKind::InCollection: {
        Value l = eval(*e.args[0]);
        Value list = eval(*e.args[1]);
        bool found = false;
        if (!l.is_missing() && !list.is_missing())
          for (uint64_t i = 0; i < list.size && !found; ++i)
            found = three_way(e.compare, l, model::list_element(b_.schema, list, i)) == 0;
        bool result = !l.is_missing() && (e.negated ? !found : found);
        fact(e, result, {{e.args[0].get(), l}, {e.args[1].get(), list}});
        return Value::boolean(result);
      }
      case ExprKind::Quantifier: return quantifier(e);
      case ExprKind::Comprehension: return comprehension(e);
      case ExprKind::Call: return call(e);
      case ExprKind::TableCall: return table_call(e);
      case ExprKind::Lookup: {
        Value key = eval(*e.args[0]);
        if (key.is_missing()) return key;
        const model::KeyedTable& t = b_.keyed_tables.at(e.index);
        const std::byte* row = t.find(key.as_string());
        if (!row) return Value::missing();
        return Value::record(static_cast<uint32_t>(t.record), row);
      }
      case ExprKind::List: throw EvalFailure{"a list value cannot be evaluated here"};
    }
    throw EvalFailure{"unknown expression"};
  }

 private:
  static Value unwrap(model::OpResult r) {
    if (auto* f = std::get_if<model::OpFailure>(&r)) throw EvalFailure{f->message};
    return std::get<Value>(r);
  }

  int three_way(model::CompareForm form, const Value& a, const Value& b) {
    // Whole numbers of one kind compare directly (the usual case); the rest
    // (money across currencies, texts, floats) through the shared rules.
    if (a.kind == b.kind && (form == model::CompareForm::Int || form == model::CompareForm::Decimal ||
                             form == model::CompareForm::Time || form == model::CompareForm::Duration ||
                             form == model::CompareForm::Enum))
      return (a.i > b.i) - (a.i < b.i);
    auto r = model::compare_values(form, a, b, b_.rates.get());
    if (auto* f = std::get_if<model::OpFailure>(&r)) throw EvalFailure{f->message};
    return std::get<int>(r);
  }

  Value field(const Expr& e) {
    Value base = eval(*e.args[0]);
    const model::FieldDef& fd = b_.schema.record_def(e.record).fields[e.field];
    if (base.is_missing()) return model::absent_value(b_.schema, fd.type);
    const auto* image = static_cast<const std::byte*>(base.ptr);
    if (model::presence_bit(image, fd.index)) return model::read_slot(b_.schema, fd.type, image + fd.offset);
    if (e.computed_default) {
      Value saved = self_;
      self_ = base;
      // A computed default's own atoms are not the rule's facts.
      std::vector<std::string>* facts = facts_;
      facts_ = nullptr;
      Value v = eval(*e.computed_default);
      facts_ = facts;
      self_ = saved;
      return v;
    }
    return model::absent_value(b_.schema, fd.type);
  }

  Value project(const Expr& e) {
    Value list = eval(*e.args[0]);
    const model::FieldDef& fd = b_.schema.record_def(e.record).fields[e.field];
    uint32_t slot = b_.schema.slot_size(fd.type);
    std::byte* data = scratch_.allocate(slot * list.size);
    for (uint64_t i = 0; i < list.size; ++i) {
      const auto* rec = static_cast<const std::byte*>(model::list_element(b_.schema, list, i).ptr);
      std::memcpy(data + i * slot, rec + fd.offset, slot);
    }
    return Value::list(model::pack_type(fd.type), data, list.size);
  }

  Value comprehension(const Expr& e) {
    // The atoms inside are not the rule's facts: the call they feed is.
    std::vector<std::string>* facts = facts_;
    facts_ = nullptr;
    Value list = eval(*e.args[0]);
    uint64_t count = list.is_missing() ? 0 : list.size;
    model::Type type = b_.schema.element_type(e.type);
    uint32_t slot = b_.schema.slot_size(type);
    std::byte* data = scratch_.allocate(slot * count);
    uint64_t kept = 0;
    for (uint64_t i = 0; i < count; ++i) {
      slots_.at(e.index) = model::list_element(b_.schema, list, i);
      if (e.args.size() > 2 && !holds(*e.args[2])) continue;
      Value v = eval(*e.args[1]);
      if (v.is_missing()) continue;
      model::write_slot(b_.schema, type, data + kept * slot, v);
      ++kept;
    }
    facts_ = facts;
    return Value::list(model::pack_type(type), data, kept);
  }

  Value quantifier(const Expr& e) {
    // The atoms inside `where` are summarised, not listed per element.
    std::vector<std::string>* facts = facts_;
    facts_ = nullptr;
    bool all = e.quantifier_all;
    bool result = all;
    int64_t witness = -1;
    Value witness_element = Value::missing();
    auto visit = [&](const Value& element, uint64_t i) {
      slots_.at(e.index) = element;
      if (holds(*e.args[1]) == all) return false;
      // any: found one; all: found a counterexample
      result = !all;
      witness = static_cast<int64_t>(i);
      witness_element = element;
      return true;
    };
    uint64_t count = 0;
    if (e.args[0]->kind == ExprKind::Nodes) {
      const model::Inventory* inv = inventory_;
      count = inv ? inv->node_count() : 0;
      for (uint64_t i = 0; i < count; ++i)
        if (visit(Value::record(static_cast<uint32_t>(b_.node_record), inv->node(i)), i)) break;
    } else {
      Value list = eval(*e.args[0]);
      count = list.is_missing() ? 0 : list.size;
      for (uint64_t i = 0; i < count; ++i)
        if (visit(model::list_element(b_.schema, list, i), i)) break;
    }
    facts_ = facts;
    if (facts_)
      facts_->push_back(engine::format_quantifier_fact(b_, e, result, count, witness, witness_element));
    return Value::boolean(result);
  }

  // An atom's outcome and the values behind it, for explain.
  // Inlined so that, when no one explains, the operands are not even gathered.
  inline void fact(const Expr& e, bool result, std::initializer_list<std::pair<const Expr*, Value>> operands) {
    if (facts_) [[unlikely]] facts_->push_back(engine::format_fact(b_, e, result, operands));
  }

  Value call(const Expr& e) {
    boost::container::small_vector<Value, 4> args;
    for (const auto& x : e.args) args.push_back(eval(*x));
    engine::BuiltinResult r =
        engine::apply_builtin(b_, e, args.data(), args.size(), {inventory_, input_.history, input_.now}, scratch_);
    if (r.unplaced_argument >= 0 && facts_)
      facts_->push_back(fmt::format("{}: unknown, {} has no known location", b_.source_text(e.range),
                                    b_.source_text(e.args[r.unplaced_argument]->range)));
    return unwrap(std::move(r.value));
  }

  Value table_call(const Expr& e) {
    const check::Table& t = b_.tables.at(e.index);
    boost::container::small_vector<Value, 4> args;
    for (const auto& x : e.args) args.push_back(eval(*x));
    for (const check::TableRow& row : t.rows) {
      bool all = true;
      for (size_t c = 0; c < row.cells.size() && all; ++c) {
        const check::TableCell& cell = row.cells[c];
        if (cell.kind == check::TableCell::Kind::Any) continue;
        if (args[c].is_missing()) {
          all = false;
          break;
        }
        int cmp = three_way(cell.form, args[c], cell.value);
        switch (cell.kind) {
          case check::TableCell::Kind::Equal: all = cmp == 0; break;
          case check::TableCell::Kind::NotEqual: all = cmp != 0; break;
          case check::TableCell::Kind::Compare: all = model::compare_outcome(cell.op, cmp); break;
          case check::TableCell::Kind::Any: break;
        }
      }
      if (all) return row.result;
    }
    std::string input;
    for (size_t c = 0; c < args.size(); ++c)
      input += fmt::format("{}{} = {}", c ? ", " : "", t.param_names[c],
                           args[c].is_missing() ? "missing" : check::print_value(b_, args[c]));
    throw EvalFailure{fmt::format("table {} has no row for {}", t.name, input)};
  }

  using Type = model::Type;

  const check::CheckedBundle& b_;
  const engine::EvalInput& input_;
  engine::TraceDetail detail_;
  const model::Inventory* inventory_ = nullptr;
  // A policy's frame is small: kept inline, an evaluation allocates nothing for it.
  boost::container::small_vector<Value, 12> slots_;
  Value self_;
  // Text and lists made while evaluating: in this buffer first, so that a
  // usual evaluation asks the heap for nothing.
  alignas(16) std::byte scratch_buffer_[1024];
  model::Arena scratch_{scratch_buffer_, sizeof scratch_buffer_};
  std::vector<std::string>* facts_ = nullptr;
};

// ------------------------------------------------------------ policies

void apply_annotation(const check::Action& a, std::string_view rule, Evaluation& ev, Outcome& out) {
  switch (a.kind) {
    case check::ActionKind::SetPriority: {
      Value v = ev.eval(*a.value);
      if (!v.is_missing()) out.priority = v.i;
      break;
    }
    case check::ActionKind::SetDelivery: {
      Value v = ev.eval(*a.value);
      if (!v.is_missing()) {
        out.delivery = v.i;
        out.delivery_rule = rule;
      }
      break;
    }
    case check::ActionKind::Tag: {
      Value v = ev.eval(*a.value);
      if (!v.is_missing() && std::find(out.tags.begin(), out.tags.end(), v.as_string()) == out.tags.end())
        out.tags.emplace_back(v.as_string());
      break;
    }
    case check::ActionKind::Notify:
    case check::ActionKind::Escalate: {
      engine::Notification n;
      n.escalation = a.kind == check::ActionKind::Escalate;
      Value who = ev.eval(*a.value);
      if (!who.is_missing()) n.who = std::string(who.as_string());
      if (a.priority) {
        Value p = ev.eval(*a.priority);
        if (!p.is_missing()) n.priority = p.i;
      }
      n.rule = rule;
      out.notifications.push_back(std::move(n));
      break;
    }
    case check::ActionKind::RefundShipping:
      out.refund_terms.push_back(engine::refund_term(a, rule, 0, 0));
      break;
    case check::ActionKind::Charge: {
      Value v = ev.eval(*a.value);
      if (!v.is_missing()) out.refund_terms.push_back(engine::refund_term(a, rule, v.i, v.aux));
      break;
    }
    default: break;
  }
}

void apply_decision(const check::Decision& d, Evaluation& ev, Outcome& out) {
  engine::apply_decision_words(d, out);
  if (d.hold_for) {
    Value v = ev.eval(*d.hold_for);
    if (v.is_missing()) throw EvalFailure{"the hold's time limit is missing"};
    out.hold_for = v.i;
  }
  if (d.reschedule_to) {
    Value v = ev.eval(*d.reschedule_to);
    if (v.is_missing()) throw EvalFailure{"the time to deliver again is missing"};
    out.reschedule_at = v.i;
  }
}

// Tries a route: evaluates each node's filter and keys, then lets the
// shared RouteSelection rank and allocate. True when the order is routed.
bool try_route(const check::CheckedBundle& b, const check::Route& route, const engine::EvalInput& input,
               engine::TraceDetail detail, Evaluation& ev, Outcome& out, std::vector<std::string>* facts) {
  auto fields = engine::RoutingFields::resolve(b);
  if (!fields) throw EvalFailure{"the schema lacks a field routing needs (order.lines, line.sku, line.quantity, node.id)"};
  const model::Inventory* inv = ev.inventory();
  if (!inv || inv->node_count() == 0) {
    if (facts) facts->push_back("there are no nodes to route to");
    return false;
  }
  engine::Demands demands;
  engine::order_demands(b, *fields, input.order, *inv, demands);
  engine::RouteSelection selection(b, *fields, route, *inv, demands, detail, out);
  bool values = detail == engine::TraceDetail::Values;
  const uint8_t* inactive = inv->inactive();
  for (size_t n = 0; n < inv->node_count(); ++n) {
    if ((inactive && inactive[n]) ||
        (input.excluded_nodes && n < input.excluded_nodes->size() && (*input.excluded_nodes)[n])) {
      selection.excluded(n);
      continue;
    }
    ev.bind(1, Value::record(static_cast<uint32_t>(b.node_record), inv->node(n)));
    std::vector<std::string> node_facts;
    if (route.filter) {
      ev.record_facts(values ? &node_facts : nullptr);
      bool pass = ev.holds(*route.filter);
      ev.record_facts(facts);
      if (!pass) {
        selection.filtered_out(n, std::move(node_facts));
        continue;
      }
    }
    ev.record_facts(nullptr);
    boost::container::small_vector<Value, 4> keys;
    for (const check::Preference& p : route.prefer) keys.push_back(ev.eval(*p.key));
    int64_t safety = 0;
    if (route.safety_stock) {
      Value s = ev.eval(*route.safety_stock);
      safety = s.is_missing() ? 0 : std::max<int64_t>(0, s.i);
    }
    ev.record_facts(facts);
    selection.candidate(n, keys.data(), safety, std::move(node_facts));
  }
  auto result = selection.finish(facts);
  if (auto* f = std::get_if<model::OpFailure>(&result)) throw EvalFailure{f->message};
  return std::get<bool>(result);
}

}  // namespace

Interpreter::Interpreter(std::shared_ptr<const check::CheckedBundle> bundle) : bundle_(std::move(bundle)) {}

void Interpreter::evaluate_into(check::PolicyKind kind, const engine::EvalInput& input, engine::TraceDetail detail,
                                Outcome& out) const {
  const check::CheckedBundle& b = *bundle_;
  out.reset(kind);
  const check::Policy* policy = b.policy(kind);
  if (!policy || !input.order) return;
  // A policy about a return, a unit or a failed delivery decides nothing without one.
  if (b.subject_record(kind) >= 0 && !input.subject) return;
  Evaluation ev(b, input, detail, policy->slot_count);
  ev.bind_subject(b.subject_record(kind));
  bool values = detail == engine::TraceDetail::Values;
  // Evaluates one rule; true when it decided (which ends acceptance and routing).
  auto run_rule = [&](const check::Rule& rule, int index) -> bool {
    engine::RuleTrace* trace = nullptr;
    if (values) {
      out.trace.push_back({index, rule.name, false, false, {}, {}});
      trace = &out.trace.back();
    }
    if (index >= 0) out.rules_evaluated = index + 1;
    else out.otherwise_evaluated = true;
    ev.record_facts(trace ? &trace->facts : nullptr);
    bool decided = false;
    std::string error;
    try {
      bool matched = !rule.when || ev.holds(*rule.when);
      if (matched && index >= 0) out.set_matched(index);
      if (trace) trace->matched = matched;
      if (matched) {
        for (size_t i = 0; i < rule.actions.size(); ++i)
          if (static_cast<int>(i) != rule.deciding_action) apply_annotation(rule.actions[i], rule.name, ev, out);
        if (rule.deciding_action >= 0) {
          const check::Action& a = rule.actions[rule.deciding_action];
          if (a.kind == check::ActionKind::Decision) {
            apply_decision(a.decision, ev, out);
            decided = true;
          } else if (a.kind == check::ActionKind::Route) {
            if (try_route(b, a.route, input, detail, ev, out, trace ? &trace->facts : nullptr)) {
              out.verdict = Verdict::Route;
              decided = true;
            } else if (a.route.otherwise == check::Route::Else::Decide) {
              apply_decision(*a.route.else_decision, ev, out);
              decided = true;
            }
          }
        }
      }
    } catch (const EvalFailure& f) {
      error = f.what;
    } catch (const std::exception& x) {
      error = std::string("internal error: ") + x.what();
    }
    ev.record_facts(nullptr);
    if (!error.empty()) {
      if (trace) trace->error = error;
      out.policy_error = true;
      if (!out.error.empty()) out.error += "; ";
      out.error += fmt::format("rule \"{}\": {}", rule.name, error);
      if (kind != check::PolicyKind::Escalation) {
        // Never let anything through on failure: a person looks at it.
        engine::fail_safe(out);
        decided = true;
      }
    }
    if (trace) trace->decided = decided;
    if (decided) {
      out.deciding_rule = index;
      out.deciding_rule_name = rule.name;
    }
    return decided;
  };
  if (kind == check::PolicyKind::Escalation) {
    // Every rule that matches fires; one that fails does not stop the rest.
    for (size_t i = 0; i < policy->rules.size(); ++i) run_rule(policy->rules[i], static_cast<int>(i));
    return;
  }
  for (size_t i = 0; i < policy->rules.size(); ++i)
    if (run_rule(policy->rules[i], static_cast<int>(i))) return;
  if (policy->otherwise) {
    run_rule(*policy->otherwise, -1);
    return;
  }
  if (kind == check::PolicyKind::Routing) {
    // No rule could route the order and none said what to do instead.
    out.verdict = Verdict::Hold;
    out.reason = "no_route";
  }
}

bool Interpreter::condition_holds(const check::Expr& condition, int slots, const engine::EvalInput& input) const {
  Evaluation ev(*bundle_, input, engine::TraceDetail::Rules, slots);
  try {
    return ev.holds(condition);
  } catch (const EvalFailure&) {
    return false;  // a condition that cannot be evaluated does not hold
  } catch (const std::exception&) {
    return false;
  }
}

std::optional<int64_t> Interpreter::milliseconds_of(const check::Expr& e, int slots,
                                                    const engine::EvalInput& input) const {
  Evaluation ev(*bundle_, input, engine::TraceDetail::Rules, slots);
  try {
    Value v = ev.eval(e);
    if (v.kind == Value::Kind::Time || v.kind == Value::Kind::Duration) return v.i;
  } catch (const EvalFailure&) {  // it has no value
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

}  // namespace orderflow::interp
