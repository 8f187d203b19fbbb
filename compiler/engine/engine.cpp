#include "compiler/engine/engine.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

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
  }
  return Verdict::None;
}

namespace {

std::string priority_name(const check::CheckedBundle& b, int64_t ordinal) {
  if (b.priority_enum < 0) return std::to_string(ordinal);
  const auto& values = b.schema.enum_def(b.priority_enum).values;
  return ordinal >= 0 && static_cast<size_t>(ordinal) < values.size() ? values[ordinal] : std::to_string(ordinal);
}

std::string decision_text(Verdict v, const std::string& reason) {
  std::string out = verdict_name(v);
  if (!reason.empty()) out += fmt::format(" \"{}\"", reason);
  return out;
}

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

}  // namespace

std::string summary(const check::CheckedBundle& b, const Outcome& o) {
  if (o.verdict == Verdict::None) return "no decision";
  std::string out = decision_text(o.verdict, o.reason);
  if (o.hold_for) out += " for " + model::format_duration(*o.hold_for);
  if (o.timeout_verdict != Verdict::None)
    out += ", then " + decision_text(o.timeout_verdict, o.timeout_reason);
  if (o.verdict == Verdict::Route) {
    std::string nodes;
    for (const Shipment& s : o.shipments) nodes += (nodes.empty() ? "" : " + ") + s.node_id;
    out += " to " + nodes;
  }
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
  if (!o.reason.empty()) j["reason"] = o.reason;
  j["rule"] = o.deciding_rule == -2 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(o.deciding_rule_name);
  if (o.hold_for) j["hold_for"] = model::format_duration(*o.hold_for);
  if (o.timeout_verdict != Verdict::None) {
    nlohmann::ordered_json t = {{"decision", verdict_name(o.timeout_verdict)}};
    if (!o.timeout_reason.empty()) t["reason"] = o.timeout_reason;
    j["on_timeout"] = t;
  }
  if (o.priority) j["priority"] = priority_name(b, *o.priority);
  if (!o.tags.empty()) j["tags"] = o.tags;
  if (!o.notifications.empty()) {
    nlohmann::ordered_json ns = nlohmann::ordered_json::array();
    for (const Notification& n : o.notifications) {
      nlohmann::ordered_json x = {{"kind", n.escalation ? "escalate" : "notify"}, {"to", n.who}, {"rule", n.rule}};
      if (n.priority) x["priority"] = priority_name(b, *n.priority);
      ns.push_back(x);
    }
    j["notifications"] = ns;
  }
  if (!o.shipments.empty()) {
    nlohmann::ordered_json ss = nlohmann::ordered_json::array();
    for (const Shipment& s : o.shipments) {
      nlohmann::ordered_json lines = nlohmann::ordered_json::array();
      for (const auto& [line, qty] : s.lines) lines.push_back({{"line", line}, {"sku", line_sku(b, order, line)}, {"quantity", qty}});
      ss.push_back({{"node", s.node_id}, {"lines", lines}});
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
  for (const RuleTrace& t : o.trace) {
    std::string state = !t.error.empty() ? "could not finish"
                        : t.decided      ? "matched and decided"
                        : t.matched      ? (o.policy == PolicyKind::Routing && !t.name.empty() ? "matched, did not decide" : "matched")
                                         : "no match";
    out += fmt::format("  {} rule \"{}\": {}\n", t.matched ? "+" : "-", t.name, state);
    for (const std::string& f : t.facts) out += "      " + f + "\n";
    if (!t.error.empty()) out += "      error: " + t.error + "\n";
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
  if (!o.shipments.empty()) {
    for (const Shipment& s : o.shipments) {
      std::string lines;
      for (const auto& [line, qty] : s.lines)
        lines += fmt::format("{}{} x {} (line {})", lines.empty() ? "" : ", ", line_sku(b, order, line), qty, line + 1);
      out += fmt::format("  ship from {}: {}\n", s.node_id, lines);
    }
  }
  if (o.priority) out += "Priority: " + priority_name(b, *o.priority) + "\n";
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
  if (a.reason != b.reason) return differ("reason", a.reason, b.reason);
  if (a.hold_for != b.hold_for)
    return differ("hold time", a.hold_for ? std::to_string(*a.hold_for) : "none",
                  b.hold_for ? std::to_string(*b.hold_for) : "none");
  if (a.timeout_verdict != b.timeout_verdict || a.timeout_reason != b.timeout_reason)
    return differ("timeout", decision_text(a.timeout_verdict, a.timeout_reason),
                  decision_text(b.timeout_verdict, b.timeout_reason));
  if (a.deciding_rule != b.deciding_rule) return differ("deciding rule", a.deciding_rule_name, b.deciding_rule_name);
  if (a.policy_error != b.policy_error) return differ("policy error", a.error, b.error);
  if (a.priority != b.priority)
    return differ("priority", a.priority ? std::to_string(*a.priority) : "none",
                  b.priority ? std::to_string(*b.priority) : "none");
  if (a.tags != b.tags) return "tags differ";
  if (a.notifications.size() != b.notifications.size()) return "notifications differ";
  for (size_t i = 0; i < a.notifications.size(); ++i) {
    const Notification &x = a.notifications[i], &y = b.notifications[i];
    if (x.escalation != y.escalation || x.who != y.who || x.priority != y.priority || x.rule != y.rule)
      return differ("notification", x.who, y.who);
  }
  if (a.shipments.size() != b.shipments.size()) return "shipments differ";
  for (size_t i = 0; i < a.shipments.size(); ++i)
    if (a.shipments[i].node_id != b.shipments[i].node_id || a.shipments[i].lines != b.shipments[i].lines)
      return differ("shipment", a.shipments[i].node_id, b.shipments[i].node_id);
  if (a.trace.size() != b.trace.size())
    return differ("rules evaluated", std::to_string(a.trace.size()), std::to_string(b.trace.size()));
  for (size_t i = 0; i < a.trace.size(); ++i)
    if (a.trace[i].rule != b.trace[i].rule || a.trace[i].matched != b.trace[i].matched ||
        a.trace[i].decided != b.trace[i].decided)
      return differ("trace of rule", a.trace[i].name, b.trace[i].name);
  return "";
}

}  // namespace orderflow::engine
