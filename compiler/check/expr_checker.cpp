// Name resolution and type checking of expressions.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "compiler/check/builtin_table.h"
#include "compiler/check/checker_internal.h"
#include "compiler/support/suggest.h"
#include "compiler/syntax/parser.h"

namespace orderflow::check {

using model::ArithForm;
using model::CompareForm;
using model::CompareOp;
using syntax::BinaryOp;
namespace ast = syntax;

namespace {

// The kind of key a history() call reads, from the field it names: the
// engine indexes each order under its phones, email, address and pincode.
std::optional<HistoryKey> history_key_of(const CheckedBundle& b, const Expr& key) {
  if (key.type.kind == TypeKind::Record && key.type.ref == b.address_record) return HistoryKey::Address;
  if (key.type.kind != TypeKind::String || key.kind != ExprKind::Field) return std::nullopt;
  const std::string& field = b.schema.record_def(key.record).fields[key.field].name;
  if (field == "phone") return HistoryKey::Phone;
  if (field == "email") return HistoryKey::Email;
  if (field == "postal_code") return HistoryKey::Pincode;
  return std::nullopt;
}

ExprPtr make(ExprKind kind, Type type, SourceRange range) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->type = type;
  e->range = range;
  return e;
}

int number_rank(Type t) {
  switch (t.kind) {
    case TypeKind::Int: return 0;
    case TypeKind::Decimal: return 1;
    case TypeKind::Float: return 2;
    default: return -1;
  }
}

Type rank_type(int rank) {
  static const TypeKind kinds[] = {TypeKind::Int, TypeKind::Decimal, TypeKind::Float};
  return Type::of(kinds[rank]);
}

}  // namespace

// "a duration", "money", "an enum Channel": how a message names a type.
std::string a_type(const model::Schema& schema, Type t) {
  switch (t.kind) {
    case TypeKind::Money: return "money";
    case TypeKind::Int:
    case TypeKind::Decimal:
    case TypeKind::Float: return "a plain number";
    case TypeKind::Duration: return "a duration";
    case TypeKind::Distance: return "a distance";
    case TypeKind::Time: return "a time";
    case TypeKind::String: return "a text";
    case TypeKind::Bool: return "a condition";
    case TypeKind::Enum: return "a " + schema.type_name(t) + " value";
    case TypeKind::Record: return "a " + schema.type_name(t) + " record";
    case TypeKind::List:
    case TypeKind::Set: return "a " + schema.type_name(t);
    case TypeKind::Error: return "an invalid value";
  }
  return schema.type_name(t);
}


ExprPtr Checker::error_expr(SourceRange range) { return make(ExprKind::Literal, Type::error(), range); }

bool Checker::assignable(Type from, Type to) const {
  if (from == to) return true;
  if (from.is_error() || to.is_error()) return true;
  int fr = number_rank(from), tr = number_rank(to);
  return fr >= 0 && tr >= 0 && fr <= tr;
}

ExprPtr Checker::convert_to(ExprPtr e, Type want) {
  if (e->type == want || e->type.is_error() || want.is_error()) return e;
  if (number_rank(e->type) >= 0 && number_rank(want) > number_rank(e->type)) {
    // Fold conversions of literals right away: `5` where a decimal is wanted.
    if (e->kind == ExprKind::Literal) {
      auto r = model::convert_number(e->value, want.kind);
      if (auto* v = std::get_if<Value>(&r)) {
        e->value = *v;
        e->type = want;
        return e;
      }
    }
    auto c = make(ExprKind::Convert, want, e->range);
    c->maybe_missing = e->maybe_missing;
    c->args.push_back(std::move(e));
    return c;
  }
  return e;
}

std::optional<Value> Checker::enum_value(Type t, std::string_view name) {
  if (t.kind != TypeKind::Enum || t.ref < 0) return std::nullopt;
  int ordinal = b_.schema.enum_def(t.ref).find(name);
  if (ordinal < 0) return std::nullopt;
  return Value::enumeration(static_cast<uint32_t>(t.ref), ordinal);
}

std::vector<std::string> Checker::names_in_scope(const Scope& scope) const {
  std::vector<std::string> names;
  for (const auto& l : scope.locals) names.push_back(l.name);
  if (scope.order) names.push_back("order");
  if (scope.node) names.push_back("node");
  if (scope.subject) names.push_back(scope.subject);
  for (const auto& [name, g] : globals_) names.push_back(name);
  if (scope.self_record >= 0)
    for (const auto& f : b_.schema.record_def(scope.self_record).fields) names.push_back(f.name);
  return names;
}

// ------------------------------------------------------------ dispatch

ExprPtr Checker::check_expr(const ast::Expr& e, Scope& scope, std::optional<Type> expected) {
  switch (e.kind) {
    case ast::ExprKind::Name: return check_name(e, scope, expected);
    case ast::ExprKind::Member: return check_member(e, scope);
    case ast::ExprKind::Method: return check_method(e, scope);
    case ast::ExprKind::Call: return check_call(e, scope, expected);
    case ast::ExprKind::Literal: return check_literal(e);
    case ast::ExprKind::Now: {
      if (!scope.now) {
        diags_.error("E0101", e.range, fmt::format("`now` cannot be used in {}", scope.context),
                     "a fixed value cannot depend on the time it is read");
        return error_expr(e.range);
      }
      return make(ExprKind::Now, Type::of(TypeKind::Time), e.range);
    }
    case ast::ExprKind::Nodes: {
      if (scope.nodes && !allow_nodes_) {
        diags_.error("E0305", e.range, "`nodes` is read one node at a time",
                     "write `any node in nodes where ...` or `all node in nodes where ...`");
        return error_expr(e.range);
      }
      if (!scope.nodes || b_.node_record < 0) {
        diags_.error("E0101", e.range, fmt::format("`nodes` cannot be used in {}", scope.context));
        return error_expr(e.range);
      }
      return make(ExprKind::Nodes, b_.schema.list_of(b_.schema.record_type(b_.node_record)), e.range);
    }
    case ast::ExprKind::List: {
      Type element = Type::error();
      if (expected && expected->is_collection()) element = b_.schema.element_type(*expected);
      auto list = make(ExprKind::List, Type::error(), e.range);
      for (const auto& a : e.args) {
        ExprPtr x = check_expr(*a, scope, element.is_error() ? std::nullopt : std::optional<Type>(element));
        if (element.is_error()) element = x->type;
        if (!assignable(x->type, element)) {
          diags_.error("E0302", x->range,
                       fmt::format("a list holds values of one type: this is {}, the list holds {}",
                                   a_type(b_.schema, x->type), a_type(b_.schema, element)));
        }
        list->args.push_back(convert_to(std::move(x), element));
      }
      list->type = b_.schema.list_of(element);
      return list;
    }
    case ast::ExprKind::Negate: {
      ExprPtr x = check_expr(*e.args[0], scope);
      if (x->type.is_error()) return x;
      TypeKind k = x->type.kind;
      if (k != TypeKind::Int && k != TypeKind::Decimal && k != TypeKind::Float && k != TypeKind::Money &&
          k != TypeKind::Duration && k != TypeKind::Distance) {
        diags_.error("E0304", e.range, fmt::format("cannot negate {}", a_type(b_.schema, x->type)));
        return error_expr(e.range);
      }
      auto n = make(ExprKind::Negate, x->type, e.range);
      n->maybe_missing = x->maybe_missing;
      n->args.push_back(std::move(x));
      return n;
    }
    case ast::ExprKind::Not: {
      ExprPtr x = check_condition(*e.args[0], scope);
      auto n = make(ExprKind::Not, Type::of(TypeKind::Bool), e.range);
      n->maybe_missing = x->maybe_missing;
      n->args.push_back(std::move(x));
      return n;
    }
    case ast::ExprKind::Binary: return check_binary(e, scope);
    case ast::ExprKind::Is: {
      // `a is b` is equality, with b read as a value of a's type (`is cod`).
      return check_compare(e, e.negated ? CompareOp::Ne : CompareOp::Eq, *e.args[0], *e.args[1], scope);
    }
    case ast::ExprKind::Presence: {
      ExprPtr x = check_expr(*e.args[0], scope);
      if (!x->type.is_error() && !x->maybe_missing) {
        diags_.warning("W0308", e.args[0]->range,
                       fmt::format("{} is never missing, so this test is always {}", b_.source_text(x->range),
                                   (e.tests_present != e.negated) ? "true" : "false"),
                       "only optional fields (declared with `?`) can be missing");
      }
      auto p = make(ExprKind::Presence, Type::of(TypeKind::Bool), e.range);
      // `is missing` is `not is present`.
      p->negated = e.tests_present == e.negated;
      p->args.push_back(std::move(x));
      return p;
    }
    case ast::ExprKind::In: return check_in(e, scope);
    case ast::ExprKind::Matches: return check_matches(e, scope);
    case ast::ExprKind::Quantifier: return check_quantifier(e, scope);
    case ast::ExprKind::Comprehension: return check_comprehension(e, scope);
  }
  return error_expr(e.range);
}

