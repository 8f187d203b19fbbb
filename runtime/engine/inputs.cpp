#include "runtime/engine/inputs.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "compiler/model/value.h"
#include "runtime/canonical/json_parse.h"

namespace orderflow::runtime {

namespace {

struct Malformed {
  std::string message;
};

std::string text_field(const nlohmann::json& j, const char* key, bool required, const char* what) {
  if (!j.contains(key) || j[key].is_null()) {
    if (required) throw Malformed{fmt::format("$.{}: expected {}", key, what)};
    return "";
  }
  if (!j[key].is_string()) throw Malformed{fmt::format("$.{}: expected {} as text", key, what)};
  return j[key].get<std::string>();
}

std::optional<int64_t> whole_number(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  if (!j[key].is_number_integer()) throw Malformed{fmt::format("$.{}: expected a whole number", key)};
  return j[key].get<int64_t>();
}

// `"lines": [{"line" | "sku" | "id": ..., "quantity": n}]`: units of lines.
// `every_unit_when_unsaid`: a line without a quantity means all its units
// (quantity 0), as a return takes them.
std::vector<journal::LineRef> read_lines(const nlohmann::json& given, bool every_unit_when_unsaid = false) {
  if (!given.is_array()) throw Malformed{"$.lines: expected a list of {\"line\" or \"sku\" or \"id\", \"quantity\"}"};
  std::vector<journal::LineRef> out;
  for (size_t i = 0; i < given.size(); ++i) {
    const nlohmann::json& g = given[i];
    if (!g.is_object()) throw Malformed{fmt::format("$.lines[{}]: expected {{\"line\" or \"sku\" or \"id\", \"quantity\"}}", i)};
    journal::LineRef ref;
    if (g.contains("line")) {
      if (!g["line"].is_number_integer() || g["line"].get<int64_t>() < 0)
        throw Malformed{fmt::format("$.lines[{}].line: expected the line's index, from 0", i)};
      ref.line = g["line"].get<int64_t>();
    }
    if (g.contains("sku")) {
      if (!g["sku"].is_string()) throw Malformed{fmt::format("$.lines[{}].sku: expected text", i)};
      ref.sku = g["sku"].get<std::string>();
    }
    if (g.contains("id")) ref.id = g["id"].is_string() ? g["id"].get<std::string>() : g["id"].dump();
    if (!ref.line && ref.sku.empty() && ref.id.empty())
      throw Malformed{fmt::format("$.lines[{}]: name the line by \"line\" (its index), \"sku\" or \"id\"", i)};
    bool unsaid = !g.contains("quantity") || g["quantity"].is_null();
    if (!(unsaid && every_unit_when_unsaid)) {
      if (unsaid || !g["quantity"].is_number_integer() || g["quantity"].get<int64_t>() <= 0)
        throw Malformed{fmt::format("$.lines[{}].quantity: expected a positive number", i)};
      ref.quantity = g["quantity"].get<int64_t>();
    }
    out.push_back(std::move(ref));
  }
  return out;
}

ReturnRequest read_return(const nlohmann::json& j) {
  ReturnRequest r;
  r.order_id = text_field(j, "order_id", true, "the order's id");
  r.return_id = text_field(j, "return_id", false, "the return's id");
  r.reason = text_field(j, "reason", false, "why it comes back (size, defective, ...)");
  if (r.reason.empty()) r.reason = "other";
  r.event_id = text_field(j, "event_id", false, "an id");
  r.by = text_field(j, "by", false, "who sent it");
  if (!j.contains("lines")) throw Malformed{"$.lines: expected the units coming back, [{\"id\": \"1\", \"quantity\": 1}]"};
  r.lines = read_lines(j["lines"], true);
  if (r.lines.empty()) throw Malformed{"$.lines: a return takes back at least one unit"};
  if (j.contains("exchange") && !j["exchange"].is_null()) {
    const nlohmann::json& wanted = j["exchange"];
    if (!wanted.is_array() || wanted.empty())
      throw Malformed{"$.exchange: expected what the customer wants instead, [{\"sku\": \"KURTA-L\", \"quantity\": 1}]"};
    for (size_t i = 0; i < wanted.size(); ++i) {
      const nlohmann::json& w = wanted[i];
      if (!w.is_object() || !w.contains("sku") || !w["sku"].is_string() || w["sku"].get<std::string>().empty())
        throw Malformed{fmt::format("$.exchange[{}].sku: expected the SKU the customer wants", i)};
      if (!w.contains("quantity") || !w["quantity"].is_number_integer() || w["quantity"].get<int64_t>() <= 0)
        throw Malformed{fmt::format("$.exchange[{}].quantity: expected a positive number", i)};
      r.exchange.emplace_back(w["sku"].get<std::string>(), w["quantity"].get<int64_t>());
    }
  }
  r.approved_by = text_field(j, "approved_by", false, "the channel that approved it");
  if (j.contains("refunded") && !j["refunded"].is_null()) {
    const nlohmann::json& m = j["refunded"];
    auto text = [&](const char* key) {
      return m.is_object() && m.contains(key) && m[key].is_string() ? m[key].get<std::string>() : std::string();
    };
    std::optional<int64_t> amount = model::parse_decimal(text("amount"));
    std::optional<model::CurrencyCode> currency = model::currency_from_code(text("currency"));
    if (!amount || !currency || *amount < 0)
      throw Malformed{"$.refunded: expected what the channel refunded, {\"amount\": \"209.00\", \"currency\": \"USD\"}"};
    r.refunded = model::format_money(*amount, *currency);
  }
  return r;
}

GradeInput read_grade(const nlohmann::json& j) {
  GradeInput g;
  g.order_id = text_field(j, "order_id", true, "the order's id");
  g.return_id = text_field(j, "return_id", false, "the return's id");
  g.event_id = text_field(j, "event_id", false, "an id");
  g.by = text_field(j, "by", false, "who inspected them");
  if (!j.contains("units") || !j["units"].is_array() || j["units"].empty())
    throw Malformed{"$.units: expected the units inspected, [{\"grade\": \"A\"}, {\"grade\": \"C\", \"reason\": \"defective\"}]"};
  for (size_t i = 0; i < j["units"].size(); ++i) {
    const nlohmann::json& u = j["units"][i];
    if (!u.is_object() || !u.contains("grade") || !u["grade"].is_string())
      throw Malformed{fmt::format("$.units[{}].grade: expected a grade such as \"A\"", i)};
    std::string reason;
    if (u.contains("reason")) {
      if (!u["reason"].is_string()) throw Malformed{fmt::format("$.units[{}].reason: expected text", i)};
      reason = u["reason"].get<std::string>();
    }
    g.units.emplace_back(u["grade"].get<std::string>(), reason);
  }
  return g;
}

NdrInput read_ndr(const nlohmann::json& j) {
  NdrInput n;
  n.order_id = text_field(j, "order_id", true, "the order's id");
  n.reason = text_field(j, "reason", true, "why the delivery failed (customer_unavailable, refused, ...)");
  n.attempt = whole_number(j, "attempt");
  if (n.attempt && *n.attempt < 1) throw Malformed{"$.attempt: expected the failed attempt's number, from 1"};
  n.carrier = text_field(j, "carrier", false, "the courier's name");
  n.event_id = text_field(j, "event_id", false, "an id");
  n.by = text_field(j, "by", false, "who sent it");
  return n;
}

PersonDecision read_person_decision(const nlohmann::json& j, bool about_return) {
  PersonDecision d;
  d.about_return = about_return;
  d.order_id = text_field(j, "order_id", true, "the order's id");
  d.return_id = about_return ? text_field(j, "return_id", false, "the return's id") : "";
  d.by = text_field(j, "by", true, "who decided");
  if (d.by.empty()) throw Malformed{"$.by: say who decided"};
  d.event_id = text_field(j, "event_id", false, "an id");
  d.reason = text_field(j, "reason", false, "a reason");
  const std::vector<std::string> allowed = about_return ? std::vector<std::string>{"approve", "reject"}
                                                        : std::vector<std::string>{"reattempt", "reschedule", "return_to_origin"};
  d.decision = text_field(j, "decision", true, about_return ? "the decision: approve or reject"
                                                            : "the decision: reattempt, reschedule or return_to_origin");
  if (std::find(allowed.begin(), allowed.end(), d.decision) == allowed.end())
    throw Malformed{fmt::format("$.decision: expected {}, not \"{}\"", fmt::join(allowed, ", "), d.decision)};
  if (about_return) {
    d.refund = text_field(j, "refund", false, "when the money goes back: now, after receipt or after inspection");
    if (!d.refund.empty() && d.refund != "now" && d.refund != "after receipt" && d.refund != "after inspection")
      throw Malformed{fmt::format("$.refund: expected now, after receipt or after inspection, not \"{}\"", d.refund)};
    if (d.decision == "reject" && d.reason.empty())
      throw Malformed{"$.reason: a rejected return says why, for the customer"};
  } else if (d.decision == "reschedule") {
    std::string to = text_field(j, "to", true, "when to deliver again, a time");
    d.reschedule_to = model::parse_time(to);
    if (!d.reschedule_to) throw Malformed{"$.to: expected a time such as \"2026-12-08T10:00:00+05:30\""};
  }
  return d;
}

OrderEvent read_event(const nlohmann::json& j) {
  OrderEvent e;
  e.order_id = text_field(j, "order_id", true, "the order's id");
  e.event = text_field(j, "event", true, "the event's name");
  e.event_id = text_field(j, "event_id", false, "an id");
  e.by = text_field(j, "by", false, "who sent it");
  e.reason = text_field(j, "reason", false, "a reason");
  e.node = text_field(j, "node", false, "the node's id");
  e.carrier = text_field(j, "carrier", false, "the carrier's name");
  e.tracking_number = text_field(j, "tracking_number", false, "the tracking number");
  e.initiator = text_field(j, "initiator", false, "who wanted it: buyer, seller, marketplace or system");
  e.return_id = text_field(j, "return_id", false, "the return's id");
  if (!e.initiator.empty() && e.initiator != "buyer" && e.initiator != "seller" && e.initiator != "marketplace" &&
      e.initiator != "system")
    throw Malformed{fmt::format("$.initiator: expected buyer, seller, marketplace or system, not \"{}\"", e.initiator)};
  if (j.contains("lines")) e.lines = read_lines(j["lines"]);
  if (j.contains("set")) {
    if (!j["set"].is_object()) throw Malformed{"$.set: expected an object of order fields"};
    e.set = j["set"];
  }
  return e;
}

StockInput read_stock(const nlohmann::json& j) {
  StockInput s;
  s.node = text_field(j, "node", true, "the node's id");
  s.sku = text_field(j, "sku", true, "the SKU");
  if (s.node.empty()) throw Malformed{"$.node: expected the node's id"};
  if (s.sku.empty()) throw Malformed{"$.sku: expected the SKU"};
  s.on_hand = whole_number(j, "on_hand");
  s.received = whole_number(j, "received");
  s.adjust = whole_number(j, "adjust");
  s.safety_stock = whole_number(j, "safety_stock");
  s.reason = text_field(j, "reason", false, "a reason");
  s.event_id = text_field(j, "event_id", false, "an id");
  int given = (s.on_hand ? 1 : 0) + (s.received ? 1 : 0) + (s.adjust ? 1 : 0);
  if (given == 0 && !s.safety_stock) throw Malformed{"expected one of on_hand, received, adjust or safety_stock"};
  if (given > 1) throw Malformed{"give one of on_hand, received or adjust, not several"};
  if (s.on_hand && *s.on_hand < 0) throw Malformed{"$.on_hand: cannot be negative"};
  if (s.received && *s.received <= 0) throw Malformed{"$.received: expected a positive number of units"};
  if (s.safety_stock && *s.safety_stock < 0) throw Malformed{"$.safety_stock: cannot be negative"};
  return s;
}

}  // namespace

std::optional<int64_t> stated_time(const nlohmann::json& json) {
  if (!json.is_object()) return std::nullopt;
  const nlohmann::json* when = json.contains("at") ? &json["at"] : nullptr;
  if (!when && json.value("type", "order") == "order") {
    const nlohmann::json& order = json.contains("order") ? json["order"] : json;
    if (order.is_object() && order.contains("placed_at")) when = &order["placed_at"];
  }
  if (!when || !when->is_string()) return std::nullopt;
  return model::parse_time(when->get<std::string>());
}

Input read_input(const nlohmann::json& json, std::string source) {
  Input input;
  input.source = std::move(source);
  try {
    if (!json.is_object()) throw Malformed{"$: expected a JSON object"};
    if (json.contains("at") && !json["at"].is_null()) {
      if (!json["at"].is_string()) throw Malformed{"$.at: expected a time such as \"2026-11-20T10:15:00Z\""};
      input.at = model::parse_time(json["at"].get<std::string>());
      if (!input.at) throw Malformed{"$.at: expected a time such as \"2026-11-20T10:15:00Z\""};
    }
    std::string type = json.contains("type") && json["type"].is_string() ? json["type"].get<std::string>()
                       : json.contains("type")                          ? "?"
                                                                        : "order";
    if (type == "order") {
      NewOrder order{json.contains("order") ? json["order"] : json, {}};
      if (!order.order.is_object()) throw Malformed{"$.order: expected the order as a JSON object"};
      order.order.erase("state");
      order.order.erase("state_since");
      order.order.erase("state_entered");
      order.order.erase("node_id");
      order.order.erase("edited_at");
      order.order.erase("returns");
      input.body = std::move(order);
    } else if (type == "event") {
      input.body = read_event(json);
    } else if (type == "stock") {
      input.body = read_stock(json);
    } else if (type == "return") {
      input.body = read_return(json);
    } else if (type == "grade") {
      input.body = read_grade(json);
    } else if (type == "ndr") {
      input.body = read_ndr(json);
    } else if (type == "return_decision" || type == "ndr_decision") {
      input.body = read_person_decision(json, type == "return_decision");
    } else {
      throw Malformed{fmt::format(
          "$.type: unknown input type {}; expected \"order\", \"event\", \"stock\", \"return\", \"grade\", "
          "\"ndr\", \"return_decision\" or \"ndr_decision\"",
          json["type"].dump())};
    }
  } catch (const Malformed& m) {
    input.body = Unreadable{json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), m.message};
  }
  return input;
}

