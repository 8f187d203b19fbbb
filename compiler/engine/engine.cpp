#include "compiler/engine/engine.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "compiler/check/checker.h"
#include "compiler/model/record.h"

namespace orderflow::engine {

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::None: return "none";
    case Verdict::Accept: return "accept";
    case Verdict::Hold: return "hold";
    case Verdict::Reject: return "reject";
    case Verdict::Cancel: return "cancel";
    case Verdict::Backorder: return "backorder";
    case Verdict::Route: return "route";
    case Verdict::Approve: return "approve";
    case Verdict::Restock: return "restock";
    case Verdict::Quarantine: return "quarantine";
    case Verdict::WriteOff: return "write off";
    case Verdict::ReturnToVendor: return "return to vendor";
    case Verdict::Reattempt: return "reattempt";
    case Verdict::Reschedule: return "reschedule";
    case Verdict::ReturnToOrigin: return "return to origin";
  }
  return "none";
}

Verdict verdict_of(DecisionKind kind) {
  switch (kind) {
    case DecisionKind::Accept: return Verdict::Accept;
    case DecisionKind::Hold: return Verdict::Hold;
    case DecisionKind::Reject: return Verdict::Reject;
    case DecisionKind::Cancel: return Verdict::Cancel;
    case DecisionKind::Backorder: return Verdict::Backorder;
    case DecisionKind::Approve: return Verdict::Approve;
    case DecisionKind::Restock: return Verdict::Restock;
    case DecisionKind::Quarantine: return Verdict::Quarantine;
    case DecisionKind::WriteOff: return Verdict::WriteOff;
    case DecisionKind::ReturnToVendor: return Verdict::ReturnToVendor;
    case DecisionKind::Reattempt: return Verdict::Reattempt;
    case DecisionKind::Reschedule: return Verdict::Reschedule;
    case DecisionKind::ReturnToOrigin: return Verdict::ReturnToOrigin;
  }
  return Verdict::None;
}

RefundTerm refund_term(const check::Action& a, std::string_view rule, int64_t value, uint32_t currency) {
  RefundTerm t;
  t.rule = rule;
  if (a.kind == check::ActionKind::RefundShipping) {
    t.kind = RefundTerm::Kind::RefundShipping;
    return t;
  }
  bool money = a.value->type.kind == check::TypeKind::Money;
  t.kind = money ? RefundTerm::Kind::AmountFee : RefundTerm::Kind::ShareFee;
  t.label = a.label;
  t.value = value;
  t.currency = money ? currency : 0;
  return t;
}

std::string refund_term_text(const RefundTerm& t) {
  std::string fee = t.label.empty() ? "fee" : std::string(t.label) + " fee";
  switch (t.kind) {
    case RefundTerm::Kind::ShareFee: return fmt::format("charge {} {}%", fee, model::format_decimal(t.value * 100));
    case RefundTerm::Kind::AmountFee: return fmt::format("charge {} {}", fee, model::format_money(t.value, t.currency));
    case RefundTerm::Kind::RefundShipping: return "refund shipping";
  }
  return "";
}

void apply_decision_words(const check::Decision& d, Outcome& out) {
  out.verdict = verdict_of(d.kind);
  out.reason = d.reason;
  if (d.on_timeout) {
    out.timeout_verdict = verdict_of(d.on_timeout->kind);
    out.timeout_reason = d.on_timeout->reason;
  }
  if (d.kind == DecisionKind::Approve) {
    out.refund_timing = d.refund;
    out.keep_item = d.keep_item;
  }
  out.restock_node = d.restock_node;
}

void fail_safe(Outcome& out) {
  out.verdict = out.policy == PolicyKind::Disposition ? Verdict::Quarantine : Verdict::Hold;
  out.reason = "policy_error";
  out.hold_for.reset();
  out.timeout_verdict = Verdict::None;
  out.timeout_reason = {};
  out.shipments.clear();
  out.shipment_lines.clear();
  out.delivery.reset();  // a promise changed by a policy that failed is not kept
  out.delivery_rule = {};
  out.refund_timing = check::RefundTiming::AfterInspection;
  out.keep_item = false;
  out.restock_node = {};
  out.reschedule_at.reset();
  out.refund_terms.clear();  // nor are fees or refunds a failed policy made
}

std::vector<ShipmentLine> Outcome::lines_of(uint32_t shipment) const {
  std::vector<ShipmentLine> out;
  for (const ShipmentLine& l : shipment_lines)
    if (l.shipment == shipment) out.push_back(l);
  return out;
}

