#pragma once
// Parsing .flow files. The ANTLR-generated parser and its parse tree stay
// inside parser.cpp; callers see tokens and the AST of ast.h only.
#include <string>
#include <vector>

#include "compiler/support/diagnostics.h"
#include "compiler/syntax/ast.h"

namespace orderflow::syntax {

// Parses one file. Syntax errors are reported to `diagnostics` (all of them,
// up to a limit per file); items that contain an error are left out of the
// result and `had_syntax_errors` is set, so that later phases can tell a
// missing item from one that failed to parse.
ParsedFile parse_file(const SourceManager& sources, FileId file, Diagnostics& diagnostics);

enum class TokenClass {
  Keyword,
  Name,
  String,
  Number,    // int and decimal
  Money,
  Duration,
  Distance,
  Operator,
  Punctuation,
  Comment,
  Whitespace,
  Invalid,
};

struct Token {
  TokenClass token_class = TokenClass::Invalid;
  std::string kind;  // the grammar's token name: RULE, IDENT, MONEY, ...
  std::string text;
  SourceRange range;
};

// Every token of a file, comments and whitespace included, in order. Used by
// `--emit tokens`, the formatter and the language server.
std::vector<Token> tokenize(const SourceManager& sources, FileId file);

// Text dumps for `orderflow check --emit tokens|ast`.
std::string dump_tokens(const std::vector<Token>& tokens);
std::string dump_ast(const ParsedFile& file);

// The keywords of the language, for completion and the editor grammar.
const std::vector<std::string>& keywords();

// Decodes a quoted string literal's escapes ("a\"b" -> a"b).
std::string unquote(std::string_view quoted);

}  // namespace orderflow::syntax
