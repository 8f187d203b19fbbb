#pragma once
// The evaluation contract: what a policy engine takes (an order image, the
// time, the inventory) and what it returns (an Outcome). The interpreter is
// the reference implementation; the JIT implements the same interface and
// must return equal outcomes for every input.
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/check/bundle.h"
#include "compiler/engine/history.h"

namespace orderflow::engine {

using check::DecisionKind;
using check::PolicyKind;

struct EvalInput {
  const std::byte* order = nullptr;  // an Order record image of the bundle's schema
  int64_t now = 0;                   // milliseconds since the epoch
  const model::Inventory* inventory = nullptr;  // nodes and stock; defaults to the bundle's own
  // Nodes excluded from routing (they refused this order before), by index.
  const std::vector<bool>* excluded_nodes = nullptr;
  // What history() reads; null: nothing journalled, every count 0.
  const HistorySource* history = nullptr;
  // The returns, disposition and ndr policies' subject: a Return, a
  // ReturnUnit or an Ndr image (`return`, `unit`, `ndr` in their rules).
  const std::byte* subject = nullptr;
};

enum class TraceDetail {
  Rules,   // which rules were evaluated, matched and decided: cheap, always on
  Values,  // also the values behind each condition and each node considered (explain)
};

// What happened to one rule, with TraceDetail::Values. `facts` explain the
// match in the analyst's terms: "order.total > cod_limit: true (order.total
// = 7500.00 INR, cod_limit = 5000.00 INR)".
struct RuleTrace {
  int rule = -1;  // index into the policy's rules; -1 is `otherwise`
  std::string name;
  bool matched = false;
  bool decided = false;
  std::vector<std::string> facts;
  std::string error;  // why evaluation could not finish, if it could not
};

struct Notification {
  bool escalation = false;  // `escalate to` (else `notify`)
  std::string who;
  std::optional<int64_t> priority;  // Priority ordinal
  std::string_view rule;
};

struct Shipment {
  size_t node = 0;
  std::string_view node_id;  // points into the inventory's node record
};

struct ShipmentLine {
  uint32_t shipment = 0;  // index into Outcome::shipments
  uint32_t line = 0;      // index into order.lines
  int64_t quantity = 0;
};

enum class Verdict : uint8_t {
  None, Accept, Hold, Reject, Cancel, Backorder, Route,
  Approve,                                         // a return
  Restock, Quarantine, WriteOff, ReturnToVendor,   // a returned unit
  Reattempt, Reschedule, ReturnToOrigin,           // a failed delivery
};
const char* verdict_name(Verdict v);
Verdict verdict_of(DecisionKind kind);


// A term of a refund a rule adds: a fee charged (a share of the refund or
// an amount) or the shipping paid back.
struct RefundTerm {
  enum class Kind : uint8_t { ShareFee, AmountFee, RefundShipping } kind = Kind::ShareFee;
  std::string_view label;  // the fee's name ("restocking"), "" when not named
  int64_t value = 0;       // ShareFee: a decimal (0.15); AmountFee: money millionths
  uint32_t currency = 0;   // AmountFee
  std::string_view rule;
};

// The term a rule's `charge ... fee VALUE` or `refund shipping` adds, from
// the fee's value (a share or money, in millionths; ignored for shipping).
// Both engines make their terms with it.
RefundTerm refund_term(const check::Action& action, std::string_view rule, int64_t value, uint32_t currency);
// `charge restocking fee 15%`, `charge fee 100.00 INR`, `refund shipping`.
std::string refund_term_text(const RefundTerm& term);

struct NodeTrace {
  std::string node_id;
  std::string status;  // "filtered out", "candidate 2", "chosen", ...
  std::vector<std::string> facts;
};

// The result of one policy for one order. Strings that come from the
// bundle (reasons, rule names) are views into it: an Outcome must not
// outlive its engine's bundle. An Outcome can be reset and refilled
// without allocating, so a hot loop reuses one.
struct Outcome {
  PolicyKind policy = PolicyKind::Acceptance;
  Verdict verdict = Verdict::None;
  std::string_view reason;
  std::optional<int64_t> hold_for;  // ms
  Verdict timeout_verdict = Verdict::None;
  std::string_view timeout_reason;
  int deciding_rule = -2;  // index; -1 otherwise; -2 nothing decided
  std::string_view deciding_rule_name;
  std::optional<int64_t> priority;  // Priority ordinal, when a rule set it
  // `set delivery`: the new promise (an ordinal of the order's delivery
  // enum) and the rule that made it; the last such rule evaluated wins.
  std::optional<int64_t> delivery;
  std::string_view delivery_rule;
  std::vector<std::string> tags;
  std::vector<Notification> notifications;
  std::vector<Shipment> shipments;  // Verdict::Route
  std::vector<ShipmentLine> shipment_lines;
  // A return's approval: when its money goes back and whether the customer
  // keeps the item.
  check::RefundTiming refund_timing = check::RefundTiming::AfterInspection;
  bool keep_item = false;
  std::string_view restock_node;  // Verdict::Restock to another node; "" where it came from
  std::optional<int64_t> reschedule_at;  // Verdict::Reschedule
  std::vector<RefundTerm> refund_terms;  // in the order the rules made them

  // Rules 0 .. rules_evaluated-1 were evaluated (then `otherwise`, when
  // otherwise_evaluated); bit i of `matched` says whether rule i matched.
  int rules_evaluated = 0;
  bool otherwise_evaluated = false;
  std::vector<uint64_t> matched;

  std::vector<RuleTrace> trace;  // TraceDetail::Values only
  std::vector<NodeTrace> nodes;  // routing, TraceDetail::Values only

