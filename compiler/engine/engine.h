#pragma once
// The evaluation contract: what a policy engine takes (an order image, the
// time, the inventory) and what it returns (an Outcome). The interpreter is
// the reference implementation; the JIT implements the same interface and
// must return equal outcomes for every input.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "compiler/check/bundle.h"

namespace orderflow::engine {

using check::DecisionKind;
using check::PolicyKind;

struct EvalInput {
  const std::byte* order = nullptr;  // an Order record image of the bundle's schema
  int64_t now = 0;                   // milliseconds since the epoch
  const model::Inventory* inventory = nullptr;  // nodes and stock; defaults to the bundle's own
  // Nodes excluded from routing (they refused an earlier allocation).
  const std::vector<std::string>* excluded_nodes = nullptr;
};

enum class TraceDetail {
  Rules,   // which rules matched and which decided: cheap, always on
  Values,  // also the values that made each condition true or false (explain)
};

// What happened to one rule. `facts` explain the match in the analyst's
// terms: "order.total = 7500.00 INR > cod_limit = 5000.00 INR: true".
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
  std::string rule;
};

struct Shipment {
  size_t node = 0;
  std::string node_id;
  std::vector<std::pair<size_t, int64_t>> lines;  // line index, quantity
};

enum class Verdict : uint8_t { None, Accept, Hold, Reject, Cancel, Backorder, Route };
const char* verdict_name(Verdict v);
Verdict verdict_of(DecisionKind kind);

struct NodeTrace {
  std::string node_id;
  std::string status;  // "filtered out", "not enough stock", "candidate 1", "chosen"
  std::vector<std::string> facts;
};

struct Outcome {
  PolicyKind policy = PolicyKind::Acceptance;
  Verdict verdict = Verdict::None;
  std::string reason;
  std::optional<int64_t> hold_for;  // ms
  Verdict timeout_verdict = Verdict::None;
  std::string timeout_reason;
  int deciding_rule = -2;  // index; -1 otherwise; -2 nothing decided
  std::string deciding_rule_name;
  std::optional<int64_t> priority;  // Priority ordinal, when a rule set it
  std::vector<std::string> tags;
  std::vector<Notification> notifications;
  std::vector<Shipment> shipments;  // Verdict::Route
  std::vector<RuleTrace> trace;
  std::vector<NodeTrace> nodes;  // routing, with TraceDetail::Values
  bool policy_error = false;
  std::string error;

  bool decided() const { return verdict != Verdict::None; }
};

// A compiled or interpreted bundle. Implementations are immutable after
// construction; evaluate() may be called from many threads at once.
class PolicyEngine {
 public:
  virtual ~PolicyEngine() = default;
  // The result of `kind`'s policy for one order; never throws. A bundle
  // without that policy gives an Outcome with Verdict::None.
  virtual Outcome evaluate(PolicyKind kind, const EvalInput& input, TraceDetail detail) const = 0;
  // Whether a condition over the order and `now` holds: a transition's
  // guard, a test's `expect that`. Missing, or a failure, counts as false.
  // `slots` is the frame size the checker computed for it.
  virtual bool condition_holds(const check::Expr& condition, int slots, const EvalInput& input) const = 0;
  virtual std::string name() const = 0;  // "interpreter", "jit"
  virtual const check::CheckedBundle& bundle() const = 0;
};

// Renderings of an outcome, shared by the CLI, the runtime's audit log and
// the tests. `order_id` is the order's id, for the JSON.
nlohmann::ordered_json outcome_to_json(const check::CheckedBundle& bundle, const Outcome& outcome,
                               const std::byte* order_image);
std::string explain_text(const check::CheckedBundle& bundle, const Outcome& outcome, const std::byte* order_image);
// One line: `hold "cod_confirmation" (rule "High-value COD")`.
std::string summary(const check::CheckedBundle& bundle, const Outcome& outcome);

// Equality of everything both engines must agree on: verdict, reason, hold
// time and timeout, deciding rule, annotations, shipments and which rules
// matched. Returns a description of the first difference, or "".
std::string compare_outcomes(const Outcome& reference, const Outcome& other);

}  // namespace orderflow::engine
