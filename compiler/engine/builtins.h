#pragma once
// The built-in functions of the language on values: one implementation,
// called by the interpreter and by compiled code (through of_builtin), so
// both engines agree by construction. Functions over whole lists (count,
// sum, min, max) are here too; compiled code inlines the common cases.
#include <variant>

#include "compiler/check/bundle.h"
#include "compiler/engine/history.h"
#include "compiler/model/ops.h"

namespace orderflow::engine {

struct BuiltinResult {
  model::OpResult value;
  // distance(): which argument has no known place (for the trace), or -1.
  int unplaced_argument = -1;
};

// What a built-in may read beyond its arguments: the evaluation's nodes and
// stock, the engine's history, and the moment of the decision.
struct BuiltinWorld {
  const model::Inventory* inventory = nullptr;
  const HistorySource* history = nullptr;  // null: nothing journalled (eval, tests)
  int64_t now = 0;
};

// `args` are the evaluated arguments of `call` (a Call expression; missing
// allowed). Strings and records made here (lower, upper, currency, date,
// history) are written into `scratch`.
BuiltinResult apply_builtin(const check::CheckedBundle& bundle, const check::Expr& call, const model::Value* args,
                            size_t count, const BuiltinWorld& world, model::Arena& scratch);

}  // namespace orderflow::engine
