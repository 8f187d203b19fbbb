#pragma once
// The JIT engine: a bundle's policies compiled to native code with LLVM
// ORC. It is usable at once: until compilation finishes (on a thread of its
// own) and for any policy that could not be compiled, the reference
// interpreter serves. A compilation failure is a warning, never a crash.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "compiler/engine/engine.h"
#include "compiler/interp/interpreter.h"

namespace orderflow::jit {

// Compilation runs in tiers on a thread of the engine's own: first a
// baseline (unoptimised, compiled fast) so that native code serves within
// milliseconds, then an optimised tier that replaces it, then the
// explaining variant. Until a tier is ready the one before it serves, and
// before any is, the interpreter.
struct JitOptions {
  // What create() waits for before returning.
  enum class Wait { Nothing, Baseline, Optimised, Everything } wait = Wait::Nothing;
  // Where compiled objects are kept between runs; empty: no cache on disk.
  std::string cache_dir;
  // Modules larger than this many IR instructions stay at the baseline tier.
  size_t optimise_up_to = 400'000;
  // Whether evaluations record which rules were evaluated and matched
  // (Outcome::matched, rules_evaluated); off, only the decision is made.
  // Explaining always records.
  bool record_rules = true;
};

struct JitStatus {
  bool finished = false;   // every tier is over (successfully or not)
  bool compiled = false;   // native code serves (at least one policy)
  bool optimised = false;  // the optimised tier serves
  bool explainable = false;
  std::string warning;     // why something is served by the interpreter
  std::map<check::PolicyKind, std::string> interpreted;  // per policy, why
  double lower_ms = 0;     // typed bundle to LLVM IR
  double baseline_ms = 0;  // from the start of lowering to native code serving
  double optimised_ms = 0; // from the start of lowering to optimised code serving
  double explain_ms = 0;   // from the start of lowering to the explaining variant serving
  bool from_cache = false;
  size_t ir_instructions = 0;
};

// `orderflow check --emit ir`: the LLVM IR of the bundle's policies, as
// lowered, or after the optimisation the JIT would apply.
std::string dump_ir(const check::CheckedBundle& bundle, bool optimised);

// The compiled code and what its helpers need; defined in jit_engine.cpp.
struct CompiledPolicies;

class JitEngine final : public engine::PolicyEngine {
 public:
  static std::unique_ptr<JitEngine> create(std::shared_ptr<const check::CheckedBundle> bundle, JitOptions options = {});
  ~JitEngine() override;

  void evaluate_into(check::PolicyKind kind, const engine::EvalInput& input, engine::TraceDetail detail,
                     engine::Outcome& out) const override;
  bool condition_holds(const check::Expr& condition, int slots, const engine::EvalInput& input) const override;
  std::optional<int64_t> milliseconds_of(const check::Expr& e, int slots, const engine::EvalInput& input) const override;
  std::string name() const override { return "jit"; }
  const check::CheckedBundle& bundle() const override { return *bundle_; }

  // Blocks until that much is compiled (or has failed).
  void wait_for(JitOptions::Wait what) const;
  JitStatus status() const;
  // Whether `kind` runs as native code right now.
  bool is_compiled(check::PolicyKind kind) const;

 private:
  JitEngine(std::shared_ptr<const check::CheckedBundle> bundle, JitOptions options);
  void compile();

  std::shared_ptr<const check::CheckedBundle> bundle_;
  JitOptions options_;
  interp::Interpreter interpreter_;
  std::unique_ptr<CompiledPolicies> compiled_storage_;
  std::atomic<const CompiledPolicies*> compiled_{nullptr};
  mutable std::mutex status_mutex_;
  JitStatus status_;
  std::atomic<bool> stopping_{false};
  std::thread worker_;
};

}  // namespace orderflow::jit
