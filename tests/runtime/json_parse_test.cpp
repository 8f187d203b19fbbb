// parse_json reads webhook bodies and input lines in nlohmann's stead: it
// must give exactly the document nlohmann would, value for value and type
// for type, on every real payload and on the corners where two JSON
// readers could differ.
#include "runtime/canonical/json_parse.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace orderflow::runtime {
namespace {

// Same values and the same types throughout (== alone takes 1 for 1u).
void expect_same(const nlohmann::json& a, const nlohmann::json& b, const std::string& where) {
  ASSERT_EQ(a.type(), b.type()) << where;
  if (a.is_object()) {
    ASSERT_EQ(a.size(), b.size()) << where;
    for (auto it = a.begin(); it != a.end(); ++it) {
      ASSERT_TRUE(b.contains(it.key())) << where << "." << it.key();
      expect_same(it.value(), b[it.key()], where + "." + it.key());
    }
  } else if (a.is_array()) {
    ASSERT_EQ(a.size(), b.size()) << where;
    for (size_t i = 0; i < a.size(); ++i) expect_same(a[i], b[i], where + "[" + std::to_string(i) + "]");
  } else {
    EXPECT_EQ(a, b) << where;
    EXPECT_EQ(a.dump(), b.dump()) << where;
  }
}

void expect_as_nlohmann(const std::string& text, const std::string& what) {
  nlohmann::json ours = parse_json(text);
  nlohmann::json theirs = nlohmann::json::parse(text, nullptr, false);
  ASSERT_EQ(ours.is_discarded(), theirs.is_discarded()) << what;
  if (!ours.is_discarded()) expect_same(ours, theirs, what + ": $");
}

TEST(ParseJson, EveryRealPayloadReadsAsNlohmannReadsIt) {
  size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(std::string(ORDERFLOW_SOURCE_DIR) +
                                                                          "/../shared/payloads")) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    expect_as_nlohmann(text.str(), entry.path().string());
    ++files;
  }
  EXPECT_GT(files, 20u) << "the payloads in ../shared were not found";
}

TEST(ParseJson, CornersReadAsNlohmannReadsThem) {
  for (const char* text : {
           R"({"id": 450789469, "n": -3, "zero": 0, "f": 1.0, "e": 1e3, "big": 18446744073709551615})",
           R"({"beyond_64_bits": 18446744073709551616, "tiny": 5e-324})",
           R"({"a": 1, "a": 2})",
           R"({"s": "caf\u00e9 \ud83d\ude00 \"quoted\" \\ \/", "empty": "", "null": null, "t": true, "f": false})",
           R"([[], {}, [[[1]]], "x"])",
           R"("just a string")",
           "  {\"spaced\" :\n [1 , 2]}  ",
           R"({"unterminated": )",
           R"({"trailing": 1} x)",
           "{\"bad utf8\": \"\xff\"}",
           "",
       })
    expect_as_nlohmann(text, text);
  std::string deep = std::string(2000, '[') + std::string(2000, ']');
  expect_as_nlohmann(deep, "2000 nested arrays");
}

// The one difference, which no payload has: simdjson does not say whether
// a 0 had a minus sign. The value is the same and prints the same.
TEST(ParseJson, MinusZeroIsZero) {
  nlohmann::json ours = parse_json(R"({"n": -0})");
  EXPECT_EQ(ours["n"], nlohmann::json::parse(R"({"n": -0})")["n"]);
  EXPECT_EQ(ours.dump(), R"({"n":0})");
}

}  // namespace
}  // namespace orderflow::runtime

namespace orderflow::runtime {
namespace {

// What a webhook or an input line hears when its body cannot be read: said
// in a line, never thrown (a number beyond a double once ended `serve`).
TEST(JsonProblem, SaysWhatIsWrongAndNeverThrows) {
  EXPECT_EQ(json_problem(R"({"id": 450789469})"), std::nullopt);
  EXPECT_EQ(json_problem(std::string(2000, '[') + std::string(2000, ']')), std::nullopt);
  std::optional<std::string> overflow = json_problem(R"({"id": 1e309})");
  ASSERT_TRUE(overflow);
  EXPECT_EQ(*overflow, "cannot be read: number overflow parsing '1e309'");
  std::optional<std::string> syntax = json_problem("{order: 1}");
  ASSERT_TRUE(syntax);
  EXPECT_EQ(syntax->rfind("not JSON (line 1, column 2): ", 0), 0u) << *syntax;
  EXPECT_EQ(syntax->find("syntax error while"), std::string::npos) << "only what is wrong, not the parser's words";
  std::optional<std::string> latin1 = json_problem("{\"id\": \"Ren\xe9" "e\"}");
  ASSERT_TRUE(latin1);
  EXPECT_EQ(*latin1, "not UTF-8 (line 1, column 12): the byte 0xE9 is not UTF-8 text; JSON must be UTF-8 (a file saved as "
                     "Latin-1 or Windows-1252 needs saving as UTF-8)");
  EXPECT_EQ(syntax->find("json.exception"), std::string::npos) << "the library's tag is left out";
  EXPECT_TRUE(parse_json(R"({"total": -1e400})").is_discarded());
}

}  // namespace
}  // namespace orderflow::runtime
