#pragma once
// A channel adapter turns what a channel sends into the engine's inputs:
// canonical orders (runtime/canonical/README.md) and events on orders
// already received ({"type": "event", ...}, runtime/README.md). Adapters
// know nothing of policies, the compiler or the store; adding a channel is
// adding a folder here and one line in registry.cpp (see README.md).
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace orderflow::connectors {

// What is wrong with a payload, and where: "$.order.line_items[2].price".
struct PayloadError {
  std::string path;
  std::string message;
  std::string text() const { return path + ": " + message; }
};

// One payload may give several inputs: an order and, when it arrives
// cancelled, its cancellation.
using Normalized = std::variant<std::vector<nlohmann::json>, PayloadError>;

class Connector {
 public:
  virtual ~Connector() = default;
  virtual std::string channel() const = 0;  // a value of the schema's Channel enum
  virtual Normalized normalize(const nlohmann::json& payload) const = 0;
};

// The adapters, by channel.
const Connector* find_connector(const std::string& channel);
std::vector<std::string> connector_channels();

// Reading a payload with the JSON path at hand, so that every error names
// where it is. Throws PayloadError.
class Reader {
 public:
  Reader(const nlohmann::json& value, std::string path) : v_(value), path_(std::move(path)) {}
  const nlohmann::json& value() const { return v_; }
  const std::string& path() const { return path_; }
  bool has(const char* key) const { return v_.is_object() && v_.contains(key) && !v_[key].is_null(); }
  Reader at(const char* key) const;               // required
  Reader at(size_t index) const;
  std::string text(const char* key) const;        // required string (or number, as its exact text)
  std::string text_or(const char* key, const std::string& otherwise) const;
  // A decimal amount as exact text ("12.50"), from a string or a number.
  std::string amount(const char* key) const;
  int64_t integer(const char* key) const;
  [[noreturn]] void fail(const std::string& message, const std::string& key = "") const;

 private:
  const nlohmann::json& v_;
  std::string path_;
};

// A JSON scalar as exact text: 64-bit ids stay exact, strings stay as they are.
std::string exact_text(const nlohmann::json& value);

}  // namespace orderflow::connectors
