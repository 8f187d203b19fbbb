#pragma once
// A file of inputs for the engine, one JSON object a line (`run --events`),
// read in the order the engine must take them. As they come (the system's
// clock decides when), or in the order they happened (`--clock events`):
// then inputs are taken by their own time (`at`, else a new order's
// placed_at), stably, so a release stamped 10:00 that the file lists after
// an order of 20:00 is applied before the hold it releases times out at
// 19:30. An input that states no time keeps its place after the one before it.
//
// Lines are parsed on the thread that reads the file, not the engine's.
#include <cstdint>
#include <fstream>
#include <istream>
#include <memory>
#include <string>
#include <vector>

#include "runtime/engine/inputs.h"

namespace orderflow::runtime {

class InputFile {
 public:
  // `path` "-" reads standard input. Throws std::runtime_error when the file cannot be read.
  InputFile(const std::string& path, bool in_time_order);
  ~InputFile();

  // The next input, with its line number; false at the end. Blank lines are skipped.
  bool next(Input& input, size_t& line);
  // For a progress bar: how far, of how much.
  size_t bytes_read() const { return bytes_read_; }
  size_t total_bytes() const { return total_bytes_; }
  // Whether the file listed inputs out of the order they happened (and
  // they are taken in time order).
  size_t reordered() const { return reordered_; }

 private:
  struct Entry {
    int64_t time;  // INT64_MIN: states none and follows no input that does
    size_t line;
    size_t offset;  // into the file, or into `lines_` for standard input
    size_t length;
  };
  std::string path_;
  std::ifstream file_;
  std::istream* in_ = nullptr;
  std::vector<std::string> lines_;  // standard input, kept when reordering
  std::vector<Entry> order_;        // in time order; empty: read as it comes
  size_t position_ = 0;
  size_t line_ = 0;
  size_t bytes_read_ = 0;
  size_t total_bytes_ = 0;
  size_t reordered_ = 0;
};

}  // namespace orderflow::runtime
