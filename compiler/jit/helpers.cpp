// The C functions compiled policy code calls (declared in lower/abi.h).
// Each converts its raw arguments back into Values and calls the same code
// the interpreter uses, so that messages, facts and allocations agree.
#include <boost/container/small_vector.hpp>
#include <fmt/format.h>

#include <algorithm>

#include "compiler/check/checker.h"
#include "compiler/engine/builtins.h"
#include "compiler/jit/compiled.h"

namespace orderflow::jit {
namespace {

using lower::JitFrame;
using lower::RawValue;
using model::Type;
using model::TypeKind;
using model::Value;

// A raw value of a known type as a Value.
Value typed(const check::CheckedBundle& b, Type t, const RawValue& r) {
  if (!r.present) return Value::missing();
  switch (t.kind) {
    case TypeKind::Bool: return Value::boolean(r.i != 0);
    case TypeKind::Int: return Value::integer(r.i);
    case TypeKind::Decimal: return Value::decimal(r.i);
    case TypeKind::Float: return Value::floating(r.f);
    case TypeKind::Money: return Value::money(r.i, r.aux);
    case TypeKind::String: return Value::string(std::string_view(static_cast<const char*>(r.p), r.n));
    case TypeKind::Duration: return Value::duration(r.i);
    case TypeKind::Time: return Value::time(r.i);
    case TypeKind::Distance: return Value::distance(r.f);
    case TypeKind::Enum: return Value::enumeration(static_cast<uint32_t>(t.ref), r.i);
    case TypeKind::List:
    case TypeKind::Set:
      return Value::list(model::pack_type(b.schema.element_type(t)), r.p, static_cast<uint64_t>(r.n));
    case TypeKind::Record: return Value::record(static_cast<uint32_t>(t.ref), r.p);
    case TypeKind::Error: break;
  }
  return Value::missing();
}

void store(const Value& v, RawValue* out) {
  *out = RawValue{};
  out->present = v.is_missing() ? 0 : 1;
  switch (v.kind) {
    case Value::Kind::Bool: out->i = v.b ? 1 : 0; break;
    case Value::Kind::Float:
    case Value::Kind::Distance: out->f = v.f; break;
    case Value::Kind::String:
      out->p = v.str;
      out->n = static_cast<int64_t>(v.size);
      break;
    case Value::Kind::List:
      out->p = v.ptr;
      out->n = static_cast<int64_t>(v.size);
      break;
    case Value::Kind::Record: out->p = v.ptr; break;
    default:
      out->i = v.i;
      out->aux = v.aux;
      break;
  }
}

const check::Rule& rule_of(const FrameState& s, int32_t rule) {
  return rule >= 0 ? s.policy->rules.at(rule) : *s.policy->otherwise;
}

}  // namespace
}  // namespace orderflow::jit

using orderflow::jit::FrameState;
using orderflow::jit::state_of;
using orderflow::lower::JitFrame;
using orderflow::lower::RawValue;
namespace model = orderflow::model;
namespace engine = orderflow::engine;
namespace check = orderflow::check;

namespace {

// What an operand of the arithmetic and comparison helpers holds. Compiled
// code fills only the parts of a RawValue its type uses, so the form says
// which to read.
enum class Parts { Integer, Floating, Text };

model::Value operand(Parts parts, const RawValue& r) {
  model::Value v;
  switch (parts) {
    case Parts::Floating:
      v = model::Value::floating(r.f);
      break;
    case Parts::Text:
      v = model::Value::string(std::string_view(static_cast<const char*>(r.p), static_cast<size_t>(r.n)));
      break;
    case Parts::Integer:
      v = model::Value::integer(r.i);
      v.aux = r.aux;
      break;
  }
  return v;
}

Parts arith_parts(model::ArithForm f) {
  using model::ArithForm;
  switch (f) {
    case ArithForm::StringConcat: return Parts::Text;
    case ArithForm::FloatAdd:
    case ArithForm::FloatSub:
    case ArithForm::FloatMul:
    case ArithForm::FloatDiv:
    case ArithForm::DistanceAdd:
    case ArithForm::DistanceSub:
    case ArithForm::DistanceScale:
    case ArithForm::DistanceDivide:
    case ArithForm::DistanceRatio: return Parts::Floating;
    default: return Parts::Integer;
  }
}

Parts compare_parts(model::CompareForm f) {
  switch (f) {
    case model::CompareForm::String: return Parts::Text;
    case model::CompareForm::Float:
    case model::CompareForm::Distance: return Parts::Floating;
    default: return Parts::Integer;
  }
}

}  // namespace

