#pragma once
// Source text and positions. Every diagnostic, AST node and typed expression
// points into a SourceManager by FileId; positions are 1-based lines and
// columns counted in Unicode code points, as an editor shows them.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace orderflow {

// A whole file's bytes, or nullopt when it cannot be read.
std::optional<std::string> read_text_file(const std::filesystem::path& path);

using FileId = uint32_t;
inline constexpr FileId kNoFile = UINT32_MAX;

struct SourcePosition {
  uint32_t line = 0;    // 1-based; 0 means unknown
  uint32_t column = 0;  // 1-based code point column
  friend bool operator==(const SourcePosition&, const SourcePosition&) = default;
  friend auto operator<=>(const SourcePosition&, const SourcePosition&) = default;
};

// A half-open range [begin, end). A range that spans lines is shown with its
// first line only.
struct SourceRange {
  FileId file = kNoFile;
  SourcePosition begin;
  SourcePosition end;

  bool known() const { return file != kNoFile && begin.line != 0; }
  // The smallest range covering both (same file assumed).
  static SourceRange cover(const SourceRange& a, const SourceRange& b);
  friend bool operator==(const SourceRange&, const SourceRange&) = default;
};

// A file whose bytes are not all UTF-8 (a Latin-1 or Windows-1252 export):
// where the first such byte is, which byte, and how many there are.
struct NotUtf8 {
  SourcePosition at;
  unsigned char byte = 0;
  size_t count = 0;
};

class SourceFile {
 public:
  // A byte that is not UTF-8 is kept as U+FFFD (one character, so columns
  // after it still count as the author sees them) and noted in not_utf8(),
  // for the parser to report where it is; nothing downstream meets it.
  SourceFile(std::string path, std::string text);
  const std::optional<NotUtf8>& not_utf8() const { return not_utf8_; }

  // How the file is named in messages: relative to where the user pointed us.
  const std::string& path() const { return path_; }
  const std::string& text() const { return text_; }
  uint32_t line_count() const { return static_cast<uint32_t>(line_starts_.size()); }
  // The text of a 1-based line, without its line break.
  std::string_view line(uint32_t line) const;
  // The text a range covers (first line only for multi-line ranges unless
  // whole is true).
  std::string_view slice(const SourceRange& range, bool whole = false) const;
  // Byte offset of a position, clamped to the text.
  size_t offset(SourcePosition pos) const;

 private:
  std::string path_;
  std::string text_;
  std::vector<size_t> line_starts_;
  std::optional<NotUtf8> not_utf8_;
};

// Owns every source file of a compilation. FileIds stay valid for the life
// of the manager; files are never removed.
class SourceManager {
 public:
  FileId add(std::string path, std::string text);
  const SourceFile& file(FileId id) const { return *files_.at(id); }
  size_t size() const { return files_.size(); }

 private:
  std::vector<std::unique_ptr<SourceFile>> files_;
};

// The byte offset of the first byte that is not part of well-formed UTF-8
// (overlong forms and surrogates included), or npos.
size_t first_invalid_utf8(std::string_view text);

// Where byte `offset` of `text` is: its 1-based line and code point column.
SourcePosition position_of(std::string_view text, size_t offset);

// Appends a code point (below U+10000) as UTF-8.
void append_utf8(std::string& out, uint32_t code_point);

// Number of code points in a UTF-8 string (invalid bytes count one each).
size_t utf8_length(std::string_view text);
// Byte offset of the code point with 0-based index `column` (clamped).
size_t utf8_offset(std::string_view text, size_t column);

}  // namespace orderflow
