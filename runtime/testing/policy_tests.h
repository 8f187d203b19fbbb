#pragma once
// Running the policy tests written beside a bundle's policies (`test`
// items): each names an order, optionally changes fields of it, and says
// what should happen.
#include <string>
#include <vector>

#include "compiler/engine/engine.h"

namespace orderflow::runtime {

struct PolicyTestResult {
  std::string name;
  SourceRange range;
  bool passed = false;
  std::vector<std::string> failures;  // one line per unmet expectation
  std::string summary;                // what actually happened
};

class StoryRunner;

// Evaluates every test of the engine's bundle: acceptance, then routing for
// an accepted order, then escalation. `now` is the test's `at`, else the
// order's placed_at. A test that tells a story (`then event`, `after`,
// `expect state`) runs on the order engine through `stories`; without one
// it fails, saying so.
std::vector<PolicyTestResult> run_policy_tests(const engine::PolicyEngine& engine, StoryRunner* stories = nullptr);

}  // namespace orderflow::runtime
