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

SourceFile::SourceFile(std::string path, std::string text)
    : path_(std::move(path)), text_(std::move(text)) {
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
