#include "connectors/connector.h"

#include <fmt/format.h>

namespace orderflow::connectors {

std::string exact_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_unsigned()) return std::to_string(value.get<uint64_t>());
  if (value.is_number_integer()) return std::to_string(value.get<int64_t>());
  return value.dump();
}

void Reader::fail(const std::string& message, const std::string& key) const {
  throw PayloadError{key.empty() ? path_ : path_ + "." + key, message};
}

Reader Reader::at(const char* key) const {
  if (!v_.is_object()) fail("expected an object");
  if (!has(key)) fail("is missing", key);
  return Reader(v_[key], path_ + "." + key);
}

Reader Reader::at(size_t index) const { return Reader(v_.at(index), fmt::format("{}[{}]", path_, index)); }

std::string Reader::text(const char* key) const {
  Reader r = at(key);
  if (r.v_.is_string() || r.v_.is_number_integer()) return exact_text(r.v_);
  r.fail("expected text");
}

std::string Reader::text_or(const char* key, const std::string& otherwise) const {
  if (!has(key)) return otherwise;
  std::string t = text(key);
  return t.empty() ? otherwise : t;
}

std::string Reader::amount(const char* key) const {
  Reader r = at(key);
  if (r.v_.is_string()) return r.v_.get<std::string>();
  if (r.v_.is_number_integer()) return exact_text(r.v_);
  if (r.v_.is_number_float()) return fmt::format("{}", r.v_.get<double>());  // shortest exact form
  r.fail("expected an amount");
}

int64_t Reader::integer(const char* key) const {
  Reader r = at(key);
  if (r.v_.is_number_integer()) return r.v_.get<int64_t>();
  if (r.v_.is_string()) {
    try {
      size_t used = 0;
      int64_t v = std::stoll(r.v_.get<std::string>(), &used);
      if (used == r.v_.get<std::string>().size()) return v;
    } catch (const std::exception&) {
    }
  }
  r.fail("expected a whole number");
}

}  // namespace orderflow::connectors
