// Checking policies, decision tables, the lifecycle machine and policy tests.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "compiler/check/checker_internal.h"
#include "compiler/support/suggest.h"

namespace orderflow::check {

using model::CompareForm;
using model::CompareOp;
namespace ast = syntax;

namespace {

std::optional<PolicyKind> policy_kind(std::string_view name) { return check::policy_kind_named(name); }

// The decisions each kind of policy makes, for messages.
const char* decisions_of(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::Acceptance: return "acceptance decides whether to take an order: accept, hold, reject or cancel";
    case PolicyKind::Routing: return "routing decides where an order ships from: route, hold, backorder, reject or cancel";
    case PolicyKind::Escalation:
      return "escalation rules notify people: `notify \"team\"`, `escalate to \"lead\"`, `tag \"...\"`";
    case PolicyKind::Returns:
      return "a returns policy decides a return: approve [refund now | after receipt | after inspection] [keep item], "
             "reject \"reason\" or hold \"reason\"";
    case PolicyKind::Disposition:
      return "a disposition policy decides a returned unit: restock [to \"NODE\"], quarantine, write off or return to "
             "vendor";
    case PolicyKind::Ndr:
      return "an ndr policy decides a failed delivery: reattempt, reschedule to TIME, return to origin or hold "
             "\"reason\"";
  }
  return "";
}

}  // namespace

bool policy_decides(PolicyKind kind, DecisionKind d) {
  switch (kind) {
    case PolicyKind::Acceptance:
      return d == DecisionKind::Accept || d == DecisionKind::Hold || d == DecisionKind::Reject || d == DecisionKind::Cancel;
    case PolicyKind::Routing:
      return d == DecisionKind::Hold || d == DecisionKind::Reject || d == DecisionKind::Cancel || d == DecisionKind::Backorder;
    case PolicyKind::Escalation: return false;
    case PolicyKind::Returns: return d == DecisionKind::Approve || d == DecisionKind::Reject || d == DecisionKind::Hold;
    case PolicyKind::Disposition:
      return d == DecisionKind::Restock || d == DecisionKind::Quarantine || d == DecisionKind::WriteOff ||
             d == DecisionKind::ReturnToVendor;
    case PolicyKind::Ndr:
      return d == DecisionKind::Reattempt || d == DecisionKind::Reschedule || d == DecisionKind::ReturnToOrigin ||
             d == DecisionKind::Hold;
  }
  return false;
}

namespace {

// What a hold in this kind of policy may end in when its time runs out.
bool ends_hold(PolicyKind kind, DecisionKind d) {
  switch (kind) {
    case PolicyKind::Returns: return d == DecisionKind::Approve || d == DecisionKind::Reject;
    case PolicyKind::Ndr: return d == DecisionKind::Reattempt || d == DecisionKind::ReturnToOrigin;
    default: return d == DecisionKind::Accept || d == DecisionKind::Cancel || d == DecisionKind::Reject;
  }
}

CompareOp compare_op(ast::BinaryOp op) {
  switch (op) {
    case ast::BinaryOp::Lt: return CompareOp::Lt;
    case ast::BinaryOp::Le: return CompareOp::Le;
    case ast::BinaryOp::Gt: return CompareOp::Gt;
    case ast::BinaryOp::Ge: return CompareOp::Ge;
    case ast::BinaryOp::Ne: return CompareOp::Ne;
    default: return CompareOp::Eq;
  }
}

}  // namespace

// ------------------------------------------------------------ tables

void Checker::check_tables() {
  for (auto* file : all_files_) {
    for (const ast::Table& decl : file->tables) {
      auto g = globals_.find(decl.name);
      if (g == globals_.end() || g->second.kind != GlobalName::Kind::Table ||
          !(g->second.range == decl.name_range))
        continue;
      Table& t = b_.tables[g->second.index];
      bool ok = true;
      for (const ast::TableParam& p : decl.params) {
        for (const std::string& prior : t.param_names)
          if (prior == p.name) {
            diags_.error("E0105", p.name_range, fmt::format("'{}' is already a column of {}", p.name, decl.name));
            ok = false;
          }
        Type type = resolve_type(*p.type);
        if (!type.is_error() && !model::compare_form_of(type)) {
          diags_.error("E0306", p.type->range, fmt::format("a table cannot look up by {}", type_name(type)),
                       "use enums, numbers, money, durations, texts or true/false");
          type = Type::error();
        }
        ok &= !type.is_error();
        t.param_names.push_back(p.name);
        t.param_types.push_back(type);
      }
      t.result = resolve_type(*decl.result);
      ok &= !t.result.is_error();
      if (!ok) {
        t.param_types.clear();  // calls see an unusable table and stay quiet
        continue;
      }
      // The header row names the columns.
      size_t columns = t.param_names.size() + 1;
      size_t first = 0;
      if (decl.rows.empty()) {
        diags_.error("E0503", decl.name_range, fmt::format("table {} has no rows", decl.name));
        continue;
      }
      const ast::TableRow& head = decl.rows.front();
      bool is_header = head.cells.size() == columns;
      for (const auto& c : head.cells)
        is_header &= c.kind == ast::TableCell::Kind::Value && c.expr && c.expr->kind == ast::ExprKind::Name;
      std::string expected_header = "|";
      for (const auto& n : t.param_names) expected_header += " " + n + " |";
      expected_header += " <result> |";
      if (!is_header) {
        diags_.error("E0503", head.range, "the first row of a table names its columns",
                     fmt::format("start the rows with {}", expected_header));
        continue;
      }
      for (size_t i = 0; i < t.param_names.size(); ++i) {
        if (head.cells[i].expr->text != t.param_names[i]) {
          diags_.error("E0503", head.cells[i].range,
                       fmt::format("column {} is '{}', but the table's {} value is '{}'", i + 1,
                                   head.cells[i].expr->text, i == 0 ? "first" : fmt::format("#{}", i + 1),
                                   t.param_names[i]),
                       fmt::format("name the columns in order: {}", expected_header));
          ok = false;
        }
      }
      if (!ok) continue;
      first = 1;
      Scope scope;
      scope.context = "a table cell";
      int slots = 0;
      scope.max_slots = &slots;
      for (size_t r = first; r < decl.rows.size(); ++r) {
        const ast::TableRow& row = decl.rows[r];
        bool separator = !row.cells.empty();
        for (const auto& c : row.cells) separator &= c.kind == ast::TableCell::Kind::Dashes;
        if (separator) continue;
        if (row.cells.size() != columns) {
          diags_.error("E0504", row.range,
                       fmt::format("this row has {} cells, but the table has {} columns", row.cells.size(), columns),
                       expected_header);
          ok = false;
          continue;
        }
        TableRow out;
        out.range = row.range;
        bool row_ok = true;
        for (size_t i = 0; i < t.param_types.size(); ++i) {
          const ast::TableCell& c = row.cells[i];
          TableCell cell;
          cell.range = c.range;
          Type want = t.param_types[i];
          cell.form = *model::compare_form_of(want);
          switch (c.kind) {
            case ast::TableCell::Kind::Any:
            case ast::TableCell::Kind::Dashes: cell.kind = TableCell::Kind::Any; break;
            case ast::TableCell::Kind::Value:
            case ast::TableCell::Kind::Not:
            case ast::TableCell::Kind::Compare: {
              ExprPtr e = check_as(*c.expr, scope, want, "this cell");
              if (e->type.is_error()) {
                row_ok = false;
                break;
              }
              auto v = fold(*e, "a table cell");
              if (!v) {
                row_ok = false;
                break;
              }
              cell.value = intern_value(*v);
              if (c.kind == ast::TableCell::Kind::Value) {
                cell.kind = TableCell::Kind::Equal;
              } else if (c.kind == ast::TableCell::Kind::Not) {
                cell.kind = TableCell::Kind::NotEqual;
              } else {
                cell.kind = TableCell::Kind::Compare;
                cell.op = compare_op(c.op);
                if (cell.op != CompareOp::Ne && !want.is_ordered()) {
                  diags_.error("E0302", c.range,
                               fmt::format("{} values have no order", type_name(want)), "use a value or `not value`");
                  row_ok = false;
                }
                if (cell.op == CompareOp::Ne) cell.kind = TableCell::Kind::NotEqual;
              }
              break;
            }
          }
          out.cells.push_back(cell);
        }
        const ast::TableCell& result = row.cells.back();
        if (result.kind != ast::TableCell::Kind::Value) {
          diags_.error("E0504", result.range, "the last column is the table's answer: write a value");
          row_ok = false;
        } else {
          ExprPtr e = check_as(*result.expr, scope, t.result, "the answer");
          if (e->type.is_error()) {
            row_ok = false;
          } else if (auto v = fold(*e, "a table's answer")) {
            out.result = intern_value(*v);
          } else {
            row_ok = false;
          }
        }
        if (row_ok) t.rows.push_back(std::move(out));
        ok &= row_ok;
      }
      if (ok) analyze_table(t, decl);
    }
  }
}

