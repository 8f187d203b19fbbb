#include "runtime/engine/input_file.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <climits>
#include <iostream>

#include "compiler/model/value.h"

namespace orderflow::runtime {

namespace {

// An input's own time, found without building it: `at`, else a new
// order's placed_at (bare, or inside "order").
std::optional<int64_t> time_of(simdjson::ondemand::parser& parser, const std::string& line) {
  simdjson::padded_string padded(line);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) return std::nullopt;
  simdjson::ondemand::object object;
  if (doc.get_object().get(object)) return std::nullopt;
  std::string_view at, placed_at, type = "order";
  bool has_at = false, has_placed = false;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return std::nullopt;
    if (key == "at") {
      has_at = !field.value().get_string().get(at);
    } else if (key == "type") {
      if (field.value().get_string().get(type)) type = "?";
    } else if (key == "placed_at") {
      has_placed = !field.value().get_string().get(placed_at);
    } else if (key == "order") {
      simdjson::ondemand::object order;
      if (!field.value().get_object().get(order)) {
        for (auto inner : order) {
          std::string_view k;
          if (!inner.unescaped_key().get(k) && k == "placed_at") has_placed = !inner.value().get_string().get(placed_at);
        }
      }
    }
  }
  if (has_at) return model::parse_time(at);
  if (type == "order" && has_placed) return model::parse_time(placed_at);
  return std::nullopt;
}

bool blank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }

}  // namespace

InputFile::InputFile(const std::string& path, bool in_time_order) : path_(path) {
  if (path == "-") {
    in_ = &std::cin;
  } else {
    file_.open(path, std::ios::binary);
    if (!file_) throw std::runtime_error(fmt::format("cannot read '{}'", path));
    file_.seekg(0, std::ios::end);
    total_bytes_ = static_cast<size_t>(file_.tellg());
    file_.seekg(0);
    in_ = &file_;
  }
  if (!in_time_order) return;
  simdjson::ondemand::parser parser;
  std::string line;
  size_t number = 0, offset = 0;
  int64_t last = INT64_MIN;
  while (std::getline(*in_, line)) {
    ++number;
    size_t length = line.size();
    if (!blank(line)) {
      std::optional<int64_t> t = time_of(parser, line);
      int64_t time = t ? *t : last;
      if (t && *t < last) ++reordered_;
      if (t) last = std::max(last, *t);
      if (in_ == &std::cin) {
        order_.push_back({time, number, lines_.size(), length});
        lines_.push_back(std::move(line));
      } else {
        order_.push_back({time, number, offset, length});
      }
    }
    offset += length + 1;
  }
  std::stable_sort(order_.begin(), order_.end(), [](const Entry& a, const Entry& b) { return a.time < b.time; });
  if (in_ == &file_) {
    file_.clear();
    file_.seekg(0);
  }
}

InputFile::~InputFile() = default;

bool InputFile::next(Input& input, size_t& line) {
  std::string text;
  if (!order_.empty() || position_ > 0) {
    if (position_ >= order_.size()) return false;
    const Entry& e = order_[position_++];
    if (in_ == &std::cin) {
      text = std::move(lines_[e.offset]);
    } else {
      text.resize(e.length);
      file_.seekg(static_cast<std::streamoff>(e.offset));
      file_.read(text.data(), static_cast<std::streamsize>(e.length));
    }
    bytes_read_ += e.length + 1;
    line = e.line;
    input = read_input_text(text, fmt::format("run:{}:{}", path_, line));
    // In the order they happened, each at its own time: a new order's is when it was placed.
    if (!input.at && e.time != INT64_MIN) input.at = e.time;
    return true;
  } else {
    for (;;) {
      if (!std::getline(*in_, text)) return false;
      ++line_;
      bytes_read_ += text.size() + 1;
      if (!blank(text)) break;
    }
    line = line_;
  }
  input = read_input_text(text, fmt::format("run:{}:{}", path_, line));
  return true;
}

}  // namespace orderflow::runtime
