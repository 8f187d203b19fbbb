#include "compiler/format/formatter.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "compiler/syntax/parser.h"

namespace orderflow::format {

namespace {

using syntax::Token;
using syntax::TokenClass;

struct Line {
  std::vector<const Token*> tokens;  // significant tokens
  const Token* comment = nullptr;    // a comment ending the line
  bool blank() const { return tokens.empty() && !comment; }
  const std::string& first() const { return tokens.front()->kind; }
};

// Where a block's lines go.
enum class Block { Top, Rule, Machine, Fields, Table, Test };

bool tight_after(const Token& a) { return a.kind == "LPAREN" || a.kind == "LBRACK" || a.kind == "DOT"; }
bool tight_before(const Token& b) {
  return b.kind == "COMMA" || b.kind == "RPAREN" || b.kind == "RBRACK" || b.kind == "DOT" || b.kind == "COLON" ||
         b.kind == "QUESTION";
}

// A minus with no value before it is a sign, not a subtraction.
bool is_sign(const Token* before, const Token& minus) {
  if (minus.kind != "MINUS") return false;
  if (!before) return true;
  // Keywords that are values end an operand: `now - state_since` subtracts.
  bool value_keyword = before->kind == "NOW" || before->kind == "TRUE" || before->kind == "FALSE" ||
                       before->kind == "MISSING" || before->kind == "PRESENT";
  return before->token_class == TokenClass::Operator || before->kind == "LPAREN" || before->kind == "LBRACK" ||
         before->kind == "COMMA" || (before->token_class == TokenClass::Keyword && !value_keyword);
}

// The tokens of a line joined with canonical spacing; `columns` gets each
// token's starting column in the result.
std::string join(const std::vector<const Token*>& tokens, size_t from, size_t to, std::vector<size_t>* columns) {
  std::string out;
  for (size_t i = from; i < to; ++i) {
    const Token& t = *tokens[i];
    if (i > from) {
      const Token& prev = *tokens[i - 1];
      bool call = (prev.kind == "IDENT" || prev.kind == "STOCK") && t.kind == "LPAREN";
      bool sign = is_sign(i >= from + 2 ? tokens[i - 2] : nullptr, prev);
      if (!(tight_after(prev) || tight_before(t) || call || sign)) out += ' ';
    }
    if (columns) columns->push_back(out.size());
    out += t.text;
  }
  return out;
}

// Table rows: cells padded so that the pipes line up down the table.
std::vector<std::string> format_table(const std::vector<Line*>& rows, size_t indent) {
  std::vector<std::vector<std::string>> cells;
  std::vector<bool> rule_row;
  size_t width = 0;
  for (Line* row : rows) {
    std::vector<std::string> r;
    bool dashes = true;
    size_t start = 1;
    for (size_t i = 1; i <= row->tokens.size(); ++i) {
      if (i == row->tokens.size() || row->tokens[i]->kind == "PIPE") {
        if (i > start || i < row->tokens.size()) {
          std::string cell = join(row->tokens, start, i, nullptr);
          dashes &= !cell.empty() && cell.find_first_not_of('-') == std::string::npos;
          r.push_back(cell);
        }
        start = i + 1;
      }
    }
    if (!r.empty() && r.back().empty() && row->tokens.back()->kind == "PIPE") r.pop_back();
    width = std::max(width, r.size());
    cells.push_back(std::move(r));
    rule_row.push_back(dashes);
  }
  std::vector<size_t> widths(width, 1);
  for (size_t r = 0; r < cells.size(); ++r)
    if (!rule_row[r])
      for (size_t c = 0; c < cells[r].size(); ++c) widths[c] = std::max(widths[c], cells[r][c].size());
  std::vector<std::string> out;
  for (size_t r = 0; r < cells.size(); ++r) {
    std::string line(indent, ' ');
    line += "|";
    for (size_t c = 0; c < cells[r].size(); ++c) {
      if (rule_row[r])
        line += std::string(widths[c] + 2, '-') + "|";
      else
        line += " " + cells[r][c] + std::string(widths[c] - cells[r][c].size(), ' ') + " |";
    }
    out.push_back(line);
  }
  return out;
}

bool starts_block(const std::string& kind) {
  static const char* tops[] = {"POLICY", "VERSION", "OWNER", "USE", "CONST", "RULE", "OTHERWISE",
                               "TABLE",  "MACHINE", "RECORD", "EXTEND", "ENUM", "TEST"};
  return std::any_of(std::begin(tops), std::end(tops), [&](const char* k) { return kind == k; });
}

}  // namespace

FormatResult format_flow(const std::string& path, const std::string& text) {
  SourceManager sources;
  FileId file = sources.add(path, text);
  Diagnostics diagnostics;
  syntax::ParsedFile parsed = syntax::parse_file(sources, file, diagnostics);
  if (diagnostics.has_errors())
    return {text, fmt::format("{} has syntax errors; fix them first ({})", path, summary_line(diagnostics))};
  std::vector<Token> tokens = syntax::tokenize(sources, file);

  std::vector<Line> lines(1);
  for (const Token& t : tokens) {
    if (t.kind == "NEWLINE") {
      lines.emplace_back();
    } else if (t.kind == "COMMENT") {
      lines.back().comment = &t;
    } else if (t.token_class != TokenClass::Whitespace && t.kind != "EOF") {
      lines.back().tokens.push_back(&t);
    }
  }

  // Each line's code (without its indentation) and indentation.
  struct Out {
    std::string code;
    size_t indent = 0;
    const Token* comment = nullptr;
    bool blank = false;
    bool is_const = false;
    size_t const_name_end = 0;  // where the name of a const ends in `code`
    bool transition = false;    // a machine transition: where its arrow and its on/by/when part start
    size_t arrow = 0;
    size_t rest = 0;
  };
  std::vector<Out> out;
  Block block = Block::Top;
  size_t when_end = 0;       // the column where the last `when`/`where` keyword ends
  size_t then_body = 7;      // the column of what follows `then`
  bool after_then = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    Line& line = lines[i];
    if (line.blank()) {
      out.push_back({"", 0, nullptr, true});
      continue;
    }
    if (line.tokens.empty()) {  // a comment on a line of its own: indented like the code after it
      out.push_back({"", 0, line.comment});
      continue;
    }
    const std::string& first = line.first();
    if (starts_block(first)) {
      block = first == "RULE" || first == "OTHERWISE" ? Block::Rule
              : first == "MACHINE"                    ? Block::Machine
              : first == "TABLE"                      ? Block::Table
              : first == "TEST"                       ? Block::Test
              : first == "RECORD" || first == "ENUM" || first == "EXTEND" ? Block::Fields
                                                                          : Block::Top;
      after_then = false;
    }
    if (first == "PIPE" && line.tokens.size() > 1 && block == Block::Table) {
      // A row ends at a line that ends with a pipe: one written over several
      // lines (`| channel` then `| sla |`) is one row, and is put on one line.
      std::vector<Line> rows;
      std::vector<std::vector<const Token*>> comments_before;  // of a row's earlier lines, kept above it
      size_t j = i;
      auto is_row = [&](size_t k) { return k < lines.size() && !lines[k].tokens.empty() && lines[k].first() == "PIPE"; };
      std::vector<const Token*> between;  // comment lines between rows: the table still lines up across them
      while (j < lines.size()) {
        if (lines[j].tokens.empty() && lines[j].comment) {
          size_t k = j;
          while (k < lines.size() && lines[k].tokens.empty() && lines[k].comment) ++k;
          if (!is_row(k)) break;
          for (; j < k; ++j) between.push_back(lines[j].comment);
        }
        if (!is_row(j)) break;
        Line row = lines[j++];
        std::vector<const Token*> earlier = std::move(between);
        between.clear();
        while (row.tokens.back()->kind != "PIPE" && j < lines.size() && !lines[j].tokens.empty()) {
          if (row.comment) earlier.push_back(row.comment);
          row.tokens.insert(row.tokens.end(), lines[j].tokens.begin(), lines[j].tokens.end());
          row.comment = lines[j++].comment;
        }
        rows.push_back(std::move(row));
        comments_before.push_back(std::move(earlier));
      }
      std::vector<Line*> row_pointers;
      for (Line& row : rows) row_pointers.push_back(&row);
      std::vector<std::string> formatted = format_table(row_pointers, 2);
      for (size_t r = 0; r < rows.size(); ++r) {
        for (const Token* c : comments_before[r]) out.push_back({"", 0, c});
        out.push_back({formatted[r].substr(2), 2, rows[r].comment});
      }
      i = j - 1;
      continue;
    }
    size_t indent = 0;
    if (!starts_block(first)) {
      switch (block) {
        case Block::Top: indent = 0; break;
        case Block::Machine: indent = first == "ARROW" ? 4 : 2; break;
        case Block::Fields:
        case Block::Table:
        case Block::Test: indent = 2; break;
        case Block::Rule:
          if (first == "WHEN" || (first == "THEN" && !after_then)) {
            indent = 2;
          } else if (line.tokens.front()->token_class == TokenClass::Operator && first != "NOT") {
            // An expression carried over onto a line of its own: where its author put it.
            indent = std::max<size_t>(2, line.tokens.front()->range.begin.column - 1);
          } else if (first == "AND" || first == "OR") {
            // Right-aligned with the `when` or `where` it continues.
            indent = when_end >= first.size() ? when_end - first.size() : 2;
          } else {
            indent = after_then ? then_body : 7;
          }
          break;
      }
    }
    std::vector<size_t> columns;
    std::string code = join(line.tokens, 0, line.tokens.size(), &columns);
    for (size_t k = 0; k < line.tokens.size(); ++k) {
      const std::string& kind = line.tokens[k]->kind;
      if (kind == "WHEN" || kind == "WHERE") when_end = indent + columns[k] + line.tokens[k]->text.size();
    }
    // What continues a `then` (or an `otherwise`) lines up with what follows it.
    if ((first == "THEN" && !after_then) || first == "OTHERWISE") {
      after_then = true;
      then_body = indent + (line.tokens.size() > 1 ? columns[1] : columns[0] + line.tokens[0]->text.size() + 1);
    }
    Out o{code, indent, line.comment};
    if (block == Block::Machine) {
      // source(s) `->` targets [on E] [by P] [after D] [when C]: where the arrow and the rest start.
      auto arrow = std::find_if(line.tokens.begin(), line.tokens.end(), [](const Token* t) { return t->kind == "ARROW"; });
      // A list of sources ([new, held] -> ...) is left out: it would push every arrow far right;
      // so is an arrow that begins its line, continuing the source above it.
      if (arrow != line.tokens.end() && arrow != line.tokens.begin() && first != "LBRACK") {
        size_t a = static_cast<size_t>(arrow - line.tokens.begin());
        size_t r = a + 1;
        while (r < line.tokens.size() && line.tokens[r]->kind != "ON" && line.tokens[r]->kind != "BY" &&
               line.tokens[r]->kind != "AFTER" && line.tokens[r]->kind != "WHEN")
          ++r;
        o.transition = true;
        o.arrow = columns[a] - 1;  // the space before the arrow stays with the sources' padding
        o.rest = r < line.tokens.size() ? columns[r] - 1 : code.size();
      }
    }
    if (first == "CONST" && line.tokens.size() > 2) {
      o.is_const = true;
      o.const_name_end = columns[1] + line.tokens[1]->text.size();
    }
    out.push_back(o);
  }

