#pragma once
// A checked bundle: the typed form of every policy, table, machine and test
// of a bundle, with its schema and data. This is the contract between the
// checker and everything after it (the interpreter, the lowering to LLVM,
// the runtime). A CheckedBundle only exists for a bundle without errors; it
// is immutable once built and safe to share between threads.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/model/data.h"
#include "compiler/model/local_time.h"
#include "compiler/model/pattern.h"
#include "compiler/model/ops.h"
#include "compiler/model/schema.h"
#include "compiler/support/source.h"
#include "compiler/syntax/ast.h"

namespace orderflow::check {

using model::Type;
using model::TypeKind;
using model::Value;

// ------------------------------------------------------------ expressions

enum class Builtin : uint8_t {
  Count,        // count(list|set) -> int
  Sum,          // sum(list of number|money|duration) -> element
  Min, Max,     // min(list) / min(a, b)
  Prefix,       // prefix(string, int) -> string: the first n characters
  Suffix,       // suffix(string, int) -> string
  Lower, Upper, // string -> string
  Length,       // string -> int
  Contains,     // contains(string, string) -> bool
  StartsWith, EndsWith,
  // time [, zone text] -> int on the local clock: the zone given, else the
  // bundle's `timezone` (the checker passes it), else UTC.
  Hour, Minute,
  Weekday,      // 1 = Monday .. 7 = Sunday
  Abs,          // number|money|duration -> same
  Round,        // round(decimal|money, int digits) -> same
  Amount,       // money -> decimal (also money.amount)
  Currency,     // money -> string  (also money.currency)
  Distance,     // distance(a, b) between records with lat/lon or postal_code -> distance
  Stock,        // stock(node, sku) -> int: available to promise
  TimeOf,       // time("2026-11-20T10:00:00Z") -> time, a constant
  Distinct,     // distinct(list) -> list: each value once, where it first appears
  Date,         // time [, zone] -> text "2026-12-25", the local date
  NextClock,    // (time, ms of day [, zone]) -> time: `until next 07:00`
  AddWorkingTime,      // (time, duration, node [, zone]): index is the `use hours`
  WorkingTimeBetween,  // (time, time, node [, zone]) -> duration: index is the `use hours`
  Entered,      // (order.state_entered, state) -> time: order.entered(accepted)
  NodeNamed,    // (node id) -> Node, missing when no node has it: order.node
  History,      // (key, window) -> CustomerHistory: index is the engine::HistoryKey
  Matches,      // (text) -> bool: index is the bundle's pattern. The last (tests/check/builtin_table_test.cpp).
};

// What history() is kept for: the kind of its key.
enum class HistoryKey : uint8_t { Phone, Email, Address, Pincode };

enum class ExprKind : uint8_t {
  Literal,     // value
  Const,       // index: bundle constant (value holds its folded value)
  Var,         // index: frame slot (0 = order, 1 = node, 2.. quantifier variables)
  Self,        // the record whose computed default is being evaluated
  Now,
  Nodes,       // every node of the inventory: list of Node
  Field,       // args[0].field of record `record`
  Project,     // args[0] (a list of records) mapped to field `field`: a list
  Convert,     // args[0] converted to `type` (int -> decimal, number -> float)
  Negate,      // - args[0]
  Not,         // not args[0] (three-valued: not missing is missing)
  And, Or,     // three-valued, short-circuit
  Arith,       // args[0] arith args[1]
  Compare,     // args[0] compare_op args[1]; false when either is missing
  Presence,    // args[0] is present (negated: is missing)
  InList,      // args[0] in [args[1..]]
  InData,      // args[0] in bundle list `index`
  InCollection,// args[0] in args[1] (a list or set value)
  Quantifier,  // any/all: var `index` over args[0] where args[1]
  Comprehension,  // the list of args[1] for var `index` over args[0] [where args[2]], missing values left out
  Call,        // builtin(args...)
  TableCall,   // decision table `index` (args...)
  Lookup,      // keyed table `index` [args[0]] -> record, missing when absent
  List,        // [args...] as a list value (only where a list is expected)
};

struct Expr {
  ExprKind kind = ExprKind::Literal;
  Type type;
  // True when the expression can be missing at run time (an optional field
  // on the way, a lookup, a distance without coordinates).
  bool maybe_missing = false;
  SourceRange range;
  Value value;  // Literal, Const: the (folded) value
  int index = -1;
  int record = -1;  // Field, Project
  int field = -1;   // Field, Project
  model::ArithForm arith = model::ArithForm::IntAdd;
  model::CompareForm compare = model::CompareForm::Int;
  model::CompareOp compare_op = model::CompareOp::Eq;
  Builtin builtin = Builtin::Count;
  bool negated = false;         // Presence: is missing; InList/InData/InCollection: not in
  bool quantifier_all = false;
  std::string name;  // Var, Quantifier and Comprehension: the variable's name, for printing
  std::vector<std::unique_ptr<Expr>> args;
  // Field only: the field's computed default, evaluated with Self bound to
  // args[0] when the field is absent. Owned by the bundle's schema defaults.
  const Expr* computed_default = nullptr;
};
using ExprPtr = std::unique_ptr<Expr>;

// Whether a true/false expression in a condition is a fact of its own in a
// trace (a field such as order.customer.is_new, a table's answer), rather
// than one that reports itself (a comparison) or is made of others (and,
// or). Both engines explain by it, so their traces agree.
inline bool is_leaf_fact(const Expr& e) {
  switch (e.kind) {
    case ExprKind::And:
    case ExprKind::Or:
    case ExprKind::Not:
    case ExprKind::Compare:
    case ExprKind::Presence:
    case ExprKind::InList:
    case ExprKind::InData:
    case ExprKind::InCollection:
    case ExprKind::Quantifier:
    case ExprKind::Literal:
    case ExprKind::Const: return false;
    default: return true;
  }
}

// ------------------------------------------------------------ policies

using syntax::DecisionKind;
using syntax::RefundTiming;

// Orders: acceptance, routing, escalation. Returns: whether a return is
// taken (`returns`), what becomes of each returned unit (`disposition`),
// what to do when a delivery fails (`ndr`).
enum class PolicyKind : uint8_t { Acceptance, Routing, Escalation, Returns, Disposition, Ndr };
inline constexpr int kPolicyKindCount = 6;
inline constexpr PolicyKind kPolicyKinds[kPolicyKindCount] = {
    PolicyKind::Acceptance, PolicyKind::Routing, PolicyKind::Escalation,
    PolicyKind::Returns,    PolicyKind::Disposition, PolicyKind::Ndr};
const char* policy_kind_name(PolicyKind kind);
std::optional<PolicyKind> policy_kind_named(std::string_view name);
// What a policy decides about besides the order, bound to Var 1 in its
// rules: `return` (a Return), `unit` (a ReturnUnit), `ndr` (an Ndr); null
// for the order's own policies.
const char* policy_subject(PolicyKind kind);

struct Decision {
  DecisionKind kind = DecisionKind::Accept;
  std::string reason;
  ExprPtr hold_for;                         // hold ... for D (duration)
  std::unique_ptr<Decision> on_timeout;     // hold ... on timeout DECISION
  syntax::RefundTiming refund = syntax::RefundTiming::AfterInspection;  // approve refund ...
  bool keep_item = false;                   // approve ... keep item
  std::string restock_node;                 // restock to "NODE"; "" where the unit came from
  ExprPtr reschedule_to;                    // reschedule to TIME (a time)
  SourceRange range;
};

struct Preference {
  enum class Direction : uint8_t { Lowest, Highest } direction = Direction::Lowest;
  ExprPtr key;        // over the order and the node (Var 1)
  std::string label;  // "nearest", "cheapest", "lowest node.priority"
  SourceRange range;
};

struct Route {
  ExprPtr filter;  // null: every node; over the order and the node (Var 1)
  std::vector<Preference> prefer;
  int max_shipments = 1;  // no split: 1; split at most N: N
  ExprPtr safety_stock;   // int, may be null
  enum class Else : uint8_t { Continue, Decide } otherwise = Else::Continue;
  std::unique_ptr<Decision> else_decision;
  SourceRange range;
};

enum class ActionKind : uint8_t { Decision, Route, SetPriority, SetDelivery, Tag, Notify, Escalate, RefundShipping, Charge };

struct Action {
  ActionKind kind = ActionKind::Decision;
  Decision decision;
  Route route;
  ExprPtr value;     // SetPriority: Priority; SetDelivery: the order's delivery enum; Tag: string; Notify/Escalate: string (who);
                     // Charge: a decimal (a share of the refund, 15% = 0.15) or money
  ExprPtr priority;  // Notify/Escalate, optional
  std::string label; // Charge: what the fee is called ("restocking"); "" when not named
  SourceRange range;
};

struct Rule {
  std::string name;
  SourceRange range;
  SourceRange name_range;
  ExprPtr when;  // null: always
  std::vector<Action> actions;
  // Index into actions of the decision or route, or -1 for a rule that only
  // annotates. At most one per rule.
  int deciding_action = -1;
  std::string doc;
};

struct Policy {
  PolicyKind kind = PolicyKind::Acceptance;
  std::string title;
  std::string version;  // "" when not declared
  std::string owner;
  FileId file = kNoFile;
  SourceRange range;
  std::vector<Rule> rules;
  // `otherwise`, as a rule named "otherwise" without a condition.
  std::optional<Rule> otherwise;
  int slot_count = 2;  // frame slots the policy's expressions use
};

// ------------------------------------------------------------ tables

struct TableCell {
  enum class Kind : uint8_t { Any, Equal, Compare, NotEqual } kind = Kind::Any;
  model::CompareForm form = model::CompareForm::Int;
  model::CompareOp op = model::CompareOp::Eq;  // Compare
  Value value;
  SourceRange range;
};

struct TableRow {
  std::vector<TableCell> cells;
  Value result;
  SourceRange range;
};

struct Table {
  std::string name;
  std::vector<std::string> param_names;
  std::vector<Type> param_types;
  Type result;
  std::vector<TableRow> rows;
  SourceRange range;
  std::string doc;
};

// ------------------------------------------------------------ machine

struct Transition {
  std::vector<int> sources;
  std::vector<int> targets;
  int event = -1;                           // OrderEvent (ReturnEvent) value, or -1
  std::optional<PolicyKind> by;             // by acceptance / routing / returns
  std::optional<int64_t> after;             // after 14d: taken once the state has lasted that long (ms)
  ExprPtr guard;                            // when ..., over the order
  SourceRange range;
};

struct Machine {
  std::string name;
  std::vector<std::string> states;
  std::vector<SourceRange> state_ranges;  // where each state is first named
  std::vector<bool> terminal;
  int initial = 0;
  std::vector<Transition> transitions;
  int state_enum = -1;  // OrderState (ReturnState) in the schema
  int event_enum = -1;  // OrderEvent (ReturnEvent) in the schema
  int slot_count = 2;   // frame slots the guards use
  FileId file = kNoFile;
  SourceRange range;