// ------------------------------------------------------------ policies

void Checker::check_policies() {
  std::map<PolicyKind, SourceRange> seen;
  for (auto& file : out_.parsed) {
    for (const ast::Policy& decl : file.policies) {
      auto kind = policy_kind(decl.kind);
      if (!kind) {
        std::string hint =
            did_you_mean(decl.kind, {"acceptance", "routing", "escalation", "returns", "disposition", "ndr"});
        if (hint.empty()) hint = "a policy is `acceptance`, `routing`, `escalation`, `returns`, `disposition` or `ndr`";
        diags_.error("E0108", decl.kind_range, fmt::format("unknown kind of policy '{}'", decl.kind), hint);
        continue;
      }
      if (auto prior = seen.find(*kind); prior != seen.end()) {
        Diagnostic& d = diags_.error("E0206", decl.kind_range,
                                     fmt::format("the bundle already has an {} policy", decl.kind),
                                     "a bundle has one policy of each kind: put these rules in that policy");
        d.related.push_back({prior->second, "the first one"});
        continue;
      }
      seen[*kind] = decl.kind_range;
      Policy p;
      p.kind = *kind;
      p.title = decl.title;
      p.version = decl.version.value_or("");
      p.owner = decl.owner.value_or("");
      p.file = file.file;
      p.range = decl.range;
      int slots = 2;
      Scope scope;
      scope.order = true;
      scope.now = true;
      scope.nodes = true;
      scope.max_slots = &slots;
      if (const char* subject = policy_subject(*kind)) {
        scope.subject = subject;
        scope.subject_record = b_.subject_record(*kind);
        if (scope.subject_record < 0)
          diags_.error("E0106", decl.kind_range,
                       fmt::format("the schema has no record for `{}` that a {} policy decides about", subject, decl.kind),
                       "the standard schema declares Return, ReturnUnit and Ndr");
      }
      std::map<std::string, SourceRange> names;
      for (const ast::Rule& rule : decl.rules) {
        if (auto prior = names.find(rule.name); prior != names.end()) {
          Diagnostic& d = diags_.error("E0109", rule.name_range,
                                       fmt::format("there is already a rule \"{}\"", rule.name),
                                       "give every rule its own name: audits refer to rules by name");
          d.related.push_back({prior->second, "the first one"});
        } else {
          names[rule.name] = rule.name_range;
        }
        p.rules.push_back(check_rule(rule, *kind, scope));
        symbol(rule.name_range, rule.name_range, "rule", fmt::format("rule \"{}\"", rule.name), rule.doc);
      }
      if (!decl.otherwise.empty()) {
        if (*kind == PolicyKind::Escalation) {
          diags_.error("E0202", decl.otherwise.front().range, "an escalation policy has no `otherwise`",
                       "escalation rules fire when they match; there is nothing to decide otherwise");
        }
        for (size_t i = 1; i < decl.otherwise.size(); ++i) {
          Diagnostic& d = diags_.error("E0207", decl.otherwise[i].range, "this policy already has an `otherwise`",
                                       "keep one `otherwise`, at the end");
          d.related.push_back({decl.otherwise.front().range, "the first one"});
        }
        ast::Rule synthetic;
        synthetic.name = "otherwise";
        synthetic.range = decl.otherwise.front().range;
        synthetic.name_range = decl.otherwise.front().range;
        Rule r;
        r.name = "otherwise";
        r.range = synthetic.range;
        r.name_range = synthetic.range;
        for (const ast::Action& a : decl.otherwise.front().actions) r.actions.push_back(check_action(a, *kind, scope));
        for (size_t i = 0; i < r.actions.size(); ++i) {
          if (r.actions[i].kind != ActionKind::Decision && r.actions[i].kind != ActionKind::Route) continue;
          if (r.deciding_action >= 0)
            diags_.error("E0205", r.actions[i].range, "`otherwise` makes one decision");
          else
            r.deciding_action = static_cast<int>(i);
        }
        if (r.deciding_action < 0 && *kind != PolicyKind::Escalation)
          diags_.error("E0201", r.range, "`otherwise` must decide", "for example `otherwise accept`");
        p.otherwise = std::move(r);
      } else if (*kind != PolicyKind::Routing && *kind != PolicyKind::Escalation && !file.had_syntax_errors) {
        // Every order, return, unit and failed delivery gets a decision.
        const char* example = *kind == PolicyKind::Acceptance    ? "what happens to every other order, for example `otherwise accept`"
                              : *kind == PolicyKind::Returns     ? "what happens to every other return, for example `otherwise approve refund after inspection`"
                              : *kind == PolicyKind::Disposition ? "what becomes of every other unit, for example `otherwise quarantine`"
                                                                 : "what happens to every other failed delivery, for example `otherwise hold \"ndr_review\" for 24h on timeout return to origin`";
        diags_.error("E0201", decl.kind_range, fmt::format("{} policy \"{}\" has no `otherwise`", decl.kind, decl.title),
                     fmt::format("end the policy with {}", example));
      }
      p.slot_count = slots;
      b_.policies.push_back(std::move(p));
    }
  }
}

