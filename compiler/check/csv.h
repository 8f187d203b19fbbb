#pragma once
// A small RFC 4180 reader that keeps every field's line and column, so a
// malformed data file gets a diagnostic that points into it. (libcsv, the
// Debian package, reports neither.)
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/support/source.h"

namespace orderflow::check {

struct CsvField {
  std::string text;
  uint32_t column = 1;  // 1-based, where the field starts
};

struct CsvRow {
  uint32_t line = 1;
  std::vector<CsvField> fields;
};

struct CsvError {
  uint32_t line = 1;
  uint32_t column = 1;
  std::string message;
};

// Rows of a CSV text. Blank lines and lines starting with '#' are skipped;
// spaces around unquoted fields are trimmed; a UTF-8 byte order mark is
// ignored. Returns the first error instead when the text is malformed.
struct CsvResult {
  std::vector<CsvRow> rows;
  std::optional<CsvError> error;
};
CsvResult read_csv(std::string_view text);

// Where a data file's lines and cells are, for its diagnostics.
struct CsvPlaces {
  FileId file = kNoFile;
  SourceRange at(uint32_t line, uint32_t column, uint32_t width = 1) const {
    SourceRange r;
    r.file = file;
    r.begin = {line, column};
    r.end = {line, column + (width > 1 ? width : 1)};
    return r;
  }
  SourceRange cell(const CsvRow& row, const CsvField& f) const {
    return at(row.line, f.column, static_cast<uint32_t>(utf8_length(f.text)));
  }
};

}  // namespace orderflow::check
