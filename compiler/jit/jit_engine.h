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

struct JitOptions {
  // Compile on a thread of its own (else in create()).
  bool background = true;
  // Where compiled objects are kept between runs, keyed by the bundle's
  // content hash; empty: no cache on disk.
  std::string cache_dir;
  // Optimise the IR and the machine code; "auto" picks by the bundle's size.
  enum class Level { Auto, Fast, Optimised } level = Level::Auto;
};

struct JitStatus {
  bool finished = false;  // compilation is over (successfully or not)
  bool compiled = false;  // at least one policy runs as native code
  std::string warning;    // why something is served by the interpreter
  std::map<check::PolicyKind, std::string> interpreted;  // per policy, why
  double lower_ms = 0;    // typed bundle to LLVM IR
  double compile_ms = 0;  // IR to machine code, including optimisation
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
  std::string name() const override { return "jit"; }
  const check::CheckedBundle& bundle() const override { return *bundle_; }

  // Blocks until compilation is over.
  void wait_until_compiled() const;
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
  std::thread worker_;
};

}  // namespace orderflow::jit