Rule Checker::check_rule(const ast::Rule& rule, PolicyKind kind, Scope& scope) {
  Rule r;
  r.name = rule.name;
  r.range = rule.range;
  r.name_range = rule.name_range;
  r.doc = rule.doc;
  if (rule.when) r.when = check_condition(*rule.when, scope);
  for (const ast::Action& a : rule.actions) r.actions.push_back(check_action(a, kind, scope));
  for (size_t i = 0; i < r.actions.size(); ++i) {
    if (r.actions[i].kind != ActionKind::Decision && r.actions[i].kind != ActionKind::Route) continue;
    if (r.deciding_action >= 0) {
      Diagnostic& d = diags_.error("E0205", r.actions[i].range, fmt::format("rule \"{}\" already decides", rule.name),
                                   "a rule makes one decision; split this into two rules");
      d.related.push_back({r.actions[r.deciding_action].range, "its decision"});
    } else {
      r.deciding_action = static_cast<int>(i);
    }
  }
  return r;
}

Action Checker::check_action(const ast::Action& a, PolicyKind kind, Scope& scope) {
  Action out;
  out.range = a.range;
  Type priority = b_.priority_enum >= 0 ? b_.schema.enum_type(b_.priority_enum) : Type::error();
  Type string_type = Type::of(TypeKind::String);
  switch (a.kind) {
    case ast::ActionKind::Decision:
      out.kind = ActionKind::Decision;
      out.decision = check_decision(a.decision, kind, scope, false);
      break;
    case ast::ActionKind::Route:
      out.kind = ActionKind::Route;
      if (kind != PolicyKind::Routing) {
        diags_.error("E0202", a.range, fmt::format("`route` belongs in a routing policy, not an {} policy",
                                                   policy_kind_name(kind)),
                     "move this rule into the routing policy");
        break;
      }
      out.route = check_route(a.route, scope, a.range);
      break;
    case ast::ActionKind::SetPriority:
      out.kind = ActionKind::SetPriority;
      if (policy_subject(kind))
        diags_.error("E0202", a.range, fmt::format("a {} rule cannot set an order's priority", policy_kind_name(kind)),
                     "priority belongs to the order's acceptance and routing");
      out.value = check_as(*a.value, scope, priority, "a priority");
      break;
    case ast::ActionKind::RefundShipping:
    case ast::ActionKind::Charge:
      out.kind = a.kind == ast::ActionKind::Charge ? ActionKind::Charge : ActionKind::RefundShipping;
      if (kind != PolicyKind::Returns && kind != PolicyKind::Disposition)
        diags_.error("E0202", a.range,
                     fmt::format("`{}` shapes a refund: it belongs in a returns or disposition policy",
                                 a.kind == ast::ActionKind::Charge ? "charge" : "refund shipping"),
                     "move this rule into the disposition policy");
      if (a.kind == ast::ActionKind::Charge) {
        out.label = a.field;
        out.value = check_expr(*a.value, scope);
        TypeKind t = out.value->type.kind;
        if (!out.value->type.is_error() && t != TypeKind::Decimal && t != TypeKind::Money) {
          diags_.error("E0301", a.value->range,
                       fmt::format("a fee is a share of the refund or an amount, not {}", a_type(b_.schema, out.value->type)),
                       fmt::format("`charge restocking fee 15%` or `charge restocking fee 100 {}`", example_currency_));
        }
      }
      break;
    case ast::ActionKind::SetField:
      out.kind = ActionKind::SetDelivery;
      out.value = check_set_delivery(a, kind, scope);
      break;
    case ast::ActionKind::Tag:
      out.kind = ActionKind::Tag;
      out.value = check_as(*a.value, scope, string_type, "a tag");
      break;
    case ast::ActionKind::Notify:
    case ast::ActionKind::Escalate:
      out.kind = a.kind == ast::ActionKind::Notify ? ActionKind::Notify : ActionKind::Escalate;
      out.value = check_as(*a.value, scope, string_type, "who to tell");
      if (a.priority) out.priority = check_as(*a.priority, scope, priority, "a priority");
      break;
  }
  return out;
}

// `set delivery MODE`: the one promise a rule may change, because the
// channel can be told of it. Its type is the order's own `delivery` field.
ExprPtr Checker::check_set_delivery(const syntax::Action& a, PolicyKind kind, Scope& scope) {
  if (a.field != "delivery") {
    diags_.error("E0208", a.field_range, fmt::format("a rule cannot set `{}`", a.field),
                 "a rule sets `priority` or `delivery` (`set delivery next_day`); other fields come from the channel");
    return check_expr(*a.value, scope);
  }
  if (kind != PolicyKind::Acceptance && kind != PolicyKind::Routing)
    diags_.error("E0202", a.range, fmt::format("an {} rule cannot change the order's delivery", policy_kind_name(kind)),
                 "change the promise in the acceptance or routing policy; escalation rules tell people");
  if (b_.delivery_field < 0) {
    diags_.error("E0208", a.field_range, "this bundle's orders have no `delivery` to set",
                 "the standard schema's Order has `delivery: DeliveryMode`");
    return check_expr(*a.value, scope);
  }
  return check_as(*a.value, scope, b_.schema.record_def(b_.order_record).fields[b_.delivery_field].type,
                  "a delivery mode");
}

