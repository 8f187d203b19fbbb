#include "runtime/store/journal.h"

#include <fmt/format.h>

#include "compiler/model/value.h"
#include "runtime/store/codec.h"

namespace orderflow::runtime::journal {

namespace {

// Format 1: a version byte, then per entry its kind (the variant's index + 1),
// the payload's length, and the payload: the fields in the order fields()
// lists them. A field added later goes at the end of its entry's list; a
// payload that ends before it leaves it at its default, so older records
// read as they were.
constexpr uint8_t kFormat = 1;

using codec::JsonWriter;
using codec::Reader;
using codec::Writer;

}  // namespace

// ------------------------------------------------------------ fields
// Each kind of entry, and each record inside one, lists its fields once;
// the binary codec and the JSON rendering (codec.h) both walk these lists.

template <class V, class S>
  requires Is<ShipmentLine, S>
void fields(V& v, S& s) {
  v("line", s.line);
  v("sku", s.sku);
  v("quantity", s.quantity);
}

template <class V, class S>
  requires Is<Shipment, S>
void fields(V& v, S& s) {
  v("node", s.node);
  v("lines", s.lines);
}

template <class V, class S>
  requires Is<Notification, S>
void fields(V& v, S& s) {
  v("kind", s.kind);
  v("to", s.to);
  v("rule", s.rule);
  v("priority", s.priority);
}

template <class V, class S>
  requires Is<StockSeen, S>
void fields(V& v, S& s) {
  v("node", s.node);
  v("sku", s.sku);
  v("on_hand", s.on_hand);
  v("reserved", s.reserved);
  v("safety", s.safety);
}

template <class V, class S>
  requires Is<ExcludedNode, S>
void fields(V& v, S& s) {
  v("node", s.node);
  v("why", s.why);
}

template <class V, class S>
  requires Is<LineRef, S>
void fields(V& v, S& s) {
  v("line", s.line);
  v("sku", s.sku);
  v("id", s.id);
  v("quantity", s.quantity);
}

template <class V, class S>
  requires Is<Received, S>
void fields(V& v, S& s) {
  v("channel", s.channel);
  v("external_id", s.external_id);
  v("deployment", s.deployment);
  v("version", s.version);
  v("source", s.source);
  v.json_text("order", s.order);
}

template <class V, class S>
  requires Is<StateChanged, S>
void fields(V& v, S& s) {
  v("from", s.from);
  v("to", s.to);
  v("entered", s.entered);
  v("entry", s.entry);
  v("cause", s.cause);
  v("lines", s.lines);
}

template <class V, class S>
  requires Is<Decided, S>
void fields(V& v, S& s) {
  v("policy", s.policy);
  v("version", s.version);
  v("deployment", s.deployment);
  v("decision", s.decision);
  v("reason", s.reason);
  v("rule", s.rule);
  v("matched", s.matched);
  v.duration("hold_for", s.hold_for);
  v.time("until", s.until);
  v("on_timeout", s.on_timeout);
  v("on_timeout_reason", s.on_timeout_reason);
  v("priority", s.priority);
  v("tags", s.tags);
  v("notifications", s.notifications);
  v("shipments", s.shipments);
  v("error", s.error);
  v("explainable", s.explainable);
  v("stock_seen", s.stock_seen);
  v("excluded", s.excluded);
  v.json_text("trace", s.stored_trace);
  v("delivery", s.delivery);
  v("delivery_was", s.delivery_was);
  v("delivery_rule", s.delivery_rule);
  v("return_id", s.return_id);
  v("refund", s.refund);
  v("keep_item", s.keep_item);
  v("restock_to", s.restock_to);
  v("refund_terms", s.refund_terms);
  v("ndr_attempt", s.ndr_attempt);
  v.time("reschedule_to", s.reschedule_to);
  v("decided_by", s.decided_by);
}

template <class V, class S>
  requires Is<ReturnRequested, S>
void fields(V& v, S& s) {
  v("return_id", s.return_id);
  v("kind", s.kind);
  v("reason", s.reason);
  v("lines", s.lines);
  v("by", s.by);
  v("event_id", s.event_id);
  v("refund", s.refund);
  v("exchange", s.exchange);
}

template <class V, class S>
  requires Is<ExchangeOpened, S>
void fields(V& v, S& s) {
  v("return_id", s.return_id);
  v("order_id", s.order_id);
}

template <class V, class S>
  requires Is<OrderUpdated, S>
void fields(V& v, S& s) {
  v.json_text("order", s.order);
  v("changes", s.changes);
}

template <class V, class S>
  requires Is<NdrReported, S>
void fields(V& v, S& s) {
  v("attempt", s.attempt);
  v("reason", s.reason);
  v("carrier", s.carrier);
  v("by", s.by);
  v("event_id", s.event_id);
}

template <class V, class S>
  requires Is<ReturnChanged, S>
void fields(V& v, S& s) {
  v("return_id", s.return_id);
  v("from", s.from);
  v("to", s.to);
  v("cause", s.cause);
}

template <class V, class S>
  requires Is<UnitGraded, S>
void fields(V& v, S& s) {
  v("return_id", s.return_id);
  v("line", s.line);
  v("sku", s.sku);
  v("grade", s.grade);
  v("reason", s.reason);
}

template <class V, class S>
  requires Is<Refunded, S>
void fields(V& v, S& s) {
  v("return_id", s.return_id);
  v("amount", s.amount);
  v("arithmetic", s.arithmetic);
  v("shipping", s.shipping);
}

template <class V, class S>
  requires Is<EventApplied, S>
void fields(V& v, S& s) {
  v("event", s.event);
  v("event_id", s.event_id);
  v("by", s.by);
  v("reason", s.reason);
  v("node", s.node);
  v("lines", s.lines);
  v.json_text("set", s.set);
  v("cancelled_units", s.cancelled_units);
  v.time("happened_at", s.happened_at);
  v("carrier", s.carrier);
  v("tracking_number", s.tracking_number);
  v("initiator", s.initiator);
}

template <class V, class S>
  requires Is<Escalated, S>
void fields(V& v, S& s) {
  v("rules", s.rules);
  v("notifications", s.notifications);
  v("deployment", s.deployment);
  v("priority", s.priority);
  v("tags", s.tags);
  v("error", s.error);
}

template <class V, class S>
  requires Is<TimerSet, S>
void fields(V& v, S& s) {
  v("id", s.id);
  v("kind", s.kind);
  v.time("due", s.due);
  v("state_entry", s.state_entry);
}

template <class V, class S>
  requires Is<TimerFired, S>
void fields(V& v, S& s) {
  v("id", s.id);
  v("kind", s.kind);
  v.time("due", s.due);
  v.duration("late", s.late_ms);
  v("stale", s.stale);
}

template <class V, class S>
  requires Is<TimerCancelled, S>
void fields(V& v, S& s) {
  v("id", s.id);
  v("kind", s.kind);
}

template <class V, class S>
  requires Is<Refused, S>
void fields(V& v, S& s) {
  v("event", s.event);
  v("event_id", s.event_id);
  v("error", s.error);
  v.time("happened_at", s.happened_at);
}

template <class V, class S>
  requires Is<Migrated, S>
void fields(V& v, S& s) {
  v("from", s.from);
  v("to", s.to);
}

template <class V, class S>
  requires Is<Reserved, S>
void fields(V& v, S& s) {
  v("reserved", s.units);
}

template <class V, class S>
  requires Is<StockSettled, S>
void fields(V& v, S& s) {
  v("released", s.released);
  v("consumed", s.consumed);
  v("exclude_node", s.exclude_node);
}

namespace {

const char* const kKindNames[] = {"received", "state",     "decision",        "event",    "escalation", "timer_set",
                                  "timer_fired", "timer_cancelled", "refused", "migrated", "allocation", "stock",
                                  "return", "return_state", "graded", "refund", "ndr", "updated", "exchange"};
static_assert(std::size(kKindNames) == std::variant_size_v<Entry>);

template <size_t I = 0>
Entry decode_entry(size_t kind, std::string_view payload) {
  if constexpr (I < std::variant_size_v<Entry>) {
    if (kind == I) {
      std::variant_alternative_t<I, Entry> entry;
      Reader reader(payload);
      fields(reader, entry);
      return entry;
    }
    return decode_entry<I + 1>(kind, payload);
  } else {
    throw CodecError(fmt::format("a journal entry of unknown kind {}", kind));
  }
}

// ------------------------------------------------------------ legacy JSON

std::string text(const nlohmann::json& b, const char* key) {
  return b.contains(key) && b[key].is_string() ? b[key].get<std::string>() : "";
}
int64_t integer(const nlohmann::json& b, const char* key) {
  return b.contains(key) && b[key].is_number_integer() ? b[key].get<int64_t>() : 0;
}
std::vector<std::string> texts(const nlohmann::json& b, const char* key) {
  std::vector<std::string> out;
  if (b.contains(key) && b[key].is_array())
    for (const auto& t : b[key])
      if (t.is_string()) out.push_back(t.get<std::string>());
  return out;
}
std::vector<Allocation> allocations(const nlohmann::json& b, const char* key) {
  std::vector<Allocation> out;
  if (b.contains(key) && b[key].is_array())
    for (const auto& a : b[key]) out.push_back({integer(a, "line"), text(a, "sku"), text(a, "node"), integer(a, "quantity")});
  return out;
}
std::vector<Notification> notifications(const nlohmann::json& b) {
  std::vector<Notification> out;
  if (b.contains("notifications") && b["notifications"].is_array())
    for (const auto& n : b["notifications"])
      out.push_back({text(n, "kind"), text(n, "to"), text(n, "rule"), text(n, "priority")});
  return out;
}

}  // namespace

const char* kind_name(const Entry& entry) { return kKindNames[entry.index()]; }

std::string encode(const std::vector<Entry>& entries) {
  std::string out;
  out.reserve(64 * entries.size());
  out.push_back(static_cast<char>(kFormat));
  std::string payload;
  for (const Entry& entry : entries) {
    payload.clear();
    Writer writer(payload);
    std::visit([&](const auto& e) { fields(writer, e); }, entry);
    Writer head(out);
    head.varint(entry.index() + 1);
    head.varint(payload.size());
    out.append(payload);
  }
  return out;
}

std::vector<Entry> decode(std::string_view bytes) {
  if (bytes.empty()) throw CodecError("an empty journal record");
  if (static_cast<uint8_t>(bytes[0]) != kFormat)
    throw CodecError(fmt::format("a journal record in format {}; this build reads format {}",
                                 static_cast<int>(static_cast<uint8_t>(bytes[0])), kFormat));
  Reader reader(bytes.substr(1));
  std::vector<Entry> out;
  while (!reader.done()) {
    uint64_t kind = reader.varint();
    std::string_view payload = reader.bytes(reader.varint());
    if (kind == 0) throw CodecError("a journal entry of kind 0");
    out.push_back(decode_entry(kind - 1, payload));
  }
  return out;
}

nlohmann::ordered_json to_json(const Entry& entry) {
  nlohmann::ordered_json body = nlohmann::ordered_json::object();
  JsonWriter writer(body);
  std::visit([&](const auto& e) { fields(writer, e); }, entry);
  return body;
}

Entry from_json(std::string_view kind, const nlohmann::json& b) {
  if (!b.is_object()) throw CodecError(fmt::format("a '{}' entry whose body is not a JSON object", kind));
  try {
    if (kind == "received") {
      return Received{text(b, "channel"), text(b, "external_id"), integer(b, "deployment"), text(b, "version"),
                      text(b, "source"), b.contains("order") ? b["order"].dump() : "{}"};
    }
    if (kind == "state") {
      StateChanged s{text(b, "from"), text(b, "to"), b.value("entered", true), integer(b, "entry"), text(b, "cause"), {}};
      for (const auto& line : b.at("lines")) {
        std::vector<LineState> parts;
        for (const auto& part : line) parts.push_back({part.at(0).get<std::string>(), part.at(1).get<int64_t>()});
        s.lines.push_back(std::move(parts));
      }
      return s;
    }
    if (kind == "decision") {
      Decided d;
      d.policy = text(b, "policy");
      d.version = text(b, "version");
      d.deployment = integer(b, "deployment");
      d.decision = text(b, "decision");
      d.reason = text(b, "reason");
      if (b.contains("rule") && b["rule"].is_string()) d.rule = b["rule"].get<std::string>();
      d.matched = texts(b, "matched");
      if (b.contains("until") && b["until"].is_string()) d.until = model::parse_time(b["until"].get<std::string>());
      if (b.contains("on_timeout") && b["on_timeout"].is_object()) {
        d.on_timeout = text(b["on_timeout"], "decision");
        d.on_timeout_reason = text(b["on_timeout"], "reason");
      }
      d.priority = text(b, "priority");
      d.tags = texts(b, "tags");
      d.notifications = notifications(b);
      if (b.contains("shipments") && b["shipments"].is_array())
        for (const auto& s : b["shipments"]) {
          Shipment shipment{text(s, "node"), {}};
          for (const auto& l : s.value("lines", nlohmann::json::array()))
            shipment.lines.push_back({integer(l, "line"), text(l, "sku"), integer(l, "quantity")});
          d.shipments.push_back(std::move(shipment));
        }
      d.error = text(b, "error");
      if (b.contains("trace")) d.stored_trace = b["trace"].dump();
      return d;
    }
    if (kind == "event") {
      EventApplied e;
      e.event = text(b, "event");
      e.event_id = text(b, "event_id");
      e.by = text(b, "by");
      e.reason = text(b, "reason");
      e.node = text(b, "node");
      if (b.contains("lines") && b["lines"].is_array())
        for (const auto& l : b["lines"]) {
          LineRef ref;
          if (l.contains("line") && l["line"].is_number_integer()) ref.line = l["line"].get<int64_t>();
          ref.sku = text(l, "sku");
          if (l.contains("id")) ref.id = l["id"].is_string() ? l["id"].get<std::string>() : l["id"].dump();
          ref.quantity = integer(l, "quantity");
          e.lines.push_back(std::move(ref));
        }
      if (b.contains("set") && b["set"].is_object()) e.set = b["set"].dump();
      if (b.contains("cancelled_units"))
        for (const auto& u : b["cancelled_units"]) e.cancelled_units.emplace_back(integer(u, "line"), integer(u, "quantity"));
      if (b.contains("at") && b["at"].is_string()) e.happened_at = model::parse_time(b["at"].get<std::string>());
      return e;
    }
    if (kind == "escalation")
      return Escalated{texts(b, "rules"), notifications(b), integer(b, "deployment"), text(b, "priority"),
                       texts(b, "tags"), text(b, "error")};
    if (kind == "timer_set") return TimerSet{integer(b, "id"), text(b, "kind"), integer(b, "due"), integer(b, "state_entry")};
    if (kind == "timer_fired")
      return TimerFired{integer(b, "id"), text(b, "kind"), integer(b, "due"), integer(b, "late_ms"), b.value("stale", false)};
    if (kind == "timer_cancelled") return TimerCancelled{integer(b, "id"), text(b, "kind")};
    if (kind == "refused") return Refused{text(b, "event"), text(b, "event_id"), text(b, "error"), std::nullopt};
    if (kind == "migrated") return Migrated{integer(b, "from"), integer(b, "to")};
    if (kind == "allocation") return Reserved{allocations(b, "reserved")};
    if (kind == "stock") return StockSettled{allocations(b, "released"), allocations(b, "consumed"), text(b, "exclude_node")};
  } catch (const nlohmann::json::exception& e) {
    throw CodecError(fmt::format("a '{}' entry that cannot be read: {}", kind, e.what()));
  }
  throw CodecError(fmt::format("a journal entry of unknown kind '{}'", kind));
}

}  // namespace orderflow::runtime::journal