ExprPtr Checker::check_condition(const ast::Expr& e, Scope& scope) {
  ExprPtr x = check_expr(e, scope);
  if (x->type.is_error() || x->type.kind == TypeKind::Bool) return x;
  std::string hint;
  if (x->type.kind == TypeKind::Enum) hint = "compare it with a value: `... is <value>`";
  else if (x->type.kind == TypeKind::Money || number_rank(x->type) >= 0) hint = "compare it: `... > 5000 INR`";
  diags_.error("E0303", e.range,
               fmt::format("expected a condition (true or false), but this is {}", a_type(b_.schema, x->type)), hint);
  return error_expr(e.range);
}

ExprPtr Checker::check_as(const ast::Expr& e, Scope& scope, Type want, const char* what) {
  ExprPtr x = check_expr(e, scope, want);
  if (x->type.is_error() || want.is_error()) return x;
  if (!assignable(x->type, want)) {
    std::string hint;
    if (want.kind == TypeKind::Money && number_rank(x->type) >= 0)
      hint = fmt::format("write the currency, for example {} {}", b_.source_text(x->range), example_currency_);
    else if (want.kind == TypeKind::Duration && number_rank(x->type) >= 0)
      hint = "write the unit, for example 24h";
    else if (want.kind == TypeKind::Distance && number_rank(x->type) >= 0)
      hint = "write the unit, for example 15 km";
    diags_.error("E0307", e.range,
                 fmt::format("{} must be {}, but this is {}", what, a_type(b_.schema, want), a_type(b_.schema, x->type)),
                 hint);
    return error_expr(e.range);
  }
  return convert_to(std::move(x), want);
}

// ------------------------------------------------------------ names

ExprPtr Checker::check_name(const ast::Expr& e, Scope& scope, std::optional<Type> expected) {
  const std::string& name = e.text;
  for (auto it = scope.locals.rbegin(); it != scope.locals.rend(); ++it) {
    if (it->name == name) {
      auto v = make(ExprKind::Var, it->type, e.range);
      v->index = it->slot;
      v->name = name;
      symbol(e.range, it->range, "variable", fmt::format("{}: {}", name, type_name(it->type)));
      return v;
    }
  }
  if (name == "order") {
    if (!scope.order || b_.order_record < 0) {
      diags_.error("E0101", e.range, fmt::format("`order` cannot be used in {}", scope.context),
                   "a fixed value cannot depend on the order");
      return error_expr(e.range);
    }
    auto v = make(ExprKind::Var, b_.schema.record_type(b_.order_record), e.range);
    v->index = 0;
    v->name = "order";
    symbol(e.range, b_.schema.record_def(b_.order_record).range, "variable", "order: Order",
           b_.schema.record_def(b_.order_record).doc);
    return v;
  }
  if (name == "node" && scope.node && b_.node_record >= 0) {
    auto v = make(ExprKind::Var, b_.schema.record_type(b_.node_record), e.range);
    v->index = 1;
    v->name = "node";
    symbol(e.range, b_.schema.record_def(b_.node_record).range, "variable", "node: Node",
           b_.schema.record_def(b_.node_record).doc);
    return v;
  }
  if (scope.subject && name == scope.subject && scope.subject_record >= 0) {
    const model::RecordDef& def = b_.schema.record_def(scope.subject_record);
    auto v = make(ExprKind::Var, b_.schema.record_type(scope.subject_record), e.range);
    v->index = 1;
    v->name = name;
    symbol(e.range, def.range, "variable", fmt::format("{}: {}", name, def.name), def.doc);
    return v;
  }
  if (scope.self_record >= 0) {
    const model::RecordDef& def = b_.schema.record_def(scope.self_record);
    if (int f = def.find(name); f >= 0) {
      auto self = make(ExprKind::Self, b_.schema.record_type(scope.self_record), e.range);
      return field_access(std::move(self), scope.self_record, f, e.range);
    }
  }
  if (auto g = globals_.find(name); g != globals_.end()) {
    const GlobalName& global = g->second;
    switch (global.kind) {
      case GlobalName::Kind::Const: {
        check_const(global.index);
        const Constant& c = b_.constants[global.index];
        if (c.type.is_error()) return error_expr(e.range);
        auto k = make(ExprKind::Const, c.type, e.range);
        k->index = global.index;
        k->value = c.value;
        symbol(e.range, c.range, "constant",
               fmt::format("const {}: {} = {}", c.name, type_name(c.type), print_value(b_, c.value)), c.doc);
        return k;
      }
      case GlobalName::Kind::List:
        diags_.error("E0302", e.range, fmt::format("'{}' is a list from a data file", name),
                     fmt::format("test membership with `... in {}`", name));
        return error_expr(e.range);
      case GlobalName::Kind::Table:
      case GlobalName::Kind::KeyedTable:
        diags_.error("E0302", e.range, fmt::format("'{}' is a table", name),
                     fmt::format("look a value up by calling it: {}(...)", name));
        return error_expr(e.range);
      case GlobalName::Kind::Geo:
      case GlobalName::Kind::Rates:
        diags_.error("E0302", e.range, fmt::format("'{}' is a data table that the engine reads by itself", name),
                     "distance() uses the geo table and money comparisons use the rates");
        return error_expr(e.range);
      case GlobalName::Kind::Hours:
        diags_.error("E0302", e.range, fmt::format("'{}' are working hours", name),
                     fmt::format("count working time with them: working_time_between(a, b, {}, order.node)", name));
        return error_expr(e.range);
    }
  }
  if (expected && expected->kind == TypeKind::Enum) {
    if (auto v = enum_value(*expected, name)) {
      auto lit = make(ExprKind::Literal, *expected, e.range);
      lit->value = *v;
      const model::EnumDef& def = b_.schema.enum_def(expected->ref);
      symbol(e.range, def.value_ranges[v->i], "enum value", fmt::format("{} (a {})", name, def.name),
             def.value_docs[v->i]);
      return lit;
    }
    const model::EnumDef& def = b_.schema.enum_def(expected->ref);
    std::string hint = did_you_mean(name, def.values);
    if (hint.empty()) hint = "the values are " + join_alternatives(def.values);
    diags_.error("E0103", e.range, fmt::format("{} has no value '{}'", def.name, name), hint);
    return error_expr(e.range);
  }
  // A bare enum value where nothing says which enum: take it if only one
  // enum has it.
  std::vector<int> owners;
  for (size_t i = 0; i < b_.schema.enum_count(); ++i)
    if (b_.schema.enum_def(i).find(name) >= 0) owners.push_back(static_cast<int>(i));
  if (owners.size() == 1) {
    Type t = b_.schema.enum_type(owners[0]);
    auto lit = make(ExprKind::Literal, t, e.range);
    lit->value = *enum_value(t, name);
    return lit;
  }
  if (owners.size() > 1) {
    std::vector<std::string> enums;
    for (int o : owners) enums.push_back(b_.schema.enum_def(o).name);
    diags_.error("E0107", e.range,
                 fmt::format("'{}' is a value of {}; nothing here says which", name, join_alternatives(enums, " and ")),
                 "compare it with a field of that type, such as `order.channel is " + name + "`");
    return error_expr(e.range);
  }
  if (name == "node") {
    diags_.error("E0101", e.range, "`node` is only known inside a route or `... in nodes`",
                 "use it in `route from nodes where node...` or `any node in nodes where ...`");
    return error_expr(e.range);
  }
  for (PolicyKind kind : {PolicyKind::Returns, PolicyKind::Disposition, PolicyKind::Ndr}) {
    if (name != policy_subject(kind)) continue;
    diags_.error("E0101", e.range, fmt::format("`{}` is only known in a {} policy", name, policy_kind_name(kind)),
                 fmt::format("move this rule into the bundle's {} policy", policy_kind_name(kind)));
    return error_expr(e.range);
  }
  std::vector<std::string> candidates = names_in_scope(scope);
  std::string hint = did_you_mean(name, candidates);
  // Only when the order has such a field: `order.blocked_pincodes` is no
  // better a guess for a list never declared.
  if (hint.empty() && scope.order && b_.order_record >= 0) {
    const model::RecordDef& order = b_.schema.record_def(b_.order_record);
    if (order.find(name) >= 0) {
      hint = "fields are read from the order: order." + name;
    } else {
      for (const auto& f : order.fields)
        if (f.type.kind == TypeKind::Record && b_.schema.record_def(f.type.ref).find(name) >= 0) {
          hint = fmt::format("did you mean order.{}.{}?", f.name, name);
          break;
        }
    }
  }
  diags_.error("E0101", e.range, fmt::format("unknown name '{}'", name), hint);
  return error_expr(e.range);
}

ExprPtr Checker::field_access(ExprPtr base, int record, int field, SourceRange range) {
  const model::FieldDef& fd = b_.schema.record_def(record).fields[field];
  auto f = make(ExprKind::Field, fd.type, range);
  f->record = record;
  f->field = field;
  bool absent_possible = fd.optional && fd.default_kind != model::DefaultKind::Constant;
  f->maybe_missing = base->maybe_missing || absent_possible;
  if (fd.default_kind == model::DefaultKind::Computed) {
    auto it = b_.computed_defaults.find({record, field});
    if (it != b_.computed_defaults.end()) {
      f->computed_default = it->second.get();
      f->maybe_missing = base->maybe_missing || it->second->maybe_missing || pending_defaults_.count({record, field});
    }
  }
  f->args.push_back(std::move(base));
  return f;
}

