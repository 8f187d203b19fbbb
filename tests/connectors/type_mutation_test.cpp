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

TEST(ConnectorTypeMutation, EveryValueOfEveryShapeGivesAnAnswerNotAnException) {
  const json others[] = {"x", json::array(), json::object(), 1.5, -1, nullptr, true, json::array({"x"})};
  size_t payloads = 0, tried = 0;
  std::vector<std::string> escaped;
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
      std::vector<json::json_pointer> all;
      pointers(payload, json::json_pointer(), all);
      for (const json::json_pointer& at : all) {
        for (const json& other : others) {
          json mutated = payload;
          mutated[at] = other;
          ++tried;
          try {
            Normalized n = connector->normalize(mutated);
            if (auto* e = std::get_if<PayloadError>(&n); e && e->path.empty())
              escaped.push_back(fmt::format("{} {} = {}: an error with no path", file.path().filename().string(),
                                            at.to_string(), other.dump()));
          } catch (const std::exception& e) {
            escaped.push_back(fmt::format("{} {} = {}: {}", file.path().filename().string(), at.to_string(),
                                          other.dump(), e.what()));
          }
        }
      }
    }
  }
  EXPECT_GT(payloads, 50u) << "the payloads in ../shared were not found";
  std::string shown;
  for (size_t i = 0; i < escaped.size() && i < 1000; ++i) shown += escaped[i] + "\n";
  EXPECT_TRUE(escaped.empty()) << escaped.size() << " of " << tried << " mutated payloads escaped:\n" << shown;
}

}  // namespace
}  // namespace orderflow::connectors