Decision Checker::check_decision(const ast::Decision& d, PolicyKind kind, Scope& scope, bool in_route_else) {
  Decision out;
  out.kind = d.kind;
  out.reason = d.reason;
  out.range = d.range;
  out.refund = d.refund == syntax::RefundTiming::Unspecified ? syntax::RefundTiming::AfterInspection : d.refund;
  out.keep_item = d.keep_item;
  const char* word = syntax::decision_keyword(d.kind);
  if (kind == PolicyKind::Escalation) {
    diags_.error("E0202", d.range, fmt::format("an escalation rule cannot {} an order", word), decisions_of(kind));
  } else if (kind == PolicyKind::Routing && d.kind == DecisionKind::Accept) {
    diags_.error("E0202", d.range,
                 in_route_else ? "a route cannot fall back to `accept`" : "`accept` is an acceptance decision",
                 decisions_of(kind));
  } else if (!policy_decides(kind, d.kind)) {
    const char* owner = nullptr;
    for (PolicyKind k : kPolicyKinds)
      if (!owner && k != PolicyKind::Escalation && policy_decides(k, d.kind)) owner = policy_kind_name(k);
    diags_.error("E0202", d.range,
                 owner ? fmt::format("`{}` is a {} decision", word, owner)
                       : fmt::format("`{}` is not something a {} policy decides", word, policy_kind_name(kind)),
                 decisions_of(kind));
  }
  if (d.restock_node) {
    out.restock_node = *d.restock_node;
    if (b_.inventory && !b_.inventory->find_node(*d.restock_node)) {
      std::vector<std::string> ids;
      for (size_t n = 0; n < b_.inventory->node_count(); ++n) ids.emplace_back(b_.inventory->node_id(n));
      std::string hint = did_you_mean(*d.restock_node, ids);
      diags_.error("E0209", d.restock_node_range, fmt::format("there is no node '{}'", *d.restock_node),
                   hint.empty() ? "restock to one of the nodes of `use nodes`" : hint);
    }
  }
  if (d.reschedule_to)
    out.reschedule_to = check_as(*d.reschedule_to, scope, Type::of(TypeKind::Time), "when to deliver again");
  if ((d.kind == DecisionKind::Hold || d.kind == DecisionKind::Reject || d.kind == DecisionKind::Cancel) &&
      d.reason.empty()) {
    diags_.error("E0204", d.reason_range, fmt::format("`{}` needs a reason", word),
                 "the reason is what people and the channel see, for example \"cod_confirmation\"");
  }
  bool limited = d.hold_for || d.hold_until || d.hold_until_clock;
  if (d.hold_for) out.hold_for = check_as(*d.hold_for, scope, Type::of(TypeKind::Duration), "a hold's time limit");
  if (d.hold_until || d.hold_until_clock) out.hold_for = hold_until(d, scope);
  if (d.on_timeout) {
    if (!limited) {
      diags_.error("E0204", d.on_timeout->range, "`on timeout` needs a time limit",
                   fmt::format("hold \"{}\" for 24h on timeout ...", d.reason));
    }
    const ast::Decision& t = *d.on_timeout;
    PolicyKind timeout_kind = kind == PolicyKind::Routing ? PolicyKind::Acceptance : kind;
    if (!ends_hold(timeout_kind, t.kind)) {
      diags_.error("E0204", t.range, fmt::format("a hold cannot end in `{}`", syntax::decision_keyword(t.kind)),
                   timeout_kind == PolicyKind::Returns ? "on timeout, approve or reject \"reason\""
                   : timeout_kind == PolicyKind::Ndr   ? "on timeout, reattempt or return to origin"
                                                       : "on timeout, accept, cancel \"reason\" or reject \"reason\"");
      out.on_timeout = std::make_unique<Decision>();
      out.on_timeout->kind = t.kind;
    } else {
      out.on_timeout = std::make_unique<Decision>(check_decision(t, timeout_kind, scope, false));
    }
  } else if (limited) {
    diags_.error("E0204", d.hold_for ? d.hold_for->range : d.hold_until_range,
                 fmt::format("what happens when the hold on \"{}\" runs out?", d.reason),
                 "add `on timeout accept` or `on timeout cancel \"reason\"`");
  }
  return out;
}

// `hold ... until T` and `until next 07:00` are holds for the time left
// until then, worked out when the rule decides (never less than nothing).
ExprPtr Checker::hold_until(const ast::Decision& d, Scope& scope) {
  auto make_expr = [](ExprKind kind, Type type, SourceRange range) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->type = type;
    e->range = range;
    return e;
  };
  Type time = Type::of(TypeKind::Time), duration = Type::of(TypeKind::Duration);
  SourceRange range = d.hold_until_range;
  ExprPtr until;
  if (d.hold_until) {
    until = check_as(*d.hold_until, scope, time, "the end of a hold");
    if (until->type.is_error()) return until;
  } else {
    until = make_expr(ExprKind::Call, time, range);
    until->builtin = Builtin::NextClock;
    until->args.push_back(make_expr(ExprKind::Now, time, range));
    auto clock = make_expr(ExprKind::Literal, Type::of(TypeKind::Int), range);
    clock->value = Value::integer(*d.hold_until_clock);
    until->args.push_back(std::move(clock));
    if (auto zone = bundle_zone(range)) until->args.push_back(std::move(zone));
  }
  auto left = make_expr(ExprKind::Arith, duration, range);
  left->arith = model::ArithForm::TimeDiff;
  left->maybe_missing = until->maybe_missing;
  left->args.push_back(std::move(until));
  left->args.push_back(make_expr(ExprKind::Now, time, range));
  auto none = make_expr(ExprKind::Literal, duration, range);
  none->value = Value::duration(0);
  auto at_least_none = make_expr(ExprKind::Call, duration, range);
  at_least_none->builtin = Builtin::Max;
  at_least_none->maybe_missing = left->maybe_missing;
  at_least_none->args.push_back(std::move(left));
  at_least_none->args.push_back(std::move(none));
  return at_least_none;
}

