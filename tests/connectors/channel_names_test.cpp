// Channel names live in one place, the Channel enum of stdlib/schema.flow;
// what else names them must agree with it: every connector's channel is a
// value of the enum, and the editor's grammar colours every value of every
// standard enum (a new channel once went uncoloured because it was listed
// in five places).
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>

#include "compiler/check/checker.h"
#include "connectors/connector.h"

namespace orderflow::connectors {
namespace {

const model::EnumDef& standard_enum(const char* name) {
  const model::Schema& schema = check::standard_library()->schema;
  return schema.enum_def(schema.find_enum(name));
}

TEST(ChannelNames, EveryConnectorIsAChannelOfTheSchema) {
  const model::EnumDef& channels = standard_enum("Channel");
  for (const std::string& channel : connector_channels())
    EXPECT_GE(channels.find(channel), 0) << "the connector '" << channel
                                         << "' is not a value of enum Channel in stdlib/schema.flow: add it there";
}

// The words a grammar's patterns name as alternatives: \b(?:a|b|c)\b.
void collect_words(const nlohmann::json& node, std::set<std::string>& words) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "match" && value.is_string()) {
        std::string match = value;
        std::regex alternatives(R"(\(\?:([A-Za-z_| ]+)\))");
        for (std::sregex_iterator it(match.begin(), match.end(), alternatives), end; it != end; ++it) {
          std::string list = (*it)[1];
          for (size_t start = 0; start <= list.size();) {
            size_t bar = list.find('|', start);
            if (bar == std::string::npos) bar = list.size();
            words.insert(list.substr(start, bar - start));
            start = bar + 1;
          }
        }
      } else {
        collect_words(value, words);
      }
    }
  } else if (node.is_array()) {
    for (const auto& item : node) collect_words(item, words);
  }
}

TEST(ChannelNames, TheEditorGrammarColoursEveryStandardEnumValue) {
  std::ifstream in(std::string(ORDERFLOW_SOURCE_DIR) + "/editor-support/vscode/syntaxes/orderflow.tmLanguage.json");
  std::set<std::string> coloured;
  collect_words(nlohmann::json::parse(in), coloured);
  ASSERT_TRUE(coloured.count("amazon")) << "the grammar's patterns were not read";
  const model::Schema& schema = check::standard_library()->schema;
  for (size_t e = 0; e < schema.enum_count(); ++e)
    for (const std::string& value : schema.enum_def(static_cast<int>(e)).values)
      EXPECT_TRUE(coloured.count(value)) << "enum " << schema.enum_def(static_cast<int>(e)).name << " value '" << value
                                         << "' is in no pattern of orderflow.tmLanguage.json (add it to enum-value)";
}

}  // namespace
}  // namespace orderflow::connectors