extern "C" uint8_t of_arith(JitFrame* frame, int32_t form, const RawValue* a, const RawValue* b, RawValue* out) {
  FrameState& s = state_of(frame);
  auto f = static_cast<model::ArithForm>(form);
  Parts parts = arith_parts(f);
  auto r = model::apply_arith(f, operand(parts, *a), operand(parts, *b), s.bundle().rates.get(), &s.arena());
  if (auto* failure = std::get_if<model::OpFailure>(&r)) {
    s.pending_error = failure->message;
    return 0;
  }
  orderflow::jit::store(std::get<model::Value>(r), out);
  return 1;
}

extern "C" int32_t of_compare(JitFrame* frame, int32_t form, const RawValue* a, const RawValue* b, uint8_t* ok) {
  FrameState& s = state_of(frame);
  auto f = static_cast<model::CompareForm>(form);
  Parts parts = compare_parts(f);
  auto r = model::compare_values(f, operand(parts, *a), operand(parts, *b), s.bundle().rates.get());
  if (auto* failure = std::get_if<model::OpFailure>(&r)) {
    s.pending_error = failure->message;
    *ok = 0;
    return 0;
  }
  *ok = 1;
  return std::get<int>(r);
}

extern "C" uint8_t of_convert(JitFrame* frame, int32_t to_kind, const RawValue* a, RawValue* out) {
  FrameState& s = state_of(frame);
  auto r = model::convert_number(model::Value::integer(a->i), static_cast<model::TypeKind>(to_kind));
  if (auto* failure = std::get_if<model::OpFailure>(&r)) {
    s.pending_error = failure->message;
    return 0;
  }
  orderflow::jit::store(std::get<model::Value>(r), out);
  return 1;
}

extern "C" void of_fail(JitFrame* frame, int32_t message) {
  static const char* const kMessages[] = {
      "a negation is too large",
      "the hold's time limit is missing",
      "abs() of a number too large",
      "`nodes` used outside `any ... in nodes`",
      "the time to deliver again is missing",
  };
  state_of(frame).pending_error = kMessages[message];
}

extern "C" uint8_t of_list_contains(JitFrame* frame, int32_t list, const RawValue* value) {
  if (!value->present) return 0;
  const model::DataList& l = state_of(frame).bundle().lists.at(list);
  if (l.element.kind == model::TypeKind::String)
    return l.strings.contains(std::string_view(static_cast<const char*>(value->p), value->n)) ? 1 : 0;
  return std::binary_search(l.integers.begin(), l.integers.end(), value->i) ? 1 : 0;
}

extern "C" const void* of_lookup(JitFrame* frame, int32_t table, const void* key, int64_t key_length) {
  const model::KeyedTable& t = state_of(frame).bundle().keyed_tables.at(table);
  return t.find(std::string_view(static_cast<const char*>(key), key_length));
}

extern "C" uint8_t of_builtin(JitFrame* frame, int32_t call, uint8_t facts, const RawValue* args, int32_t count,
                              RawValue* out) {
  FrameState& s = state_of(frame);
  const check::CheckedBundle& b = s.bundle();
  const check::Expr& e = *s.atoms->at(call).expr;
  model::Value values[8];  // no built-in takes more
  for (int32_t i = 0; i < count && i < 8; ++i) values[i] = orderflow::jit::typed(b, e.args[i]->type, args[i]);
  engine::BuiltinResult r = engine::apply_builtin(b, e, values, static_cast<size_t>(count),
                                                  {s.inventory, s.history, frame->now}, s.arena());
  if (r.unplaced_argument >= 0 && facts && s.fact_target)
    s.fact_target->push_back(fmt::format("{}: unknown, {} has no known location", b.source_text(e.range),
                                         b.source_text(e.args[r.unplaced_argument]->range)));
  if (auto* failure = std::get_if<model::OpFailure>(&r.value)) {
    s.pending_error = failure->message;
    return 0;
  }
  orderflow::jit::store(std::get<model::Value>(r.value), out);
  return 1;
}

// Memory for a list compiled code makes (a comprehension's), alive as long
// as the evaluation, as the interpreter's scratch memory is.
extern "C" void* of_scratch(JitFrame* frame, int64_t bytes) {
  return state_of(frame).arena().allocate(static_cast<size_t>(std::max<int64_t>(bytes, 0)));
}

