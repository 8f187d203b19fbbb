#include "compiler/support/source.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace orderflow {

std::optional<std::string> read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

SourceRange SourceRange::cover(const SourceRange& a, const SourceRange& b) {
  if (!a.known()) return b;
  if (!b.known()) return a;
  SourceRange r = a;
  r.begin = std::min(a.begin, b.begin);
  r.end = std::max(a.end, b.end);
  return r;
}

size_t first_invalid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t length = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (length == 0 || c < 0xc2 || c > 0xf4 || i + length > text.size()) return i;
    for (size_t k = 1; k < length; ++k)
      if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) return i;
    auto second = static_cast<unsigned char>(text[i + 1]);
    if ((c == 0xe0 && second < 0xa0) || (c == 0xed && second > 0x9f) || (c == 0xf0 && second < 0x90) ||
        (c == 0xf4 && second > 0x8f))
      return i;  // overlong, a surrogate, or beyond U+10FFFF
    i += length;
  }
  return std::string_view::npos;
}

SourcePosition position_of(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  size_t line_start = text.rfind('\n', offset == 0 ? 0 : offset - 1);
  line_start = line_start == std::string_view::npos || offset == 0 ? 0 : line_start + 1;
  return {static_cast<uint32_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n') + 1),
          static_cast<uint32_t>(utf8_length(text.substr(line_start, offset - line_start)) + 1)};
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

namespace {

// `text` with each byte that is not UTF-8 replaced by U+FFFD.
std::string replace_invalid_utf8(std::string_view text, size_t& replaced) {
  std::string out;
  out.reserve(text.size() + 16);
  replaced = 0;
  while (!text.empty()) {
    size_t bad = first_invalid_utf8(text);
    if (bad == std::string_view::npos) {
      out += text;
      break;
    }
    out += text.substr(0, bad);
    out += "\xEF\xBF\xBD";
    ++replaced;
    text.remove_prefix(bad + 1);
  }
  return out;
}

}  // namespace

SourceFile::SourceFile(std::string path, std::string text) : path_(std::move(path)) {
  size_t bad = first_invalid_utf8(text);
  if (bad == std::string_view::npos) {
    text_ = std::move(text);
  } else {
    NotUtf8 note;
    note.byte = static_cast<unsigned char>(text[bad]);
    note.at = position_of(text, bad);
    text_ = replace_invalid_utf8(text, note.count);
    not_utf8_ = note;
  }
  line_starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i)
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
}

std::string_view SourceFile::line(uint32_t line) const {
  if (line == 0 || line > line_starts_.size()) return {};
  size_t begin = line_starts_[line - 1];
  size_t end = line < line_starts_.size() ? line_starts_[line] : text_.size();
  std::string_view view(text_.data() + begin, end - begin);
  while (!view.empty() && (view.back() == '\n' || view.back() == '\r')) view.remove_suffix(1);
  return view;
}

size_t SourceFile::offset(SourcePosition pos) const {
  if (pos.line == 0) return 0;
  if (pos.line > line_starts_.size()) return text_.size();
  std::string_view l = line(pos.line);
  return line_starts_[pos.line - 1] + utf8_offset(l, pos.column == 0 ? 0 : pos.column - 1);
}

std::string_view SourceFile::slice(const SourceRange& range, bool whole) const {
  if (!range.known()) return {};
  size_t begin = offset(range.begin);
  size_t end;
  if (range.end.line == range.begin.line || whole) {
    end = offset(range.end);
  } else {
    std::string_view l = line(range.begin.line);
    end = line_starts_[range.begin.line - 1] + l.size();
  }
  if (end < begin) end = begin;
  return std::string_view(text_).substr(begin, end - begin);
}

FileId SourceManager::add(std::string path, std::string text) {
  files_.push_back(std::make_unique<SourceFile>(std::move(path), std::move(text)));
  return static_cast<FileId>(files_.size() - 1);
}

size_t utf8_length(std::string_view text) {
  size_t n = 0;
  for (unsigned char c : text)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

size_t utf8_offset(std::string_view text, size_t column) {
  size_t seen = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80) {
      if (seen == column) return i;
      ++seen;
    }
  }
  return text.size();
}

}  // namespace orderflow