// `order.entered(accepted)`, `r.entered(received)`: any record with a
// `state` and the `state_entered` list the engine keeps beside it.
ExprPtr Checker::check_method(const ast::Expr& e, Scope& scope) {
  ExprPtr base = check_expr(*e.args[0], scope);
  if (base->type.is_error()) return base;
  bool record = base->type.kind == TypeKind::Record;
  const model::RecordDef* def = record ? &b_.schema.record_def(base->type.ref) : nullptr;
  bool has_states = def && def->find("state") >= 0 && def->find("state_entered") >= 0;
  std::string subject(b_.source_text(base->range));
  if (e.text != "entered" || !has_states) {
    diags_.error("E0104", e.name_range, fmt::format("{} has no function '{}'", subject, e.text),
                 has_states ? fmt::format("it has one: {}.entered(STATE), when it last entered that state", subject)
                            : "the order and its returns have one: order.entered(STATE), r.entered(STATE)");
    return error_expr(e.range);
  }
  const BuiltinSpec& spec = builtin_spec(Builtin::Entered);
  symbol(e.name_range, {}, "function", spec.usage, spec.summary);
  Type state_type = def->fields[def->find("state")].type;
  std::string example = base->type.ref == b_.order_record ? "order.entered(accepted)" : subject + ".entered(received)";
  if (e.args.size() != 2) {
    diags_.error("E0305", e.range, fmt::format("{}.entered takes one state", subject), example);
    return error_expr(e.range);
  }
  ExprPtr state = check_expr(*e.args[1], scope, state_type);
  if (state->type.is_error()) return error_expr(e.range);
  if (state->type != state_type) {
    diags_.error("E0305", state->range,
                 fmt::format("{}.entered needs one of its states here, but this is {}", subject,
                             a_type(b_.schema, state->type)),
                 example);
    return error_expr(e.range);
  }
  auto c = make(ExprKind::Call, Type::of(TypeKind::Time), e.range);
  c->builtin = Builtin::Entered;
  c->maybe_missing = true;
  int owner = base->type.ref;
  c->args.push_back(field_access(std::move(base), owner, def->find("state_entered"), e.range));
  c->args.push_back(std::move(state));
  return c;
}

ExprPtr Checker::check_member(const ast::Expr& e, Scope& scope) {
  ExprPtr base = check_expr(*e.args[0], scope);
  if (base->type.is_error()) return base;
  const std::string& name = e.text;
  Type t = base->type;
  if (t.kind == TypeKind::Record) {
    const model::RecordDef& def = b_.schema.record_def(t.ref);
    int f = def.find(name);
    // order.node: the node of the order's shipment, looked up by the id the engine keeps.
    if (f < 0 && name == "node" && t.ref == b_.order_record && b_.node_record >= 0 && def.find("node_id") >= 0) {
      const BuiltinSpec& spec = builtin_spec(Builtin::NodeNamed);
      symbol(e.name_range, {}, "field", "Order.node: Node?", spec.summary);
      auto c = make(ExprKind::Call, b_.schema.record_type(b_.node_record), e.range);
      c->builtin = Builtin::NodeNamed;
      c->maybe_missing = true;
      c->args.push_back(field_access(std::move(base), t.ref, def.find("node_id"), e.range));
      return c;
    }
    if (f < 0) {
      std::vector<std::string> fields;
      for (const auto& fd : def.fields) fields.push_back(fd.name);
      std::string hint = did_you_mean(name, fields);
      if (hint.empty()) hint = fmt::format("{} has {}", def.name, join_alternatives(fields, " and "));
      diags_.error("E0102", e.name_range, fmt::format("{} has no field '{}'", b_.source_text(base->range), name), hint);
      return error_expr(e.range);
    }
    const model::FieldDef& fd = def.fields[f];
    symbol(e.name_range, fd.range, "field",
           fmt::format("{}.{}: {}{}", def.name, fd.name, type_name(fd.type), fd.optional ? "?" : ""), fd.doc);
    return field_access(std::move(base), t.ref, f, e.range);
  }
  if (t.kind == TypeKind::Money && (name == "amount" || name == "currency")) {
    auto c = make(ExprKind::Call, Type::of(name == "amount" ? TypeKind::Decimal : TypeKind::String), e.range);
    c->builtin = name == "amount" ? Builtin::Amount : Builtin::Currency;
    c->maybe_missing = base->maybe_missing;
    c->args.push_back(std::move(base));
    return c;
  }
  if (t.kind == TypeKind::List) {
    Type element = b_.schema.element_type(t);
    if (element.kind == TypeKind::Record) {
      const model::RecordDef& def = b_.schema.record_def(element.ref);
      int f = def.find(name);
      bool may_be_absent = f >= 0 && ((def.fields[f].optional && def.fields[f].default_kind != model::DefaultKind::Constant) ||
                                      def.fields[f].default_kind == model::DefaultKind::Computed);
      if (may_be_absent) {
        diags_.error("E0102", e.name_range,
                     fmt::format("some {}s may have no {} ({} is optional), so there is no list of them", def.name, name,
                                 name),
                     fmt::format("go over the list instead: any x in {} where x.{} ...", b_.source_text(base->range), name));
        return error_expr(e.range);
      }
      if (f >= 0 && def.fields[f].type.kind != TypeKind::Record && !def.fields[f].type.is_collection()) {
        auto p = make(ExprKind::Project, b_.schema.list_of(def.fields[f].type), e.range);
        p->record = element.ref;
        p->field = f;
        p->args.push_back(std::move(base));
        symbol(e.name_range, def.fields[f].range, "field",
               fmt::format("{}.{}: {}", def.name, name, type_name(def.fields[f].type)), def.fields[f].doc);
        return p;
      }
      std::vector<std::string> fields;
      for (const auto& fd : def.fields) fields.push_back(fd.name);
      diags_.error("E0102", e.name_range, fmt::format("{} has no field '{}'", def.name, name),
                   did_you_mean(name, fields));
      return error_expr(e.range);
    }
  }
  std::string hint;
  if (t.kind == TypeKind::Money) hint = "money has `.amount` and `.currency`";
  diags_.error("E0102", e.name_range,
               fmt::format("{} is {}, which has no field '{}'", b_.source_text(base->range), a_type(b_.schema, t), name),
               hint);
  return error_expr(e.range);
}

// ------------------------------------------------------------ literals

ExprPtr Checker::check_literal(const ast::Expr& e) {
  auto lit = make(ExprKind::Literal, Type::error(), e.range);
  auto bad = [&](const std::string& message, const std::string& hint = {}) {
    diags_.error("E0309", e.range, message, hint);
    return error_expr(e.range);
  };
  switch (e.literal_kind) {
    case ast::LiteralKind::Int: {
      int64_t v = 0;
      auto [end, ec] = std::from_chars(e.text.data(), e.text.data() + e.text.size(), v);
      if (ec != std::errc() || end != e.text.data() + e.text.size()) return bad("this number is too large");
      lit->type = Type::of(TypeKind::Int);
      lit->value = Value::integer(v);
      return lit;
    }
    case ast::LiteralKind::Decimal: {
      auto d = model::parse_decimal(e.text);
      if (!d) return bad("this number is too large or has more than six decimal places");
      lit->type = Type::of(TypeKind::Decimal);
      lit->value = Value::decimal(*d);
      return lit;
    }
    case ast::LiteralKind::Percentage: {
      // 30% is 0.30: a decimal, exact, so it may have at most four places of its own.
      auto d = model::parse_decimal(std::string_view(e.text).substr(0, e.text.size() - 1));
      if (!d || *d % 100 != 0) return bad("a percentage may have at most four decimal places (12.3456%)");
      lit->type = Type::of(TypeKind::Decimal);
      lit->value = Value::decimal(*d / 100);
      return lit;
    }
    case ast::LiteralKind::Money: {
      std::string text = e.text;
      std::string code = text.substr(text.size() - 3);
      std::string number = text.substr(0, text.size() - 3);
      while (!number.empty() && (number.back() == ' ' || number.back() == '\t')) number.pop_back();
      auto currency = model::currency_from_code(code);
      if (!currency) {
        std::vector<std::string> known = {"INR", "USD", "SGD", "MYR", "IDR", "THB", "PHP", "VND", "AED", "SAR",
                                          "EUR", "GBP", "EGP", "KWD", "QAR", "OMR", "BHD", "JPY", "CNY", "AUD"};
        std::string hint = did_you_mean(code, known);
        if (hint.empty()) hint = "write an ISO 4217 currency code such as INR or SGD";
        return bad(fmt::format("'{}' is not a currency", code), hint);
      }
      auto amount = model::parse_decimal(number);
      if (!amount) return bad("this amount is too large or has more than six decimal places");
      if (!example_currency_set_) {
        example_currency_ = code;
        example_currency_set_ = true;
      }
      money_literals_.push_back({code, e.range});
      lit->type = Type::of(TypeKind::Money);
      lit->value = Value::money(*amount, *currency);
      return lit;
    }
    case ast::LiteralKind::Duration: {
      auto ms = model::parse_duration(e.text);
      if (!ms) return bad("this duration is too long");
      lit->type = Type::of(TypeKind::Duration);
      lit->value = Value::duration(*ms);
      return lit;
    }
    case ast::LiteralKind::Distance: {
      std::string text = e.text;
      bool km = text.size() >= 2 && text.substr(text.size() - 2) == "km";
      std::string number = text.substr(0, text.size() - (km ? 2 : 1));
      while (!number.empty() && (number.back() == ' ' || number.back() == '\t')) number.pop_back();
      auto amount = model::parse_decimal(number);
      if (!amount) return bad("this distance is too large");
      lit->type = Type::of(TypeKind::Distance);
      lit->value = Value::distance(model::decimal_to_double(*amount) * (km ? 1000.0 : 1.0));
      return lit;
    }
    case ast::LiteralKind::String:
      lit->type = Type::of(TypeKind::String);
      lit->value = Value::string(b_.schema.strings().intern(e.string_value));
      return lit;
    case ast::LiteralKind::Bool:
      lit->type = Type::of(TypeKind::Bool);
      lit->value = Value::boolean(e.text == "true");
      return lit;
  }
  return error_expr(e.range);
}