  int find_state(std::string_view name) const;
};

// The state a decision moves an order to: accept -> accepted, ...
const char* decision_target_state(DecisionKind kind, bool routed);

// The name of the machine that moves returns rather than orders.
inline constexpr const char* kReturnMachineName = "return_lifecycle";

// ------------------------------------------------------------ tests

struct TestAssignment {
  std::vector<std::pair<int, int>> path;  // (record, field) from Order down
  Value value;
  SourceRange range;
};

struct TestExpectation {
  syntax::TestExpectation::Kind kind = syntax::TestExpectation::Kind::Decision;
  DecisionKind decision = DecisionKind::Accept;
  std::string reason;
  Value value;  // Priority, Delivery, Refund: what is expected
  syntax::RefundTiming refund = syntax::RefundTiming::Unspecified;  // Return: what it must say, when given
  bool keep_item = false;  // Return
  ExprPtr condition;  // expect that ...
  std::string condition_text;
  std::vector<std::string> strings;
  std::optional<std::string> by_rule;
  bool negated = false;  // expect not ...
  SourceRange range;
  size_t after_steps = 0;  // how many story steps come before it
};

// A step of a test's story (`then event pack`, `then routed`, `after 3h`,
// `at "..."`): a test with steps, or one expecting a state, runs on the
// order engine itself, with the bundle deployed in a database of its own.
struct StoryStep {
  syntax::StoryStep::Kind kind = syntax::StoryStep::Kind::Event;
  std::string event;           // Event
  // Return: what it takes back (line ids and units, nullopt: all) and why;
  // Event: the units it moves (none: every unit that takes it);
  // Grade: each unit's grade and reason (values of Grade and ReturnReason).
  std::vector<std::pair<std::string, std::optional<int64_t>>> returned;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> grades;
  std::optional<int64_t> attempt;  // Ndr: the failed attempt (reason: a value of NdrReason); none: the next
  std::vector<TestAssignment> changes;  // Update: the order's fields the channel changes
  std::optional<int64_t> at;   // Event: when it happens (else when the story stands); At: the moment
  int64_t after = 0;           // After: ms
  SourceRange range;
};

struct PolicyTest {
  std::string name;
  SourceRange range;
  std::string order_json;  // the order, as canonical JSON text
  std::string order_origin;  // the file it came from, or "inline"
  SourceRange order_range;
  std::optional<int64_t> at;  // `at "..."`: the time the test runs at
  std::vector<TestAssignment> assignments;
  std::vector<TestExpectation> expectations;
  std::vector<StoryStep> steps;
  int slot_count = 2;  // frame slots its `expect that` conditions use
  // `history from`: the inputs the engine takes before the order, one JSON
  // line each (as `orderflow run --events` reads them), and their file.
  std::vector<std::string> history;
  std::string history_origin;

