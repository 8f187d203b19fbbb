#pragma once
// `orderflow fmt`: the canonical layout of a .flow file. It works on the
// token stream, so it keeps every comment and never changes what a file
// means (formatting leaves `check --emit typed` unchanged), and it is
// idempotent: formatting a formatted file changes nothing.
#include <optional>
#include <string>

namespace orderflow::format {

struct FormatResult {
  std::string text;
  // Set when the file has syntax errors: it is left as it is.
  std::optional<std::string> error;
};

// `path` is only for messages.
FormatResult format_flow(const std::string& path, const std::string& text);

}  // namespace orderflow::format
