#include "compiler/check/csv.h"

namespace orderflow::check {

namespace {
std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}
}  // namespace

CsvResult read_csv(std::string_view text) {
  CsvResult out;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  size_t i = 0;
  uint32_t line = 1;
  size_t line_start = 0;
  auto column = [&](size_t pos) { return static_cast<uint32_t>(pos - line_start + 1); };
  while (i < text.size()) {
    // Skip blank and comment lines.
    size_t j = i;
    while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r')) ++j;
    if (j >= text.size()) break;
    if (text[j] == '\n' || text[j] == '#') {
      while (j < text.size() && text[j] != '\n') ++j;
      i = j + 1;
      ++line;
      line_start = i;
      continue;
    }
    CsvRow row;
    row.line = line;
    bool row_done = false;
    while (!row_done) {
      CsvField field;
      size_t start = i;
      while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
      field.column = column(i);
      if (i < text.size() && text[i] == '"') {
        size_t quote_line = line, quote_col = column(i);
        ++i;
        bool closed = false;
        while (i < text.size()) {
          char c = text[i];
          if (c == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              field.text += '"';
              i += 2;
              continue;
            }
            ++i;
            closed = true;
            break;
          }
          if (c == '\n') {
            ++line;
            line_start = i + 1;
          }
          field.text += c;
          ++i;
        }
        if (!closed) {
          out.error = CsvError{static_cast<uint32_t>(quote_line), static_cast<uint32_t>(quote_col),
                               "this quoted value is never closed"};
          return out;
        }
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r')) ++i;
        if (i < text.size() && text[i] != ',' && text[i] != '\n') {
          out.error = CsvError{line, column(i), "unexpected text after a quoted value"};
          return out;
        }
      } else {
        i = start;
        size_t b = i;
        while (i < text.size() && text[i] != ',' && text[i] != '\n') {
          if (text[i] == '"') {
            out.error = CsvError{line, column(i), "a quote inside a value; quote the whole value and double the quote"};
            return out;
          }
          ++i;
        }
        std::string_view raw = text.substr(b, i - b);
        if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
        field.text = trim(raw);
      }
      row.fields.push_back(std::move(field));
      if (i >= text.size()) {
        row_done = true;
      } else if (text[i] == ',') {
        ++i;
      } else {  // '\n'
        ++i;
        ++line;
        line_start = i;
        row_done = true;
      }
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}

}  // namespace orderflow::check
