#include "runtime/canonical/json_parse.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <cstring>

#include "compiler/support/source.h"

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

namespace {

std::string where(std::string_view text, size_t offset) {
  SourcePosition at = position_of(text, offset);
  return fmt::format("line {}, column {}", at.line, at.column);
}

}  // namespace

std::optional<std::string> json_problem(std::string_view text) {
  thread_local simdjson::dom::parser parser;
  if (!parser.parse(text.data(), text.size()).error()) return std::nullopt;
  if (size_t at = first_invalid_utf8(text); at != std::string_view::npos) {
    return fmt::format("not UTF-8 ({}): the byte 0x{:02X} is not UTF-8 text; JSON must be UTF-8 (a file saved as "
                       "Latin-1 or Windows-1252 needs saving as UTF-8)",
                       where(text, at), static_cast<unsigned char>(text[at]));
  }
  try {
    nlohmann::json read = nlohmann::json::parse(text);
    return std::nullopt;  // deeper than simdjson nests, say: nlohmann reads it
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann says "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error while parsing
    // value - invalid literal; ...": the place, then only what is wrong.
    std::string why = e.what();
    auto drop_through = [&](const std::string& starts, const char* mark) {
      size_t cut = why.find(mark);
      if (why.rfind(starts, 0) == 0 && cut != std::string::npos) why.erase(0, cut + std::strlen(mark));
    };
    drop_through("[json.exception.", "] ");
    drop_through("parse error", ": ");
    drop_through("syntax error while parsing ", " - ");
    return fmt::format("not JSON ({}): {}", where(text, e.byte > 0 ? e.byte - 1 : 0), why);
  } catch (const std::exception& e) {
    // Well-formed, but holding what no reader can keep (a number beyond a double).
    std::string why = e.what();
    if (auto tag = why.find("] "); tag != std::string::npos) why.erase(0, tag + 2);
    return "cannot be read: " + why;
  }
}

}  // namespace orderflow::runtime