// ------------------------------------------------------------ operators

ExprPtr Checker::check_binary(const ast::Expr& e, Scope& scope) {
  switch (e.binary_op) {
    case BinaryOp::And:
    case BinaryOp::Or: {
      ExprPtr l = check_condition(*e.args[0], scope);
      ExprPtr r = check_condition(*e.args[1], scope);
      auto x = make(e.binary_op == BinaryOp::And ? ExprKind::And : ExprKind::Or, Type::of(TypeKind::Bool), e.range);
      x->maybe_missing = l->maybe_missing || r->maybe_missing;
      x->args.push_back(std::move(l));
      x->args.push_back(std::move(r));
      return x;
    }
    case BinaryOp::Eq: return check_compare(e, CompareOp::Eq, *e.args[0], *e.args[1], scope);
    case BinaryOp::Ne: return check_compare(e, CompareOp::Ne, *e.args[0], *e.args[1], scope);
    case BinaryOp::Lt: return check_compare(e, CompareOp::Lt, *e.args[0], *e.args[1], scope);
    case BinaryOp::Le: return check_compare(e, CompareOp::Le, *e.args[0], *e.args[1], scope);
    case BinaryOp::Gt: return check_compare(e, CompareOp::Gt, *e.args[0], *e.args[1], scope);
    case BinaryOp::Ge: return check_compare(e, CompareOp::Ge, *e.args[0], *e.args[1], scope);
    default: return check_arith(e, scope);
  }
}

ExprPtr Checker::check_compare(const ast::Expr& e, CompareOp op, const ast::Expr& lhs, const ast::Expr& rhs,
                               Scope& scope) {
  ExprPtr l = check_expr(lhs, scope);
  std::optional<Type> expected;
  if (!l->type.is_error()) expected = l->type;
  ExprPtr r = check_expr(rhs, scope, expected);
  return make_compare(e, op, std::move(l), std::move(r), lhs, rhs);
}

ExprPtr Checker::make_compare(const ast::Expr& e, CompareOp op, ExprPtr l, ExprPtr r, const ast::Expr& lsyn,
                              const ast::Expr& rsyn) {
  Type bool_type = Type::of(TypeKind::Bool);
  if (l->type.is_error() || r->type.is_error()) return error_expr(e.range);
  Type lt = l->type, rt = r->type;
  int lr = number_rank(lt), rr = number_rank(rt);
  if (lr >= 0 && rr >= 0) {
    Type common = rank_type(std::max(lr, rr));
    l = convert_to(std::move(l), common);
    r = convert_to(std::move(r), common);
    lt = rt = common;
  }
  auto fail = [&](SourceRange where, const std::string& message, const std::string& hint) {
    diags_.error(lt.kind == TypeKind::Money || rt.kind == TypeKind::Money ? "E0301" : "E0302", where, message, hint);
    return error_expr(e.range);
  };
  if (lt.kind == TypeKind::Money && rr >= 0) {
    std::string hint = r->kind == ExprKind::Literal
                           ? fmt::format("write the currency, for example {} {}", rsyn.text, example_currency_)
                           : fmt::format("give the value a currency, for example 5000 {}", example_currency_);
    return fail(rsyn.range, "cannot compare money with a plain number", hint);
  }
  if (rt.kind == TypeKind::Money && lr >= 0) {
    std::string hint = l->kind == ExprKind::Literal
                           ? fmt::format("write the currency, for example {} {}", lsyn.text, example_currency_)
                           : fmt::format("give the value a currency, for example 5000 {}", example_currency_);
    return fail(lsyn.range, "cannot compare money with a plain number", hint);
  }
  if (lt != rt) {
    std::string hint;
    auto glued_minutes = [&](const ast::Expr& s) {
      return s.kind == ast::ExprKind::Literal && s.literal_kind == ast::LiteralKind::Duration && !s.text.empty() &&
             s.text.back() == 'm' && s.text.find(' ') == std::string::npos;
    };
    if ((lt.kind == TypeKind::Distance && rt.kind == TypeKind::Duration && glued_minutes(rsyn)) ||
        (rt.kind == TypeKind::Duration && lt.kind == TypeKind::Distance))
      hint = glued_minutes(rsyn) ? fmt::format("`{}` is minutes; for metres write `{} m` with a space", rsyn.text,
                                               rsyn.text.substr(0, rsyn.text.size() - 1))
                                 : "";
    else if (rt.kind == TypeKind::Distance && lt.kind == TypeKind::Duration && glued_minutes(lsyn))
      hint = fmt::format("`{}` is minutes; for metres write `{} m` with a space", lsyn.text,
                         lsyn.text.substr(0, lsyn.text.size() - 1));
    else if ((lt.kind == TypeKind::Duration && rr >= 0) || (rt.kind == TypeKind::Duration && lr >= 0))
      hint = "write the unit, for example 24h";
    else if ((lt.kind == TypeKind::Distance && rr >= 0) || (rt.kind == TypeKind::Distance && lr >= 0))
      hint = "write the unit, for example 15 km";
    else if ((lt.kind == TypeKind::Time && rt.kind == TypeKind::Duration) ||
             (lt.kind == TypeKind::Duration && rt.kind == TypeKind::Time))
      hint = "a duration is a length of time; to compare with a time, add it to one: `order.placed_at + 24h`";
    else if (lt.kind == TypeKind::String && rt.kind == TypeKind::Enum)
      hint = "leave out the quotes: enum values are written as names";
    else if (lt.kind == TypeKind::Enum && rt.kind == TypeKind::String)
      hint = fmt::format("leave out the quotes: `{}`", rsyn.string_value);
    return fail(rsyn.range,
                fmt::format("cannot compare {} with {}", a_type(b_.schema, lt), a_type(b_.schema, rt)), hint);
  }
  auto form = model::compare_form_of(lt);
  if (!form) {
    return fail(e.range, fmt::format("{} cannot be compared", a_type(b_.schema, lt)),
                "compare one of its fields instead");
  }
  if ((*form == CompareForm::Bool || *form == CompareForm::Enum) && op != CompareOp::Eq && op != CompareOp::Ne) {
    return fail(e.range, fmt::format("{} has no order: it can only be equal or not", a_type(b_.schema, lt)),
                "use `is`, `is not`, `==` or `!=`");
  }
  auto c = make(ExprKind::Compare, bool_type, e.range);
  c->compare = *form;
  c->compare_op = op;
  c->args.push_back(std::move(l));
  c->args.push_back(std::move(r));
  return c;
}