Route Checker::check_route(const ast::RouteSpec& spec, Scope& outer, SourceRange range) {
  Route r;
  r.range = range;
  Scope scope = outer;
  scope.node = true;
  if (b_.node_record < 0) {
    diags_.error("E0106", range, "routing needs a Node record in the schema");
    return r;
  }
  for (const SourceRange& repeated : spec.repeated_clauses)
    diags_.error("E0207", repeated, "this clause is given twice in one route", "keep one");
  if (spec.filter) r.filter = check_condition(*spec.filter, scope);
  const model::RecordDef& node_def = b_.schema.record_def(b_.node_record);
  auto node_var = [&](SourceRange at) {
    auto v = std::make_unique<Expr>();
    v->kind = ExprKind::Var;
    v->index = 1;
    v->name = "node";
    v->type = b_.schema.record_type(b_.node_record);
    v->range = at;
    return v;
  };
  for (const ast::Preference& p : spec.prefer) {
    Preference pref;
    pref.range = p.range;
    switch (p.kind) {
      case ast::Preference::Kind::Nearest: {
        pref.label = "nearest";
        const model::RecordDef& order = b_.schema.record_def(b_.order_record);
        int ship_to = order.find("ship_to");
        if (ship_to < 0 || order.fields[ship_to].type.kind != TypeKind::Record) {
          diags_.error("E0102", p.range, "`nearest` needs order.ship_to");
          continue;
        }
        auto order_var = std::make_unique<Expr>();
        order_var->kind = ExprKind::Var;
        order_var->index = 0;
        order_var->name = "order";
        order_var->type = b_.schema.record_type(b_.order_record);
        order_var->range = p.range;
        auto call = std::make_unique<Expr>();
        call->kind = ExprKind::Call;
        call->builtin = Builtin::Distance;
        call->type = Type::of(TypeKind::Distance);
        call->maybe_missing = true;
        call->range = p.range;
        call->args.push_back(node_var(p.range));
        call->args.push_back(field_access(std::move(order_var), b_.order_record, ship_to, p.range));
        pref.key = std::move(call);
        break;
      }
      case ast::Preference::Kind::Cheapest: {
        pref.label = "cheapest";
        int cost = node_def.find("cost_per_order");
        if (cost < 0 || !node_def.fields[cost].type.is_ordered()) {
          diags_.error("E0102", p.range, "`cheapest` needs node.cost_per_order",
                       "add it with `extend record Node` or prefer `lowest <expression>`");
          continue;
        }
        pref.key = field_access(node_var(p.range), b_.node_record, cost, p.range);
        break;
      }
      case ast::Preference::Kind::Lowest:
      case ast::Preference::Kind::Highest: {
        pref.direction = p.kind == ast::Preference::Kind::Lowest ? Preference::Direction::Lowest
                                                                 : Preference::Direction::Highest;
        ExprPtr key = check_expr(*p.expr, scope);
        if (key->type.is_error()) continue;
        if (!key->type.is_ordered()) {
          diags_.error("E0305", p.expr->range,
                       fmt::format("cannot rank nodes by {}", type_name(key->type)),
                       "prefer lowest or highest a number, an amount, a distance or a duration");
          continue;
        }
        pref.label = std::string(p.kind == ast::Preference::Kind::Lowest ? "lowest " : "highest ") +
                     std::string(b_.source_text(p.expr->range));
        pref.key = std::move(key);
        break;
      }
    }
    r.prefer.push_back(std::move(pref));
  }
  if (spec.split == ast::RouteSpec::Split::AtMost) {
    Scope constant;
    constant.context = "a split limit";
    ExprPtr limit = check_as(*spec.split_limit, constant, Type::of(TypeKind::Int), "a split limit");
    if (!limit->type.is_error()) {
      auto v = fold(*limit, "a split limit");
      if (v && (v->i < 1 || v->i > 10)) {
        diags_.error("E0306", spec.split_limit->range, "split into 1 to 10 shipments",
                     "`split at most 2` lets the order ship from two nodes");
      } else if (v) {
        r.max_shipments = static_cast<int>(v->i);
      }
    }
  }
  if (spec.safety_stock) r.safety_stock = check_as(*spec.safety_stock, scope, Type::of(TypeKind::Int), "safety stock");
  if (spec.else_decision) {
    r.otherwise = Route::Else::Decide;
    r.else_decision = std::make_unique<Decision>(check_decision(*spec.else_decision, PolicyKind::Routing, outer, true));
  }
  return r;
}

// ------------------------------------------------------------ machine

void Checker::check_machine() {
  if (b_.machine && machine_decl_) check_machine(*b_.machine, *machine_decl_, MachineRole::Order);
  if (b_.return_machine && return_machine_decl_)
    check_machine(*b_.return_machine, *return_machine_decl_, MachineRole::Return);
}

void Checker::check_machine(Machine& m, const ast::Machine& decl, MachineRole role) {
  bool returns = role == MachineRole::Return;
  const char* event_enum = returns ? "ReturnEvent" : "OrderEvent";
  m.event_enum = b_.schema.find_enum(event_enum);
  for (size_t i = 0; i < m.states.size(); ++i)
    symbol(m.state_ranges[i], m.state_ranges[i], "state", "state " + m.states[i]);
  if (!decl.initial) {
    diags_.error("E0605", decl.name_range, fmt::format("machine {} has no initial state", decl.name),
                 returns ? "add `initial requested` (the state every return starts in)"
                         : "add `initial new` (the state every order starts in)");
  } else {
    m.initial = m.find_state(decl.initial->name);
    // The journal records every return as asked for: that is where it starts.
    if (returns && decl.initial->name != "requested")
      diags_.error("E0605", decl.initial->range, "a return starts `requested`: the engine records it as asked for",
                   "write `initial requested`");
  }
  for (const auto& t : decl.terminals) {
    int s = m.find_state(t.name);
    if (s >= 0) m.terminal[s] = true;
    symbol(t.range, m.state_ranges[s], "state", "state " + t.name);
  }
  Scope scope;
  scope.order = true;
  scope.now = true;
  scope.context = "a transition guard";
  int slots = 2;
  scope.max_slots = &slots;
  for (const ast::Transition& t : decl.transitions) {
    Transition out;
    out.range = t.range;
    for (const auto& s : t.sources) {
      out.sources.push_back(m.find_state(s.name));
      symbol(s.range, m.state_ranges[out.sources.back()], "state", "state " + s.name);
    }
    for (const auto& s : t.targets) {
      out.targets.push_back(m.find_state(s.name));
      symbol(s.range, m.state_ranges[out.targets.back()], "state", "state " + s.name);
    }
    if (t.event) {
      if (m.event_enum < 0) {
        diags_.error("E0608", t.event->range, fmt::format("the schema declares no {} enum", event_enum));
      } else {
        const model::EnumDef& events = b_.schema.enum_def(m.event_enum);
        out.event = events.find(t.event->name);
        if (out.event < 0) {
          std::string hint = did_you_mean(t.event->name, events.values);
          if (hint.empty())
            hint = returns ? fmt::format("a return moves on {}", join_alternatives(events.values, " or "))
                           : fmt::format("declare it: `extend enum OrderEvent {}`", t.event->name);
          diags_.error("E0608", t.event->range, fmt::format("unknown event '{}'", t.event->name), hint);
        } else {
          symbol(t.event->range, events.value_ranges[out.event], "event", "event " + t.event->name,
                 events.value_docs[out.event]);
        }
      }
    }
    if (t.by_policy) {
      auto kind = policy_kind(t.by_policy->name);
      bool fits = returns ? kind == PolicyKind::Returns
                          : kind && (*kind == PolicyKind::Acceptance || *kind == PolicyKind::Routing);
      if (!fits) {
        diags_.error("E0108", t.by_policy->range,
                     returns ? fmt::format("'{}' cannot move a return: use `by returns`", t.by_policy->name)
                             : fmt::format("'{}' cannot move an order: use `by acceptance` or `by routing`",
                                           t.by_policy->name),
                     returns ? "" : did_you_mean(t.by_policy->name, {"acceptance", "routing"}));
      } else {
        out.by = kind;
      }
    }
    if (t.after) {
      ExprPtr wait = check_as(*t.after, scope, Type::of(TypeKind::Duration), "how long a state lasts");
      if (!wait->type.is_error())
        if (auto v = fold(*wait, "how long a state lasts")) {
          if (v->i <= 0)
            diags_.error("E0306", t.after->range, "a state cannot time out before it is entered",
                         "write how long it lasts: after 14d");
          else
            out.after = v->i;
        }
      if (t.event)
        diags_.error("E0606", t.range, "a transition happens on an event or after a time, not both",
                     "write two transitions: one `on` the event, one `after` the time");
      if (!returns)
        diags_.error("E0606", t.after->range, "an order leaves a state by a timer through a hold's limit",
                     "hold it with a limit: `hold \"reason\" for 24h on timeout cancel`");
      if (out.targets.size() != 1)
        diags_.error("E0606", t.range, "a state that times out goes to one state", "name one target");
    }
    if (!t.event && !t.by_policy && !t.after) {
      diags_.error("E0606", t.range, "this transition does not say what makes it happen",
                   returns ? "add `on <event>`, `by returns` or `after <time>`"
                           : "add `on <event>` or `by acceptance` / `by routing`");
    }
    if (t.guard) {
      if (returns)
        diags_.error("E0606", t.guard->range, "a return's transitions take no `when` condition",
                     "decide it in the returns policy instead");
      else
        out.guard = check_condition(*t.guard, scope);
    }
    m.transitions.push_back(std::move(out));
  }
  m.slot_count = slots;
}

