#include "runtime/engine/history.h"
#include "runtime/engine/refunds.h"

#include <fmt/format.h>

#include <map>

#include "compiler/model/value.h"

namespace orderflow::runtime {

namespace {

std::string units(const std::vector<Allocation>& list) {
  std::vector<std::string> parts;
  for (const Allocation& u : list) parts.push_back(fmt::format("{} x{} at {}", u.sku, u.quantity, u.node));
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::string notifications(const std::vector<journal::Notification>& list) {
  std::vector<std::string> parts;
  for (const journal::Notification& n : list)
    parts.push_back(fmt::format("{} {}{}", n.kind, n.to, n.priority.empty() ? "" : " (priority " + n.priority + ")"));
  return fmt::format("{}", fmt::join(parts, ", "));
}

struct Describe {
  std::string operator()(const journal::Received& r) const {
    return fmt::format("received from {} ({} order {}), decided by deployment {} (version {})", r.source, r.channel,
                       r.external_id, r.deployment, r.version.empty() ? "-" : r.version);
  }
  std::string operator()(const journal::StateChanged& s) const {
    std::string out = fmt::format("{}{}{}", s.from.empty() ? "enters " : s.from + " -> ", s.to,
                                  s.cause.empty() ? "" : " (" + s.cause + ")");
    // Where the units are, when they are not all in the order's state.
    std::vector<std::string> lines;
    bool split = false;
    for (size_t i = 0; i < s.lines.size(); ++i) {
      std::vector<std::string> parts;
      for (const LineState& part : s.lines[i]) {
        parts.push_back(fmt::format("{} {}", part.quantity, part.state));
        split |= part.state != s.to;
      }
      lines.push_back(fmt::format("line {}: {}", i + 1, fmt::join(parts, ", ")));  // from 1, as explain counts
    }
    if (split) out += fmt::format("; {}", fmt::join(lines, "; "));
    return out;
  }
  std::string operator()(const journal::Decided& d) const {
    std::string out = !d.return_id.empty() ? fmt::format("return {}, {} policy: {}", d.return_id, d.policy, d.decision)
                      : d.ndr_attempt     ? fmt::format("failed delivery {}, {} policy: {}", *d.ndr_attempt, d.policy, d.decision)
                                          : fmt::format("{} policy: {}", d.policy, d.decision);
    if (!d.reason.empty()) out += fmt::format(" \"{}\"", d.reason);
    if (d.reschedule_to) out += " to " + model::format_time(*d.reschedule_to);
    if (!d.refund.empty()) out += ", refund " + d.refund + (d.keep_item.value_or(false) ? ", keep item" : "");
    if (!d.restock_to.empty()) out += " to " + d.restock_to;
    if (d.hold_for) out += " for " + model::format_duration(*d.hold_for);
    if (d.until) out += " (until " + model::format_time(*d.until) + ")";  // `until next 07:00` reads as a moment
    if (!d.on_timeout.empty()) out += ", then " + d.on_timeout;
    out += d.rule                    ? fmt::format(" by rule \"{}\"", *d.rule)
           : !d.decided_by.empty() ? fmt::format(" decided by {}", d.decided_by)
                                   : " (no rule decided)";
    out += fmt::format("; deployment {}, version {}", d.deployment, d.version.empty() ? "-" : d.version);
    if (d.policy == "routing") {
      // A routing rule whose condition held may still have found no node:
      // it tried and did not route, so it is not one that matched.
      std::vector<std::string> tried;
      for (const std::string& rule : d.matched)
        if (rule != d.rule) tried.push_back(rule);
      if (!tried.empty()) out += fmt::format("; tried without a route: {}", fmt::join(tried, ", "));
    } else if (!d.matched.empty()) {
      out += fmt::format("; rules matched: {}", fmt::join(d.matched, ", "));
    }
    if (!d.priority.empty()) out += "; priority " + d.priority;
    if (!d.delivery.empty())
      out += fmt::format("; delivery changed from {} to {} by rule \"{}\"",
                         d.delivery_was.empty() ? "none" : d.delivery_was, d.delivery, d.delivery_rule);
    if (!d.tags.empty()) out += fmt::format("; tagged {}", fmt::join(d.tags, ", "));
    for (const journal::Shipment& s : d.shipments) {
      std::vector<std::string> parts;
      for (const journal::ShipmentLine& l : s.lines) parts.push_back(fmt::format("{} x{}", l.sku, l.quantity));
      out += fmt::format("; ship {} from {}", fmt::join(parts, ", "), s.node);
    }
    for (const std::string& term : d.refund_terms)
      if (auto fee = decode_fee(term)) out += "; " + fee_text(*fee);
    if (!d.error.empty()) out += "; error: " + d.error;
    return out;
  }
  std::string operator()(const journal::OrderUpdated& u) const {
    return fmt::format("the channel changed the order: {}", fmt::join(u.changes, "; "));
  }
  std::string operator()(const journal::ExchangeOpened& x) const {
    return fmt::format("return {}: its exchange is order {}", x.return_id, x.order_id);
  }
  std::string operator()(const journal::ReturnRequested& r) const {
    std::vector<std::string> parts;
    for (const auto& [line, quantity] : r.lines) parts.push_back(fmt::format("line {} x{}", line + 1, quantity));
    std::string out = fmt::format("{} {} asked for: {} ({})", r.kind == "rto" ? "return to origin" : "return", r.return_id,
                                  fmt::join(parts, ", "), r.reason);
    if (!r.exchange.empty()) {
      std::vector<std::string> wanted;
      for (const auto& [sku, quantity] : r.exchange) wanted.push_back(fmt::format("{} x{}", sku, quantity));
      out += fmt::format(", in exchange for {}", fmt::join(wanted, ", "));
    }
    if (!r.by.empty()) out += " by " + r.by;
    return out;
  }
  std::string operator()(const journal::NdrReported& n) const {
    std::string out = fmt::format("delivery attempt {} failed: {}", n.attempt, n.reason);
    if (!n.carrier.empty()) out += " (" + n.carrier + ")";
    if (!n.by.empty()) out += " by " + n.by;
    if (!n.event_id.empty()) out += fmt::format(" (event id {})", n.event_id);
    return out;
  }
  std::string operator()(const journal::ReturnChanged& c) const {
    return fmt::format("return {}: {} -> {}{}", c.return_id, c.from, c.to, c.cause.empty() ? "" : " (" + c.cause + ")");
  }
  std::string operator()(const journal::UnitGraded& g) const {
    return fmt::format("return {}: a unit of {} (line {}) graded {}, {}", g.return_id, g.sku, g.line + 1, g.grade,
                       g.reason);
  }
  std::string operator()(const journal::Refunded& f) const {
    return fmt::format("return {}: refunded {}: {}", f.return_id, f.amount, fmt::join(f.arithmetic, "; "));
  }
  std::string operator()(const journal::EventApplied& e) const {
    std::string out = fmt::format("event {}", e.event);
    if (!e.by.empty()) out += " by " + e.by;
    if (!e.event_id.empty()) out += fmt::format(" (event id {})", e.event_id);
    if (!e.reason.empty()) out += fmt::format(": \"{}\"", e.reason);
    if (!e.node.empty()) out += " at node " + e.node;
    if (!e.carrier.empty()) out += " with " + e.carrier;
    if (!e.tracking_number.empty()) out += ", tracking " + e.tracking_number;
    if (!e.initiator.empty()) out += fmt::format(" (wanted by the {})", e.initiator);
    if (!e.lines.empty()) {
      std::vector<std::string> parts;
      for (const journal::LineRef& l : e.lines)
        parts.push_back(fmt::format("{} x{}", l.line ? fmt::format("line {}", *l.line + 1) : !l.sku.empty() ? l.sku : "line " + l.id,
                                    l.quantity));
      out += fmt::format(" on {}", fmt::join(parts, ", "));
    }
    if (!e.set.empty()) out += " setting " + e.set;
    return out;
  }
  std::string operator()(const journal::Escalated& e) const {
    std::string out = fmt::format("escalation rules {}: {}", fmt::join(e.rules, ", "), notifications(e.notifications));
    if (!e.priority.empty()) out += "; priority " + e.priority;
    if (!e.tags.empty()) out += fmt::format("; tagged {}", fmt::join(e.tags, ", "));
    if (!e.error.empty()) out += "; error: " + e.error;
    return out;
  }
  std::string operator()(const journal::TimerSet& t) const {
    return fmt::format("timer {} set ({}), due {}", t.id, t.kind, model::format_time(t.due));
  }
  std::string operator()(const journal::TimerFired& t) const {
    std::string out = fmt::format("timer {} fired ({})", t.id, t.kind);
    if (t.late_ms > 0) out += fmt::format(", {} after it was due", model::format_duration(t.late_ms));
    if (t.stale) out += ", no longer relevant";
    return out;
  }
  std::string operator()(const journal::TimerCancelled& t) const {
    return fmt::format("timer {} cancelled ({})", t.id, t.kind);
  }
  std::string operator()(const journal::Refused& r) const {
    return fmt::format("refused event {}: {}", r.event, r.error);
  }
  std::string operator()(const journal::Migrated& m) const {
    return fmt::format("moved from deployment {} to {}", m.from, m.to);
  }
  std::string operator()(const journal::Reserved& r) const { return "reserved " + units(r.units); }
  std::string operator()(const journal::StockSettled& s) const {
    std::vector<std::string> parts;
    if (!s.released.empty()) parts.push_back("released " + units(s.released));
    if (!s.consumed.empty()) parts.push_back("shipped " + units(s.consumed));
    if (!s.exclude_node.empty()) parts.push_back(fmt::format("{} left out of routing", s.exclude_node));
    return fmt::format("{}", fmt::join(parts, "; "));
  }
};

std::optional<int64_t> happened_at(const journal::Entry& entry) {
  if (auto* e = std::get_if<journal::EventApplied>(&entry)) return e->happened_at;
  if (auto* r = std::get_if<journal::Refused>(&entry)) return r->happened_at;
  return std::nullopt;
}

// A stored trace (written before explanations were derived) as lines.
std::vector<std::string> stored_trace_lines(const std::string& text, const std::string& indent) {
  std::vector<std::string> out;
  nlohmann::json trace = nlohmann::json::parse(text, nullptr, false);
  if (!trace.is_object()) return out;
  for (const auto& r : trace.value("rules", nlohmann::json::array())) {
    out.push_back(fmt::format("{}{} rule \"{}\"{}", indent, r.value("matched", false) ? "+" : "-", r.value("rule", ""),
                              r.value("decided", false) ? ": decided" : ""));
    for (const auto& f : r.value("facts", nlohmann::json::array()))
      if (f.is_string()) out.push_back(indent + "    " + f.get<std::string>());
    if (r.contains("error")) out.push_back(indent + "    error: " + r.value("error", ""));
  }
  for (const auto& n : trace.value("nodes", nlohmann::json::array())) {
    out.push_back(fmt::format("{}node {}: {}", indent, n.value("node", ""), n.value("status", "")));
    for (const auto& f : n.value("facts", nlohmann::json::array()))
      if (f.is_string()) out.push_back(indent + "    " + f.get<std::string>());
  }
  return out;
}

nlohmann::ordered_json trace_json(const engine::Outcome& out) {
  nlohmann::ordered_json rules = nlohmann::ordered_json::array();
  for (const engine::RuleTrace& t : out.trace) {
    nlohmann::ordered_json r = {{"rule", t.name}, {"matched", t.matched}, {"decided", t.decided}, {"facts", t.facts}};
    if (!t.error.empty()) r["error"] = t.error;
    rules.push_back(std::move(r));
  }
  nlohmann::ordered_json trace = {{"rules", std::move(rules)}};
  if (!out.nodes.empty()) {
    nlohmann::ordered_json nodes = nlohmann::ordered_json::array();
    for (const engine::NodeTrace& n : out.nodes)
      nodes.push_back({{"node", n.node_id}, {"status", n.status}, {"facts", n.facts}});
    trace["nodes"] = std::move(nodes);
  }
  return trace;
}

}  // namespace

std::string describe_entry(const journal::Entry& entry) { return std::visit(Describe{}, entry); }

std::string lateness(const journal::Entry& entry, int64_t applied_at) {
  std::optional<int64_t> happened = happened_at(entry);
  if (!happened || *happened >= applied_at) return "";
  return fmt::format("happened {}, applied {} later", model::format_time(*happened),
                     model::format_duration(applied_at - *happened));
}

std::vector<std::string> explanation_lines(const Explanation& e, const journal::Decided& decided,
                                           const std::string& indent) {
  if (!decided.stored_trace.empty()) return stored_trace_lines(decided.stored_trace, indent);
  std::vector<std::string> out;
  if (!e.available) {
    out.push_back(indent + "(no explanation: " + e.why_not + ")");
    return out;
  }
  if (!e.mismatch.empty()) out.push_back(indent + "warning: " + e.mismatch);
  for (const engine::RuleTrace& t : e.outcome.trace) {
    out.push_back(fmt::format("{}{} rule \"{}\"{}", indent, t.matched ? "+" : "-", t.name, t.decided ? ": decided" : ""));
    for (const std::string& f : t.facts) out.push_back(indent + "    " + f);
    if (!t.error.empty()) out.push_back(indent + "    error: " + t.error);
  }
  for (const engine::NodeTrace& n : e.outcome.nodes) {
    out.push_back(fmt::format("{}node {}: {}", indent, n.node_id, n.status.empty() ? "passed the filter" : n.status));
    for (const std::string& f : n.facts) out.push_back(indent + "    " + f);
  }
  return out;
}

nlohmann::ordered_json return_json(const StoredOrder& order, const OrderReturn& r) {
  nlohmann::json sold = nlohmann::json::parse(order.order, nullptr, false);
  const nlohmann::json no_lines = nlohmann::json::array();
  const nlohmann::json& lines = sold.is_object() && sold.contains("lines") ? sold["lines"] : no_lines;
  nlohmann::ordered_json out = {{"order", order.order_id}, {"channel", order.channel}, {"return", r.id},
                                {"kind", r.kind},          {"reason", r.reason},     {"state", r.state}};
  nlohmann::ordered_json taken = nlohmann::ordered_json::array();
  for (const auto& [line, quantity] : r.lines) {
    nlohmann::ordered_json l = {{"line", line}};
    if (line >= 0 && static_cast<size_t>(line) < lines.size() && lines[static_cast<size_t>(line)].is_object())
      l["sku"] = lines[static_cast<size_t>(line)].value("sku", "");
    l["quantity"] = quantity;
    taken.push_back(std::move(l));
  }
  out["lines"] = std::move(taken);
  if (!r.refund.empty()) out["refund"] = r.refund;
  if (r.keep_item) out["keep_item"] = true;
  nlohmann::ordered_json units = nlohmann::ordered_json::array();
  for (const ReturnedUnit& u : r.units) {
    nlohmann::ordered_json unit = {{"line", u.line}, {"sku", u.sku}, {"grade", u.grade}, {"reason", u.reason}};
    if (!u.disposition.empty()) unit["disposition"] = u.disposition;
    if (!u.node.empty()) unit["node"] = u.node;
    units.push_back(std::move(unit));
  }
  if (!units.empty()) out["units"] = std::move(units);
  if (!r.refunded.empty()) out["refunded"] = r.refunded;
  if (r.refunded_shipping) out["refunded_shipping"] = true;
  for (const Exchange& x : order.exchanges) {
    if (x.return_id != r.id) continue;
    nlohmann::ordered_json wanted = nlohmann::ordered_json::array();
    for (const auto& [sku, quantity] : x.lines) wanted.push_back({{"sku", sku}, {"quantity", quantity}});
    out["exchange"] = std::move(wanted);
    if (!x.order_id.empty()) out["exchange_order"] = x.order_id;
  }
  return out;
}

nlohmann::ordered_json history_json(Store& store, const std::string& order_id, const std::optional<StoredOrder>& order,
                                    const std::vector<journal::Record>& records, bool explain) {
  nlohmann::ordered_json out;
  out["order"] = order_id;
  if (order) {
    out["channel"] = order->channel;
    out["external_id"] = order->external_id;
    out["state"] = order->state;
    out["state_since"] = model::format_time(order->state_since);
    out["deployment"] = order->deployment;
    if (order->hold) {
      nlohmann::ordered_json hold = {{"reason", order->hold->reason}, {"rule", order->hold->rule}};
      if (order->hold->until) hold["until"] = model::format_time(*order->hold->until);
      if (!order->hold->on_timeout.empty()) hold["on_timeout"] = order->hold->on_timeout;
      out["hold"] = std::move(hold);
    }
    if (!order->priority.empty()) out["priority"] = order->priority;
    if (!order->tags.empty()) out["tags"] = order->tags;
    if (!order->carrier.empty()) out["carrier"] = order->carrier;
    if (!order->tracking_number.empty()) out["tracking_number"] = order->tracking_number;
    if (order->ndr_attempts > 0) out["failed_deliveries"] = order->ndr_attempts;
    if (!order->returns.empty()) {
      nlohmann::ordered_json returns = nlohmann::ordered_json::array();
      for (const OrderReturn& r : order->returns) returns.push_back(return_json(*order, r));
      out["returns"] = std::move(returns);
    }
  }
  std::map<int64_t, std::string> content;
  auto content_of = [&](int64_t deployment) -> const std::string& {
    auto it = content.find(deployment);
    if (it == content.end()) {
      std::optional<Deployment> d = store.deployments().get(deployment);
      it = content.emplace(deployment, d ? d->content_hash : "").first;
    }
    return it->second;
  };
  Explainer explainer(store);
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (size_t r = 0; r < records.size(); ++r) {
    const journal::Record& record = records[r];
    for (size_t e = 0; e < record.entries.size(); ++e) {
      const journal::Entry& entry = record.entries[e];
      nlohmann::ordered_json body = journal::to_json(entry);
      if (auto* d = std::get_if<journal::Decided>(&entry)) {
        body["content_hash"] = content_of(d->deployment);
        if (explain && d->stored_trace.empty()) {
          Explanation x = explainer.explain(records, r, e);
          if (x.available) body["trace"] = trace_json(x.outcome);
          else body["trace_unavailable"] = x.why_not;
          if (!x.mismatch.empty()) body["trace_warning"] = x.mismatch;
        }
        body.erase("stock_seen");
        body.erase("excluded");
        body.erase("explainable");
        if (!explain) body.erase("trace");
      }
      list.push_back({{"seq", record.seq}, {"at", model::format_time(record.at)}, {"kind", journal::kind_name(entry)},
                      {"body", std::move(body)}});
    }
  }
  out["history"] = std::move(list);
  return out;
}

}  // namespace orderflow::runtime