ExprPtr Checker::check_arith(const ast::Expr& e, Scope& scope) {
  ExprPtr l = check_expr(*e.args[0], scope);
  ExprPtr r = check_expr(*e.args[1], scope);
  if (l->type.is_error() || r->type.is_error()) return error_expr(e.range);
  BinaryOp op = e.binary_op;
  Type lt = l->type, rt = r->type;
  int lr = number_rank(lt), rr = number_rank(rt);
  std::optional<ArithForm> form;
  Type result = Type::error();
  auto to = [&](ExprPtr& x, TypeKind k) { x = convert_to(std::move(x), Type::of(k)); };
  auto swap_operands = [&]() {
    std::swap(l, r);
    std::swap(lt, rt);
    std::swap(lr, rr);
  };
  // Put the scalar second where the operation commutes: 2 * 24h -> 24h * 2.
  if (op == BinaryOp::Mul && lr >= 0 && rr < 0) swap_operands();
  if (op == BinaryOp::Add && lt.kind == TypeKind::Duration && rt.kind == TypeKind::Time) swap_operands();

  if (lr >= 0 && rr >= 0) {
    int rank = std::max(lr, rr);
    if (op == BinaryOp::Div && rank == 0) rank = 1;  // 7 / 2 is 3.5
    if (op == BinaryOp::Mod && rank != 0) {
      diags_.error("E0304", e.range, "% works on whole numbers only");
      return error_expr(e.range);
    }
    Type common = rank_type(rank);
    l = convert_to(std::move(l), common);
    r = convert_to(std::move(r), common);
    result = common;
    static const ArithForm forms[3][4] = {
        {ArithForm::IntAdd, ArithForm::IntSub, ArithForm::IntMul, ArithForm::DecimalDiv},
        {ArithForm::DecimalAdd, ArithForm::DecimalSub, ArithForm::DecimalMul, ArithForm::DecimalDiv},
        {ArithForm::FloatAdd, ArithForm::FloatSub, ArithForm::FloatMul, ArithForm::FloatDiv}};
    int col = op == BinaryOp::Add ? 0 : op == BinaryOp::Sub ? 1 : op == BinaryOp::Mul ? 2 : 3;
    form = op == BinaryOp::Mod ? ArithForm::IntMod : forms[rank][col];
  } else {
    TypeKind a = lt.kind, b = rt.kind;
    bool scalar_b = rr >= 0 && rr <= 1;  // int or decimal
    switch (op) {
      case BinaryOp::Add:
      case BinaryOp::Sub: {
        bool add = op == BinaryOp::Add;
        if (a == TypeKind::Money && b == TypeKind::Money) form = add ? ArithForm::MoneyAdd : ArithForm::MoneySub, result = lt;
        else if (a == TypeKind::Duration && b == TypeKind::Duration) form = add ? ArithForm::DurationAdd : ArithForm::DurationSub, result = lt;
        else if (a == TypeKind::Time && b == TypeKind::Duration) form = add ? ArithForm::TimeAdd : ArithForm::TimeSub, result = lt;
        else if (a == TypeKind::Time && b == TypeKind::Time && !add) form = ArithForm::TimeDiff, result = Type::of(TypeKind::Duration);
        else if (a == TypeKind::Distance && b == TypeKind::Distance) form = add ? ArithForm::DistanceAdd : ArithForm::DistanceSub, result = lt;
        else if (a == TypeKind::String && b == TypeKind::String && add) form = ArithForm::StringConcat, result = lt;
        break;
      }
      case BinaryOp::Mul:
        if (a == TypeKind::Money && scalar_b) to(r, TypeKind::Decimal), form = ArithForm::MoneyScale, result = lt;
        else if (a == TypeKind::Duration && scalar_b) to(r, TypeKind::Decimal), form = ArithForm::DurationScale, result = lt;
        else if (a == TypeKind::Distance && rr >= 0) to(r, TypeKind::Float), form = ArithForm::DistanceScale, result = lt;
        break;
      case BinaryOp::Div:
        if (a == TypeKind::Money && scalar_b) to(r, TypeKind::Decimal), form = ArithForm::MoneyDivide, result = lt;
        else if (a == TypeKind::Money && b == TypeKind::Money) form = ArithForm::MoneyRatio, result = Type::of(TypeKind::Decimal);
        else if (a == TypeKind::Duration && scalar_b) to(r, TypeKind::Decimal), form = ArithForm::DurationDivide, result = lt;
        else if (a == TypeKind::Duration && b == TypeKind::Duration) form = ArithForm::DurationRatio, result = Type::of(TypeKind::Decimal);
        else if (a == TypeKind::Distance && rr >= 0) to(r, TypeKind::Float), form = ArithForm::DistanceDivide, result = lt;
        else if (a == TypeKind::Distance && b == TypeKind::Distance) form = ArithForm::DistanceRatio, result = Type::of(TypeKind::Float);
        break;
      default: break;
    }
  }
  if (!form) {
    const char* verb = op == BinaryOp::Add ? "add" : op == BinaryOp::Sub ? "subtract" : op == BinaryOp::Mul ? "multiply" : "divide";
    std::string hint;
    if ((lt.kind == TypeKind::Money && rr >= 0) || (rt.kind == TypeKind::Money && lr >= 0))
      hint = op == BinaryOp::Add || op == BinaryOp::Sub
                 ? fmt::format("write the currency, for example 100 {}", example_currency_)
                 : "";
    else if ((lt.kind == TypeKind::Duration && rr >= 0) || (rt.kind == TypeKind::Duration && lr >= 0))
      hint = "write the unit, for example 24h";
    else if (lt.kind == TypeKind::Time && rt.kind == TypeKind::Time)
      hint = "subtract two times to get a duration; times cannot be added";
    diags_.error(lt.kind == TypeKind::Money || rt.kind == TypeKind::Money ? "E0301" : "E0304", e.range,
                 fmt::format("cannot {} {} and {}", verb, a_type(b_.schema, lt), a_type(b_.schema, rt)), hint);
    return error_expr(e.range);
  }
  auto x = make(ExprKind::Arith, result, e.range);
  x->arith = *form;
  x->maybe_missing = l->maybe_missing || r->maybe_missing;
  x->args.push_back(std::move(l));
  x->args.push_back(std::move(r));
  return x;
}

ExprPtr Checker::check_in(const ast::Expr& e, Scope& scope) {
  ExprPtr l = check_expr(*e.args[0], scope);
  const ast::Expr& rhs = *e.args[1];
  Type bool_type = Type::of(TypeKind::Bool);
  std::optional<Type> expected;
  if (!l->type.is_error()) expected = l->type;

  if (rhs.kind == ast::ExprKind::List) {
    auto in = make(ExprKind::InList, bool_type, e.range);
    in->negated = e.negated;
    std::vector<ExprPtr> items;
    bool failed = l->type.is_error();
    for (const auto& a : rhs.args) {
      ExprPtr x = check_expr(*a, scope, expected);
      if (x->type.is_error()) {
        failed = true;
        continue;
      }
      if (!failed && !assignable(x->type, l->type) && !assignable(l->type, x->type)) {
        bool money = l->type.kind == TypeKind::Money || x->type.kind == TypeKind::Money;
        diags_.error(money ? "E0301" : "E0302", a->range,
                     fmt::format("cannot compare {} with {}", a_type(b_.schema, l->type), a_type(b_.schema, x->type)),
                     money ? fmt::format("write the currency, for example 5000 {}", example_currency_) : "");
        failed = true;
        continue;
      }
      items.push_back(std::move(x));
    }
    if (failed) return error_expr(e.range);
    // Numbers mix: compare everything as the widest number present.
    Type common = l->type;
    for (const auto& x : items)
      if (number_rank(x->type) > number_rank(common)) common = x->type;
    auto form = model::compare_form_of(common);
    if (!form) {
      diags_.error("E0302", e.range, fmt::format("{} cannot be compared", a_type(b_.schema, common)));
      return error_expr(e.range);
    }
    in->compare = *form;
    in->args.push_back(convert_to(std::move(l), common));
    for (auto& x : items) in->args.push_back(convert_to(std::move(x), common));
    return in;
  }
  if (rhs.kind == ast::ExprKind::Name) {
    auto g = globals_.find(rhs.text);
    if (g != globals_.end() && g->second.kind == GlobalName::Kind::List) {
      const model::DataList& list = b_.lists[g->second.index];
      symbol(rhs.range, g->second.range, "list",
             fmt::format("list {} of {} ({} values)", list.name, type_name(list.element), list.values.size()));
      if (l->type.is_error()) return error_expr(e.range);
      // A moment is on a calendar when its local date is.
      if (list.calendar && l->type.kind == TypeKind::Time) l = local_date(std::move(l));
      if (l->type != list.element) {
        diags_.error("E0302", e.args[0]->range,
                     fmt::format("{} holds {}s, but this is {}", list.name, type_name(list.element),
                                 a_type(b_.schema, l->type)),
                     list.element.kind == TypeKind::String ? "compare a text field, such as order.ship_to.postal_code"
                                                           : "");
        return error_expr(e.range);
      }
      auto in = make(ExprKind::InData, bool_type, e.range);
      in->negated = e.negated;
      in->index = g->second.index;
      in->args.push_back(std::move(l));
      return in;
    }
  }
  if (rhs.kind == ast::ExprKind::Name && !globals_.count(rhs.text) && rhs.text != "nodes") {
    bool local = scope.self_record >= 0 && b_.schema.record_def(scope.self_record).find(rhs.text) >= 0;
    for (const auto& v : scope.locals) local |= v.name == rhs.text;
    if (!local) {
      std::vector<std::string> lists;
      for (const auto& [n, g] : globals_)
        if (g.kind == GlobalName::Kind::List) lists.push_back(n);
      std::string hint = did_you_mean(rhs.text, lists);
      if (hint.empty())
        hint = fmt::format("declare the list: use list {} from \"data/{}.csv\" (one value a line)", rhs.text, rhs.text);
      diags_.error("E0101", rhs.range, fmt::format("there is no list '{}'", rhs.text), hint);
      return error_expr(e.range);
    }
  }
  ExprPtr r = check_expr(rhs, scope);
  if (l->type.is_error() || r->type.is_error()) return error_expr(e.range);
  if (!r->type.is_collection()) {
    std::string hint = r->type.kind == TypeKind::String ? "to look for a text inside another, use contains(text, part)"
                                                        : "write the values in brackets: [a, b]";
    diags_.error("E0302", rhs.range, fmt::format("`in` needs a list, but this is {}", a_type(b_.schema, r->type)), hint);
    return error_expr(e.range);
  }
  Type element = b_.schema.element_type(r->type);
  if (!assignable(l->type, element)) {
    diags_.error("E0302", e.range,
                 fmt::format("{} holds {}, but this is {}", b_.source_text(r->range), a_type(b_.schema, element),
                             a_type(b_.schema, l->type)));
    return error_expr(e.range);
  }
  auto form = model::compare_form_of(element);
  if (!form) {
    diags_.error("E0302", e.range, fmt::format("{} cannot be compared", a_type(b_.schema, element)));
    return error_expr(e.range);
  }
  auto in = make(ExprKind::InCollection, bool_type, e.range);
  in->negated = e.negated;
  in->compare = *form;
  in->args.push_back(convert_to(std::move(l), element));
  in->args.push_back(std::move(r));
  return in;
}

