#include "compiler/support/diagnostics.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace orderflow {

Diagnostic& Diagnostics::error(std::string code, SourceRange range, std::string message, std::string hint) {
  items_.push_back({std::move(code), Severity::Error, range, std::move(message), std::move(hint), {}});
  return items_.back();
}

Diagnostic& Diagnostics::warning(std::string code, SourceRange range, std::string message, std::string hint) {
  items_.push_back({std::move(code), Severity::Warning, range, std::move(message), std::move(hint), {}});
  return items_.back();
}

void Diagnostics::add(Diagnostic d) { items_.push_back(std::move(d)); }

void Diagnostics::append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

size_t Diagnostics::error_count() const {
  return std::count_if(items_.begin(), items_.end(), [](const Diagnostic& d) { return d.severity == Severity::Error; });
}

size_t Diagnostics::warning_count() const {
  return std::count_if(items_.begin(), items_.end(), [](const Diagnostic& d) { return d.severity == Severity::Warning; });
}

void Diagnostics::sort(const SourceManager& sources) {
  auto key = [&](const Diagnostic& d) {
    const std::string* path = nullptr;
    static const std::string none;
    path = d.range.file == kNoFile ? &none : &sources.file(d.range.file).path();
    return std::tie(*path, d.range.begin, d.code);
  };
  std::stable_sort(items_.begin(), items_.end(), [&](const Diagnostic& a, const Diagnostic& b) { return key(a) < key(b); });
}

const char* severity_name(Severity s) {
  switch (s) {
    case Severity::Error: return "error";
    case Severity::Warning: return "warning";
    case Severity::Note: return "note";
  }
  return "error";
}

namespace {

struct Palette {
  const char* bold = "";
  const char* red = "";
  const char* yellow = "";
  const char* blue = "";
  const char* cyan = "";
  const char* reset = "";
};

Palette palette(bool color) {
  if (!color) return {};
  return {"\x1b[1m", "\x1b[1;31m", "\x1b[1;33m", "\x1b[1;34m", "\x1b[1;36m", "\x1b[0m"};
}

void render_snippet(std::string& out, const SourceFile& file, const SourceRange& range, const std::string& label,
                    const Palette& p) {
  std::string_view line = file.line(range.begin.line);
  // Tabs would make the caret line drift; show them as single spaces.
  std::string shown(line);
  std::replace(shown.begin(), shown.end(), '\t', ' ');
  out += fmt::format("{}{:>5} |{} {}\n", p.blue, range.begin.line, p.reset, shown);
  size_t line_length = utf8_length(line);
  size_t start = range.begin.column == 0 ? 0 : range.begin.column - 1;
  size_t stop = range.end.line == range.begin.line ? (range.end.column == 0 ? start + 1 : range.end.column - 1)
                                                   : line_length;
  if (stop <= start) stop = start + 1;
  std::string carets(stop - start, '^');
  out += fmt::format("{}      |{} {}{}{}{}", p.blue, p.reset, std::string(start, ' '), p.red, carets, p.reset);
  if (!label.empty()) out += " " + label;
  out += "\n";
}

}  // namespace

std::string render_text(const Diagnostic& d, const SourceManager& sources, RenderOptions options) {
  Palette p = palette(options.color);
  std::string out;
  const char* sev_color = d.severity == Severity::Error ? p.red : d.severity == Severity::Warning ? p.yellow : p.cyan;
  if (d.range.file != kNoFile) {
    const SourceFile& f = sources.file(d.range.file);
    if (d.range.begin.line != 0)
      out += fmt::format("{}{}:{}:{}:{} ", p.bold, f.path(), d.range.begin.line, d.range.begin.column, p.reset);
    else
      out += fmt::format("{}{}:{} ", p.bold, f.path(), p.reset);
  }
  out += fmt::format("{}{}[{}]{}: {}{}{}\n", sev_color, severity_name(d.severity), d.code, p.reset, p.bold, d.message,
                     p.reset);
  if (d.range.known() && d.range.begin.line <= sources.file(d.range.file).line_count())
    render_snippet(out, sources.file(d.range.file), d.range, d.hint, p);
  else if (!d.hint.empty())
    out += fmt::format("      = {}\n", d.hint);
  for (const RelatedLocation& r : d.related) {
    if (r.range.known()) {
      const SourceFile& f = sources.file(r.range.file);
      out += fmt::format("{}{}:{}:{}:{} {}note{}: {}\n", p.bold, f.path(), r.range.begin.line, r.range.begin.column,
                         p.reset, p.cyan, p.reset, r.message);
      render_snippet(out, f, r.range, "", p);
    } else {
      out += fmt::format("{}note{}: {}\n", p.cyan, p.reset, r.message);
    }
  }
  return out;
}

std::string render_text(const Diagnostics& ds, const SourceManager& sources, RenderOptions options) {
  std::string out;
  for (const Diagnostic& d : ds.all()) out += render_text(d, sources, options);
  return out;
}

std::string summary_line(const Diagnostics& ds) {
  size_t e = ds.error_count(), w = ds.warning_count();
  if (e == 0 && w == 0) return "no problems";
  std::string out;
  if (e) out += fmt::format("{} error{}", e, e == 1 ? "" : "s");
  if (e && w) out += ", ";
  if (w) out += fmt::format("{} warning{}", w, w == 1 ? "" : "s");
  return out;
}

nlohmann::json to_json(const Diagnostic& d, const SourceManager& sources) {
  nlohmann::json j;
  j["code"] = d.code;
  j["severity"] = severity_name(d.severity);
  j["file"] = d.range.file == kNoFile ? nlohmann::json(nullptr) : nlohmann::json(sources.file(d.range.file).path());
  j["line"] = d.range.begin.line;
  j["column"] = d.range.begin.column;
  j["end_line"] = d.range.end.line;
  j["end_column"] = d.range.end.column;
  j["message"] = d.message;
  j["hint"] = d.hint;
  if (!d.related.empty()) {
    nlohmann::json rel = nlohmann::json::array();
    for (const auto& r : d.related) {
      rel.push_back({{"file", r.range.file == kNoFile ? nlohmann::json(nullptr)
                                                      : nlohmann::json(sources.file(r.range.file).path())},
                     {"line", r.range.begin.line},
                     {"column", r.range.begin.column},
                     {"message", r.message}});
    }
    j["related"] = rel;
  }
  return j;
}

nlohmann::json to_json(const Diagnostics& ds, const SourceManager& sources) {
  nlohmann::json arr = nlohmann::json::array();
  for (const Diagnostic& d : ds.all()) arr.push_back(to_json(d, sources));
  return arr;
}

bool report_not_utf8(const SourceFile& source, FileId file, Diagnostics& diagnostics) {
  const std::optional<NotUtf8>& bad = source.not_utf8();
  if (!bad) return false;
  SourceRange at{file, bad->at, {bad->at.line, bad->at.column + 1}};
  std::string latin1;  // what the byte is in Latin-1, which is what such files usually are
  if (bad->byte >= 0xa0) {
    latin1 = " (in Latin-1, '";
    append_utf8(latin1, bad->byte);
    latin1 += "')";
  }
  diagnostics.error("E0007", at,
                    fmt::format("this file is not UTF-8 text: the byte 0x{:02X} here{}{}", bad->byte, latin1,
                                bad->count > 1 ? fmt::format(", and {} more", bad->count - 1) : ""),
                    "save the file as UTF-8 (in VS Code: the encoding in the status bar, then 'Save with Encoding')");
  return true;
}

}  // namespace orderflow
