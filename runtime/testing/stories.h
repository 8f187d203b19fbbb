#pragma once
// Running policy tests that are stories: see stories.cpp.
#include <string>

#include "runtime/engine/deployments.h"
#include "runtime/testing/policy_tests.h"

namespace orderflow::runtime {

// Runs the story tests of one bundle. The bundle is deployed once, into a
// database in a temporary folder that lives as long as the runner; each
// story starts from a copy of it (its own stock, orders and timers).
class StoryRunner {
 public:
  StoryRunner(std::string bundle_dir, EngineChoice choice);
  ~StoryRunner();
  StoryRunner(const StoryRunner&) = delete;
  StoryRunner& operator=(const StoryRunner&) = delete;

  // Tells the story of `test` (of `policies`' bundle), adding to `result`'s failures.
  void run(const engine::PolicyEngine& policies, const check::PolicyTest& test, PolicyTestResult& result);

 private:
  // Deploys the bundle, the first time; a message when it cannot.
  std::string prepare();

  std::string bundle_dir_;
  EngineChoice choice_;
  std::string dir_;  // the temporary folder, "" until prepared
  int stories_ = 0;
};

}  // namespace orderflow::runtime