Input read_input_text(std::string_view text, std::string source) {
  nlohmann::json json = parse_json(text);
  if (json.is_discarded())
    return Input{Unreadable{std::string(text), json_problem(text).value_or("not JSON")},
                 std::move(source), std::nullopt, {}};
  return read_input(json, std::move(source));
}

namespace {

// What read_lines reads.
nlohmann::json lines_json(const std::vector<journal::LineRef>& refs) {
  nlohmann::json lines = nlohmann::json::array();
  for (const journal::LineRef& l : refs) {
    nlohmann::json x = nlohmann::json::object();
    if (l.quantity > 0) x["quantity"] = l.quantity;  // none: every unit (a return)
    if (l.line) x["line"] = *l.line;
    if (!l.sku.empty()) x["sku"] = l.sku;
    if (!l.id.empty()) x["id"] = l.id;
    lines.push_back(std::move(x));
  }
  return lines;
}

}  // namespace

std::string input_text(const Input& input) {
  struct Text {
    std::string operator()(const NewOrder& o) const { return o.prepared ? o.prepared->text : o.order.dump(); }
    std::string operator()(const OrderEvent& e) const {
      nlohmann::json j = {{"type", "event"}, {"order_id", e.order_id}, {"event", e.event}};
      if (!e.event_id.empty()) j["event_id"] = e.event_id;
      if (!e.by.empty()) j["by"] = e.by;
      if (!e.reason.empty()) j["reason"] = e.reason;
      if (!e.node.empty()) j["node"] = e.node;
      if (!e.carrier.empty()) j["carrier"] = e.carrier;
      if (!e.tracking_number.empty()) j["tracking_number"] = e.tracking_number;
      if (!e.initiator.empty()) j["initiator"] = e.initiator;
      if (!e.return_id.empty()) j["return_id"] = e.return_id;
      if (e.lines) j["lines"] = lines_json(*e.lines);
      if (!e.set.empty()) j["set"] = e.set;
      return j.dump();
    }
    std::string operator()(const StockInput& s) const {
      nlohmann::json j = {{"type", "stock"}, {"node", s.node}, {"sku", s.sku}};
      if (s.on_hand) j["on_hand"] = *s.on_hand;
      if (s.received) j["received"] = *s.received;
      if (s.adjust) j["adjust"] = *s.adjust;
      if (s.safety_stock) j["safety_stock"] = *s.safety_stock;
      if (!s.reason.empty()) j["reason"] = s.reason;
      if (!s.event_id.empty()) j["event_id"] = s.event_id;
      return j.dump();
    }
    std::string operator()(const ReturnRequest& r) const {
      nlohmann::json j = {{"type", "return"}, {"order_id", r.order_id}, {"reason", r.reason}};
      if (!r.return_id.empty()) j["return_id"] = r.return_id;
      j["lines"] = lines_json(r.lines);
      for (const auto& [sku, quantity] : r.exchange) j["exchange"].push_back({{"sku", sku}, {"quantity", quantity}});
      if (!r.event_id.empty()) j["event_id"] = r.event_id;
      if (!r.by.empty()) j["by"] = r.by;
      if (!r.approved_by.empty()) j["approved_by"] = r.approved_by;
      if (!r.refunded.empty()) {
        size_t space = r.refunded.find(' ');
        j["refunded"] = {{"amount", r.refunded.substr(0, space)}, {"currency", r.refunded.substr(space + 1)}};
      }
      return j.dump();
    }
    std::string operator()(const GradeInput& g) const {
      nlohmann::json j = {{"type", "grade"}, {"order_id", g.order_id}};
      if (!g.return_id.empty()) j["return_id"] = g.return_id;
      nlohmann::json units = nlohmann::json::array();
      for (const auto& [grade, reason] : g.units) {
        nlohmann::json u = {{"grade", grade}};
        if (!reason.empty()) u["reason"] = reason;
        units.push_back(std::move(u));
      }
      j["units"] = std::move(units);
      if (!g.event_id.empty()) j["event_id"] = g.event_id;
      if (!g.by.empty()) j["by"] = g.by;
      return j.dump();
    }
    std::string operator()(const NdrInput& n) const {
      nlohmann::json j = {{"type", "ndr"}, {"order_id", n.order_id}, {"reason", n.reason}};
      if (n.attempt) j["attempt"] = *n.attempt;
      if (!n.carrier.empty()) j["carrier"] = n.carrier;
      if (!n.event_id.empty()) j["event_id"] = n.event_id;
      if (!n.by.empty()) j["by"] = n.by;
      return j.dump();
    }
    std::string operator()(const PersonDecision& d) const {
      nlohmann::json j = {{"type", d.about_return ? "return_decision" : "ndr_decision"}, {"order_id", d.order_id},
                          {"decision", d.decision}, {"by", d.by}};
      if (!d.return_id.empty()) j["return_id"] = d.return_id;
      if (!d.refund.empty()) j["refund"] = d.refund;
      if (d.reschedule_to) j["to"] = model::format_time(*d.reschedule_to);
      if (!d.reason.empty()) j["reason"] = d.reason;
      if (!d.event_id.empty()) j["event_id"] = d.event_id;
      return j.dump();
    }
    std::string operator()(const Unreadable& u) const { return u.raw; }
    std::string operator()(const NothingToDecide&) const { return "{}"; }
  };
  std::string text = std::visit(Text{}, input.body);
  if (input.at && !std::holds_alternative<Unreadable>(input.body)) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_object()) {
      if (std::holds_alternative<NewOrder>(input.body)) j = {{"type", "order"}, {"order", j}};
      j["at"] = model::format_time(*input.at);
      text = j.dump();
    }
  }
  return text;
}

void prepare_input(Input& input, std::shared_ptr<const check::CheckedBundle> bundle) {
  auto* order = std::get_if<NewOrder>(&input.body);
  if (!order || order->prepared || !bundle) return;
  auto prepared = std::make_shared<PreparedOrder>(PreparedOrder{bundle, decode_order(*bundle, order->order),
                                                                order->order.dump(), "", "", {}});
  const nlohmann::json& o = order->order;
  if (o.contains("channel") && o["channel"].is_string()) prepared->channel = o["channel"].get<std::string>();
  if (o.contains("external_id") && o["external_id"].is_string())
    prepared->external_id = o["external_id"].get<std::string>();
  if (o.contains("lines") && o["lines"].is_array())
    for (const auto& line : o["lines"])
      prepared->quantities.push_back(line.is_object() ? line.value("quantity", int64_t{0}) : 0);
  order->prepared = std::move(prepared);
  order->order = nlohmann::json();  // let go of the document here, not on the engine's thread
}

}  // namespace orderflow::runtime
