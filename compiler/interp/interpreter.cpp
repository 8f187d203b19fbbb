#include "compiler/interp/interpreter.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "compiler/check/checker.h"
#include "compiler/engine/allocation.h"
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
    switch (e.kind) {
      case ExprKind::And:
      case ExprKind::Or:
      case ExprKind::Not:
      case ExprKind::Compare:
      case ExprKind::Presence:
      case ExprKind::InList:
      case ExprKind::InData:
      case ExprKind::InCollection:
      case ExprKind::Quantifier:
      case ExprKind::Literal:
      case ExprKind::Const: break;
      default:
        if (facts_)
          facts_->push_back(fmt::format("{}: {}", b_.source_text(e.range),
                                        v.is_missing() ? "missing" : (v.b ? "true" : "false")));
    }
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
    auto r = model::compare_values(form, a, b, b_.rates.get());
    if (auto* f = std::get_if<model::OpFailure>(&r)) throw EvalFailure{f->message};
    return std::get<int>(r);
  }

  Value field(const Expr& e) {
    Value base = eval(*e.args[0]);
    if (base.is_missing()) return base;
    const auto* image = static_cast<const std::byte*>(base.ptr);
    const model::FieldDef& fd = b_.schema.record_def(e.record).fields[e.field];
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
    return Value::missing();
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

  Value quantifier(const Expr& e) {
    // The atoms inside `where` are summarised, not listed per element.
    std::vector<std::string>* facts = facts_;
    facts_ = nullptr;
    bool all = e.quantifier_all;
    bool result = all;
    std::string witness;
    auto visit = [&](const Value& element, const std::string& label) {
      slots_.at(e.index) = element;
      bool ok = holds(*e.args[1]);
      if (ok != all) return true;  // any: found one; all: found a counterexample
      return false;
    };
    auto describe = [&](const Value& element, uint64_t i) {
      if (element.kind == Value::Kind::Record) {
        model::RecordRef r(b_.schema, static_cast<int>(element.aux), static_cast<const std::byte*>(element.ptr));
        for (const char* key : {"sku", "id", "name"}) {
          Value v = r.get(key);
          if (v.kind == Value::Kind::String) return fmt::format("{} {} ({})", e.name, i + 1, v.as_string());
        }
      }
      return fmt::format("{} {}", e.name, i + 1);
    };
    uint64_t count = 0;
    if (e.args[0]->kind == ExprKind::Nodes) {
      const model::Inventory* inv = inventory_;
      count = inv ? inv->node_count() : 0;
      for (uint64_t i = 0; i < count; ++i) {
        Value node = Value::record(static_cast<uint32_t>(b_.node_record), inv->node(i));
        if (visit(node, "")) {
          result = !all;
          if (facts) witness = describe(node, i);
          break;
        }
      }
    } else {
      Value list = eval(*e.args[0]);
      count = list.is_missing() ? 0 : list.size;
      for (uint64_t i = 0; i < count; ++i) {
        Value element = model::list_element(b_.schema, list, i);
        if (visit(element, "")) {
          result = !all;
          if (facts) witness = describe(element, i);
          break;
        }
      }
    }
    facts_ = facts;
    if (facts_) {
      std::string text(b_.source_text(e.range));
      std::string why;
      std::string many = count == 1 ? e.name : e.name + "s";
      if (!all) why = result ? witness + " does" : fmt::format("none of the {} {} does", count, many);
      else why = result ? fmt::format("all {} {} do", count, many) : witness + " does not";
      facts_->push_back(fmt::format("{}: {} ({})", text, result ? "true" : "false", why));
    }
    return Value::boolean(result);
  }

  // An atom's outcome and the values behind it, for explain.
  void fact(const Expr& e, bool result, std::initializer_list<std::pair<const Expr*, Value>> operands) {
    if (!facts_) return;
    std::string values;
    for (const auto& [x, v] : operands) {
      // Literals speak for themselves; records and lists are too big to show.
      if (x->kind == ExprKind::Literal || x->kind == ExprKind::List || v.kind == Value::Kind::Record ||
          v.kind == Value::Kind::List)
        continue;
      std::string shown = v.is_missing() ? "missing" : check::print_value(b_, v);
      if (!values.empty()) values += ", ";
      values += fmt::format("{} = {}", b_.source_text(x->range), shown);
    }
    facts_->push_back(fmt::format("{}: {}{}", b_.source_text(e.range), result ? "true" : "false",
                                  values.empty() ? "" : " (" + values + ")"));
  }

  std::optional<model::GeoPoint> place(const Value& v) {
    if (v.is_missing() || v.kind != Value::Kind::Record) return std::nullopt;
    model::RecordRef r(b_.schema, static_cast<int>(v.aux), static_cast<const std::byte*>(v.ptr));
    Value lat = r.get("lat"), lon = r.get("lon");
    if (lat.kind == Value::Kind::Float && lon.kind == Value::Kind::Float) return model::GeoPoint{lat.f, lon.f};
    Value code = r.get("postal_code");
    if (code.kind == Value::Kind::String && b_.geo) return b_.geo->locate(code.as_string());
    return std::nullopt;
  }

  Value call(const Expr& e) {
    std::vector<Value> a;
    a.reserve(e.args.size());
    for (const auto& x : e.args) a.push_back(eval(*x));
    auto any_missing = [&] {
      for (const Value& v : a)
        if (v.is_missing()) return true;
      return false;
    };
    Type element;
    switch (e.builtin) {
      case Builtin::Count: return Value::integer(static_cast<int64_t>(a[0].size));
      case Builtin::Sum: {
        element = model::unpack_type(a[0].aux);
        if (a[0].size == 0) {
          switch (element.kind) {
            case model::TypeKind::Int: return Value::integer(0);
            case model::TypeKind::Decimal: return Value::decimal(0);
            case model::TypeKind::Float: return Value::floating(0);
            case model::TypeKind::Duration: return Value::duration(0);
            case model::TypeKind::Distance: return Value::distance(0);
            default: return Value::missing();
          }
        }
        Value total = model::list_element(b_.schema, a[0], 0);
        model::ArithForm add = sum_form(element.kind);
        for (uint64_t i = 1; i < a[0].size; ++i)
          total = unwrap(model::apply_arith(add, total, model::list_element(b_.schema, a[0], i), b_.rates.get(),
                                            &scratch_));
        return total;
      }
      case Builtin::Min:
      case Builtin::Max: {
        bool want_min = e.builtin == Builtin::Min;
        if (a.size() == 2) {
          if (any_missing()) return Value::missing();
          int c = three_way(*model::compare_form_of(e.type), a[0], a[1]);
          return (want_min ? c <= 0 : c >= 0) ? a[0] : a[1];
        }
        if (a[0].size == 0) return Value::missing();
        Value best = model::list_element(b_.schema, a[0], 0);
        for (uint64_t i = 1; i < a[0].size; ++i) {
          Value v = model::list_element(b_.schema, a[0], i);
          int c = three_way(*model::compare_form_of(e.type), v, best);
          if (want_min ? c < 0 : c > 0) best = v;
        }
        return best;
      }
      case Builtin::Prefix:
      case Builtin::Suffix: {
        if (any_missing()) return Value::missing();
        std::string_view s = a[0].as_string();
        int64_t n = std::max<int64_t>(0, a[1].i);
        size_t length = utf8_length(s);
        if (static_cast<size_t>(n) >= length) return a[0];
        if (e.builtin == Builtin::Prefix) return Value::string(s.substr(0, utf8_offset(s, n)));
        return Value::string(s.substr(utf8_offset(s, length - n)));
      }
      case Builtin::Lower:
      case Builtin::Upper: {
        if (any_missing()) return Value::missing();
        std::string s(a[0].as_string());
        for (char& c : s)
          c = static_cast<char>(e.builtin == Builtin::Lower ? std::tolower(static_cast<unsigned char>(c))
                                                            : std::toupper(static_cast<unsigned char>(c)));
        return Value::string(scratch_.copy(s));
      }
      case Builtin::Length:
        if (any_missing()) return Value::missing();
        return Value::integer(static_cast<int64_t>(utf8_length(a[0].as_string())));
      case Builtin::Contains:
      case Builtin::StartsWith:
      case Builtin::EndsWith: {
        if (any_missing()) return Value::missing();
        std::string_view s = a[0].as_string(), part = a[1].as_string();
        bool r = e.builtin == Builtin::Contains     ? s.find(part) != std::string_view::npos
                 : e.builtin == Builtin::StartsWith ? s.starts_with(part)
                                                    : s.ends_with(part);
        return Value::boolean(r);
      }
      case Builtin::Hour:
      case Builtin::Minute:
      case Builtin::Weekday: {
        if (any_missing()) return Value::missing();
        constexpr int64_t day = 86'400'000;
        int64_t ms_of_day = ((a[0].i % day) + day) % day;
        if (e.builtin == Builtin::Hour) return Value::integer(ms_of_day / 3'600'000);
        if (e.builtin == Builtin::Minute) return Value::integer((ms_of_day / 60'000) % 60);
        int64_t days = (a[0].i - ms_of_day) / day;  // 1970-01-01 was a Thursday (4)
        return Value::integer(((days % 7) + 7 + 3) % 7 + 1);
      }
      case Builtin::Abs: {
        if (any_missing()) return Value::missing();
        Value v = a[0];
        if (v.kind == Value::Kind::Float || v.kind == Value::Kind::Distance) v.f = std::fabs(v.f);
        else if (v.i < 0) {
          if (v.i == INT64_MIN) throw EvalFailure{"abs() of a number too large"};
          v.i = -v.i;
        }
        return v;
      }
      case Builtin::Round: {
        if (any_missing()) return Value::missing();
        Value v = a[0];
        int64_t digits = a[1].i;
        if (v.kind == Value::Kind::Float) {
          double f = std::pow(10.0, static_cast<double>(digits));
          v.f = std::round(v.f * f) / f;
        } else if (v.kind == Value::Kind::Decimal || v.kind == Value::Kind::Money) {
          int64_t unit = 1;
          for (int64_t k = digits; k < model::kDecimalDigits; ++k) unit *= 10;
          int64_t q = v.i / unit, r = v.i % unit;
          if (std::llabs(r) * 2 >= unit) q += v.i < 0 ? -1 : 1;
          v.i = q * unit;
        }
        return v;
      }
      case Builtin::Amount:
        if (any_missing()) return Value::missing();
        return Value::decimal(a[0].i);
      case Builtin::Currency:
        if (any_missing()) return Value::missing();
        return Value::string(scratch_.copy(model::currency_name(a[0].aux)));
      case Builtin::Distance: {
        auto p = place(a[0]), q = place(a[1]);
        if (!p || !q) {
          if (facts_)
            facts_->push_back(fmt::format("{}: unknown, {} has no known location", b_.source_text(e.range),
                                          b_.source_text(e.args[!p ? 0 : 1]->range)));
          return Value::missing();
        }
        return Value::distance(model::great_circle_metres(*p, *q));
      }
      case Builtin::Stock: {
        if (any_missing() || !inventory_) return Value::missing();
        for (size_t i = 0; i < inventory_->node_count(); ++i)
          if (inventory_->node(i) == a[0].ptr) return Value::integer(inventory_->available(i, a[1].as_string(), 0));
        return Value::integer(0);
      }
      case Builtin::TimeOf: return a[0];
    }
    throw EvalFailure{"unknown function"};
  }

  static model::ArithForm sum_form(model::TypeKind k) {
    switch (k) {
      case model::TypeKind::Int: return model::ArithForm::IntAdd;
      case model::TypeKind::Decimal: return model::ArithForm::DecimalAdd;
      case model::TypeKind::Float: return model::ArithForm::FloatAdd;
      case model::TypeKind::Money: return model::ArithForm::MoneyAdd;
      case model::TypeKind::Duration: return model::ArithForm::DurationAdd;
      default: return model::ArithForm::DistanceAdd;
    }
  }

  Value table_call(const Expr& e) {
    const check::Table& t = b_.tables.at(e.index);
    std::vector<Value> args;
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
  std::vector<Value> slots_;
  Value self_;
  model::Arena scratch_;
  std::vector<std::string>* facts_ = nullptr;
};

// ------------------------------------------------------------ policies

void apply_annotation(const check::CheckedBundle& b, const check::Action& a, const std::string& rule, Evaluation& ev,
                      Outcome& out) {
  switch (a.kind) {
    case check::ActionKind::SetPriority: {
      Value v = ev.eval(*a.value);
      if (!v.is_missing()) out.priority = v.i;
      break;
    }
    case check::ActionKind::Tag: {
      Value v = ev.eval(*a.value);
      if (!v.is_missing()) {
        std::string tag(v.as_string());
        if (std::find(out.tags.begin(), out.tags.end(), tag) == out.tags.end()) out.tags.push_back(tag);
      }
      break;
    }
    case check::ActionKind::Notify:
    case check::ActionKind::Escalate: {
      engine::Notification n;
      n.escalation = a.kind == check::ActionKind::Escalate;
      Value who = ev.eval(*a.value);
      n.who = who.is_missing() ? "" : std::string(who.as_string());
      if (a.priority) {
        Value p = ev.eval(*a.priority);
        if (!p.is_missing()) n.priority = p.i;
      }
      n.rule = rule;
      out.notifications.push_back(std::move(n));
      break;
    }
    default: break;
  }
  (void)b;
}

void apply_decision(const check::Decision& d, Evaluation& ev, Outcome& out) {
  out.verdict = engine::verdict_of(d.kind);
  out.reason = d.reason;
  if (d.hold_for) {
    Value v = ev.eval(*d.hold_for);
    if (v.is_missing()) throw EvalFailure{"the hold's time limit is missing"};
    out.hold_for = v.i;
  }
  if (d.on_timeout) {
    out.timeout_verdict = engine::verdict_of(d.on_timeout->kind);
    out.timeout_reason = d.on_timeout->reason;
  }
}

// Tries a route. Fills out.shipments and returns true on success.
bool try_route(const check::CheckedBundle& b, const check::Route& route, const engine::EvalInput& input,
               engine::TraceDetail detail, Evaluation& ev, Outcome& out, std::vector<std::string>* facts) {
  auto fields = engine::RoutingFields::resolve(b);
  if (!fields) throw EvalFailure{"the schema lacks a field routing needs (order.lines, line.sku, line.quantity, node.id)"};
  const model::Inventory* inv = ev.inventory();
  if (!inv || inv->node_count() == 0) {
    if (facts) facts->push_back("there are no nodes to route to");
    return false;
  }
  std::vector<engine::Demand> demands = engine::order_demands(b, *fields, input.order);
  struct Candidate {
    size_t node;
    std::vector<Value> keys;
    int64_t safety;
  };
  std::vector<Candidate> candidates;
  bool values = detail == engine::TraceDetail::Values;
  for (size_t n = 0; n < inv->node_count(); ++n) {
    const std::byte* image = inv->node(n);
    std::string id(engine::node_id(b, *fields, image));
    ev.bind(1, Value::record(static_cast<uint32_t>(b.node_record), image));
    engine::NodeTrace trace;
    trace.node_id = id;
    if (input.excluded_nodes &&
        std::find(input.excluded_nodes->begin(), input.excluded_nodes->end(), id) != input.excluded_nodes->end()) {
      if (values) out.nodes.push_back({id, "excluded: it refused this order before", {}});
      continue;
    }
    if (route.filter) {
      std::vector<std::string> node_facts;
      ev.record_facts(values ? &node_facts : nullptr);
      bool pass = ev.holds(*route.filter);
      ev.record_facts(facts);
      if (!pass) {
        if (values) out.nodes.push_back({id, "filtered out", std::move(node_facts)});
        continue;
      }
      trace.facts = std::move(node_facts);
    }
    Candidate c{n, {}, 0};
    ev.record_facts(nullptr);
    for (const check::Preference& p : route.prefer) c.keys.push_back(ev.eval(*p.key));
    if (route.safety_stock) {
      Value s = ev.eval(*route.safety_stock);
      c.safety = s.is_missing() ? 0 : std::max<int64_t>(0, s.i);
    }
    ev.record_facts(facts);
    candidates.push_back(std::move(c));
    if (values) out.nodes.push_back(std::move(trace));
  }
  // Rank: each preference in turn, missing keys last, then file order.

  std::string failure;
  std::stable_sort(candidates.begin(), candidates.end(), [&](const Candidate& x, const Candidate& y) {
    for (size_t k = 0; k < route.prefer.size(); ++k) {
      const Value& a = x.keys[k];
      const Value& c = y.keys[k];
      if (a.is_missing() != c.is_missing()) return c.is_missing();
      if (a.is_missing()) continue;
      auto r = model::compare_values(*model::compare_form_of(a.kind), a, c, b.rates.get());
      if (auto* f = std::get_if<model::OpFailure>(&r)) {
        failure = f->message;
        return false;
      }
      int cmp = std::get<int>(r);
      if (cmp == 0) continue;
      bool lowest = route.prefer[k].direction == check::Preference::Direction::Lowest;
      return lowest ? cmp < 0 : cmp > 0;
    }
    return false;
  });
  if (!failure.empty()) throw EvalFailure{failure};
  std::vector<size_t> ranked;
  for (const Candidate& c : candidates) ranked.push_back(c.node);
  auto can_ship = [&](size_t rank, size_t demand) {
    const Candidate& c = candidates[rank];
    return inv->available(c.node, demands[demand].sku, c.safety) >= demands[demand].quantity;
  };
  auto allocation = engine::find_allocation(ranked, demands.size(), route.max_shipments, can_ship);
  if (values) {
    for (size_t r = 0; r < candidates.size(); ++r) {
      std::string id(engine::node_id(b, *fields, inv->node(candidates[r].node)));
      for (engine::NodeTrace& t : out.nodes) {
        if (t.node_id != id || !t.status.empty()) continue;
        t.status = fmt::format("candidate {}", r + 1);
        for (size_t k = 0; k < route.prefer.size(); ++k)
          t.facts.push_back(fmt::format("{}: {}", route.prefer[k].label,
                                        candidates[r].keys[k].is_missing() ? "unknown"
                                                                           : check::print_value(b, candidates[r].keys[k])));
        for (size_t d = 0; d < demands.size(); ++d)
          if (!can_ship(r, d))
            t.facts.push_back(fmt::format("cannot ship {} x {}: {} available", demands[d].quantity, demands[d].sku,
                                          inv->available(candidates[r].node, demands[d].sku, candidates[r].safety)));
      }
    }
  }
  if (!allocation) {
    if (facts)
      facts->push_back(candidates.empty()
                           ? "no node passed the filter"
                           : fmt::format("no {} of the {} candidate node{} can ship every line",
                                         route.max_shipments == 1 ? "one" : fmt::format("{} or fewer", route.max_shipments),
                                         candidates.size(), candidates.size() == 1 ? "" : "s"));
    return false;
  }
  for (const engine::Assignment& a : *allocation) {
    engine::Shipment s;
    s.node = a.node;
    s.node_id = std::string(engine::node_id(b, *fields, inv->node(a.node)));
    for (size_t d : a.demands)
      for (size_t i = 0; i < demands[d].lines.size(); ++i) s.lines.push_back({demands[d].lines[i], demands[d].quantities[i]});
    std::sort(s.lines.begin(), s.lines.end());
    out.shipments.push_back(std::move(s));
    if (values)
      for (engine::NodeTrace& t : out.nodes)
        if (t.node_id == out.shipments.back().node_id) t.status = "chosen";
  }
  return true;
}

}  // namespace

Interpreter::Interpreter(std::shared_ptr<const check::CheckedBundle> bundle) : bundle_(std::move(bundle)) {}

engine::Outcome Interpreter::evaluate(check::PolicyKind kind, const engine::EvalInput& input,
                                      engine::TraceDetail detail) const {
  const check::CheckedBundle& b = *bundle_;
  Outcome out;
  out.policy = kind;
  const check::Policy* policy = b.policy(kind);
  if (!policy || !input.order) return out;
  Evaluation ev(b, input, detail, policy->slot_count);
  bool values = detail == engine::TraceDetail::Values;
  auto run_rule = [&](const check::Rule& rule, int index) -> bool {
    engine::RuleTrace trace;
    trace.rule = index;
    trace.name = rule.name;
    ev.record_facts(values ? &trace.facts : nullptr);
    try {
      trace.matched = !rule.when || ev.holds(*rule.when);
      if (trace.matched) {
        for (size_t i = 0; i < rule.actions.size(); ++i) {
          const check::Action& a = rule.actions[i];
          if (static_cast<int>(i) == rule.deciding_action) continue;
          apply_annotation(b, a, rule.name, ev, out);
        }
        if (rule.deciding_action >= 0) {
          const check::Action& a = rule.actions[rule.deciding_action];
          if (a.kind == check::ActionKind::Decision) {
            apply_decision(a.decision, ev, out);
            trace.decided = true;
          } else if (a.kind == check::ActionKind::Route) {
            if (try_route(b, a.route, input, detail, ev, out, values ? &trace.facts : nullptr)) {
              out.verdict = Verdict::Route;
              trace.decided = true;
            } else if (a.route.otherwise == check::Route::Else::Decide) {
              apply_decision(*a.route.else_decision, ev, out);
              trace.decided = true;
            }
          }
        }
      }
    } catch (const EvalFailure& f) {
      trace.error = f.what;
    } catch (const std::exception& x) {
      trace.error = std::string("internal error: ") + x.what();
    }
    if (!trace.error.empty()) {
      out.policy_error = true;
      if (!out.error.empty()) out.error += "; ";
      out.error += fmt::format("rule \"{}\": {}", rule.name, trace.error);
      if (kind != check::PolicyKind::Escalation) {
        // Never accept on failure: hold the order for a person to look at.
        out.verdict = Verdict::Hold;
        out.reason = "policy_error";
        out.hold_for.reset();
        out.timeout_verdict = Verdict::None;
        out.timeout_reason.clear();
        out.shipments.clear();
        trace.decided = true;
      }
    }
    ev.record_facts(nullptr);
    bool decided = trace.decided;
    if (decided) {
      out.deciding_rule = index;
      out.deciding_rule_name = rule.name;
    }
    out.trace.push_back(std::move(trace));
    return decided;
  };
  if (kind == check::PolicyKind::Escalation) {
    // Every rule that matches fires; one that fails does not stop the rest.
    for (size_t i = 0; i < policy->rules.size(); ++i) run_rule(policy->rules[i], static_cast<int>(i));
    return out;
  }
  for (size_t i = 0; i < policy->rules.size(); ++i)
    if (run_rule(policy->rules[i], static_cast<int>(i))) return out;
  if (policy->otherwise) {
    run_rule(*policy->otherwise, -1);
    return out;
  }
  if (kind == check::PolicyKind::Routing) {
    // No rule could route the order and none said what to do instead.
    out.verdict = Verdict::Hold;
    out.reason = "no_route";
  }
  return out;
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

}  // namespace orderflow::interp
