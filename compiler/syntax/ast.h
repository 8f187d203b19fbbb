#pragma once
// The syntax tree of one .flow file: what the analyst wrote, with every
// piece's source range, before any name is resolved or type checked.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/support/source.h"

namespace orderflow::syntax {

// ------------------------------------------------------------ expressions

enum class ExprKind {
  Name,        // text: the identifier
  Member,      // args[0] . text
  Method,      // args[0] . text ( args[1..] ): order.entered(accepted)
  Call,        // text ( args... )
  Literal,     // literal_kind, text: source spelling, string_value: decoded string
  List,        // [ args... ]
  Negate,      // - args[0]
  Not,         // not args[0]
  Binary,      // args[0] binary_op args[1]
  Is,          // args[0] is [not] args[1]
  Presence,    // args[0] is [not] missing|present
  In,          // args[0] [not] in args[1]
  Matches,     // args[0] matches args[1] (a regular expression)
  Quantifier,  // any|all text in args[0] where args[1]
  // args[0] for text in args[1] [where args[2]]: only as a call's one
  // argument, sum(line.quantity for line in order.lines where ...)
  Comprehension,
  Now,
  Nodes,
};

enum class BinaryOp { Or, And, Eq, Ne, Lt, Le, Gt, Ge, Add, Sub, Mul, Div, Mod };
enum class LiteralKind { Int, Decimal, Percentage, Money, Duration, Distance, String, Bool };

struct Expr {
  ExprKind kind = ExprKind::Name;
  SourceRange range;
  std::string text;
  SourceRange name_range;  // Member: the field name; Call: the function; Quantifier, Comprehension: the variable
  LiteralKind literal_kind = LiteralKind::Int;
  std::string string_value;
  BinaryOp binary_op = BinaryOp::Eq;
  bool negated = false;         // is not, not in, is not missing
  bool tests_present = false;   // Presence: `is present` (else `is missing`)
  bool quantifier_all = false;  // Quantifier: all (else any)
  bool parenthesized = false;
  std::vector<std::unique_ptr<Expr>> args;
};
using ExprPtr = std::unique_ptr<Expr>;

const char* binary_op_spelling(BinaryOp op);

// ------------------------------------------------------------ types

struct TypeRef {
  enum class Kind { Named, List, Set } kind = Kind::Named;
  std::string name;
  std::unique_ptr<TypeRef> element;
  SourceRange range;
};

// ------------------------------------------------------------ actions

// Orders: accept .. backorder. Returns: approve (reject, hold). A returned
// unit: restock .. return to vendor. A failed delivery: reattempt ..
// return to origin (hold).
enum class DecisionKind {
  Accept, Hold, Reject, Cancel, Backorder,
  Approve,
  Restock, Quarantine, WriteOff, ReturnToVendor,
  Reattempt, Reschedule, ReturnToOrigin,
};
const char* decision_keyword(DecisionKind kind);

// When an approved return's money goes back. Unspecified reads as after
// inspection: no money leaves before someone has seen the item.
enum class RefundTiming { Unspecified, Now, AfterReceipt, AfterInspection };
const char* refund_timing_words(RefundTiming timing);  // "now", "after receipt", ...

struct Decision {
  DecisionKind kind = DecisionKind::Accept;
  std::string reason;
  SourceRange reason_range;
  ExprPtr hold_for;
  ExprPtr hold_until;  // hold ... until TIME
  // hold ... until next 07:00: milliseconds after local midnight
  std::optional<int64_t> hold_until_clock;
  SourceRange hold_until_range;  // the `until ...` clause
  std::unique_ptr<Decision> on_timeout;
  RefundTiming refund = RefundTiming::Unspecified;  // approve refund ...
  bool keep_item = false;                            // approve ... keep item
  std::optional<std::string> restock_node;           // restock to "BLR-WH1"
  SourceRange restock_node_range;
  ExprPtr reschedule_to;                             // reschedule to TIME
  SourceRange range;
};

struct Preference {
  enum class Kind { Nearest, Cheapest, Lowest, Highest } kind = Kind::Nearest;
  ExprPtr expr;
  SourceRange range;
};

struct RouteSpec {
  ExprPtr filter;
  std::vector<Preference> prefer;
  SourceRange prefer_range;
  enum class Split { Unspecified, None, AtMost } split = Split::Unspecified;
  ExprPtr split_limit;
  SourceRange split_range;
  ExprPtr safety_stock;
  SourceRange safety_stock_range;
  bool has_else = false;
  bool else_continue = false;
  std::unique_ptr<Decision> else_decision;
  SourceRange else_range;
  // Clauses written more than once, for a diagnostic.
  std::vector<SourceRange> repeated_clauses;
};

// RefundShipping: `refund shipping`; Charge: `charge restocking fee 15%`.
enum class ActionKind { Decision, SetPriority, SetField, Tag, Notify, Escalate, Route, RefundShipping, Charge };

struct Action {
  ActionKind kind = ActionKind::Decision;
  SourceRange range;
  Decision decision;  // ActionKind::Decision
  ExprPtr value;      // SetPriority: the priority; SetField: the new value; Tag: the tag; Notify, Escalate: who; Charge: the fee
  std::string field;  // SetField: what `set` changes (`set delivery next_day`); Charge: the fee's name ("restocking"), "" when none
  SourceRange field_range;
  ExprPtr priority;   // Notify, Escalate: optional priority
  RouteSpec route;    // ActionKind::Route
};

// ------------------------------------------------------------ items

struct Rule {
  std::string name;
  SourceRange name_range;
  SourceRange range;
  ExprPtr when;  // null: always matches
  std::vector<Action> actions;
  std::string doc;
};

struct Otherwise {
  SourceRange range;
  std::vector<Action> actions;
};

struct Policy {
  std::string kind;  // acceptance, routing, escalation
  SourceRange kind_range;
  std::string title;
  std::optional<std::string> version;
  SourceRange version_range;
  std::optional<std::string> owner;
  SourceRange owner_range;
  std::vector<Rule> rules;
  std::vector<Otherwise> otherwise;
  SourceRange range;  // the header
  std::string doc;
};

struct UseDecl {
  enum class Kind { List, Geo, Rates, Table, Nodes, Stock, Calendar, Hours } kind = Kind::List;
  std::string name;  // empty for nodes and stock
  SourceRange name_range;
  std::string closed_on;  // use hours ... closed on CALENDAR
  SourceRange closed_on_range;
  std::unique_ptr<TypeRef> element;  // use list NAME of TYPE
  std::string record;                // use table NAME of RECORD
  SourceRange record_range;
  std::string key;                   // use table ... by FIELD
  SourceRange key_range;
  std::string path;
  SourceRange path_range;
  SourceRange range;
  std::string doc;
};

struct ConstDecl {
  std::string name;
  SourceRange name_range;
  std::unique_ptr<TypeRef> type;
  ExprPtr value;
  SourceRange range;
  std::string doc;
};

struct TableCell {
  enum class Kind { Any, Dashes, Value, Compare, Not } kind = Kind::Any;
  BinaryOp op = BinaryOp::Eq;  // Compare
  ExprPtr expr;
  SourceRange range;
};

struct TableRow {
  std::vector<TableCell> cells;
  SourceRange range;
};

struct TableParam {
  std::string name;
  SourceRange name_range;
  std::unique_ptr<TypeRef> type;
};

struct Table {
  std::string name;
  SourceRange name_range;
  std::vector<TableParam> params;
  std::unique_ptr<TypeRef> result;
  std::vector<TableRow> rows;  // the header row first
  SourceRange range;
  std::string doc;
};

struct NameRef {
  std::string name;
  SourceRange range;
};

struct Transition {
  std::vector<NameRef> sources;
  std::vector<NameRef> targets;
  std::optional<NameRef> event;
  std::optional<NameRef> by_policy;
  ExprPtr after;  // `after 14d`: taken when the state has lasted that long
  ExprPtr guard;
  SourceRange range;
};

struct Machine {
  std::string name;
  SourceRange name_range;
  std::optional<NameRef> initial;
  std::vector<Transition> transitions;
  std::vector<NameRef> terminals;
  SourceRange range;
  std::string doc;
};

struct FieldDecl {
  std::string name;
  SourceRange name_range;
  std::unique_ptr<TypeRef> type;
  bool optional = false;
  ExprPtr default_value;
  SourceRange range;
  std::string doc;
};

struct RecordDecl {
  bool extend = false;
  std::string name;
  SourceRange name_range;
  std::vector<FieldDecl> fields;
  SourceRange range;
  std::string doc;
};

struct EnumValueDecl {
  std::string name;
  SourceRange range;
  std::string doc;
};

struct EnumDecl {
  bool extend = false;
  std::string name;
  SourceRange name_range;
  std::vector<EnumValueDecl> values;
  SourceRange range;
  std::string doc;
};

struct TestAssignment {
  std::vector<NameRef> path;  // order . ship_to . postal_code
  ExprPtr value;
  SourceRange range;
};

struct TestExpectation {
  // NoPriority, NoTag, NoNotify, NoEscalate: `expect no priority` (none at all).
  enum class Kind {
    Decision, Priority, Tag, Route, Notify, Escalate, That, NoPriority, NoTag, NoNotify, NoEscalate,
    State,  // expect state S: where the order's story has brought it
    Delivery,  // expect delivery MODE: what the order promises after its policies
    Return,  // expect return approved[, refund after inspection][, keep item]: the story's last return
    Disposition,  // expect disposition restock: what became of the last graded unit
    Refund,  // expect refund 1299.00 INR: what the story's last return refunded
    Ndr,     // expect ndr return to origin: what the ndr policy made of the last failed delivery
  } kind = Kind::Decision;
  RefundTiming refund = RefundTiming::Unspecified;  // Return
  bool keep_item = false;                            // Return
  bool negated = false;  // expect not ...: fails when the expectation holds
  Decision decision;
  ExprPtr value;      // Priority, Delivery, Refund: what is expected; That: the condition
  std::vector<std::string> strings;  // tag, notify or escalate target, route node ids; Return: its state word
  std::optional<std::string> by_rule;
  SourceRange by_rule_range;
  SourceRange range;
  size_t after_steps = 0;  // how many of the test's story steps come before it
};

// A step of a test's story: what happens to the order next.
struct StoryStep {
  enum class Kind { Event, Routed, After, At, Return, Grade, Ndr, Update } kind = Kind::Event;
  std::string event;               // Event
  // Return: the lines taken back (the line's id, the units: all when not
  // given) and why; Event: the units it moves (none: every unit that takes
  // it); Grade: each unit's grade and, when given, its reason.
  struct ReturnedLine {
    std::string line_id;
    std::optional<int64_t> quantity;
    SourceRange range;
  };
  std::vector<ReturnedLine> returned;
  std::string reason;
  SourceRange reason_range;
  struct GradedUnit {
    std::string grade;
    std::string reason;  // "" when not given
    SourceRange range;
  };
  std::vector<GradedUnit> grades;
  std::optional<int64_t> attempt;  // Ndr: which delivery attempt failed (reason: why)
  std::vector<TestAssignment> changes;  // Update: the order's fields the channel changes
  std::optional<std::string> at;   // Event: when it happens; At: the moment the story moves to
  SourceRange at_range;
  ExprPtr after;                   // After: a duration
  SourceRange range;
};

struct Test {
  std::string name;
  SourceRange name_range;
  SourceRange range;
  std::optional<std::string> order_file;
  std::optional<std::string> order_inline;  // the JSON between """ and """
  SourceRange order_range;
  // `history from "f.jsonl"`: what the engine took before the test's order.
  std::optional<std::string> history_file;
  SourceRange history_range;
  std::optional<std::string> at;
  SourceRange at_range;
  std::vector<TestAssignment> assignments;
  std::vector<TestExpectation> expectations;
  std::vector<StoryStep> steps;
};

// One parsed file. Items keep their source order within each list.
// `timezone "Asia/Kolkata"`: the bundle's local time.
struct TimezoneDecl {
  std::string name;
  SourceRange range;  // the name
};

struct ParsedFile {
  FileId file = kNoFile;
  bool had_syntax_errors = false;
  std::vector<TimezoneDecl> timezones;
  std::vector<Policy> policies;
  std::vector<UseDecl> uses;
  std::vector<ConstDecl> consts;
  std::vector<Table> tables;
  std::vector<Machine> machines;
  std::vector<RecordDecl> records;
  std::vector<EnumDecl> enums;
  std::vector<Test> tests;
};

}  // namespace orderflow::syntax
