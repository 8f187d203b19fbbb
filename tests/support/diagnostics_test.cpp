#include "compiler/support/diagnostics.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace orderflow {
namespace {

SourceRange range(FileId f, uint32_t line, uint32_t col, uint32_t end_col) {
  return {f, {line, col}, {line, end_col}};
}

TEST(Diagnostics, RendersLikeTheLanguageTour) {
  SourceManager sources;
  std::string text(13, '\n');
  text += "  when order.total > 5000\n";
  FileId f = sources.add("policies/acceptance.flow", text);
  Diagnostics ds;
  ds.error("E0301", range(f, 14, 22, 26), "cannot compare money with a plain number",
           "write the currency, for example 5000 INR");
  EXPECT_EQ(render_text(ds, sources),
            "policies/acceptance.flow:14:22: error[E0301]: cannot compare money with a plain number\n"
            "   14 |   when order.total > 5000\n"
            "      |                      ^^^^ write the currency, for example 5000 INR\n");
}

TEST(Diagnostics, CaretsCountCodePointsNotBytes) {
  SourceManager sources;
  FileId f = sources.add("a.flow", "tag \"café\" x\n");
  Diagnostics ds;
  ds.error("E0001", range(f, 1, 12, 13), "unexpected 'x'");
  std::string out = render_text(ds, sources);
  EXPECT_NE(out.find("      |            ^\n"), std::string::npos) << out;
}

TEST(Diagnostics, JsonCarriesEveryField) {
  SourceManager sources;
  FileId f = sources.add("a.flow", "rule\n");
  Diagnostics ds;
  ds.warning("W0401", range(f, 1, 1, 5), "never decides", "move it up").related.push_back({range(f, 1, 1, 2), "here"});
  nlohmann::json j = to_json(ds, sources);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["code"], "W0401");
  EXPECT_EQ(j[0]["severity"], "warning");
  EXPECT_EQ(j[0]["file"], "a.flow");
  EXPECT_EQ(j[0]["line"], 1);
  EXPECT_EQ(j[0]["column"], 1);
  EXPECT_EQ(j[0]["end_column"], 5);
  EXPECT_EQ(j[0]["hint"], "move it up");
  EXPECT_EQ(j[0]["related"][0]["message"], "here");
}

TEST(Diagnostics, SortsByFileAndPosition) {
  SourceManager sources;
  FileId b = sources.add("b.flow", "x\ny\n");
  FileId a = sources.add("a.flow", "x\n");
  Diagnostics ds;
  ds.error("E2", range(b, 2, 1, 2), "second");
  ds.error("E1", range(b, 1, 1, 2), "first");
  ds.warning("W1", range(a, 1, 1, 2), "in a");
  ds.sort(sources);
  EXPECT_EQ(ds.all()[0].message, "in a");
  EXPECT_EQ(ds.all()[1].message, "first");
  EXPECT_EQ(ds.all()[2].message, "second");
  EXPECT_EQ(summary_line(ds), "2 errors, 1 warning");
}

}  // namespace
}  // namespace orderflow