extern "C" int64_t of_stock(JitFrame* frame, int64_t node, const void* sku, int64_t sku_length) {
  FrameState& s = state_of(frame);
  if (!s.inventory) return 0;
  if (sku != s.stock_sku || sku_length != s.stock_sku_length) {
    s.stock_sku = sku;
    s.stock_sku_length = sku_length;
    s.stock_row = s.inventory->sku_stock(std::string_view(static_cast<const char*>(sku), sku_length));
  }
  return s.stock_row ? s.stock_row[node].available(0) : 0;
}

extern "C" void of_table_failure(JitFrame* frame, int32_t table, const RawValue* args) {
  FrameState& s = state_of(frame);
  const check::CheckedBundle& b = s.bundle();
  const check::Table& t = b.tables.at(table);
  std::string input;
  for (size_t c = 0; c < t.param_types.size(); ++c) {
    model::Value v = orderflow::jit::typed(b, t.param_types[c], args[c]);
    input += fmt::format("{}{} = {}", c ? ", " : "", t.param_names[c], v.is_missing() ? "missing" : check::print_value(b, v));
  }
  s.pending_error = fmt::format("table {} has no row for {}", t.name, input);
}

extern "C" void of_tag(JitFrame* frame, const void* text, int64_t length) {
  engine::Outcome& out = *state_of(frame).outcome;
  std::string_view tag(static_cast<const char*>(text), length);
  if (std::find(out.tags.begin(), out.tags.end(), tag) == out.tags.end()) out.tags.emplace_back(tag);
}

extern "C" void of_notify(JitFrame* frame, int32_t rule, int32_t action, const RawValue* who, const RawValue* priority) {
  FrameState& s = state_of(frame);
  const check::Rule& r = orderflow::jit::rule_of(s, rule);
  engine::Notification n;
  n.escalation = r.actions.at(action).kind == check::ActionKind::Escalate;
  if (who->present) n.who = std::string(static_cast<const char*>(who->p), who->n);
  if (priority->present) n.priority = priority->i;
  n.rule = r.name;
  s.outcome->notifications.push_back(std::move(n));
}

extern "C" void of_refund_term(JitFrame* frame, int32_t rule, int32_t action, const RawValue* value) {
  FrameState& s = state_of(frame);
  const check::Rule& r = orderflow::jit::rule_of(s, rule);
  const check::Action& a = r.actions.at(action);
  if (a.kind == check::ActionKind::Charge && !value->present) return;  // a fee that is missing charges nothing
  s.outcome->refund_terms.push_back(engine::refund_term(a, r.name, value->i, value->aux));
}

extern "C" void of_rule_begin(JitFrame* frame, int32_t rule) {
  FrameState& s = state_of(frame);
  s.outcome->trace.push_back({rule, orderflow::jit::rule_of(s, rule).name, false, false, {}, {}});
  s.rule_facts = &s.outcome->trace.back().facts;
  s.fact_target = s.rule_facts;
}

extern "C" void of_rule_end(JitFrame* frame, int32_t rule, uint8_t matched, uint8_t decided) {
  FrameState& s = state_of(frame);
  if (s.outcome->trace.empty()) return;
  s.outcome->trace.back().matched = matched;
  s.outcome->trace.back().decided = decided;
  s.fact_target = nullptr;
}

extern "C" void of_rule_failed(JitFrame* frame, int32_t rule) {
  FrameState& s = state_of(frame);
  engine::Outcome& out = *s.outcome;
  out.policy_error = true;
  if (!out.error.empty()) out.error += "; ";
  out.error += fmt::format("rule \"{}\": {}", orderflow::jit::rule_of(s, rule).name, s.pending_error);
  if (s.detail == engine::TraceDetail::Values && !out.trace.empty()) {
    out.trace.back().error = s.pending_error;
    out.trace.back().decided = s.policy->kind != check::PolicyKind::Escalation;
    // A failure after the condition matched (in an annotation, a route's
    // `where`) leaves the rule matched, as the condition did.
    out.trace.back().matched = rule < 0 || out.rule_matched(rule);
  }
  s.pending_error.clear();
  s.fact_target = nullptr;
}

extern "C" void of_fact(JitFrame* frame, int32_t atom, uint8_t result, const RawValue* operands) {
  FrameState& s = state_of(frame);
  if (!s.fact_target) return;
  const orderflow::lower::Atom& a = s.atoms->at(atom);
  const check::CheckedBundle& b = s.bundle();
  if (a.kind == orderflow::lower::Atom::Kind::Leaf) {
    model::Value v = orderflow::jit::typed(b, a.expr->type, operands[0]);
    s.fact_target->push_back(
        fmt::format("{}: {}", b.source_text(a.expr->range), v.is_missing() ? "missing" : (v.b ? "true" : "false")));
    return;
  }
  std::vector<std::pair<const check::Expr*, model::Value>> values;
  for (size_t i = 0; i < a.operands.size(); ++i)
    values.push_back({a.operands[i], orderflow::jit::typed(b, a.operands[i]->type, operands[i])});
  s.fact_target->push_back(engine::format_fact(b, *a.expr, result != 0, values));
}

