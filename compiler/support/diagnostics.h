#pragma once
// Diagnostics are values: what went wrong, where, and how to fix it. The
// same value feeds the terminal renderer, `--format json` and the language
// server. Codes are stable: E for errors, W for warnings; the digits group
// them by phase (00 syntax, 01 names, 02 policy structure, 03 types, 04 rule
// analysis, 05 tables, 06 machines, 07 data files, 08 policy tests).
#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

#include "compiler/support/source.h"

namespace orderflow {

enum class Severity { Error, Warning, Note };

struct RelatedLocation {
  SourceRange range;
  std::string message;
};

struct Diagnostic {
  std::string code;     // "E0301"
  Severity severity = Severity::Error;
  SourceRange range;
  std::string message;  // what is wrong, in the analyst's words
  std::string hint;     // how to fix it; shown beside the carets
  std::vector<RelatedLocation> related;
};

// Collects diagnostics in the order they are found. Not thread-safe.
class Diagnostics {
 public:
  Diagnostic& error(std::string code, SourceRange range, std::string message, std::string hint = {});
  Diagnostic& warning(std::string code, SourceRange range, std::string message, std::string hint = {});
  void add(Diagnostic d);
  void append(const Diagnostics& other);

  const std::vector<Diagnostic>& all() const { return items_; }
  size_t error_count() const;
  size_t warning_count() const;
  bool has_errors() const { return error_count() > 0; }
  bool empty() const { return items_.empty(); }
  // Sorted by file, position and code, so output does not depend on the
  // order in which checks ran.
  void sort(const SourceManager& sources);

 private:
  std::vector<Diagnostic> items_;
};

// E0007, where a file's first byte that is not UTF-8 is, if it has one
// (SourceFile reads such bytes as U+FFFD): for policy and data files alike.
// Returns whether it reported.
bool report_not_utf8(const SourceFile& source, FileId file, Diagnostics& diagnostics);


struct RenderOptions {
  bool color = false;
};

// The terminal form of the language tour, section 7:
//   policies/acceptance.flow:14:22: error[E0301]: cannot compare money with a plain number
//      14 |   when order.total > 5000
//         |                      ^^^^ write the currency, for example 5000 INR
std::string render_text(const Diagnostic& d, const SourceManager& sources, RenderOptions options = {});
std::string render_text(const Diagnostics& ds, const SourceManager& sources, RenderOptions options = {});
// "2 errors, 1 warning" (or "no problems").
std::string summary_line(const Diagnostics& ds);

nlohmann::json to_json(const Diagnostic& d, const SourceManager& sources);
nlohmann::json to_json(const Diagnostics& ds, const SourceManager& sources);

const char* severity_name(Severity s);

}  // namespace orderflow