// The list a variable goes over (`any x in LIST`, `... for x in LIST`): the
// checked list, and its element's type (an error type when it is not a list).
std::pair<ExprPtr, Type> Checker::check_walked_list(const ast::Expr& list, Scope& scope, const std::string& usage) {
  ExprPtr collection = check_expr(list, scope);
  Type element = Type::error();
  if (!collection->type.is_error()) {
    if (!collection->type.is_collection()) {
      diags_.error("E0302", list.range,
                   fmt::format("`{}` needs a list, but this is {}", usage, a_type(b_.schema, collection->type)),
                   "go over a list such as order.lines");
    } else {
      element = b_.schema.element_type(collection->type);
    }
  }
  return {std::move(collection), element};
}

// Binds the variable `e.text` to a new frame slot, for the scope's next
// expressions: what `any x in` and `for x in` name. unbind_variable ends it.
int Checker::bind_variable(const ast::Expr& e, Scope& scope, Type element) {
  bool clash = e.text == "order" || (e.text == "node" && scope.node) || (scope.subject && e.text == scope.subject);
  for (const auto& l : scope.locals) clash |= l.name == e.text;
  if (clash) {
    diags_.error("E0112", e.name_range, fmt::format("'{}' already means something here", e.text),
                 e.text == "node" ? "name the variable differently, for example `any other in nodes where ...`"
                                  : "choose another name for the variable");
  }
  int slot = scope.next_slot++;
  if (scope.max_slots) *scope.max_slots = std::max(*scope.max_slots, scope.next_slot);
  scope.locals.push_back({e.text, slot, element, e.name_range});
  symbol(e.name_range, e.name_range, "variable", fmt::format("{}: {}", e.text, type_name(element)));
  return slot;
}

void Checker::unbind_variable(Scope& scope) {
  scope.locals.pop_back();
  scope.next_slot--;
}

ExprPtr Checker::check_quantifier(const ast::Expr& e, Scope& scope) {
  const char* word = e.quantifier_all ? "all" : "any";
  allow_nodes_ = e.args[0]->kind == ast::ExprKind::Nodes;
  auto [collection, element] = check_walked_list(*e.args[0], scope, fmt::format("{} {} in ...", word, e.text));
  allow_nodes_ = false;
  int slot = bind_variable(e, scope, element);
  ExprPtr predicate = check_condition(*e.args[1], scope);
  unbind_variable(scope);
  if (collection->type.is_error() || element.is_error()) return error_expr(e.range);
  auto q = make(ExprKind::Quantifier, Type::of(TypeKind::Bool), e.range);
  q->quantifier_all = e.quantifier_all;
  q->index = slot;
  q->name = e.text;
  q->args.push_back(std::move(collection));
  q->args.push_back(std::move(predicate));
  analyze_quantifiers(*q);
  return q;
}

// VALUE for x in LIST [where CONDITION]: the list of the values, in the
// list's order, of the elements the condition holds for. An element whose
// value is missing is left out, as an element the condition excludes.
ExprPtr Checker::check_comprehension(const ast::Expr& e, Scope& scope) {
  auto [collection, element] = check_walked_list(*e.args[1], scope, fmt::format("... for {} in ...", e.text));
  int slot = bind_variable(e, scope, element);
  ExprPtr value = check_expr(*e.args[0], scope);
  ExprPtr condition = e.args.size() > 2 ? check_condition(*e.args[2], scope) : nullptr;
  unbind_variable(scope);
  if (collection->type.is_error() || element.is_error() || value->type.is_error() ||
      (condition && condition->type.is_error()))
    return error_expr(e.range);
  if (value->type.is_collection()) {
    diags_.error("E0302", e.args[0]->range,
                 fmt::format("each value here is {}: a list of lists cannot be made", a_type(b_.schema, value->type)),
                 fmt::format("make a list of single values, such as one field of each {}", e.text));
    return error_expr(e.range);
  }
  auto c = make(ExprKind::Comprehension, b_.schema.list_of(value->type), e.range);
  c->index = slot;
  c->name = e.text;
  c->args.push_back(std::move(collection));
  c->args.push_back(std::move(value));
  if (condition) c->args.push_back(std::move(condition));
  return c;
}

// ------------------------------------------------------------ calls

ExprPtr Checker::check_call(const ast::Expr& e, Scope& scope, std::optional<Type> expected) {
  if (const BuiltinSpec* spec = find_builtin(e.text)) {
    symbol(e.name_range, {}, "function", spec->usage, spec->summary);
    return check_builtin(e, scope, spec->builtin);
  }
  auto g = globals_.find(e.text);
  if (g != globals_.end() && g->second.kind == GlobalName::Kind::Table) {
    Table& table = b_.tables[g->second.index];
    if (table.param_types.size() != table.param_names.size() || table.result.is_error()) {
      // The table's own declaration has errors; they are reported there.
      for (const auto& a : e.args) check_expr(*a, scope);
      return error_expr(e.range);
    }
    symbol(e.name_range, table.range, "table",
           fmt::format("table {}({}) -> {}", table.name, [&] {
             std::string s;
             for (size_t i = 0; i < table.param_names.size(); ++i)
               s += (i ? ", " : "") + table.param_names[i] + ": " + type_name(table.param_types[i]);
             return s;
           }(), type_name(table.result)),
           table.doc);
    if (e.args.size() != table.param_types.size()) {
      diags_.error("E0305", e.range,
                   fmt::format("{} takes {} value{}, not {}", table.name, table.param_types.size(),
                               table.param_types.size() == 1 ? "" : "s", e.args.size()),
                   fmt::format("{}({})", table.name, join_alternatives(table.param_names, ", ")));
      return error_expr(e.range);
    }
    auto call = make(ExprKind::TableCall, table.result, e.range);
    call->index = g->second.index;
    bool failed = false;
    for (size_t i = 0; i < e.args.size(); ++i) {
      ExprPtr a = check_as(*e.args[i], scope, table.param_types[i], "this value");
      failed |= a->type.is_error();
      call->args.push_back(std::move(a));
    }
    if (failed) return error_expr(e.range);
    return call;
  }
  if (g != globals_.end() && g->second.kind == GlobalName::Kind::KeyedTable) {
    const model::KeyedTable& table = b_.keyed_tables[g->second.index];
    symbol(e.name_range, g->second.range, "table",
           fmt::format("table {} of {} ({} rows)", table.name, b_.schema.record_def(table.record).name,
                       table.rows.size()));
    if (e.args.size() != 1) {
      diags_.error("E0305", e.range, fmt::format("{} is looked up by one key", table.name));
      return error_expr(e.range);
    }
    ExprPtr key = check_as(*e.args[0], scope, Type::of(TypeKind::String), "the key");
    if (key->type.is_error()) return error_expr(e.range);
    auto look = make(ExprKind::Lookup, b_.schema.record_type(table.record), e.range);
    look->index = g->second.index;
    look->maybe_missing = true;
    look->args.push_back(std::move(key));
    return look;
  }
  std::vector<std::string> candidates;
  for (const BuiltinSpec& spec : builtin_specs())
    if (spec.callable) candidates.push_back(spec.name);
  for (const auto& [name, global] : globals_)
    if (global.kind == GlobalName::Kind::Table || global.kind == GlobalName::Kind::KeyedTable)
      candidates.push_back(name);
  std::string hint = did_you_mean(e.text, candidates);
  diags_.error("E0104", e.name_range, fmt::format("unknown function '{}'", e.text), hint);
  for (const auto& a : e.args) check_expr(*a, scope);
  return error_expr(e.range);
}

