// The example bundle, every order of it, through both engines: the JIT must
// agree with the interpreter on every outcome, fact for fact, at several
// moments and with a node excluded.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "compiler/check/checker.h"
#include "compiler/interp/interpreter.h"
#include "runtime/canonical/order_json.h"
#include "runtime/testing/policy_tests.h"
#include "tests/differential/differential.h"

namespace orderflow::testing {
namespace {

namespace fs = std::filesystem;

struct Example {
  std::string name;  // file (and line, for .jsonl)
  std::string json;
};

std::vector<Example> orders_of(const fs::path& bundle) {
  std::vector<Example> out;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(bundle / "orders")) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    std::ifstream in(file);
    if (file.extension() == ".jsonl") {
      std::string line;
      for (int n = 1; std::getline(in, line); ++n)
        if (!line.empty()) out.push_back({fs::relative(file, bundle).string() + ":" + std::to_string(n), line});
    } else if (file.extension() == ".json") {
      std::stringstream ss;
      ss << in.rdbuf();
      out.push_back({fs::relative(file, bundle).string(), ss.str()});
    }
  }
  return out;
}

class ExampleBundle : public ::testing::TestWithParam<std::string> {};

TEST_P(ExampleBundle, EveryOrderGivesTheSameOutcomeOnBothEngines) {
  fs::path dir = fs::path(ORDERFLOW_SOURCE_DIR) / GetParam();
  check::CheckOutcome checked = check::check_bundle({dir.string()});
  ASSERT_TRUE(checked.ok());
  std::shared_ptr<const check::CheckedBundle> bundle(std::move(checked.bundle));
  interp::Interpreter interpreter(bundle);
  CompiledEngines compiled = CompiledEngines::of(bundle);
  std::vector<Example> orders = orders_of(dir);
  ASSERT_GE(orders.size(), 10u);
  size_t node_count = bundle->inventory ? bundle->inventory->node_count() : 0;
  size_t compared = 0;
  for (const Example& order : orders) {
    auto decoded = runtime::parse_order(*bundle, order.json);
    ASSERT_TRUE(std::holds_alternative<runtime::OrderImage>(decoded)) << order.name;
    const runtime::OrderImage& image = std::get<runtime::OrderImage>(decoded);
    for (const char* now : {"2026-11-20T06:00:00Z", "2026-11-20T13:00:00Z", "2026-11-24T00:00:00Z"}) {
      for (bool exclude_first : {false, true}) {
        std::vector<bool> excluded(node_count, false);
        if (exclude_first && node_count) excluded[0] = true;
        engine::EvalInput input;
        input.order = image.data();
        input.now = *model::parse_time(now);
        input.excluded_nodes = exclude_first ? &excluded : nullptr;
        for (check::PolicyKind kind :
             {check::PolicyKind::Acceptance, check::PolicyKind::Routing, check::PolicyKind::Escalation}) {
          EXPECT_EQ(differences(interpreter, compiled, kind, input), "")
              << order.name << " at " << now << (exclude_first ? ", first node excluded" : "") << ", "
              << check::policy_kind_name(kind) << " policy";
          ++compared;
        }
      }
    }
  }
  RecordProperty("compared", static_cast<int>(compared));
}

TEST_P(ExampleBundle, ThePolicyTestsGiveTheSameResultsOnBothEngines) {
  fs::path dir = fs::path(ORDERFLOW_SOURCE_DIR) / GetParam();
  check::CheckOutcome checked = check::check_bundle({dir.string()});
  ASSERT_TRUE(checked.ok());
  std::shared_ptr<const check::CheckedBundle> bundle(std::move(checked.bundle));
  interp::Interpreter interpreter(bundle);
  CompiledEngines compiled = CompiledEngines::of(bundle);
  auto expected = runtime::run_policy_tests(interpreter);
  for (const jit::JitEngine* jit : {compiled.baseline.get(), compiled.optimised.get()}) {
    auto actual = runtime::run_policy_tests(*jit);
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(actual[i].passed, expected[i].passed) << expected[i].name;
      EXPECT_EQ(actual[i].summary, expected[i].summary) << expected[i].name;
      EXPECT_EQ(actual[i].failures, expected[i].failures) << expected[i].name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Examples, ExampleBundle, ::testing::Values("examples/marketplace"));

}  // namespace
}  // namespace orderflow::testing