std::vector<std::string> matched_rule_names(const check::CheckedBundle& b, const Outcome& o) {
  std::vector<std::string> out;
  const check::Policy* p = b.policy(o.policy);
  if (!p) return out;
  for (int i = 0; i < o.rules_evaluated && i < static_cast<int>(p->rules.size()); ++i)
    if (o.rule_matched(i)) out.push_back(p->rules[i].name);
  if (o.otherwise_evaluated) out.push_back("otherwise");
  return out;
}

std::string format_fact(const check::CheckedBundle& b, const check::Expr& atom, bool result,
                        const std::vector<std::pair<const check::Expr*, model::Value>>& operands) {
  std::string values;
  for (const auto& [x, v] : operands) {
    // Literals speak for themselves; records and lists are too big to show.
    if (x->kind == check::ExprKind::Literal || x->kind == check::ExprKind::List ||
        v.kind == model::Value::Kind::Record || v.kind == model::Value::Kind::List)
      continue;
    std::string shown = v.is_missing() ? "missing" : check::print_value(b, v);
    if (!values.empty()) values += ", ";
    values += fmt::format("{} = {}", b.source_text(x->range), shown);
  }
  return fmt::format("{}: {}{}", b.source_text(atom.range), result ? "true" : "false",
                     values.empty() ? "" : " (" + values + ")");
}

std::string format_quantifier_fact(const check::CheckedBundle& b, const check::Expr& e, bool result, uint64_t count,
                                   int64_t witness, const model::Value& element) {
  // A record by its SKU, id or name; a value by itself.
  std::string description = fmt::format("{} {}", e.name, witness + 1);
  if (element.kind == model::Value::Kind::Record) {
    model::RecordRef r(b.schema, static_cast<int>(element.aux), static_cast<const std::byte*>(element.ptr));
    for (const char* key : {"sku", "id", "name"}) {
      model::Value v = r.get(key);
      if (v.kind == model::Value::Kind::String) {
        description = fmt::format("{} {} ({})", e.name, witness + 1, v.as_string());
        break;
      }
    }
  } else if (!element.is_missing() && element.kind != model::Value::Kind::List) {
    description = fmt::format("{} = {}", e.name, check::print_value(b, element));
  }
  bool all = e.quantifier_all;
  std::string many = count == 1 ? e.name : e.name + "s";
  std::string why;
  if (!all) why = result ? description + " does" : fmt::format("none of the {} {} does", count, many);
  else why = result ? fmt::format("all {} {} do", count, many) : description + " does not";
  return fmt::format("{}: {} ({})", b.source_text(e.range), result ? "true" : "false", why);
}

std::string priority_name(const check::CheckedBundle& b, int64_t ordinal) {
  if (b.priority_enum < 0) return std::to_string(ordinal);
  const auto& values = b.schema.enum_def(b.priority_enum).values;
  return ordinal >= 0 && static_cast<size_t>(ordinal) < values.size() ? values[ordinal] : std::to_string(ordinal);
}

std::string delivery_name(const check::CheckedBundle& b, int64_t ordinal) {
  if (b.delivery_field < 0) return std::to_string(ordinal);
  const auto& values = b.schema.enum_def(b.schema.record_def(b.order_record).fields[b.delivery_field].type.ref).values;
  return ordinal >= 0 && static_cast<size_t>(ordinal) < values.size() ? values[ordinal] : std::to_string(ordinal);
}

namespace {

std::string decision_text(Verdict v, std::string_view reason) {
  std::string out = verdict_name(v);
  if (!reason.empty()) out += fmt::format(" \"{}\"", reason);
  return out;
}

}  // namespace

std::string line_sku(const check::CheckedBundle& b, const std::byte* order, size_t line) {
  if (!order || b.order_record < 0) return "";
  model::RecordRef o(b.schema, b.order_record, order);
  model::Value lines = o.get("lines");
  if (lines.kind != model::Value::Kind::List || line >= lines.size) return "";
  model::Value l = model::list_element(b.schema, lines, line);
  model::RecordRef r(b.schema, static_cast<int>(l.aux), static_cast<const std::byte*>(l.ptr));
  model::Value sku = r.get("sku");
  return sku.kind == model::Value::Kind::String ? std::string(sku.as_string()) : "";
}