// ------------------------------------------------------------ tests

// A word a story uses as a value of a schema enum (a grade, a reason).
void Checker::check_enum_word(const char* enum_name, const std::string& word, SourceRange range) {
  int e = b_.schema.find_enum(enum_name);
  if (e < 0) {
    diags_.error("E0106", range, fmt::format("the schema has no enum {}", enum_name));
    return;
  }
  const model::EnumDef& def = b_.schema.enum_def(e);
  if (def.find(word) >= 0) return;
  std::string hint = did_you_mean(word, def.values);
  diags_.error("E0803", range, fmt::format("'{}' is not a value of {}", word, enum_name),
               hint.empty() ? fmt::format("one of: {}", fmt::join(def.values, ", ")) : hint);
}

// One field a test sets on its order (`with order.payment.method = cod`,
// `then update with ...`): its path from Order and its value, or nothing
// after saying what is wrong.
std::optional<TestAssignment> Checker::check_test_assignment(const ast::TestAssignment& a) {
  TestAssignment out;
  out.range = a.range;
  if (a.path.empty() || a.path[0].name != "order") {
    diags_.error("E0102", a.path.empty() ? a.range : a.path[0].range, "a test changes fields of the order",
                 "write `with order.payment.method = cod`");
    return std::nullopt;
  }
  int record = b_.order_record;
  Type field_type = Type::error();
  bool ok = true;
  for (size_t i = 1; i < a.path.size() && ok; ++i) {
    if (record < 0) {
      diags_.error("E0102", a.path[i].range, fmt::format("'{}' has no fields", a.path[i - 1].name));
      ok = false;
      break;
    }
    const model::RecordDef& def = b_.schema.record_def(record);
    int f = def.find(a.path[i].name);
    if (f < 0) {
      std::vector<std::string> fields;
      for (const auto& fd : def.fields) fields.push_back(fd.name);
      diags_.error("E0102", a.path[i].range, fmt::format("{} has no field '{}'", def.name, a.path[i].name),
                   did_you_mean(a.path[i].name, fields));
      ok = false;
      break;
    }
    symbol(a.path[i].range, def.fields[f].range, "field", def.fields[f].name + ": " + type_name(def.fields[f].type),
           def.fields[f].doc);
    out.path.push_back({record, f});
    field_type = def.fields[f].type;
    record = field_type.kind == TypeKind::Record ? field_type.ref : -1;
  }
  if (!ok) return std::nullopt;
  if (out.path.empty() || field_type.kind == TypeKind::Record || field_type.is_collection()) {
    diags_.error("E0307", a.range, "a test can set a single value, not a whole record or list",
                 "set one of its fields, or write the order in its JSON");
    return std::nullopt;
  }
  Scope scope;
  scope.context = "a test value";
  int slots = 0;
  scope.max_slots = &slots;
  // A time is written as the order's JSON writes it: "2026-12-02T18:00:00Z".
  if (field_type.kind == TypeKind::Time && a.value->kind == ast::ExprKind::Literal &&
      a.value->literal_kind == ast::LiteralKind::String) {
    if (auto when = model::parse_time(a.value->string_value)) {
      out.value = Value::time(*when);
      return out;
    }
  }
  ExprPtr v = check_as(*a.value, scope, field_type, "the value");
  if (v->type.is_error()) return std::nullopt;
  if (auto value = fold(*v, "a test value")) {
    out.value = intern_value(*value);
    return out;
  }
  return std::nullopt;
}

