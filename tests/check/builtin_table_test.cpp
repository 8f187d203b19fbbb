// The built-in functions are declared once (compiler/check/builtin_table.cpp);
// the reference page lists them as declared, so that an analyst reading it
// sees every function the checker knows, written as the checker shows it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "compiler/check/builtin_table.h"

namespace {

namespace fs = std::filesystem;
using orderflow::check::Builtin;
using orderflow::check::builtin_specs;

std::string reference_page() {
  std::ifstream in(fs::path(ORDERFLOW_SOURCE_DIR) / "compiler" / "LANGUAGE.md");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(BuiltinTable, EveryFunctionHasOneDeclaration) {
  std::set<Builtin> declared;
  std::set<std::string> names;
  for (const auto& spec : builtin_specs()) {
    EXPECT_TRUE(declared.insert(spec.builtin).second) << spec.name << " is declared twice";
    if (spec.callable) EXPECT_TRUE(names.insert(spec.name).second) << spec.name << " names two functions";
  }
  // Builtin::Matches is the last value of the enum.
  for (int b = 0; b <= static_cast<int>(Builtin::Matches); ++b)
    EXPECT_TRUE(declared.count(static_cast<Builtin>(b))) << "built-in " << b << " has no declaration";
}

TEST(BuiltinTable, TheReferencePageListsEachAsDeclared) {
  std::string page = reference_page();
  for (const auto& spec : builtin_specs()) {
    std::string row = "| `" + std::string(spec.usage) + "` | " + spec.summary + " |";
    EXPECT_NE(page.find(row), std::string::npos) << "compiler/LANGUAGE.md lacks the row:\n" << row;
  }
}

}  // namespace
