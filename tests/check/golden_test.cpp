// Every .flow file (or bundle folder) under tests/golden/diagnostics is
// checked; its rendered diagnostics must equal the .expected file beside it.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "compiler/check/checker.h"
#include "tests/golden.h"

namespace orderflow::check {
namespace {

namespace fs = std::filesystem;

fs::path golden_dir() { return fs::path(ORDERFLOW_SOURCE_DIR) / "tests" / "golden" / "diagnostics"; }

std::vector<std::string> cases() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(golden_dir())) {
    std::string name = entry.path().filename().string();
    if (entry.is_directory() || entry.path().extension() == ".flow") names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

class GoldenDiagnostics : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenDiagnostics, MatchesExpectedOutput) {
  // Paths in the output are as the user typed them: relative to this folder.
  fs::path saved = fs::current_path();
  fs::current_path(golden_dir());
  CheckOutcome out = check_bundle({GetParam()});
  std::string text = render_text(out.diagnostics, *out.sources) + summary_line(out.diagnostics) + "\n";
  std::string json = to_json(out.diagnostics, *out.sources).dump(2) + "\n";
  fs::current_path(saved);
  std::string stem = fs::path(GetParam()).stem().string();
  orderflow::testing::expect_golden(golden_dir() / (stem + ".expected"), text);
  if (fs::exists(golden_dir() / (stem + ".expected.json")) || stem == "tour-section-7")
    orderflow::testing::expect_golden(golden_dir() / (stem + ".expected.json"), json);
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenDiagnostics, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = fs::path(info.param).stem().string();
                           std::replace_if(n.begin(), n.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
                           return n;
                         });

}  // namespace
}  // namespace orderflow::check
