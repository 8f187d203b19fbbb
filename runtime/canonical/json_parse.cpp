#include "runtime/canonical/json_parse.h"

#include <simdjson.h>

namespace orderflow::runtime {

namespace {

nlohmann::json to_nlohmann(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::OBJECT: {
      nlohmann::json out = nlohmann::json::object();
      auto& fields = out.get_ref<nlohmann::json::object_t&>();
      for (simdjson::dom::key_value_pair field : simdjson::dom::object(e))
        fields.insert_or_assign(std::string(field.key), to_nlohmann(field.value));
      return out;
    }
    case simdjson::dom::element_type::ARRAY: {
      nlohmann::json out = nlohmann::json::array();
      auto& items = out.get_ref<nlohmann::json::array_t&>();
      simdjson::dom::array array(e);
      items.reserve(array.size());
      for (simdjson::dom::element item : array) items.push_back(to_nlohmann(item));
      return out;
    }
    case simdjson::dom::element_type::STRING: return std::string(std::string_view(e));
    case simdjson::dom::element_type::INT64: {
      int64_t n = int64_t(e);
      // As nlohmann reads them: what has no minus sign is unsigned.
      if (n >= 0) return static_cast<uint64_t>(n);
      return n;
    }
    case simdjson::dom::element_type::UINT64: return uint64_t(e);
    case simdjson::dom::element_type::DOUBLE: return double(e);
    case simdjson::dom::element_type::BOOL: return bool(e);
    case simdjson::dom::element_type::NULL_VALUE: return nullptr;
    default: return nullptr;
  }
}

}  // namespace

nlohmann::json parse_json(std::string_view text) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(text.data(), text.size()).get(root) == simdjson::SUCCESS) return to_nlohmann(root);
  try {
    return nlohmann::json::parse(text, nullptr, false);
  } catch (const std::exception&) {  // a number beyond a double throws even so
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
}

std::optional<std::string> json_problem(std::string_view text) {
  thread_local simdjson::dom::parser parser;
  if (!parser.parse(text.data(), text.size()).error()) return std::nullopt;
  try {
    nlohmann::json read = nlohmann::json::parse(text);
    return std::nullopt;  // deeper than simdjson nests, say: nlohmann reads it
  } catch (const std::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, ..." without the library's tag.
    std::string why = e.what();
    if (auto tag = why.find("] "); tag != std::string::npos) why.erase(0, tag + 2);
    // Well-formed, but holding what no reader can keep (a number beyond a double).
    if (!dynamic_cast<const nlohmann::json::parse_error*>(&e)) return "cannot be read: " + why;
    return "not JSON: " + why;
  }
}

}  // namespace orderflow::runtime