  // Whether it runs on the order engine: it has steps or a history, or
  // expects a state.
  bool is_story() const {
    if (!steps.empty() || !history.empty()) return true;
    for (const TestExpectation& x : expectations)
      if (x.kind == syntax::TestExpectation::Kind::State) return true;
    return false;
  }
};

// ------------------------------------------------------------ bundle

struct Constant {
  std::string name;
  Type type;
  Value value;
  SourceRange range;
  std::string doc;
};

struct SourceText {
  std::string path;  // as shown in messages
  std::string text;
};

class CheckedBundle {
 public:
  CheckedBundle() = default;
  CheckedBundle(const CheckedBundle&) = delete;
  CheckedBundle& operator=(const CheckedBundle&) = delete;

  model::Schema schema;
  std::shared_ptr<SourceManager> sources;
  std::vector<FileId> bundle_files;  // the bundle's own .flow files, not the stdlib

  std::vector<Policy> policies;
  std::vector<Table> tables;
  std::vector<Constant> constants;
  std::optional<Machine> machine;
  // A return's states and how it moves: `machine return_lifecycle`.
  std::optional<Machine> return_machine;
  std::vector<PolicyTest> tests;

  std::vector<model::DataList> lists;
  std::vector<model::KeyedTable> keyed_tables;
  std::unique_ptr<model::GeoTable> geo;
  // Where each record keeps what places it on the map, for distance():
  // field indices of `lat` and `lon` (floats) and `postal_code` (text), -1
  // where a record has none. By record index.
  struct PlaceFields {
    int lat = -1;
    int lon = -1;
    int postal_code = -1;
  };
  std::vector<PlaceFields> places;
  std::unique_ptr<model::RateTable> rates;
  // `use hours`: working hours by node, with the calendar they close on.
  std::vector<model::WorkingHours> hours;
  // The regular expressions of `matches`, compiled once.
  std::vector<model::Pattern> patterns;
  // `timezone "..."`: the bundle's local time (UTC when not declared).
  model::TimeZone timezone;
  std::string timezone_name;  // "" when not declared
  // channels.csv beside the policies: per channel, units held back from what
  // it is told it may sell, and the nodes whose stock it sells (all when
  // none are named). Channels without a line sell every node's, in full.
  struct ChannelSetting {
    std::string channel;
    int64_t buffer = 0;
    std::vector<std::string> nodes;
    std::string tag;  // nodes with this tag
  };
  std::vector<ChannelSetting> channel_settings;
  // Nodes and stock from `use nodes` / `use stock`, when the bundle has them.
  std::unique_ptr<model::StaticInventory> inventory;

  // Computed defaults of schema fields, by (record, field).
  std::map<std::pair<int, int>, ExprPtr> computed_defaults;

  int order_record = -1;
  int node_record = -1;
  int line_record = -1;
  int address_record = -1;
  int priority_enum = -1;
  // Order's `delivery` field, when it is an enum (what `set delivery` and
  // `expect delivery` take); -1 otherwise.
  int delivery_field = -1;
  int history_record = -1;  // CustomerHistory, what history() gives
  // What the returns, disposition and ndr policies decide about.
  int return_record = -1;  // Return
  int unit_record = -1;    // ReturnUnit
  int ndr_record = -1;     // Ndr
  int subject_record(PolicyKind kind) const;  // the record of policy_subject(kind), -1 when none
  bool uses_history = false;  // a policy calls history(): the engine keeps its index

  // sha256 over the bundle's own files (paths and text), hex.
  std::string content_hash;

  const Policy* policy(PolicyKind kind) const;
  // The bundle's declared version: the acceptance policy's, else the first
  // declared one, else "".
  std::string declared_version() const;
  std::string_view source_text(const SourceRange& range) const;
};

}  // namespace orderflow::check