void Checker::check_tests() {
  namespace fs = std::filesystem;
  std::map<std::string, SourceRange> names;
  std::vector<std::string> rule_names;
  for (const Policy& p : b_.policies)
    for (const Rule& r : p.rules) rule_names.push_back(r.name);
  Type priority = b_.priority_enum >= 0 ? b_.schema.enum_type(b_.priority_enum) : Type::error();
  for (auto& file : out_.parsed) {
    for (const ast::Test& decl : file.tests) {
      if (auto prior = names.find(decl.name); prior != names.end()) {
        Diagnostic& d = diags_.error("E0109", decl.name_range, fmt::format("there is already a test \"{}\"", decl.name));
        d.related.push_back({prior->second, "the first one"});
      }
      names[decl.name] = decl.name_range;
      PolicyTest t;
      t.name = decl.name;
      t.range = decl.name_range;
      t.order_range = decl.order_range;
      // A file a test names, relative to its .flow file: its text and path.
      auto test_file = [&](const std::string& name, const SourceRange& range,
                           const char* what) -> std::optional<std::pair<std::string, std::string>> {
        fs::path path = data_path(file.file, name);
        std::string origin = path.lexically_normal().generic_string();
        auto overlaid = options_.overlay.find(origin);
        if (overlaid != options_.overlay.end()) return std::make_pair(overlaid->second, origin);
        std::ifstream in(path, std::ios::binary);
        if (!in) {
          diags_.error("E0801", range, fmt::format("{} file '{}' not found", what, path.generic_string()),
                       fmt::format("{} files are found relative to the .flow file of the test", what));
          return std::nullopt;
        }
        std::ostringstream ss;
        ss << in.rdbuf();
        return std::make_pair(ss.str(), origin);
      };
      if (decl.history_file)
        if (auto read = test_file(*decl.history_file, decl.history_range, "history")) {
          t.history_origin = read->second;
          std::istringstream lines(read->first);
          std::string line;
          for (int number = 1; std::getline(lines, line); ++number) {
            if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
            nlohmann::json input = nlohmann::json::parse(line, nullptr, false);
            if (!input.is_object()) {
              diags_.error("E0802", decl.history_range,
                           fmt::format("line {} of {} is not a JSON object", number, t.history_origin),
                           "a history file holds one order or event a line, as `orderflow run --events` reads them");
              continue;
            }
            t.history.push_back(line);
          }
        }
      if (decl.order_file) {
        if (auto read = test_file(*decl.order_file, decl.order_range, "order")) {
          t.order_json = read->first;
          t.order_origin = read->second;
        }
      } else if (decl.order_inline) {
        t.order_json = *decl.order_inline;
        t.order_origin = "inline";
      } else {
        diags_.error("E0803", decl.name_range, fmt::format("test \"{}\" names no order", decl.name),
                     "add `order from \"orders/example.json\"` or an inline order in \"\"\" quotes");
      }
      if (!t.order_json.empty()) check_test_order_json(t, decl);
      if (decl.at) {
        t.at = model::parse_time(*decl.at);
        if (!t.at)
          diags_.error("E0309", decl.at_range, "this is not a time", model::why_not_a_time(*decl.at));
      }
      for (const ast::TestAssignment& a : decl.assignments)
        if (auto out = check_test_assignment(a)) t.assignments.push_back(std::move(*out));
      for (const ast::TestExpectation& x : decl.expectations) {
        TestExpectation out;
        out.kind = x.kind;
        out.range = x.range;
        out.strings = x.strings;
        out.by_rule = x.by_rule;
        out.negated = x.negated;
        out.after_steps = x.after_steps;
        if (x.kind == ast::TestExpectation::Kind::State) {
          if (!b_.machine) continue;  // the machine's own errors are reported there
          if (b_.machine->find_state(x.strings[0]) < 0) {
            diags_.error("E0803", x.by_rule_range,
                         fmt::format("machine {} has no state '{}'", b_.machine->name, x.strings[0]),
                         did_you_mean(x.strings[0], b_.machine->states));
            continue;
          }
        }
        if (x.kind == ast::TestExpectation::Kind::Decision) {
          out.decision = x.decision.kind;
          out.reason = x.decision.reason;
        } else if (x.kind == ast::TestExpectation::Kind::That) {
          Scope scope;
          scope.context = "a test";
          scope.order = true;
          scope.now = true;
          scope.nodes = true;
          int slots = 2;
          scope.max_slots = &slots;
          out.condition = check_condition(*x.value, scope);
          out.condition_text = std::string(b_.source_text(x.value->range));
          if (out.condition->type.is_error()) continue;
          t.slot_count = std::max(t.slot_count, slots);
        } else if (x.kind == ast::TestExpectation::Kind::Priority) {
          Scope scope;
          scope.context = "a test";
          ExprPtr p = check_as(*x.value, scope, priority, "a priority");
          if (p->type.is_error()) continue;
          out.value = p->value;
        } else if (x.kind == ast::TestExpectation::Kind::Delivery) {
          Scope scope;
          scope.context = "a test";
          if (b_.delivery_field < 0) continue;
          ExprPtr d = check_as(*x.value, scope, b_.schema.record_def(b_.order_record).fields[b_.delivery_field].type,
                               "a delivery mode");
          if (d->type.is_error()) continue;
          if (d->kind != ExprKind::Literal && d->kind != ExprKind::Const) {
            diags_.error("E0307", x.value->range, "a test expects one delivery mode, such as next_day",
                         "expect delivery next_day");
            continue;
          }
          out.value = d->value;
        } else if (x.kind == ast::TestExpectation::Kind::Return) {
          static const std::vector<std::string> words = {"approved", "rejected", "held"};
          if (std::find(words.begin(), words.end(), x.strings[0]) == words.end()) {
            std::string hint = did_you_mean(x.strings[0], words);
            diags_.error("E0803", x.by_rule_range, fmt::format("a return is approved, rejected or held, not '{}'", x.strings[0]),
                         hint.empty() ? "expect return approved, refund after inspection" : hint);
            continue;
          }
          out.refund = x.refund;
          out.keep_item = x.keep_item;
        } else if (x.kind == ast::TestExpectation::Kind::Disposition) {
          out.decision = x.decision.kind;
          out.reason = x.decision.restock_node.value_or("");
          if (!policy_decides(PolicyKind::Disposition, x.decision.kind)) {
            diags_.error("E0803", x.range,
                         fmt::format("a unit's disposition is restock, quarantine, write off or return to vendor, not `{}`",
                                     syntax::decision_keyword(x.decision.kind)));
            continue;
          }
        } else if (x.kind == ast::TestExpectation::Kind::Ndr) {
          out.decision = x.decision.kind;
          out.reason = x.decision.reason;
          if (!policy_decides(PolicyKind::Ndr, x.decision.kind)) {
            diags_.error("E0803", x.range,
                         fmt::format("a failed delivery is decided reattempt, reschedule, return to origin or hold, "
                                     "not `{}`",
                                     syntax::decision_keyword(x.decision.kind)));
            continue;
          }
          if (std::none_of(decl.steps.begin(), decl.steps.begin() + static_cast<long>(x.after_steps),
                           [](const ast::StoryStep& s) { return s.kind == ast::StoryStep::Kind::Ndr; })) {
            diags_.error("E0803", x.range, "this test has no failed delivery to expect this of",
                         "report one first: `then ndr customer_unavailable`");
            continue;
          }
        } else if (x.kind == ast::TestExpectation::Kind::Refund) {
          Scope scope;
          scope.context = "a test";
          ExprPtr m = check_as(*x.value, scope, Type::of(TypeKind::Money), "a refund");
          if (m->type.is_error()) continue;
          auto v = fold(*m, "a refund");
          if (!v) continue;
          out.value = *v;
        }
        bool is_return_expectation = x.kind == ast::TestExpectation::Kind::Return ||
                                     x.kind == ast::TestExpectation::Kind::Disposition ||
                                     x.kind == ast::TestExpectation::Kind::Refund;
        // A return is asked for, or comes back undelivered (a failed
        // delivery's policy or the courier's `return_to_origin`).
        auto may_start_return = [](const ast::StoryStep& s) {
          return s.kind == ast::StoryStep::Kind::Return || s.kind == ast::StoryStep::Kind::Ndr ||
                 (s.kind == ast::StoryStep::Kind::Event && s.event == "return_to_origin");
        };
        if (is_return_expectation &&
            std::none_of(decl.steps.begin(), decl.steps.begin() + static_cast<long>(x.after_steps), may_start_return)) {
          diags_.error("E0803", x.range, "this test has no return to expect this of",
                       "start one first: `then return of line \"1\" quantity 1 reason size`");
          continue;
        }
        if (x.by_rule && *x.by_rule != "otherwise" &&
            std::find(rule_names.begin(), rule_names.end(), *x.by_rule) == rule_names.end()) {
          std::string hint = did_you_mean(*x.by_rule, rule_names);
          diags_.error("E0803", x.by_rule_range, fmt::format("there is no rule \"{}\"", *x.by_rule), hint);
        }
        t.expectations.push_back(std::move(out));
      }
      for (const ast::StoryStep& s : decl.steps) {
        StoryStep out;
        out.kind = s.kind;
        out.range = s.range;
        out.event = s.event;
        if (s.at) {
          out.at = model::parse_time(*s.at);
          if (!out.at)
            diags_.error("E0309", s.at_range, "this is not a time", model::why_not_a_time(*s.at));
        }
        if (s.kind == ast::StoryStep::Kind::Event && b_.machine && b_.machine->event_enum >= 0) {
          const model::EnumDef& events = b_.schema.enum_def(b_.machine->event_enum);
          if (events.find(s.event) < 0 && s.event != "reject_allocation")
            diags_.error("E0608", s.range, fmt::format("unknown event '{}'", s.event), did_you_mean(s.event, events.values));
        }
        if (s.kind == ast::StoryStep::Kind::Event)
          for (const auto& l : s.returned) {
            if (!l.quantity || *l.quantity <= 0)
              diags_.error("E0306", l.range, "say how many of the line's units the event moves",
                           fmt::format("line \"{}\" quantity 1", l.line_id));
            else
              out.returned.emplace_back(l.line_id, l.quantity);
          }
        if (s.kind == ast::StoryStep::Kind::Update)
          for (const ast::TestAssignment& a : s.changes)
            if (auto change = check_test_assignment(a)) out.changes.push_back(std::move(*change));
        if (s.kind == ast::StoryStep::Kind::Return) {
          for (const auto& l : s.returned) {
            if (l.quantity && *l.quantity <= 0)
              diags_.error("E0306", l.range, "a return takes back at least one unit", "line \"1\" quantity 1");
            out.returned.emplace_back(l.line_id, l.quantity);
          }
          out.reason = s.reason.empty() ? "other" : s.reason;
          check_enum_word("ReturnReason", out.reason, s.reason_range);
        }
        if (s.kind == ast::StoryStep::Kind::Ndr) {
          out.reason = s.reason;
          check_enum_word("NdrReason", s.reason, s.reason_range);
          if (s.attempt && *s.attempt < 1)
            diags_.error("E0306", s.range, "delivery attempts count from 1", "then ndr customer_unavailable attempt 1");
          out.attempt = s.attempt;
        }
        if (s.kind == ast::StoryStep::Kind::Grade) {
          for (const auto& g : s.grades) {
            check_enum_word("Grade", g.grade, g.range);
            if (!g.reason.empty()) check_enum_word("ReturnReason", g.reason, g.range);
            out.grades.emplace_back(g.grade, g.reason);
          }
        }
        if (s.kind == ast::StoryStep::Kind::After) {
          Scope scope;
          scope.context = "a test";
          ExprPtr d = check_as(*s.after, scope, Type::of(TypeKind::Duration), "how long the story waits");
          if (d->type.is_error()) continue;
          auto v = fold(*d, "how long the story waits");
          if (!v) continue;
          if (v->i < 0) {
            diags_.error("E0306", s.after->range, "a story cannot go back in time", "write how long it waits: after 3h");
            continue;
          }
          out.after = v->i;
        }
        t.steps.push_back(std::move(out));
      }
      if (decl.expectations.empty())
        diags_.warning("W0804", decl.name_range, fmt::format("test \"{}\" expects nothing", decl.name),
                       "add what should happen, for example `expect hold \"cod_confirmation\"`");
      b_.tests.push_back(std::move(t));
    }
  }
}

