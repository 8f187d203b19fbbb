// The two engines on generated bundles: the property test's generator of
// well-typed policies (tests/differential/policy_generator.h) driven by the
// fuzz input, whose first eight bytes are the seed, so that each input
// names one bundle and its orders and every disagreement found is kept as
// a reproducer. The JIT must decide as the interpreter does, field for
// field, on every order.
#include <cstdio>
#include <cstring>

#include "compiler/interp/interpreter.h"
#include "runtime/canonical/order_json.h"
#include "tests/check/check_helpers.h"
#include "tests/differential/differential.h"
#include "tests/differential/policy_generator.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace orderflow;
  uint64_t seed = 0;
  std::memcpy(&seed, data, std::min(size, sizeof seed));
  testing::gen::Rng rng(seed);
  testing::gen::Bundle generated = testing::gen::generate_bundle(rng);
  testing::TempBundle dir;
  for (const auto& [name, content] : generated.files()) dir.write(name, content);
  check::CheckOutcome checked = dir.check();
  FUZZ_ASSERT(checked.ok());  // the generator makes only bundles that check
  auto bundle = std::shared_ptr<const check::CheckedBundle>(std::move(checked.bundle));
  interp::Interpreter interpreter(bundle);
  testing::CompiledEngines compiled = testing::CompiledEngines::of(bundle);
  for (int i = 0; i < 20; ++i) {
    std::string order = testing::gen::generate_order(rng, i);
    std::string now = testing::gen::generate_now(rng);
    auto decoded = runtime::parse_order(*bundle, order);
    if (!std::holds_alternative<runtime::OrderImage>(decoded)) continue;
    engine::EvalInput input;
    input.order = std::get<runtime::OrderImage>(decoded).data();
    input.now = *model::parse_time(now);
    for (check::PolicyKind kind : {check::PolicyKind::Acceptance, check::PolicyKind::Routing, check::PolicyKind::Escalation}) {
      std::string difference = testing::differences(interpreter, compiled, kind, input);
      if (!difference.empty()) {
        std::fprintf(stderr, "the engines disagree (seed %llu, order %d at %s): %s\n%s\n",
                     static_cast<unsigned long long>(seed), i, now.c_str(), difference.c_str(), order.c_str());
        std::abort();
      }
    }
  }
  return 0;
}
