#pragma once
// What the engine takes, typed: a new order, an event on an order, a stock
// change, or something that could not be read (kept as a dead letter).
// Inputs are parsed once, at the edge (the thread that read them: `run`'s
// reader, the intake's decider, an HTTP handler), so the engine thread only
// decides.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "runtime/canonical/order_json.h"
#include "runtime/store/journal.h"

namespace orderflow::runtime {

// A new order decoded ahead, on the thread that posted it, against the
// bundle live then: the engine thread takes it as it is when that bundle is
// still live, and decodes the order again otherwise.
struct PreparedOrder {
  std::shared_ptr<const check::CheckedBundle> bundle;
  DecodeResult decoded;
  std::string text;  // the order's compact JSON, as the journal keeps it
  std::string channel;
  std::string external_id;
  std::vector<int64_t> quantities;  // of each line
};

// A canonical order (runtime/canonical/README.md). `state` and
// `state_since` are the engine's and are dropped from what a channel sends.
struct NewOrder {
  nlohmann::json order;  // empty once prepared
  std::shared_ptr<PreparedOrder> prepared;
};


// An event of the order's machine, from a channel, a person or a timer.
struct OrderEvent {
  std::string order_id;
  std::string event;
  std::string event_id;  // makes a redelivery known; "" when the sender gave none
  std::string by;
  std::string reason;
  std::string node;  // reject_allocation: the node that refuses
  // Only these units move (by line index, SKU or line id); none: every unit
  // whose state takes the event.
  std::optional<std::vector<journal::LineRef>> lines;
  nlohmann::json set = nlohmann::json::object();  // order fields the event sets
  // ship: who carries the parcel and its tracking number, kept for what the channels are told.
  std::string carrier;
  std::string tracking_number;
  // cancel: who wanted it, buyer, seller, marketplace or system; "": as
  // `by` tells (runtime/README.md).
  std::string initiator;
  // return_received, return_rejected: which of the order's returns; "": its open one.
  std::string return_id;
};

// A failed delivery (`{"type": "ndr", ...}`): the courier could not deliver
// a shipped order. `attempt` counts from 1; none: one more than the order's
// failed attempts so far.
struct NdrInput {
  std::string order_id;
  std::optional<int64_t> attempt;
  std::string reason;  // a value of NdrReason
  std::string carrier;
  std::string event_id;
  std::string by;
};

// A return asked for (`{"type": "return", ...}`): units of the order's
// lines coming back, and why. Its id is the sender's, or the order's id
// with -R1, -R2, ... when it gives none.
struct ReturnRequest {
  std::string order_id;
  std::string return_id;
  std::vector<journal::LineRef> lines;  // by line index, SKU or line id; quantity 0: every unit that can come back
  std::string reason;                   // a value of ReturnReason
  std::string event_id;
  std::string by;
  // Other items the customer wants instead of their money (SKU, units):
  // an exchange, sent as an order of its own once the return is received.
  std::vector<std::pair<std::string, int64_t>> exchange;
  // A channel that decides its returns itself approved this one already
  // (its name): the returns policy is not asked.
  std::string approved_by;
  // What the channel refunded for it already ("209.00 USD"): the engine
  // records it and computes no refund of its own.
  std::string refunded;
};

// Returned units inspected (`{"type": "grade", ...}`): each unit's grade and,
// when inspection found another, its reason; units are graded in the
// return's order. No return id: the order's latest return still grading.
struct GradeInput {
  std::string order_id;
  std::string return_id;
  std::vector<std::pair<std::string, std::string>> units;  // grade, reason ("": the return's)
  std::string event_id;
  std::string by;
};

// A person's decision on what a policy held for one (`{"type":
// "return_decision", ...}` for a held return: approve, with its refund's
// timing, or reject with the reason told; `{"type": "ndr_decision", ...}`
// for a held failed delivery: reattempt, reschedule (to a time) or
// return_to_origin).
struct PersonDecision {
  bool about_return = true;  // else a failed delivery
  std::string order_id;
  std::string return_id;     // "" : the order's held return
  std::string decision;      // approve, reject; reattempt, reschedule, return_to_origin
  std::string refund;        // approve: now, after receipt, after inspection ("": after inspection)
  std::optional<int64_t> reschedule_to;
  std::string reason;
  std::string event_id;
  std::string by;
};

// A change to one node's stock of one SKU: a count, a receipt, an
// adjustment, or the safety stock.
struct StockInput {
  std::string node;
  std::string sku;
  std::optional<int64_t> on_hand;
  std::optional<int64_t> received;
  std::optional<int64_t> adjust;
  std::optional<int64_t> safety_stock;
  std::string reason;
  std::string event_id;
};

// What could not be read as an input: kept as a dead letter with the error.
struct Unreadable {
  std::string raw;
  std::string error;
};

// An inbox entry that asks nothing of the engine (a channel's request to
// fetch an order, handled by the intake): only the inbox's cursor moves.
struct NothingToDecide {};

using InputBody =
    std::variant<NewOrder, OrderEvent, StockInput, Unreadable, NothingToDecide, ReturnRequest, GradeInput, NdrInput,
                 PersonDecision>;

// Where an input came from in the intake's inbox. The engine records how far
// it decided the inbox in the same commit as the decisions, and takes an
// entry's inputs only right after the entry before it: an entry whose batch
// failed is never skipped by the ones behind it.
struct InboxPlace {
  int64_t seq = 0;    // the entry; 0: not from the inbox
  int64_t after = 0;  // the entry before it, which must be decided first
  bool last = true;   // the entry's last input: then the entry is decided
};

struct Input {
  InputBody body;
  std::string source;  // where it came from, for dead letters: "run:orders.jsonl:17", "webhook:shopify"
  // When it happened, as the sender says (`at`, or a new order's
  // placed_at when the caller asks for it); none: when the engine takes it.
  std::optional<int64_t> at;
  InboxPlace inbox;
};

// Reads one input: {"type": "order", "order": {...}} or a bare order,
// {"type": "event", ...}, {"type": "stock", ...}, {"type": "return", ...},
// {"type": "grade", ...}, {"type": "ndr", ...}. Anything malformed comes
// back as Unreadable with the JSON path of what is wrong.
Input read_input(const nlohmann::json& json, std::string source);
// A line of text, parsed first; text that is not JSON is Unreadable.
Input read_input_text(std::string_view text, std::string source);

// When an input says it happened: its `at`, else (for a new order) its
// placed_at. Nothing when it says neither or the time does not parse.
std::optional<int64_t> stated_time(const nlohmann::json& json);

// The text kept for a dead letter of this input.
std::string input_text(const Input& input);

// Decodes a new order against `bundle` and lets go of its JSON, on the
// calling thread (not the engine's); other inputs are left as they are.
void prepare_input(Input& input, std::shared_ptr<const check::CheckedBundle> bundle);

}  // namespace orderflow::runtime