ExprPtr Checker::check_builtin(const ast::Expr& e, Scope& scope, Builtin builtin) {
  if (builtin == Builtin::AddWorkingTime || builtin == Builtin::WorkingTimeBetween) return check_working_time(e, scope, builtin);
  std::vector<ExprPtr> args;
  bool failed = false;
  for (const auto& a : e.args) {
    args.push_back(check_expr(*a, scope));
    failed |= args.back()->type.is_error();
  }
  auto arity = [&](size_t n, const char* usage) {
    if (args.size() == n) return true;
    diags_.error("E0305", e.range, fmt::format("{} takes {} value{}", e.text, n, n == 1 ? "" : "s"), usage);
    return false;
  };
  auto want = [&](size_t i, bool ok, const char* what) {
    if (ok || args[i]->type.is_error()) return ok;
    diags_.error("E0305", args[i]->range,
                 fmt::format("{} needs {} here, but this is {}", e.text, what, a_type(b_.schema, args[i]->type)));
    return false;
  };
  auto call = [&](Type result) {
    auto c = make(ExprKind::Call, result, e.range);
    c->builtin = builtin;
    for (auto& a : args) {
      c->maybe_missing |= a->maybe_missing;
      c->args.push_back(std::move(a));
    }
    return c;
  };
  if (failed) return error_expr(e.range);
  Type int_type = Type::of(TypeKind::Int), string_type = Type::of(TypeKind::String);
  switch (builtin) {
    case Builtin::Count:
      if (!arity(1, "count(order.lines)") || !want(0, args[0]->type.is_collection(), "a list")) break;
      return call(int_type);
    case Builtin::Sum: {
      if (!arity(1, "sum(order.lines.quantity)") || !want(0, args[0]->type.kind == TypeKind::List, "a list")) break;
      Type el = b_.schema.element_type(args[0]->type);
      if (!want(0, number_rank(el) >= 0 || el.kind == TypeKind::Money || el.kind == TypeKind::Duration ||
                       el.kind == TypeKind::Distance,
                "a list of numbers, money, durations or distances"))
        break;
      auto c = call(el);
      c->maybe_missing = el.kind == TypeKind::Money;  // an empty list has no currency
      return c;
    }
    case Builtin::Min:
    case Builtin::Max: {
      if (args.size() == 1) {
        if (!want(0, args[0]->type.kind == TypeKind::List, "a list")) break;
        Type el = b_.schema.element_type(args[0]->type);
        if (!want(0, el.is_ordered(), "a list of values that can be ordered")) break;
        auto c = call(el);
        c->maybe_missing = true;  // an empty list
        return c;
      }
      if (!arity(2, "min(a, b) or min(list)")) break;
      int lr = number_rank(args[0]->type), rr = number_rank(args[1]->type);
      if (lr >= 0 && rr >= 0) {
        Type common = rank_type(std::max(lr, rr));
        args[0] = convert_to(std::move(args[0]), common);
        args[1] = convert_to(std::move(args[1]), common);
      }
      if (args[0]->type != args[1]->type || !args[0]->type.is_ordered()) {
        diags_.error("E0305", e.range,
                     fmt::format("{} needs two values of the same kind, not {} and {}", e.text,
                                 a_type(b_.schema, args[0]->type), a_type(b_.schema, args[1]->type)));
        break;
      }
      return call(args[0]->type);
    }
    case Builtin::Prefix:
    case Builtin::Suffix:
      if (!arity(2, "prefix(order.ship_to.postal_code, 3)")) break;
      if (!want(0, args[0]->type.kind == TypeKind::String, "a text") |
          !want(1, args[1]->type.kind == TypeKind::Int, "a whole number"))
        break;
      return call(string_type);
    case Builtin::Lower:
    case Builtin::Upper:
      if (!arity(1, "lower(text)") || !want(0, args[0]->type.kind == TypeKind::String, "a text")) break;
      return call(string_type);
    case Builtin::Length:
      if (!arity(1, "length(text)") || !want(0, args[0]->type.kind == TypeKind::String, "a text")) break;
      return call(int_type);
    case Builtin::Contains:
    case Builtin::StartsWith:
    case Builtin::EndsWith:
      if (!arity(2, "contains(text, part)")) break;
      if (!want(0, args[0]->type.kind == TypeKind::String, "a text") |
          !want(1, args[1]->type.kind == TypeKind::String, "a text"))
        break;
      return call(Type::of(TypeKind::Bool));
    case Builtin::Hour:
    case Builtin::Minute:
    case Builtin::Weekday:
    case Builtin::Date: {
      if (args.size() != 1 && args.size() != 2) {
        diags_.error("E0305", e.range, fmt::format("{} takes a time and, if you like, a time zone", e.text),
                     fmt::format("{}(order.placed_at) or {}(order.placed_at, \"Asia/Singapore\")", e.text, e.text));
        break;
      }
      if (!want(0, args[0]->type.kind == TypeKind::Time, "a time")) break;
      if (args.size() == 2) {
        if (!want(1, args[1]->type.kind == TypeKind::String, "a time zone, such as \"Asia/Singapore\",")) break;
        if (args[1]->kind == ExprKind::Literal && !time_zone_named(args[1]->value.as_string(), args[1]->range)) break;
      } else if (auto zone = bundle_zone(e.range)) {
        args.push_back(std::move(zone));
      }
      return call(builtin == Builtin::Date ? string_type : int_type);
    }
    case Builtin::History: {
      const char* usage = "history(order.customer.phone, 180d), or the order's email, ship_to or ship_to.postal_code";
      if (!arity(2, usage) || !want(1, args[1]->type.kind == TypeKind::Duration, "a window, such as 90d,")) break;
      std::optional<HistoryKey> kind = history_key_of(b_, *args[0]);
      if (!kind) {
        diags_.error("E0305", args[0]->range,
                     "history() is kept for a phone, an email, an address or a pincode of the order", usage);
        break;
      }
      if (b_.history_record < 0) {
        diags_.error("E0106", e.range, "the schema has no record CustomerHistory, which history() gives",
                     "the standard schema declares it");
        break;
      }
      b_.uses_history = true;
      auto c = call(b_.schema.record_type(b_.history_record));
      c->index = static_cast<int>(*kind);
      return c;
    }
    case Builtin::NextClock:
    case Builtin::Entered:
    case Builtin::NodeNamed:
    case Builtin::AddWorkingTime:
    case Builtin::WorkingTimeBetween:
    case Builtin::Matches: break;  // not called by name
    case Builtin::Abs: {
      if (!arity(1, "abs(x)")) break;
      TypeKind k = args[0]->type.kind;
      if (!want(0, number_rank(args[0]->type) >= 0 || k == TypeKind::Money || k == TypeKind::Duration ||
                       k == TypeKind::Distance,
                "a number, money, a duration or a distance"))
        break;
      return call(args[0]->type);
    }
    case Builtin::Round: {
      if (args.size() == 1) {
        args.push_back(make(ExprKind::Literal, int_type, e.range));
        args.back()->value = Value::integer(0);
      }
      if (!arity(2, "round(x, digits)")) break;
      TypeKind k = args[0]->type.kind;
      if (!want(0, k == TypeKind::Decimal || k == TypeKind::Money || k == TypeKind::Float || k == TypeKind::Int,
                "a number or money"))
        break;
      if (args[1]->kind != ExprKind::Literal || args[1]->type.kind != TypeKind::Int || args[1]->value.i < 0 ||
          args[1]->value.i > model::kDecimalDigits) {
        diags_.error("E0305", args[1]->range, "round needs a fixed number of digits from 0 to 6");
        break;
      }
      return call(args[0]->type);
    }
    case Builtin::Amount:
      if (!arity(1, "amount(order.total)") || !want(0, args[0]->type.kind == TypeKind::Money, "money")) break;
      return call(Type::of(TypeKind::Decimal));
    case Builtin::Currency:
      if (!arity(1, "currency(order.total)") || !want(0, args[0]->type.kind == TypeKind::Money, "money")) break;
      return call(string_type);
    case Builtin::Distance: {
      if (!arity(2, "distance(node, order.ship_to)")) break;
      bool ok = true;
      for (size_t i = 0; i < 2; ++i) {
        Type t = args[i]->type;
        bool placeable = false;
        if (t.kind == TypeKind::Record) {
          const model::RecordDef& def = b_.schema.record_def(t.ref);
          int lat = def.find("lat"), lon = def.find("lon"), pc = def.find("postal_code");
          placeable = (lat >= 0 && lon >= 0 && def.fields[lat].type.kind == TypeKind::Float &&
                       def.fields[lon].type.kind == TypeKind::Float) ||
                      (pc >= 0 && def.fields[pc].type.kind == TypeKind::String);
        }
        ok &= want(i, placeable, "a place (a record with lat and lon, or a postal_code)");
      }
      if (!ok) break;
      auto c = call(Type::of(TypeKind::Distance));
      c->maybe_missing = true;
      return c;
    }
    case Builtin::Stock: {
      if (!arity(2, "stock(node, line.sku)")) break;
      bool node_ok = args[0]->type.kind == TypeKind::Record && args[0]->type.ref == b_.node_record;
      if (!want(0, node_ok, "a node") | !want(1, args[1]->type.kind == TypeKind::String, "a SKU")) break;
      if (!scope.nodes) {
        diags_.error("E0305", e.range, fmt::format("stock() cannot be used in {}", scope.context));
        break;
      }
      return call(int_type);
    }
    case Builtin::Distinct: {
      if (!arity(1, "distinct(order.lines.sku)") || !want(0, args[0]->type.is_collection(), "a list")) break;
      Type el = b_.schema.element_type(args[0]->type);
      if (!want(0, el.kind != TypeKind::Record, "a list of single values, such as order.lines.sku,")) break;
      return call(b_.schema.list_of(el));
    }
    case Builtin::TimeOf: {
      if (!arity(1, "time(\"2026-11-20T10:00:00Z\")")) break;
      if (args[0]->kind != ExprKind::Literal || args[0]->type.kind != TypeKind::String) {
        diags_.error("E0305", args[0]->range, "time() needs a fixed text such as \"2026-11-20T10:00:00Z\"");
        break;
      }
      auto t = model::parse_time(args[0]->value.as_string());
      if (!t) {
        diags_.error("E0309", args[0]->range, "this is not a time", model::why_not_a_time(args[0]->value.as_string()));
        break;
      }
      auto lit = make(ExprKind::Literal, Type::of(TypeKind::Time), e.range);
      lit->value = Value::time(*t);
      return lit;
    }
  }
  return error_expr(e.range);
}

