#pragma once
// The journal's records: one struct per kind of entry, in one variant, with
// one codec (leveldb's VersionEdit habit). Everything that reads the journal
// (the projection, `audit`, `rebuild`, the outbound sender, the console)
// reads these types; nothing parses entries by hand.
//
// On disk a record is what one input did to one order: the entries it
// appended, in order, encoded together in a compact binary form that
// carries its format version. What the deployment and the input already
// determine is not stored again: a decision keeps its verdict, rule and
// annotations and what routing saw of the stock, and its explanation (every
// rule with the values behind it) is derived again from the deployment and
// the order as it stood when asked (see runtime/engine/explain.h).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace orderflow::runtime {

// Where a line's units are: so many in a state.
struct LineState {
  std::string state;
  int64_t quantity = 0;

  bool operator==(const LineState&) const = default;
};
using LineStates = std::vector<std::vector<LineState>>;  // per line of the order

// Units of one line reserved (or released, or shipped) at one node.
struct Allocation {
  int64_t line = 0;
  std::string sku;
  std::string node;
  int64_t quantity = 0;

  bool operator==(const Allocation&) const = default;
};

// A returned unit, once graded, and what became of it.
struct ReturnedUnit {
  int64_t line = 0;  // the order line it was sold on, by index
  std::string sku;
  std::string grade;
  std::string reason;
  std::string disposition;  // restock, quarantine, write off, return to vendor; "" until decided
  std::string node;         // where it went back into stock (restock)
  std::vector<std::string> fees;  // what its disposition added to the refund (runtime/engine/refunds.h)

  bool operator==(const ReturnedUnit&) const = default;
};

// A return of the order: what it takes back and where it stands.
struct OrderReturn {
  std::string id;
  std::string kind;    // customer, rto
  std::string reason;
  std::string state;   // requested, authorized, rejected, held, received, graded, disposed, refunded, closed
  std::vector<std::pair<int64_t, int64_t>> lines;  // line index, units
  std::string refund;  // when its money goes back: now, after receipt, after inspection
  bool keep_item = false;
  std::vector<ReturnedUnit> units;  // graded, in order
  std::string refunded;  // the amount refunded ("1299.00 INR"), "" until then
  bool refunded_shipping = false;  // the order's shipping went back with it

  bool operator==(const OrderReturn&) const = default;
};

// When one of the order's returns last entered a state (r.entered(received)).
struct ReturnEntered {
  std::string return_id;
  std::string state;
  int64_t at = 0;

  bool operator==(const ReturnEntered&) const = default;
};

// A return's exchange: what the customer wants instead, and the order
// that sends it once opened.
struct Exchange {
  std::string return_id;
  std::vector<std::pair<std::string, int64_t>> lines;  // SKU, units
  std::string order_id;  // "" until opened

  bool operator==(const Exchange&) const = default;
};

