#include "cli/support.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "compiler/check/checker.h"
#include "runtime/engine/deployments.h"
#include "runtime/testing/policy_tests.h"
#include "runtime/testing/stories.h"

namespace orderflow::cli {

bool stderr_is_terminal() { return isatty(STDERR_FILENO); }

namespace {
std::string started_as = "orderflow";
}  // namespace

void set_command_line(int argc, char** argv) {
  started_as = "orderflow";
  for (int i = 1; i < argc; ++i) started_as += std::string(" ") + argv[i];
}

const std::string& command_line() { return started_as; }

std::shared_ptr<const check::CheckedBundle> load_bundle(const std::string& path) {
  check::CheckOutcome outcome = check::check_bundle({path});
  if (!outcome.ok()) {
    std::cerr << render_text(outcome.diagnostics, *outcome.sources, {stderr_is_terminal()});
    std::cerr << "the bundle has " << summary_line(outcome.diagnostics) << "; nothing was evaluated\n";
    return nullptr;
  }
  return std::shared_ptr<const check::CheckedBundle>(std::move(outcome.bundle));
}

runtime::DeployOptions deploy_options(const std::string& bundle_dir, const std::string& engine,
                                      const std::string& despite) {
  runtime::DeployOptions options;
  options.color = stderr_is_terminal();
  options.despite_failing_tests = despite;
  options.failing_tests = [bundle_dir, engine](const engine::PolicyEngine& serving) {
    runtime::EngineChoice choice;
    choice.kind = engine;
    runtime::StoryRunner stories(bundle_dir, choice);
    std::vector<std::string> failing;
    const check::CheckedBundle& b = serving.bundle();
    for (const runtime::PolicyTestResult& r : runtime::run_policy_tests(serving, &stories))
      if (!r.passed)
        failing.push_back(fmt::format("{} ({}:{}): {}", r.name, b.sources->file(r.range.file).path(), r.range.begin.line,
                                      fmt::join(r.failures, "; ")));
    return failing;
  };
  return options;
}

std::unique_ptr<engine::PolicyEngine> make_engine(std::shared_ptr<const check::CheckedBundle> bundle,
                                                  const std::string& which) {
  runtime::EngineChoice choice;
  choice.kind = which == "jit" ? "jit" : "interp";
  // A command line run asked for the JIT to see the compiled code answer
  // (optimised, and explaining where asked), from the first order on.
  choice.wait_for_native = true;
  if (const char* dir = std::getenv("ORDERFLOW_JIT_CACHE")) choice.cache_dir = dir;
  std::string warning;
  auto engine = runtime::make_policy_engine(std::move(bundle), choice, &warning);
  if (!warning.empty()) std::cerr << "orderflow: warning: " << warning << "\n";
  return engine;
}

std::optional<int64_t> parse_now(const std::string& text) {
  if (text.empty())
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  return model::parse_time(text);
}

}  // namespace orderflow::cli