std::string summary(const check::CheckedBundle& b, const Outcome& o) {
  if (o.verdict == Verdict::None) return "no decision";
  std::string out = decision_text(o.verdict, o.reason);
  if (o.hold_for) out += " for " + model::format_duration(*o.hold_for);
  if (o.timeout_verdict != Verdict::None)
    out += ", then " + decision_text(o.timeout_verdict, o.timeout_reason);
  if (o.verdict == Verdict::Route) {
    std::string nodes;
    for (const Shipment& s : o.shipments) nodes += (nodes.empty() ? "" : " + ") + std::string(s.node_id);
    out += " to " + nodes;
  }
  if (o.verdict == Verdict::Approve) {
    out += fmt::format(", refund {}", syntax::refund_timing_words(o.refund_timing));
    if (o.keep_item) out += ", keep item";
  }
  if (o.verdict == Verdict::Restock && !o.restock_node.empty()) out += fmt::format(" to {}", o.restock_node);
  if (o.reschedule_at) out += " to " + model::format_time(*o.reschedule_at);
  if (o.deciding_rule != -2) out += fmt::format(" (rule \"{}\")", o.deciding_rule_name);
  (void)b;
  return out;
}

nlohmann::ordered_json outcome_to_json(const check::CheckedBundle& b, const Outcome& o, const std::byte* order) {
  nlohmann::ordered_json j;
  if (order && b.order_record >= 0) {
    model::Value id = model::RecordRef(b.schema, b.order_record, order).get("id");
    if (id.kind == model::Value::Kind::String) j["order"] = std::string(id.as_string());
  }
  j["policy"] = check::policy_kind_name(o.policy);
  if (const check::Policy* p = b.policy(o.policy)) j["version"] = p->version;
  j["bundle"] = b.content_hash.substr(0, 12);
  j["decision"] = verdict_name(o.verdict);
  if (!o.reason.empty()) j["reason"] = std::string(o.reason);
  j["rule"] = o.deciding_rule == -2 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(std::string(o.deciding_rule_name));
  if (o.hold_for) j["hold_for"] = model::format_duration(*o.hold_for);
  if (o.timeout_verdict != Verdict::None) {
    nlohmann::ordered_json t = {{"decision", verdict_name(o.timeout_verdict)}};
    if (!o.timeout_reason.empty()) t["reason"] = std::string(o.timeout_reason);
    j["on_timeout"] = t;
  }
  if (o.priority) j["priority"] = priority_name(b, *o.priority);
  if (o.delivery)
    j["delivery"] = {{"to", delivery_name(b, *o.delivery)}, {"rule", std::string(o.delivery_rule)}};
  if (o.verdict == Verdict::Approve) {
    j["refund"] = syntax::refund_timing_words(o.refund_timing);
    if (o.keep_item) j["keep_item"] = true;
  }
  if (!o.restock_node.empty()) j["restock_to"] = std::string(o.restock_node);
  if (o.reschedule_at) j["reschedule_to"] = model::format_time(*o.reschedule_at);
  if (!o.refund_terms.empty()) {
    nlohmann::ordered_json terms = nlohmann::ordered_json::array();
    for (const RefundTerm& t : o.refund_terms) {
      nlohmann::ordered_json x = {{"term", refund_term_text(t)}, {"rule", std::string(t.rule)}};
      terms.push_back(x);
    }
    j["refund_terms"] = terms;
  }
  if (!o.tags.empty()) j["tags"] = o.tags;
  if (!o.notifications.empty()) {
    nlohmann::ordered_json ns = nlohmann::ordered_json::array();
    for (const Notification& n : o.notifications) {
      nlohmann::ordered_json x = {{"kind", n.escalation ? "escalate" : "notify"}, {"to", n.who}, {"rule", std::string(n.rule)}};
      if (n.priority) x["priority"] = priority_name(b, *n.priority);
      ns.push_back(x);
    }
    j["notifications"] = ns;
  }
  if (!o.shipments.empty()) {
    nlohmann::ordered_json ss = nlohmann::ordered_json::array();
    for (uint32_t i = 0; i < o.shipments.size(); ++i) {
      nlohmann::ordered_json lines = nlohmann::ordered_json::array();
      for (const ShipmentLine& l : o.lines_of(i))
        lines.push_back({{"line", l.line}, {"sku", line_sku(b, order, l.line)}, {"quantity", l.quantity}});
      ss.push_back({{"node", o.shipments[i].node_id}, {"lines", lines}});
    }
    j["shipments"] = ss;
  }
  if (o.policy_error) j["error"] = o.error;
  return j;
}