extern "C" void of_quantifier_fact(JitFrame* frame, int32_t atom, uint8_t result, int64_t witness, int64_t count,
                                   const RawValue* element) {
  FrameState& s = state_of(frame);
  if (!s.fact_target) return;
  const check::CheckedBundle& b = s.bundle();
  const check::Expr& e = *s.atoms->at(atom).expr;
  model::Type element_type = e.args[0]->kind == check::ExprKind::Nodes ? b.schema.record_type(b.node_record)
                                                                        : b.schema.element_type(e.args[0]->type);
  s.fact_target->push_back(engine::format_quantifier_fact(b, e, result != 0, static_cast<uint64_t>(count), witness,
                                                          orderflow::jit::typed(b, element_type, *element)));
}

namespace {
// The ranking of the general route path, made on first use: the one-shipment
// path never needs it.
engine::RouteSelection& selection_of(FrameState& s) {
  if (!s.selection)
    s.selection.emplace(s.bundle(), *s.compiled->routing_fields, *s.route, *s.inventory, s.demands, s.detail,
                        *s.outcome);
  return *s.selection;
}
}  // namespace

extern "C" int64_t of_route_begin(JitFrame* frame, int32_t rule, int32_t action) {
  FrameState& s = state_of(frame);
  const check::CheckedBundle& b = s.bundle();
  s.route = &orderflow::jit::rule_of(s, rule).actions.at(action).route;
  if (!s.compiled->routing_fields) {
    s.pending_error = "the schema lacks a field routing needs (order.lines, line.sku, line.quantity, node.id)";
    return -1;
  }
  if (!s.inventory || s.inventory->node_count() == 0) {
    if (s.rule_facts) s.rule_facts->push_back("there are no nodes to route to");
    return -2;
  }
  engine::order_demands(b, *s.compiled->routing_fields, frame->order, *s.inventory, s.demands);
  s.demand_rows.clear();
  s.demand_quantities.clear();
  for (const engine::Demand& d : s.demands.items) {
    s.demand_rows.push_back(d.stock);
    s.demand_quantities.push_back(d.quantity);
  }
  frame->demand_rows = s.demand_rows.data();
  frame->demand_quantity = s.demand_quantities.data();
  frame->demand_count = static_cast<int64_t>(s.demands.size());
  s.selection.reset();  // made when the general path first asks for it
  return frame->demand_count;
}

extern "C" void of_route_node(JitFrame* frame, int64_t) {
  FrameState& s = state_of(frame);
  s.node_facts.clear();
  s.fact_target = s.detail == engine::TraceDetail::Values ? &s.node_facts : nullptr;
}

extern "C" void of_route_excluded(JitFrame* frame, int64_t node) { selection_of(state_of(frame)).excluded(node); }

extern "C" void of_route_filtered(JitFrame* frame, int64_t node) {
  FrameState& s = state_of(frame);
  selection_of(s).filtered_out(node, std::move(s.node_facts));
  s.node_facts.clear();
  s.fact_target = s.rule_facts;
}

extern "C" void of_route_candidate(JitFrame* frame, int64_t node, const RawValue* keys, int64_t safety) {
  FrameState& s = state_of(frame);
  boost::container::small_vector<model::Value, 4> values;
  for (size_t k = 0; k < s.route->prefer.size(); ++k)
    values.push_back(orderflow::jit::typed(s.bundle(), s.route->prefer[k].key->type, keys[k]));
  selection_of(s).candidate(node, values.data(), safety, std::move(s.node_facts));
  s.node_facts.clear();
  s.fact_target = s.rule_facts;
}

extern "C" int32_t of_route_finish(JitFrame* frame) {
  FrameState& s = state_of(frame);
  s.fact_target = s.rule_facts;
  auto r = selection_of(s).finish(s.rule_facts);
  if (auto* failure = std::get_if<model::OpFailure>(&r)) {
    s.pending_error = failure->message;
    return -1;
  }
  return std::get<bool>(r) ? 1 : 0;
}

extern "C" void of_route_single(JitFrame* frame, int64_t node) {
  FrameState& s = state_of(frame);
  engine::record_single_shipment(s.bundle(), *s.compiled->routing_fields, *s.inventory, s.demands,
                                 static_cast<size_t>(node), *s.outcome);
}