  bool policy_error = false;
  std::string error;

  bool decided() const { return verdict != Verdict::None; }
  bool rule_matched(int rule) const {
    return rule >= 0 && static_cast<size_t>(rule / 64) < matched.size() && ((matched[rule / 64] >> (rule % 64)) & 1);
  }
  void set_matched(int rule) {
    if (static_cast<size_t>(rule / 64) >= matched.size()) matched.resize(rule / 64 + 1, 0);
    matched[rule / 64] |= uint64_t{1} << (rule % 64);
  }
  // Empties the outcome for another evaluation, keeping its capacity. On
  // the hot path: what an evaluation usually leaves empty costs a test.
  void reset(PolicyKind kind) {
    policy = kind;
    verdict = Verdict::None;
    reason = {};
    hold_for.reset();
    timeout_verdict = Verdict::None;
    timeout_reason = {};
    deciding_rule = -2;
    deciding_rule_name = {};
    priority.reset();
    delivery.reset();
    delivery_rule = {};
    if (!tags.empty()) tags.clear();
    if (!notifications.empty()) notifications.clear();
    shipments.clear();
    shipment_lines.clear();
    refund_timing = check::RefundTiming::AfterInspection;
    keep_item = false;
    restock_node = {};
    reschedule_at.reset();
    if (!refund_terms.empty()) refund_terms.clear();
    rules_evaluated = 0;
    otherwise_evaluated = false;
    for (uint64_t& word : matched) word = 0;
    if (!trace.empty()) trace.clear();
    if (!nodes.empty()) nodes.clear();
    policy_error = false;
    if (!error.empty()) error.clear();
  }
  // Lines of one shipment, in order.
  std::vector<ShipmentLine> lines_of(uint32_t shipment) const;
};

// What both engines write for a decision of the bundle (its verdict, reason,
// timeout and the approval's or restock's own words); the computed parts
// (a hold's limit, a reschedule's time) are the engine's to fill.
void apply_decision_words(const check::Decision& d, Outcome& out);
// What a policy that failed decides, so that nothing is let through
// unseen: an order or a return is held for a person ("policy_error"), a
// returned unit is quarantined. Clears what the failed policy had decided.
void fail_safe(Outcome& out);

// A compiled or interpreted bundle. Implementations are immutable after
// construction (a JIT may finish compiling later); evaluate() may be called
// from many threads at once.
class PolicyEngine {
 public:
  virtual ~PolicyEngine() = default;
  // The result of `kind`'s policy for one order into `out` (reset first);
  // never throws. A bundle without that policy gives Verdict::None.
  virtual void evaluate_into(PolicyKind kind, const EvalInput& input, TraceDetail detail, Outcome& out) const = 0;
  Outcome evaluate(PolicyKind kind, const EvalInput& input, TraceDetail detail) const {
    Outcome out;
    evaluate_into(kind, input, detail, out);
    return out;
  }
  // Whether a condition over the order and `now` holds: a transition's
  // guard, a test's `expect that`. Missing, or a failure, counts as false.
  // `slots` is the frame size the checker computed for it.
  virtual bool condition_holds(const check::Expr& condition, int slots, const EvalInput& input) const = 0;
  // A time or duration expression's value in milliseconds; nullopt when it
  // is missing, of another type, or cannot be evaluated. (The runtime uses
  // it to solve when a clock comparison turns true.)
  virtual std::optional<int64_t> milliseconds_of(const check::Expr& e, int slots, const EvalInput& input) const = 0;
  virtual std::string name() const = 0;  // "interpreter", "jit"
  virtual const check::CheckedBundle& bundle() const = 0;
};

// Renderings of an outcome, shared by the CLI, the runtime's audit log and
// the tests.
nlohmann::ordered_json outcome_to_json(const check::CheckedBundle& bundle, const Outcome& outcome,
                                       const std::byte* order_image);
std::string explain_text(const check::CheckedBundle& bundle, const Outcome& outcome, const std::byte* order_image);
// One line: `hold "cod_confirmation" (rule "High-value COD")`.
std::string summary(const check::CheckedBundle& bundle, const Outcome& outcome);
// A Priority ordinal by name ("high"); the number itself when the schema has none.
std::string priority_name(const check::CheckedBundle& bundle, int64_t ordinal);
// The name of a value of the order's `delivery` enum.
std::string delivery_name(const check::CheckedBundle& bundle, int64_t ordinal);
// The SKU of a line of an order image, "" when it has none.
std::string line_sku(const check::CheckedBundle& bundle, const std::byte* order, size_t line);
// The names of the rules that matched, in order ("otherwise" last).
std::vector<std::string> matched_rule_names(const check::CheckedBundle& bundle, const Outcome& outcome);

// Equality of everything both engines must agree on: verdict, reason, hold
// time and timeout, deciding rule, annotations, shipments, which rules were
// evaluated and matched, the error, and (when explained) every rule's and
// node's facts. Returns the first difference, or "".
std::string compare_outcomes(const Outcome& reference, const Outcome& other);

// The text of one fact of a trace: an atom of a condition, its outcome and
// the values of its operands that are not literals. Both engines use it.
std::string format_fact(const check::CheckedBundle& bundle, const check::Expr& atom, bool result,
                        const std::vector<std::pair<const check::Expr*, model::Value>>& operands);

// The fact of `any|all x in LIST where ...`: its outcome over `count`
// elements, and the element that decided it (index `witness`, its value
// `element`), when one did. Both engines use it.
std::string format_quantifier_fact(const check::CheckedBundle& bundle, const check::Expr& quantifier, bool result,
                                   uint64_t count, int64_t witness, const model::Value& element);

}  // namespace orderflow::engine
