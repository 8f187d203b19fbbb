#pragma once
// The standard library's .flow sources, compiled into the binary.
#include <string_view>
#include <vector>

namespace orderflow {

struct StdlibFile {
  std::string_view path;  // "<stdlib>/schema.flow": how diagnostics name it
  std::string_view text;
};

// In load order: the schema first, then the default lifecycle.
const std::vector<StdlibFile>& stdlib_files();

}  // namespace orderflow
