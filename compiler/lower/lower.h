#pragma once
// Lowering: a checked bundle's policies to LLVM IR, one function per policy
// (see abi.h for how compiled code meets the rest of the engine). Lowering
// either produces a module whose functions compute exactly what the
// interpreter computes, or says which policy it cannot compile and why, so
// that the interpreter serves that policy instead.
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "compiler/check/bundle.h"

namespace orderflow::lower {

// A condition atom whose outcome a trace explains: compiled code reports it
// by index (of_fact), the helper formats it like the interpreter does.
struct Atom {
  enum class Kind {
    Operands,    // a comparison or test: format_fact with its operands
    Leaf,        // a plain true/false value in a condition
    Quantifier,  // any/all: the witness
    Call,        // a built-in function call handed to of_builtin
  } kind = Kind::Operands;
  const check::Expr* expr = nullptr;
  std::vector<const check::Expr*> operands;  // Operands: which values are passed
};

struct LoweredBundle {
  std::unique_ptr<llvm::LLVMContext> context;
  std::unique_ptr<llvm::Module> module;
  // The compiled function of each policy that could be lowered:
  // policy_<kind>, or policy_<kind>_explain for the explaining variant.
  std::map<check::PolicyKind, std::string> functions;
  // Policies left to the interpreter, with the reason.
  std::map<check::PolicyKind, std::string> not_compiled;
  std::vector<Atom> atoms;
};

struct LowerOptions {
  std::string module_name = "orderflow";
  // Compile the explaining variant: every fact of every condition and every
  // node considered is reported through the helpers (TraceDetail::Values).
  // The plain variant records only which rules matched, and is the one on
  // the hot path.
  bool explain = false;
  // The plain variant records which rules were evaluated and which matched
  // (the trace kept for every order). Off, only the decision is made: for
  // measuring what the trace costs, or for throughput over audit.
  bool record_rules = true;
};

// Never throws for a valid bundle; constructs it cannot compile are
// reported in not_compiled.
LoweredBundle lower_bundle(const check::CheckedBundle& bundle, const LowerOptions& options = {});

}  // namespace orderflow::lower
