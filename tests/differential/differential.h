#pragma once
// Differential testing: the interpreter is the reference semantics, and the
// JIT must return the same outcome for every input, on each of its tiers,
// plain and explaining.
#include <fmt/format.h>

#include <memory>
#include <string>

#include "compiler/jit/jit_engine.h"

namespace orderflow::testing {

// The JIT engines a differential run compares with the interpreter.
struct CompiledEngines {
  std::unique_ptr<jit::JitEngine> baseline;   // never optimised
  std::unique_ptr<jit::JitEngine> optimised;  // every tier

  static CompiledEngines of(const std::shared_ptr<const check::CheckedBundle>& bundle) {
    CompiledEngines e;
    jit::JitOptions baseline_only;
    baseline_only.wait = jit::JitOptions::Wait::Everything;
    baseline_only.optimise_up_to = 0;
    e.baseline = jit::JitEngine::create(bundle, baseline_only);
    jit::JitOptions everything;
    everything.wait = jit::JitOptions::Wait::Everything;
    e.optimised = jit::JitEngine::create(bundle, everything);
    return e;
  }
};

// Evaluates on every compiled engine, plain and explaining, and returns
// the first difference from the interpreter ("" when they all agree).
inline std::string differences(const engine::PolicyEngine& reference, const CompiledEngines& compiled,
                               check::PolicyKind kind, const engine::EvalInput& input) {
  const check::CheckedBundle& bundle = reference.bundle();
  bool has_policy = false;
  for (const auto& p : bundle.policies) has_policy |= p.kind == kind;
  for (const jit::JitEngine* jit : {compiled.baseline.get(), compiled.optimised.get()}) {
    const char* tier = jit == compiled.baseline.get() ? "baseline tier" : "optimised tier";
    if (has_policy && !jit->is_compiled(kind))
      return std::string(tier) + ": the policy is not compiled: " + jit->status().warning;
    for (engine::TraceDetail detail : {engine::TraceDetail::Rules, engine::TraceDetail::Values}) {
      engine::Outcome expected = reference.evaluate(kind, input, detail);
      engine::Outcome actual = jit->evaluate(kind, input, detail);
      std::string diff = engine::compare_outcomes(expected, actual);
      if (!diff.empty())
        return fmt::format("{} ({}): {}", tier, detail == engine::TraceDetail::Rules ? "plain" : "explaining", diff);
    }
  }
  return "";
}

}  // namespace orderflow::testing
