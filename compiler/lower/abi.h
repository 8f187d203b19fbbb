#pragma once
// The contract between compiled policy code and the C++ around it.
//
// Each policy becomes one function `void f(JitFrame*)`. It reads the order
// through JitFrame::order in the schema's record layout (schema.h), writes
// its scalar results into the frame, and calls the `of_*` helpers (defined
// in compiler/jit/helpers.cpp, declared here) for everything that needs C++:
// set membership, lookups, exact decimal products, text functions, and every
// message an analyst reads. Compiled code holds no addresses of this
// process: all it needs arrives through the frame, so an object file can be
// cached on disk and loaded by another process.
#include <cstddef>
#include <cstdint>

namespace orderflow::engine {
struct Outcome;
}

namespace orderflow::lower {

// A value crossing to a helper: which members matter depends on its type
// (i: ints, decimals, money amounts, durations, times, enums; f: floats,
// distances; p/n: strings and lists; aux: currencies).
struct RawValue {
  int64_t i;
  double f;
  const void* p;
  int64_t n;
  uint32_t aux;
  uint8_t present;
};

// Where a compiled decision came from.
enum DecisionSource : int32_t {
  kDecisionAction = 0,  // the rule's own decision
  kRouted = 1,          // its route found nodes
  kRouteElse = 2,       // its route failed and `else` decided
};

struct JitFrame {
  // ---------------------------------------------------------- inputs
  const void* engine;               // the CompiledPolicies running this frame
  const std::byte* order;
  int64_t now;
  const std::byte* const* nodes;    // the inventory's node images
  uint64_t node_count;
  const uint8_t* excluded;          // one byte per node, or null
  uint8_t trace_values;             // 1 when explaining: helpers record facts
  const std::byte* subject;         // a Return, ReturnUnit or Ndr image: Var 1 of those policies, or null
  // ---------------------------------------------------------- outputs
  int32_t deciding_rule;            // -2 nothing, -1 otherwise
  int32_t decision_source;          // DecisionSource
  int32_t rules_evaluated;
  uint8_t otherwise_evaluated;
  uint8_t has_hold_for;
  uint8_t has_priority;
  uint8_t failed;                   // an error ended the current rule
  uint8_t has_delivery;             // `set delivery`: delivery and the rule that set it
  int32_t delivery_rule;            // a rule's index, -1 otherwise
  uint8_t has_reschedule;           // `reschedule to TIME`: reschedule_at
  int64_t hold_for;
  int64_t priority;
  int64_t delivery;
  int64_t reschedule_at;
  uint64_t* matched;                // one bit per rule
  // ---------------------------------------------------------- routing
  const void* const* demand_rows;   // per demand: const model::StockLevel* (one per node), or null
  const int64_t* demand_quantity;   // per demand
  int64_t demand_count;
  // ---------------------------------------------------------- owned by the C++ driver
  engine::Outcome* outcome;
  void* driver;                     // jit::FrameState: scratch memory, routing state, the current trace
};

// The helpers compiled code calls. Every one takes the frame first.
// A helper that fails (returns 0, or sets *ok to 0) has recorded the message
// an analyst reads; compiled code then ends the rule with a policy error.
#define ORDERFLOW_JIT_HELPERS(X)                                                                          \
  /* arithmetic that is rare, exact or can fail with a message */                                        \
  X(of_arith, uint8_t, JitFrame*, int32_t form, const RawValue* a, const RawValue* b, RawValue* out)        \
  X(of_compare, int32_t, JitFrame*, int32_t form, const RawValue* a, const RawValue* b, uint8_t* ok)      \
  X(of_convert, uint8_t, JitFrame*, int32_t to_kind, const RawValue* a, RawValue* out)                      \
  X(of_fail, void, JitFrame*, int32_t message)                                                           \
  /* data */                                                                                             \
  X(of_list_contains, uint8_t, JitFrame*, int32_t list, const RawValue* value)                           \
  X(of_lookup, const void*, JitFrame*, int32_t table, const void* key, int64_t key_length)              \
  X(of_builtin, uint8_t, JitFrame*, int32_t call, uint8_t facts, const RawValue* args, int32_t count, RawValue* out)     \
  X(of_table_failure, void, JitFrame*, int32_t table, const RawValue* args)                               \
  X(of_stock, int64_t, JitFrame*, int64_t node, const void* sku, int64_t sku_length)                       \
  X(of_scratch, void*, JitFrame*, int64_t bytes)                                                         \
  /* annotations */                                                                                      \
  X(of_tag, void, JitFrame*, const void* text, int64_t length)                                           \
  X(of_notify, void, JitFrame*, int32_t rule, int32_t action, const RawValue* who, const RawValue* priority) \
  X(of_refund_term, void, JitFrame*, int32_t rule, int32_t action, const RawValue* value)                  \
  /* rule trace and errors */                                                                            \
  X(of_rule_begin, void, JitFrame*, int32_t rule)                                                        \
  X(of_rule_end, void, JitFrame*, int32_t rule, uint8_t matched, uint8_t decided)                        \
  X(of_rule_failed, void, JitFrame*, int32_t rule)                                                       \
  X(of_fact, void, JitFrame*, int32_t atom, uint8_t result, const RawValue* operands)                    \
  X(of_quantifier_fact, void, JitFrame*, int32_t atom, uint8_t result, int64_t witness, int64_t count,   \
    const RawValue* element)                                                                              \
  /* routing */                                                                                          \
  X(of_route_begin, int64_t, JitFrame*, int32_t rule, int32_t action)                                    \
  X(of_route_node, void, JitFrame*, int64_t node)                                                        \
  X(of_route_excluded, void, JitFrame*, int64_t node)                                                    \
  X(of_route_filtered, void, JitFrame*, int64_t node)                                                    \
  X(of_route_candidate, void, JitFrame*, int64_t node, const RawValue* keys, int64_t safety)             \
  X(of_route_finish, int32_t, JitFrame*)                                                                 \
  X(of_route_single, void, JitFrame*, int64_t node)

#define ORDERFLOW_DECLARE_HELPER(name, ret, ...) extern "C" ret name(__VA_ARGS__);
ORDERFLOW_JIT_HELPERS(ORDERFLOW_DECLARE_HELPER)
#undef ORDERFLOW_DECLARE_HELPER

// Messages for failures compiled code detects itself (of_fail).
enum FailMessage : int32_t {
  kFailNegation = 0,      // "a negation is too large"
  kFailHoldMissing = 1,   // "the hold's time limit is missing"
  kFailAbs = 2,           // "abs() of a number too large"
  kFailNodes = 3,         // "`nodes` used outside `any ... in nodes`"
  kFailRescheduleMissing = 4,  // "the time to deliver again is missing"
};

// Bumped whenever JitFrame, RawValue or a helper changes, so that objects
// cached on disk by an older build are never loaded.
inline constexpr int kAbiVersion = 7;

}  // namespace orderflow::lower