// ------------------------------------------------------------ local time

ExprPtr Checker::bundle_zone(SourceRange range) {
  if (b_.timezone_name.empty()) return nullptr;
  auto zone = make(ExprKind::Literal, Type::of(TypeKind::String), range);
  zone->value = intern_value(Value::string(b_.timezone_name));
  return zone;
}

ExprPtr Checker::local_date(ExprPtr time) {
  SourceRange range = time->range;
  auto c = make(ExprKind::Call, Type::of(TypeKind::String), range);
  c->builtin = Builtin::Date;
  c->maybe_missing = time->maybe_missing;
  c->args.push_back(std::move(time));
  if (auto zone = bundle_zone(range)) c->args.push_back(std::move(zone));
  return c;
}

ExprPtr Checker::check_working_time(const ast::Expr& e, Scope& scope, Builtin builtin) {
  bool adding = builtin == Builtin::AddWorkingTime;
  const char* usage = adding ? "add_working_time(order.placed_at, 4h, warehouse_hours, order.node)"
                             : "working_time_between(order.entered(accepted), now, warehouse_hours, order.node)";
  if (e.args.size() != 4) {
    for (const auto& a : e.args) check_expr(*a, scope);
    diags_.error("E0305", e.range, fmt::format("{} takes 4 values", e.text), usage);
    return error_expr(e.range);
  }
  ExprPtr first = check_as(*e.args[0], scope, Type::of(TypeKind::Time), "the start");
  ExprPtr second = check_as(*e.args[1], scope, Type::of(adding ? TypeKind::Duration : TypeKind::Time),
                            adding ? "the working time to add" : "the end");
  ExprPtr node = check_expr(*e.args[3], scope);
  int hours = -1;
  const ast::Expr& named = *e.args[2];
  auto g = named.kind == ast::ExprKind::Name ? globals_.find(named.text) : globals_.end();
  if (g != globals_.end() && g->second.kind == GlobalName::Kind::Hours) {
    hours = g->second.index;
    symbol(named.range, g->second.range, "hours", "hours " + named.text);
  } else {
    std::vector<std::string> names;
    for (const auto& [n, global] : globals_)
      if (global.kind == GlobalName::Kind::Hours) names.push_back(n);
    diags_.error("E0305", named.range, fmt::format("{} needs working hours here, the name of a `use hours`", e.text),
                 names.empty() ? "declare them: use hours warehouse_hours from \"data/hours.csv\""
                               : did_you_mean(named.text, names));
  }
  bool node_ok = node->type.is_error() || (node->type.kind == TypeKind::Record && node->type.ref == b_.node_record);
  if (!node_ok)
    diags_.error("E0305", node->range,
                 fmt::format("{} needs a node here, but this is {}", e.text, a_type(b_.schema, node->type)),
                 "pass order.node, or node in a routing rule");
  if (hours < 0 || !node_ok || first->type.is_error() || second->type.is_error() || node->type.is_error())
    return error_expr(e.range);
  auto c = make(ExprKind::Call, Type::of(adding ? TypeKind::Time : TypeKind::Duration), e.range);
  c->builtin = builtin;
  c->index = hours;
  // Missing too for a node without hours, or none open for ten years.
  c->maybe_missing = true;
  c->args.push_back(std::move(first));
  c->args.push_back(std::move(second));
  c->args.push_back(std::move(node));
  if (auto zone = bundle_zone(e.range)) c->args.push_back(std::move(zone));
  return c;
}

// ------------------------------------------------------------ text

ExprPtr Checker::check_matches(const ast::Expr& e, Scope& scope) {
  ExprPtr text = check_expr(*e.args[0], scope);
  const ast::Expr& pattern = *e.args[1];
  if (pattern.kind != ast::ExprKind::Literal || pattern.literal_kind != ast::LiteralKind::String) {
    check_expr(pattern, scope);
    diags_.error("E0305", pattern.range, "`matches` needs a fixed pattern in quotes",
                 "order.ship_to.postal_code matches \"^[1-9][0-9]{5}$\"");
    return error_expr(e.range);
  }
  if (!text->type.is_error() && text->type.kind != TypeKind::String) {
    diags_.error("E0305", text->range,
                 fmt::format("`matches` reads a text, but this is {}", a_type(b_.schema, text->type)));
    return error_expr(e.range);
  }
  int index = -1;
  for (size_t i = 0; i < b_.patterns.size(); ++i)
    if (b_.patterns[i].source() == pattern.string_value) index = static_cast<int>(i);
  if (index < 0) {
    std::string error;
    model::Pattern compiled = model::Pattern::compile(pattern.string_value, error);
    if (!error.empty()) {
      diags_.error("E0311", pattern.range, fmt::format("this is not a regular expression: {}", error),
                   "patterns are RE2 syntax: [0-9]{6} for six digits, ^ and $ for the start and the end, \\. for a dot");
      return error_expr(e.range);
    }
    index = static_cast<int>(b_.patterns.size());
    b_.patterns.push_back(std::move(compiled));
  }
  if (text->type.is_error()) return error_expr(e.range);
  auto c = make(ExprKind::Call, Type::of(TypeKind::Bool), e.range);
  c->builtin = Builtin::Matches;
  c->index = index;
  c->maybe_missing = text->maybe_missing;
  c->args.push_back(std::move(text));
  return c;
}

// ------------------------------------------------------------ constants

void Checker::check_const(int index) {
  if (const_state_[index] == 2) return;
  Constant& c = b_.constants[index];
  if (const_state_[index] == 1) {
    diags_.error("E0105", c.range, fmt::format("constant '{}' is defined in terms of itself", c.name));
    c.type = Type::error();
    const_state_[index] = 2;
    return;
  }
  const_state_[index] = 1;
  const syntax::ConstDecl& decl = *const_decls_.at(index);
  Scope scope;
  scope.context = "a constant";
  int slots = 0;
  scope.max_slots = &slots;
  ExprPtr e;
  if (decl.type) {
    Type want = resolve_type(*decl.type);
    e = want.is_error() ? error_expr(decl.range) : check_as(*decl.value, scope, want, "the constant");
  } else {
    e = check_expr(*decl.value, scope);
  }
  c.type = e->type;
  if (!e->type.is_error()) {
    if (auto v = fold(*e, "a constant")) {
      c.value = intern_value(*v);
    } else {
      c.type = Type::error();
    }
  }
  const_state_[index] = 2;
}

std::optional<Value> Checker::fold(const Expr& e, const char* what) {
  switch (e.kind) {
    case ExprKind::Literal:
    case ExprKind::Const: return e.value;
    case ExprKind::Negate: {
      auto v = fold(*e.args[0], what);
      if (!v) return std::nullopt;
      if (v->kind == Value::Kind::Float || v->kind == Value::Kind::Distance)
        v->f = -v->f;
      else
        v->i = -v->i;
      return v;
    }
    case ExprKind::Convert: {
      auto v = fold(*e.args[0], what);
      if (!v) return std::nullopt;
      auto r = model::convert_number(*v, e.type.kind);
      if (auto* ok = std::get_if<Value>(&r)) return *ok;
      diags_.error("E0309", e.range, std::get<model::OpFailure>(r).message);
      return std::nullopt;
    }
    case ExprKind::Arith: {
      auto a = fold(*e.args[0], what);
      auto b = fold(*e.args[1], what);
      if (!a || !b) return std::nullopt;
      model::Arena scratch;
      auto r = model::apply_arith(e.arith, *a, *b, b_.rates.get(), &scratch);
      if (auto* ok = std::get_if<Value>(&r)) return intern_value(*ok);
      diags_.error("E0309", e.range, std::get<model::OpFailure>(r).message);
      return std::nullopt;
    }
    default:
      diags_.error("E0309", e.range, fmt::format("{} must be a fixed value", what),
                   "use numbers, amounts, durations, texts and other constants");
      return std::nullopt;
  }
}

}  // namespace orderflow::check
