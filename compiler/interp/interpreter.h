#pragma once
// The reference interpreter: evaluates a checked bundle's policies on
// orders by walking the typed expressions. Its behaviour is the meaning of
// the language; the JIT is tested against it.
#include <memory>

#include "compiler/engine/engine.h"

namespace orderflow::interp {

class Interpreter final : public engine::PolicyEngine {
 public:
  explicit Interpreter(std::shared_ptr<const check::CheckedBundle> bundle);

  void evaluate_into(check::PolicyKind kind, const engine::EvalInput& input, engine::TraceDetail detail,
                     engine::Outcome& out) const override;
  bool condition_holds(const check::Expr& condition, int slots, const engine::EvalInput& input) const override;
  std::optional<int64_t> milliseconds_of(const check::Expr& e, int slots, const engine::EvalInput& input) const override;
  std::string name() const override { return "interpreter"; }
  const check::CheckedBundle& bundle() const override { return *bundle_; }

 private:
  std::shared_ptr<const check::CheckedBundle> bundle_;
};

}  // namespace orderflow::interp