std::string explain_text(const check::CheckedBundle& b, const Outcome& o, const std::byte* order) {
  std::string out;
  const check::Policy* p = b.policy(o.policy);
  if (!p) return fmt::format("The bundle has no {} policy.\n", check::policy_kind_name(o.policy));
  out += fmt::format("{} policy \"{}\"", check::policy_kind_name(o.policy), p->title);
  if (!p->version.empty()) out += fmt::format(", version {}", p->version);
  out += fmt::format(" (bundle {})\n", b.content_hash.substr(0, 12));
  if (!o.trace.empty()) {
    for (const RuleTrace& t : o.trace) {
      std::string state = !t.error.empty() ? "could not finish"
                          : t.decided      ? "matched and decided"
                          : t.matched      ? (o.policy == PolicyKind::Routing ? "matched, did not decide" : "matched")
                                           : "no match";
      out += fmt::format("  {} rule \"{}\": {}\n", t.matched ? "+" : "-", t.name, state);
      for (const std::string& f : t.facts) out += "      " + f + "\n";
      if (!t.error.empty()) out += "      error: " + t.error + "\n";
    }
  } else {
    for (const std::string& name : matched_rule_names(b, o)) out += fmt::format("  + rule \"{}\": matched\n", name);
  }
  if (!o.nodes.empty()) {
    out += "  nodes:\n";
    for (const NodeTrace& n : o.nodes) {
      out += fmt::format("    {}: {}\n", n.node_id, n.status.empty() ? "passed the filter" : n.status);
      for (const std::string& f : n.facts) out += "        " + f + "\n";
    }
  }
  if (o.policy == PolicyKind::Escalation) {
    if (o.notifications.empty() && o.tags.empty()) out += "Nothing to escalate.\n";
  } else {
    out += "Decision: " + summary(b, o) + "\n";
  }
  for (uint32_t i = 0; i < o.shipments.size(); ++i) {
    std::string lines;
    for (const ShipmentLine& l : o.lines_of(i))
      lines += fmt::format("{}{} x {} (line {})", lines.empty() ? "" : ", ", line_sku(b, order, l.line), l.quantity,
                           l.line + 1);
    out += fmt::format("  ship from {}: {}\n", o.shipments[i].node_id, lines);
  }
  for (const RefundTerm& t : o.refund_terms)
    out += fmt::format("Refund: {} (rule \"{}\")\n", refund_term_text(t), t.rule);
  if (o.priority) out += "Priority: " + priority_name(b, *o.priority) + "\n";
  if (o.delivery)
    out += fmt::format("Delivery: set to {} (rule \"{}\")\n", delivery_name(b, *o.delivery), o.delivery_rule);
  if (!o.tags.empty()) {
    std::string tags;
    for (const auto& t : o.tags) tags += (tags.empty() ? "" : ", ") + t;
    out += "Tags: " + tags + "\n";
  }
  for (const Notification& n : o.notifications)
    out += fmt::format("{} {}{} (rule \"{}\")\n", n.escalation ? "Escalate to" : "Notify", n.who,
                       n.priority ? ", priority " + priority_name(b, *n.priority) : "", n.rule);
  if (o.policy_error) out += "Policy error: " + o.error + "\n";
  return out;
}