// A test's order that is not JSON is an error when the bundle is checked,
// placed where the mistake is: in the .flow file for an inline order (not
// at an offset inside the quoted text), in the order file's own lines
// otherwise.
void Checker::check_test_order_json(const PolicyTest& t, const syntax::Test& decl) {
  try {
    nlohmann::json parsed = nlohmann::json::parse(t.order_json);
    (void)parsed;
  } catch (const nlohmann::json::parse_error& e) {
    // The library's message after its prefix: "unexpected '}'; expected '[', '{', or a literal".
    std::string what = e.what();
    size_t dash = what.find(" - ");
    std::string why = dash == std::string::npos ? what : what.substr(dash + 3);
    size_t at = std::min<size_t>(e.byte == 0 ? 0 : e.byte - 1, t.order_json.size());
    uint32_t line = 0, column = 0;  // within the JSON, from 0
    for (size_t i = 0; i < at; ++i) {
      if (t.order_json[i] == '\n') {
        ++line;
        column = 0;
      } else if ((static_cast<unsigned char>(t.order_json[i]) & 0xC0) != 0x80) {
        ++column;
      }
    }
    SourceRange where = decl.order_range;
    std::string message = fmt::format("the test's order is not JSON: {}", why);
    if (decl.order_inline) {
      // The text starts after the opening """.
      where.begin.line += line;
      where.begin.column = line == 0 ? where.begin.column + 3 + column : column + 1;
      where.end = where.begin;
      where.end.column += 1;
    } else {
      message = fmt::format("{} (line {}, column {}) is not JSON: {}", t.order_origin, line + 1, column + 1, why);
    }
    diags_.error("E0802", where, message, "an order is a JSON object, as the channel's connector writes it");
  }
}

}  // namespace orderflow::check