  // Consecutive consts line up their `=`.
  for (size_t i = 0; i < out.size();) {
    size_t j = i;
    size_t widest = 0;
    while (j < out.size() && out[j].is_const) widest = std::max(widest, out[j++].const_name_end);
    for (size_t k = i; k < j; ++k)
      out[k].code.insert(out[k].const_name_end, widest - out[k].const_name_end, ' ');
    i = j > i ? j : i + 1;
  }
  // A machine's transitions line up: sources, `->`, targets, then on/by/when.
  for (size_t i = 0; i < out.size();) {
    if (!out[i].transition) {
      ++i;
      continue;
    }
    size_t j = i, sources = 0, targets = 0;
    while (j < out.size() && out[j].transition) {
      sources = std::max(sources, out[j].arrow);
      targets = std::max(targets, out[j].rest - out[j].arrow);
      ++j;
    }
    for (size_t k = i; k < j; ++k) {
      Out& o = out[k];
      std::string left = o.code.substr(0, o.arrow), middle = o.code.substr(o.arrow, o.rest - o.arrow),
                  right = o.code.substr(o.rest);
      left.resize(sources, ' ');
      if (!right.empty()) middle.resize(targets, ' ');
      o.code = left + middle + right;
    }
    i = j;
  }
  // A comment on its own line takes the indentation of the code after it.
  for (size_t i = out.size(); i-- > 0;) {
    if (!out[i].code.empty() || out[i].blank || !out[i].comment) continue;
    size_t j = i + 1;
    while (j < out.size() && (out[j].blank || out[j].code.empty())) ++j;
    out[i].indent = j < out.size() ? out[j].indent : 0;
  }
  // Trailing comments of adjacent lines line up, two spaces after the longest code.
  for (size_t i = 0; i < out.size();) {
    if (out[i].code.empty() || !out[i].comment) {
      ++i;
      continue;
    }
    size_t j = i, widest = 0;
    while (j < out.size() && !out[j].code.empty() && out[j].comment) {
      widest = std::max(widest, out[j].indent + out[j].code.size());
      ++j;
    }
    for (size_t k = i; k < j; ++k) out[k].code += std::string(widest + 2 - out[k].indent - out[k].code.size(), ' ');
    i = j;
  }

  std::string result;
  bool last_blank = true;  // no blank lines at the start
  for (const Out& o : out) {
    if (o.blank) {
      if (!last_blank) result += '\n';
      last_blank = true;
      continue;
    }
    last_blank = false;
    result += std::string(o.indent, ' ') + o.code;
    if (o.comment) result += o.comment->text;
    while (!result.empty() && result.back() == ' ') result.pop_back();
    result += '\n';
  }
  while (result.size() >= 2 && result[result.size() - 1] == '\n' && result[result.size() - 2] == '\n')
    result.pop_back();
  return {result, std::nullopt};
}

}  // namespace orderflow::format