namespace journal {

// The order entered the engine: the canonical order as the channel sent it,
// and the deployment that decides it.
struct Received {
  std::string channel;
  std::string external_id;
  int64_t deployment = 0;
  std::string version;  // the deployment's declared version
  std::string source;   // "run:orders.jsonl:17", "webhook:shopify"
  std::string order;    // canonical JSON text, without the engine's own fields
};

// Units moved; the order's state is derived from where they are.
struct StateChanged {
  std::string from;  // "" for the first
  std::string to;
  bool entered = true;  // the order's state changed (else only some units moved)
  int64_t entry = 0;    // how many times the order has entered a state, counting this
  std::string cause;    // "received", "by policy", "on ship", ...
  LineStates lines;
};

struct ShipmentLine {
  int64_t line = 0;
  std::string sku;
  int64_t quantity = 0;
};

struct Shipment {
  std::string node;
  std::vector<ShipmentLine> lines;
};

struct Notification {
  std::string kind;  // notify, escalate
  std::string to;
  std::string rule;
  std::string priority;  // "" when none
};

// A stock level that an evaluation read, kept so that its explanation can
// be derived again as it was.
struct StockSeen {
  std::string node;
  std::string sku;
  int64_t on_hand = 0;
  int64_t reserved = 0;
  int64_t safety = 0;
};

// A node routing was not allowed to use, and why.
struct ExcludedNode {
  std::string node;
  std::string why;
};

// A policy's decision for the order.
struct Decided {
  std::string policy;   // acceptance, routing
  std::string version;  // the policy's declared version
  int64_t deployment = 0;
  std::string decision;  // accept, hold, reject, cancel, backorder, route, none
  std::string reason;
  std::optional<std::string> rule;  // nullopt: no rule decided
  std::vector<std::string> matched;  // rules that matched, in order
  std::optional<int64_t> hold_for;   // ms
  std::optional<int64_t> until;      // when a hold times out
  std::string on_timeout;            // the hold's decision on timeout, "" when none
  std::string on_timeout_reason;
  std::string priority;  // "" when no rule set one
  std::vector<std::string> tags;
  std::vector<Notification> notifications;
  std::vector<Shipment> shipments;
  std::string error;  // when the policy could not finish
  // What deriving the explanation again needs beyond the deployment and
  // the journal: kept when decisions are recorded with their explanation.
  bool explainable = false;
  std::vector<StockSeen> stock_seen;
  std::vector<ExcludedNode> excluded;
  // The explanation itself, as JSON, from databases written before it was
  // derived on demand; "" otherwise.
  std::string stored_trace;
  // `set delivery`: the order's new promise, what it was, and the rule that
  // changed it; "" when no rule changed it.
  std::string delivery;
  std::string delivery_was;
  std::string delivery_rule;
  // A decision about a return (returns), or one of its units (disposition):
  // the return's id; "" for the order's own decisions.
  std::string return_id;
  std::string refund;     // approve: now, after receipt, after inspection
  std::optional<bool> keep_item;  // approve ... keep item: true; else not given
  std::string restock_to; // restock: the node the unit goes to
  std::vector<std::string> refund_terms;  // what shapes the refund, each as runtime/engine/refunds.h's encode_fee keeps it
  // A decision about a failed delivery (ndr): the attempt it is about, and
  // when the courier is to try again (reschedule to TIME).
  std::optional<int64_t> ndr_attempt;
  std::optional<int64_t> reschedule_to;
  // A person's decision on what a policy held (no rule decided it): who.
  std::string decided_by;
};

struct LineRef {
  std::optional<int64_t> line;
  std::string sku;
  std::string id;
  int64_t quantity = 0;
};

// An event from a channel, a person or a timer, as the engine took it.
struct EventApplied {
  std::string event;
  std::string event_id;
  std::string by;
  std::string reason;
  std::string node;  // reject_allocation: the node that refused
  std::vector<LineRef> lines;  // empty: every unit whose state takes the event
  std::string set;             // JSON object of order fields set, "" when none
  std::vector<std::pair<int64_t, int64_t>> cancelled_units;  // line, quantity
  // When it happened, if that is not when it was applied (a late input).
  std::optional<int64_t> happened_at;
  // ship: who carries the parcel and its tracking number, as the sender gave them.
  std::string carrier;
  std::string tracking_number;
  // cancel: who wanted it (buyer, seller, marketplace, system); "" when unknown.
  std::string initiator;
};

struct Escalated {
  std::vector<std::string> rules;
  std::vector<Notification> notifications;
  int64_t deployment = 0;
  std::string priority;
  std::vector<std::string> tags;
  std::string error;
};

struct TimerSet {
  int64_t id = 0;
  std::string kind;  // hold_timeout, escalation
  int64_t due = 0;
  int64_t state_entry = 0;
};

struct TimerFired {
  int64_t id = 0;
  std::string kind;
  int64_t due = 0;
  int64_t late_ms = 0;  // fired this long after it was due (the engine was down, or busy)
  bool stale = false;   // the order had left the state that set it
};

struct TimerCancelled {
  int64_t id = 0;
  std::string kind;
};

// An event the order did not take, and why; nothing else changed.
struct Refused {
  std::string event;
  std::string event_id;
  std::string error;
  std::optional<int64_t> happened_at;
};

struct Migrated {
  int64_t from = 0;
  int64_t to = 0;
};

// Stock reserved for the order by its routing.
struct Reserved {
  std::vector<Allocation> units;
};

// Reserved units given back (released) or shipped (consumed); a node that
// refused the order is left out of its routing from now on.
struct StockSettled {
  std::vector<Allocation> released;
  std::vector<Allocation> consumed;
  std::string exclude_node;
};

// A return asked for: which units of which lines, and why.
struct ReturnRequested {
  std::string return_id;
  std::string kind;  // customer, rto
  std::string reason;
  std::vector<std::pair<int64_t, int64_t>> lines;  // line index, units
  std::string by;
  std::string event_id;
  // When its money goes back, when that is not the returns policy's to say
  // (a return to origin: "after inspection", or "none" for cash on delivery
  // never collected); "" otherwise.
  std::string refund;
  // An exchange: the SKUs and units the customer wants instead.
  std::vector<std::pair<std::string, int64_t>> exchange;
};

// A return's exchange sent as an order of its own.
struct ExchangeOpened {
  std::string return_id;
  std::string order_id;
};

// The channel sent the order again, changed, before anything shipped: the
// order as the channel sent it now, and what changed since its last copy.
struct OrderUpdated {
  std::string order;
  std::vector<std::string> changes;  // "ship_to.postal_code: \"560001\" -> \"560034\""
};

// A failed delivery, as the courier reported it; the ndr policy's decision
// follows as a Decided with its attempt.
struct NdrReported {
  int64_t attempt = 0;
  std::string reason;  // a value of NdrReason
  std::string carrier;
  std::string by;
  std::string event_id;
};

// A return moved on its own machine.
struct ReturnChanged {
  std::string return_id;
  std::string from;
  std::string to;
  std::string cause;  // "by returns", "on return_received", "graded", "refunded"
};

// A returned unit inspected; its disposition follows as a Decided.
struct UnitGraded {
  std::string return_id;
  int64_t line = 0;
  std::string sku;
  std::string grade;
  std::string reason;
};

// Money given back for a return, with the arithmetic that made it.
struct Refunded {
  std::string return_id;
  std::string amount;  // "1299.00 INR"
  std::vector<std::string> arithmetic;
  bool shipping = false;  // the order's shipping is part of it
};

using Entry = std::variant<Received, StateChanged, Decided, EventApplied, Escalated, TimerSet, TimerFired,
                           TimerCancelled, Refused, Migrated, Reserved, StockSettled, ReturnRequested, ReturnChanged,
                           UnitGraded, Refunded, NdrReported, OrderUpdated, ExchangeOpened>;

// "received", "state", "decision", "event", "escalation", "timer_set",
// "timer_fired", "timer_cancelled", "refused", "migrated", "allocation", "stock",
// "return", "return_state", "graded", "refund", "ndr", "updated", "exchange".
const char* kind_name(const Entry& entry);

// What one input did to one order: a row of the journal.
struct Record {
  int64_t seq = 0;  // assigned when appended; the entries of one record share it
  std::string order_id;
  int64_t at = 0;  // when it was applied, ms since the epoch
  std::vector<Entry> entries;
  // The order's record before this one (0 for its first): an order's
  // history is read by following these back from its last record, so the
  // journal needs no index by order, whose inserts land all over the file.
  int64_t previous = 0;
};

class CodecError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The binary form of a record's entries (the first byte is the format
// version) and back. decode() throws a CodecError on bytes it cannot read.
std::string encode(const std::vector<Entry>& entries);
std::vector<Entry> decode(std::string_view bytes);

// One entry as readable JSON: the body `audit --format json` shows.
nlohmann::ordered_json to_json(const Entry& entry);
// An entry from its kind and JSON body: journals written before the binary
// form (schema version 2) are read, and migrated, through this. Throws a
// CodecError naming what is wrong.
Entry from_json(std::string_view kind, const nlohmann::json& body);

}  // namespace journal
}  // namespace orderflow::runtime