std::string compare_outcomes(const Outcome& a, const Outcome& b) {
  auto differ = [](const char* what, const std::string& x, const std::string& y) {
    return fmt::format("{} differs: {} vs {}", what, x, y);
  };
  if (a.verdict != b.verdict) return differ("decision", verdict_name(a.verdict), verdict_name(b.verdict));
  if (a.reason != b.reason) return differ("reason", std::string(a.reason), std::string(b.reason));
  if (a.hold_for != b.hold_for)
    return differ("hold time", a.hold_for ? std::to_string(*a.hold_for) : "none",
                  b.hold_for ? std::to_string(*b.hold_for) : "none");
  if (a.timeout_verdict != b.timeout_verdict || a.timeout_reason != b.timeout_reason)
    return differ("timeout", decision_text(a.timeout_verdict, a.timeout_reason),
                  decision_text(b.timeout_verdict, b.timeout_reason));
  if (a.deciding_rule != b.deciding_rule)
    return differ("deciding rule", std::string(a.deciding_rule_name), std::string(b.deciding_rule_name));
  if (a.policy_error != b.policy_error) return differ("policy error", a.error, b.error);
  if (a.priority != b.priority)
    return differ("priority", a.priority ? std::to_string(*a.priority) : "none",
                  b.priority ? std::to_string(*b.priority) : "none");
  if (a.delivery != b.delivery || a.delivery_rule != b.delivery_rule)
    return differ("delivery", a.delivery ? std::to_string(*a.delivery) + " by " + std::string(a.delivery_rule) : "none",
                  b.delivery ? std::to_string(*b.delivery) + " by " + std::string(b.delivery_rule) : "none");
  if (a.tags != b.tags) return "tags differ";
  if (a.refund_timing != b.refund_timing || a.keep_item != b.keep_item) return "the approval's refund differs";
  if (a.restock_node != b.restock_node)
    return differ("restock node", std::string(a.restock_node), std::string(b.restock_node));
  if (a.reschedule_at != b.reschedule_at) return "the reschedule time differs";
  if (a.refund_terms.size() != b.refund_terms.size()) return "refund terms differ";
  for (size_t i = 0; i < a.refund_terms.size(); ++i) {
    const RefundTerm &x = a.refund_terms[i], &y = b.refund_terms[i];
    if (x.kind != y.kind || x.label != y.label || x.value != y.value || x.currency != y.currency || x.rule != y.rule)
      return "refund terms differ";
  }
  if (a.notifications.size() != b.notifications.size()) return "notifications differ";
  for (size_t i = 0; i < a.notifications.size(); ++i) {
    const Notification &x = a.notifications[i], &y = b.notifications[i];
    if (x.escalation != y.escalation || x.who != y.who || x.priority != y.priority || x.rule != y.rule)
      return differ("notification", x.who, y.who);
  }
  auto nodes = [](const Outcome& o) {
    std::string out = "[";
    for (const Shipment& s : o.shipments) out += (out.size() > 1 ? ", " : "") + std::string(s.node_id);
    return out + "]";
  };
  if (a.shipments.size() != b.shipments.size()) return differ("shipments", nodes(a), nodes(b));
  for (size_t i = 0; i < a.shipments.size(); ++i)
    if (a.shipments[i].node_id != b.shipments[i].node_id) return differ("shipments", nodes(a), nodes(b));
  if (a.shipment_lines.size() != b.shipment_lines.size()) return "shipped lines differ";
  for (size_t i = 0; i < a.shipment_lines.size(); ++i) {
    const ShipmentLine &x = a.shipment_lines[i], &y = b.shipment_lines[i];
    if (x.shipment != y.shipment || x.line != y.line || x.quantity != y.quantity) return "shipped lines differ";
  }
  if (a.rules_evaluated != b.rules_evaluated || a.otherwise_evaluated != b.otherwise_evaluated)
    return differ("rules evaluated", std::to_string(a.rules_evaluated), std::to_string(b.rules_evaluated));
  for (int i = 0; i < a.rules_evaluated; ++i)
    if (a.rule_matched(i) != b.rule_matched(i))
      return differ(fmt::format("whether rule {} matched", i).c_str(), a.rule_matched(i) ? "yes" : "no",
                    b.rule_matched(i) ? "yes" : "no");
  if (a.error != b.error) return differ("error", a.error, b.error);
  // The explanation (TraceDetail::Values), fact by fact.
  if (a.trace.size() != b.trace.size())
    return differ("traced rules", std::to_string(a.trace.size()), std::to_string(b.trace.size()));
  for (size_t i = 0; i < a.trace.size(); ++i) {
    const RuleTrace &x = a.trace[i], &y = b.trace[i];
    std::string where = fmt::format("trace of rule \"{}\"", x.name);
    if (x.rule != y.rule || x.name != y.name) return differ("traced rule", x.name, y.name);
    if (x.matched != y.matched || x.decided != y.decided)
      return differ(where.c_str(), fmt::format("matched {} decided {}", x.matched, x.decided),
                    fmt::format("matched {} decided {}", y.matched, y.decided));
    if (x.error != y.error) return differ((where + ", error").c_str(), x.error, y.error);
    for (size_t f = 0; f < std::max(x.facts.size(), y.facts.size()); ++f) {
      std::string fx = f < x.facts.size() ? x.facts[f] : "(none)", fy = f < y.facts.size() ? y.facts[f] : "(none)";
      if (fx != fy) return differ((where + ", fact " + std::to_string(f + 1)).c_str(), fx, fy);
    }
  }
  if (a.nodes.size() != b.nodes.size())
    return differ("traced nodes", std::to_string(a.nodes.size()), std::to_string(b.nodes.size()));
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const NodeTrace &x = a.nodes[i], &y = b.nodes[i];
    std::string where = "trace of node " + x.node_id;
    if (x.node_id != y.node_id) return differ("traced node", x.node_id, y.node_id);
    if (x.status != y.status) return differ(where.c_str(), x.status, y.status);
    for (size_t f = 0; f < std::max(x.facts.size(), y.facts.size()); ++f) {
      std::string fx = f < x.facts.size() ? x.facts[f] : "(none)", fy = f < y.facts.size() ? y.facts[f] : "(none)";
      if (fx != fy) return differ((where + ", fact " + std::to_string(f + 1)).c_str(), fx, fy);
    }
  }
  return "";
}

}  // namespace orderflow::engine
