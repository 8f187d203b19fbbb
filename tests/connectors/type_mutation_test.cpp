// Every real payload in ../shared/payloads, with each of its values in turn
// replaced by a value of another shape (a text, a list, an object, a
// number, null, true): whatever a channel sends, its connector answers an
// order, events or a PayloadError naming the JSON path, and never lets an
// exception out (issue 19, failure 8: "internal error" with no path, for a
// list sent as a text and the like). Black-box fuzzing found a dozen such
// places; this walks all of them, on every connector.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "connectors/connector.h"
#include "runtime/canonical/json_parse.h"

namespace orderflow::connectors {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Each value in the document, by its JSON pointer.
void pointers(const json& j, const json::json_pointer& at, std::vector<json::json_pointer>& out) {
  out.push_back(at);
  if (j.is_object())
    for (auto it = j.begin(); it != j.end(); ++it) pointers(it.value(), at / it.key(), out);
  else if (j.is_array())
    for (size_t i = 0; i < j.size(); ++i) pointers(j[i], at / i, out);
}

// Calls `each` with every mutation of every payload in ../shared that a
// connector reads, and a name for it; returns how many payloads there were.
size_t for_each_mutation(const std::function<void(const Connector&, const json&, const std::string&)>& each) {
  const json others[] = {"x", json::array(), json::object(), 1.5, -1, nullptr, true, json::array({"x"})};
  size_t payloads = 0;
  for (const auto& dir : fs::directory_iterator(fs::path(ORDERFLOW_SHARED_DIR) / "payloads")) {
    if (!dir.is_directory()) continue;
    const Connector* connector = find_connector(dir.path().filename().string());
    if (!connector) continue;
    for (const auto& file : fs::recursive_directory_iterator(dir.path())) {
      if (file.path().extension() != ".json") continue;
      std::ifstream in(file.path());
      std::stringstream text;
      text << in.rdbuf();
      json payload = runtime::parse_json(text.str());
      if (payload.is_discarded()) continue;
      ++payloads;
      each(*connector, payload, file.path().filename().string() + " as sent");
      std::vector<json::json_pointer> all;
      pointers(payload, json::json_pointer(), all);
      for (const json::json_pointer& at : all) {
        for (const json& other : others) {
          json mutated = payload;
          mutated[at] = other;
          each(*connector, mutated, fmt::format("{} {} = {}", file.path().filename().string(), at.to_string(), other.dump()));
        }
      }
    }
  }
  return payloads;
}

std::string shown(const Normalized& n) {
  if (auto* e = std::get_if<PayloadError>(&n)) return "error " + e->text();
  std::string out;
  for (const json& input : std::get<std::vector<json>>(n)) out += input.dump() + "\n";
  return out;
}

TEST(ConnectorTypeMutation, EveryValueOfEveryShapeGivesAnAnswerNotAnException) {
  size_t tried = 0;
  std::vector<std::string> escaped;
  size_t payloads = for_each_mutation([&](const Connector& connector, const json& mutated, const std::string& name) {
    ++tried;
    try {
      Normalized n = connector.normalize(mutated);
      if (auto* e = std::get_if<PayloadError>(&n); e && e->path.empty())
        escaped.push_back(name + ": an error with no path");
    } catch (const std::exception& e) {
      escaped.push_back(name + ": " + e.what());
    }
  });
  EXPECT_GT(payloads, 50u) << "the payloads in ../shared were not found";
  std::string list;
  for (size_t i = 0; i < escaped.size() && i < 1000; ++i) list += escaped[i] + "\n";
  EXPECT_TRUE(escaped.empty()) << escaped.size() << " of " << tried << " mutated payloads escaped:\n" << list;
}

// The intake reads webhooks in place (a Payload); everything else reads
// nlohmann's documents. Both must give the same inputs and the same errors,
// on every payload and every mutation of it.
TEST(ConnectorTypeMutation, ReadingInPlaceAnswersAsReadingADocument) {
  size_t compared = 0;
  std::vector<std::string> differ;
  size_t payloads = for_each_mutation([&](const Connector& connector, const json& mutated, const std::string& name) {
    std::string text = mutated.dump();
    Payload in_place(text);
    ASSERT_TRUE(in_place.parsed()) << name;
    ++compared;
    std::string document = shown(connector.normalize(runtime::parse_json(text)));
    std::string read_in_place = shown(connector.normalize(in_place.root()));
    if (document != read_in_place) differ.push_back(name + ":\n  document: " + document + "\n  in place: " + read_in_place);
  });
  EXPECT_GT(payloads, 50u);
  std::string list;
  for (size_t i = 0; i < differ.size() && i < 20; ++i) list += differ[i] + "\n";
  EXPECT_TRUE(differ.empty()) << differ.size() << " of " << compared << " payloads read differently:\n" << list;
}

}  // namespace
}  // namespace orderflow::connectors
