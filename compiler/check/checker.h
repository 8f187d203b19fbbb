#pragma once
// Checking a bundle: read its .flow files and the standard library, parse
// them, resolve every name, type-check every expression, load the data
// files, and run the semantic checks. Every problem in the bundle is
// reported in one run; a bundle with errors never yields a CheckedBundle.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "compiler/check/bundle.h"
#include "compiler/support/diagnostics.h"
#include "compiler/syntax/ast.h"

namespace orderflow::check {

struct CheckOptions {
  // Texts that replace files on disk, by path as given: the language
  // server's unsaved editor buffers, a deployment's files read back from the
  // store. Data files are looked up by their normalised path
  // ("bundle/data/blocked.csv").
  std::map<std::string, std::string> overlay;
  // The bundle's folder, where its channels.csv is looked for; default: the
  // first path when it is a folder, else the folder of the first file.
  std::string bundle_root;
};

// What a name in the source refers to; the language server's hover and
// go-to-definition read these.
struct SymbolReference {
  SourceRange range;       // where the name is used
  SourceRange definition;  // where it is defined (unknown for built-ins)
  std::string kind;        // "field", "constant", "list", "table", "rule", "state", "enum value", ...
  std::string detail;      // "customer: Customer", "const cod_limit: money = 5000 INR"
  std::string doc;
};

struct CheckOutcome {
  std::shared_ptr<SourceManager> sources;
  Diagnostics diagnostics;
  std::vector<syntax::ParsedFile> parsed;  // bundle files only, for --emit ast
  std::vector<SymbolReference> symbols;
  std::unique_ptr<CheckedBundle> bundle;   // null when there are errors

  bool ok() const { return bundle != nullptr; }
};

// `paths` are bundle folders (every .flow file below them) or single .flow
// files. Data files named by `use` are found relative to the .flow file
// that names them.
CheckOutcome check_bundle(const std::vector<std::string>& paths, const CheckOptions& options = {});

// The standard library alone (its schema and default lifecycle), checked
// once: what an order is read against when no bundle is given, and where
// the one list of each standard enum (Channel, PaymentMethod, ...) lives.
std::shared_ptr<const CheckedBundle> standard_library();

// `orderflow check --emit typed`: every policy, table and machine with the
// type of each expression. Printed from the typed form, never from source
// text, so reformatting a bundle never changes it.
std::string dump_typed(const CheckedBundle& bundle);

// An expression in canonical form: `order.total > 5000 INR`.
std::string print_expr(const CheckedBundle& bundle, const Expr& expr);
// A value as the language writes it: `5000.00 INR`, `24h`, `cod`.
std::string print_value(const CheckedBundle& bundle, const Value& value);

}  // namespace orderflow::check
