#include "compiler/lsp/server.h"

#include "compiler/check/builtin_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <iostream>
#include <optional>
#include <regex>

#include "compiler/format/formatter.h"
#include "compiler/syntax/parser.h"

namespace orderflow::lsp {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// LSP positions are 0-based; ours are 1-based lines and code-point columns.
json position(const SourcePosition& p) {
  return {{"line", p.line > 0 ? p.line - 1 : 0}, {"character", p.column > 0 ? p.column - 1 : 0}};
}
json range_of(const SourceRange& r) {
  if (!r.known()) return {{"start", {{"line", 0}, {"character", 0}}}, {"end", {{"line", 0}, {"character", 0}}}};
  return {{"start", position(r.begin)}, {"end", position(r.end)}};
}
bool contains(const SourceRange& r, uint32_t line, uint32_t column) {
  if (line < r.begin.line || line > r.end.line) return false;
  if (line == r.begin.line && column < r.begin.column) return false;
  if (line == r.end.line && column >= r.end.column) return false;
  return true;
}

std::string normal(const std::string& path) { return fs::path(path).lexically_normal().generic_string(); }

json response(const json& id, json result) { return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}}; }

}  // namespace

std::string path_of_uri(const std::string& uri) {
  std::string p = uri.rfind("file://", 0) == 0 ? uri.substr(7) : uri;
  std::string out;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '%' && i + 2 < p.size()) {
      out += static_cast<char>(std::stoi(p.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += p[i];
    }
  }
  return out;
}

std::string uri_of_path(const std::string& path) {
  std::string out = "file://";
  for (char c : path) {
    if (std::isalnum(static_cast<unsigned char>(c)) || std::string_view("/-_.~").find(c) != std::string_view::npos)
      out += c;
    else
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
  }
  return out;
}

json LanguageServer::initialize_result() const {
  return {{"capabilities",
           {{"textDocumentSync", 1},  // full text on every change
            {"hoverProvider", true},
            {"definitionProvider", true},
            {"completionProvider", {{"triggerCharacters", {"."}}}},
            {"documentSymbolProvider", true},
            {"documentFormattingProvider", true}}},
          {"serverInfo", {{"name", "orderflow"}, {"version", "0.1.0"}}}};
}

LanguageServer::Analysis& LanguageServer::analysis_for(const std::string& uri) {
  std::string folder = normal(fs::path(documents_[uri].path).parent_path().string());
  return analyses_[folder];
}

// Checks the bundle the document belongs to (its folder, with every open
// document's unsaved text) and publishes the diagnostics of each open
// document of that bundle.
std::vector<json> LanguageServer::analyse(const std::string& uri) {
  const Document& doc = documents_.at(uri);
  std::string folder = normal(fs::path(doc.path).parent_path().string());
  check::CheckOptions options;
  std::vector<std::string> paths = {folder};
  for (const auto& [u, d] : documents_) {
    if (normal(fs::path(d.path).parent_path().string()) != folder) continue;
    options.overlay[d.path] = d.text;
    std::error_code ec;
    if (!fs::exists(d.path, ec)) paths.push_back(d.path);  // not saved yet: not found in the folder
  }
  Analysis& a = analyses_[folder];
  a.outcome = check::check_bundle(paths, options);
  if (a.outcome.bundle) a.last_good = std::shared_ptr<const check::CheckedBundle>(std::move(a.outcome.bundle));

  std::vector<json> out;
  for (const auto& [u, d] : documents_) {
    if (normal(fs::path(d.path).parent_path().string()) != folder) continue;
    json diagnostics = json::array();
    for (const Diagnostic& diag : a.outcome.diagnostics.all()) {
      bool here = diag.range.file != kNoFile && normal(a.outcome.sources->file(diag.range.file).path()) == normal(d.path);
      bool nowhere = diag.range.file == kNoFile;
      if (!here && !(nowhere && u == uri)) continue;
      json item = {{"range", range_of(here ? diag.range : SourceRange{})},
                   {"severity", diag.severity == Severity::Error ? 1 : diag.severity == Severity::Warning ? 2 : 3},
                   {"code", diag.code},
                   {"source", "orderflow"},
                   {"message", diag.hint.empty() ? diag.message : diag.message + "\n" + diag.hint}};
      diagnostics.push_back(std::move(item));
    }
    out.push_back({{"jsonrpc", "2.0"},
                   {"method", "textDocument/publishDiagnostics"},
                   {"params", {{"uri", u}, {"diagnostics", diagnostics}}}});
  }
  return out;
}

const check::SymbolReference* LanguageServer::symbol_at(const json& params) {
  std::string uri = params.at("textDocument").at("uri");
  if (!documents_.count(uri)) return nullptr;
  Analysis& a = analysis_for(uri);
  uint32_t line = params.at("position").at("line").get<uint32_t>() + 1;
  uint32_t column = params.at("position").at("character").get<uint32_t>() + 1;
  std::string path = normal(documents_[uri].path);
  for (const check::SymbolReference& s : a.outcome.symbols)
    if (s.range.known() && normal(a.outcome.sources->file(s.range.file).path()) == path &&
        contains(s.range, line, column))
      return &s;
  return nullptr;
}

json LanguageServer::hover(const json& params) {
  const check::SymbolReference* s = symbol_at(params);
  if (!s) return nullptr;
  std::string text = fmt::format("```orderflow\n{}\n```\n", s->detail);
  if (!s->doc.empty()) text += "\n" + s->doc + "\n";
  text += fmt::format("\n*{}*", s->kind);
  return {{"contents", {{"kind", "markdown"}, {"value", text}}}, {"range", range_of(s->range)}};
}

json LanguageServer::definition(const json& params) {
  const check::SymbolReference* s = symbol_at(params);
  if (!s || !s->definition.known()) return nullptr;
  Analysis& a = analysis_for(params.at("textDocument").at("uri"));
  std::string target = a.outcome.sources->file(s->definition.file).path();
  std::error_code ec;
  if (!fs::exists(target, ec)) return nullptr;  // the standard library is built in
  return {{"uri", uri_of_path(fs::absolute(target).lexically_normal().generic_string())},
          {"range", range_of(s->definition)}};
}

json LanguageServer::completion(const json& params) {
  std::string uri = params.at("textDocument").at("uri");
  json items = json::array();
  if (!documents_.count(uri)) return items;
  const Document& doc = documents_[uri];
  Analysis& a = analysis_for(uri);
  uint32_t line = params.at("position").at("line").get<uint32_t>();
  uint32_t character = params.at("position").at("character").get<uint32_t>();
  // The text of the line up to the cursor.
  size_t start = 0;
  for (uint32_t l = 0; l < line && start != std::string::npos; ++l) {
    start = doc.text.find('\n', start);
    if (start != std::string::npos) ++start;
  }
  std::string before;
  if (start != std::string::npos) {
    size_t end = doc.text.find('\n', start);
    std::string text = doc.text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    before = text.substr(0, utf8_offset(text, character));
  }
  const check::CheckedBundle* b = a.last_good.get();
  static const std::regex path_re(R"(([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\.(\w*)$)");
  std::smatch m;
  if (b && std::regex_search(before, m, path_re)) {
    // A field path: the fields of the record it reaches.
    std::vector<std::string> parts;
    std::string whole = m[1];
    for (size_t p = 0, q; p <= whole.size(); p = q + 1) {
      q = whole.find('.', p);
      if (q == std::string::npos) q = whole.size();
      parts.push_back(whole.substr(p, q - p));
    }
    int record = parts[0] == "order" ? b->order_record
                 : parts[0] == "node" ? b->node_record
                 : parts[0] == "line" ? b->line_record
                                      : -1;
    for (size_t i = 1; record >= 0 && i < parts.size(); ++i) {
      const model::RecordDef& r = b->schema.record_def(record);
      int f = r.find(parts[i]);
      if (f < 0) {
        record = -1;
        break;
      }
      model::Type t = r.fields[f].type;
      if (t.kind == model::TypeKind::Record) {
        record = t.ref;
      } else {
        record = -1;
      }
    }
    if (record >= 0) {
      for (const model::FieldDef& f : b->schema.record_def(record).fields)
        items.push_back({{"label", f.name},
                         {"kind", 5},
                         {"detail", b->schema.type_name(f.type) + (f.optional ? "?" : "")},
                         {"documentation", f.doc}});
      return items;
    }
  }
  for (const std::string& k : syntax::keywords()) items.push_back({{"label", k}, {"kind", 14}});
  for (const char* root : {"order", "node", "line"}) items.push_back({{"label", root}, {"kind", 6}});
  for (const check::BuiltinSpec& f : check::builtin_specs())
    if (f.callable) items.push_back({{"label", f.name}, {"kind", 3}, {"detail", f.usage}, {"documentation", f.summary}});
  if (b) {
    for (size_t e = 0; e < b->schema.enum_count(); ++e) {
      const model::EnumDef& def = b->schema.enum_def(static_cast<int>(e));
      for (const std::string& v : def.values) items.push_back({{"label", v}, {"kind", 20}, {"detail", def.name}});
    }
    for (const check::Constant& c : b->constants)
      items.push_back({{"label", c.name}, {"kind", 21}, {"detail", b->schema.type_name(c.type)}, {"documentation", c.doc}});
    for (const check::Table& t : b->tables) items.push_back({{"label", t.name}, {"kind", 3}, {"detail", "table"}});
  }
  return items;
}

json LanguageServer::symbols(const json& params) {
  std::string uri = params.at("textDocument").at("uri");
  json out = json::array();
  if (!documents_.count(uri)) return out;
  const Document& doc = documents_[uri];
  SourceManager sources;
  FileId file = sources.add(doc.path, doc.text);
  std::vector<syntax::Token> tokens = syntax::tokenize(sources, file);
  std::vector<const syntax::Token*> sig;
  for (const auto& t : tokens)
    if (t.token_class != syntax::TokenClass::Whitespace && t.token_class != syntax::TokenClass::Comment) sig.push_back(&t);
  struct Found {
    std::string name;
    int kind;
    SourceRange head;
    SourceRange name_range;
    json children = json::array();
  };
  std::vector<Found> found;
  bool in_machine = false;
  for (size_t i = 0; i < sig.size(); ++i) {
    const syntax::Token& t = *sig[i];
    bool line_start = i == 0 || sig[i - 1]->range.end.line < t.range.begin.line;
    if (!line_start) continue;
    const syntax::Token* next = i + 1 < sig.size() ? sig[i + 1] : nullptr;
    auto add = [&](std::string name, int kind, const syntax::Token& name_token) {
      found.push_back({std::move(name), kind, t.range, name_token.range});
    };
    if (t.range.begin.column == 1) in_machine = t.kind == "MACHINE";
    if (t.kind == "RULE" && next && next->kind == "STRING") add(syntax::unquote(next->text), 12, *next);
    else if (t.kind == "OTHERWISE") add("otherwise", 12, t);
    else if (t.kind == "TABLE" && next) add(next->text, 23, *next);
    else if (t.kind == "CONST" && next) add(next->text, 14, *next);
    else if (t.kind == "MACHINE" && next) add(next->text, 5, *next);
    else if (t.kind == "TEST" && next && next->kind == "STRING") add("test " + next->text, 24, *next);
    else if ((t.kind == "RECORD" || t.kind == "ENUM") && next) add(next->text, t.kind == "RECORD" ? 23 : 10, *next);
    else if (t.kind == "POLICY" && next) add(next->text + " policy", 2, *next);
    else if (in_machine && !found.empty() && (t.kind == "IDENT" || t.kind == "INITIAL")) {
      // A transition's source state, or the initial state.
      const syntax::Token& state = t.kind == "INITIAL" && next ? *next : t;
      std::string name = state.text;
      bool seen = false;
      for (const auto& c : found.back().children) seen |= c["name"] == name;
      if (!seen)
        found.back().children.push_back(
            {{"name", name}, {"kind", 22}, {"range", range_of(state.range)}, {"selectionRange", range_of(state.range)}});
    }
  }
  uint32_t last_line = sources.file(file).line_count();
  for (size_t i = 0; i < found.size(); ++i) {
    SourceRange whole = found[i].head;
    uint32_t end_line = i + 1 < found.size() ? found[i + 1].head.begin.line - 1 : last_line;
    whole.end = {std::max(end_line, whole.begin.line), 1};
    json s = {{"name", found[i].name},
              {"kind", found[i].kind},
              {"range", range_of(whole)},
              {"selectionRange", range_of(found[i].name_range)}};
    if (!found[i].children.empty()) s["children"] = found[i].children;
    out.push_back(std::move(s));
  }
  return out;
}

json LanguageServer::formatting(const json& params) {
  std::string uri = params.at("textDocument").at("uri");
  if (!documents_.count(uri)) return json::array();
  const Document& doc = documents_[uri];
  format::FormatResult r = format::format_flow(doc.path, doc.text);
  if (r.error || r.text == doc.text) return json::array();
  uint32_t lines = 0;
  for (char c : doc.text) lines += c == '\n';
  return json::array({{{"range", {{"start", {{"line", 0}, {"character", 0}}}, {"end", {{"line", lines + 1}, {"character", 0}}}}},
                       {"newText", r.text}}});
}

std::vector<json> LanguageServer::handle(const json& message) {
  // Whatever arrives is answered, never fatal: a batch, a number, a method
  // that is not text, a request without the params it needs.
  if (!message.is_object())
    return {{{"jsonrpc", "2.0"}, {"id", nullptr},
             {"error", {{"code", -32600}, {"message", "invalid request: expected a JSON object (batches are not taken)"}}}}};
  json id = message.contains("id") ? message["id"] : json();
  if (!message.contains("method") || !message["method"].is_string())
    return {{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", -32600}, {"message", "invalid request: no method"}}}}};
  std::string method = message["method"];
  const json& params = message.contains("params") ? message["params"] : json::object();
  try {
    if (method == "initialize") return {response(id, initialize_result())};
    if (method == "initialized" || method == "$/cancelRequest" || method == "workspace/didChangeConfiguration")
      return {};
    if (method == "shutdown") {
      shutdown_ = true;
      return {response(id, nullptr)};
    }
    if (method == "exit") {
      exited_ = true;
      return {};
    }
    if (method == "textDocument/didOpen") {
      std::string uri = params.at("textDocument").at("uri");
      documents_[uri] = {fs::absolute(path_of_uri(uri)).lexically_normal().generic_string(),
                         params.at("textDocument").at("text")};
      return analyse(uri);
    }
    if (method == "textDocument/didChange") {
      std::string uri = params.at("textDocument").at("uri");
      if (!documents_.count(uri) || !params.at("contentChanges").is_array() || params.at("contentChanges").empty())
        return {};
      documents_[uri].text = params.at("contentChanges").back().at("text");
      return analyse(uri);
    }
    if (method == "textDocument/didSave") return analyse(params.at("textDocument").at("uri"));
    if (method == "textDocument/didClose") {
      std::string uri = params.at("textDocument").at("uri");
      documents_.erase(uri);
      return {{{"jsonrpc", "2.0"},
               {"method", "textDocument/publishDiagnostics"},
               {"params", {{"uri", uri}, {"diagnostics", json::array()}}}}};
    }
    if (method == "textDocument/hover") return {response(id, hover(params))};
    if (method == "textDocument/definition") return {response(id, definition(params))};
    if (method == "textDocument/completion") return {response(id, completion(params))};
    if (method == "textDocument/documentSymbol") return {response(id, symbols(params))};
    if (method == "textDocument/formatting") return {response(id, formatting(params))};
    if (!id.is_null())
      return {{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", -32601}, {"message", "unknown method " + method}}}}};
    return {};
  } catch (const json::exception& e) {
    // Params missing or of the wrong type (every read of them is checked: .at(), .get<>()).
    if (id.is_null()) return {};
    std::string why = e.what();
    if (auto tag = why.find("] "); tag != std::string::npos) why.erase(0, tag + 2);
    return {{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", -32602}, {"message", "invalid params: " + why}}}}};
  } catch (const std::exception& e) {
    // A bad request gets an error answer; the server goes on.
    if (id.is_null()) return {};
    return {{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", -32603}, {"message", e.what()}}}}};
  }
}

namespace {

// The most one message may hold: far above any document an analyst edits,
// far below what a wrong header could make the server allocate.
constexpr size_t kMaxMessage = 64u << 20;

// A header's Content-Length, strictly: digits only.
std::optional<size_t> content_length(const std::string& value) {
  size_t begin = value.find_first_not_of(' ');
  if (begin == std::string::npos) return std::nullopt;
  size_t n = 0;
  for (size_t i = begin; i < value.size(); ++i) {
    if (value[i] < '0' || value[i] > '9') return std::nullopt;
    if (n > (SIZE_MAX - 9) / 10) return std::nullopt;
    n = n * 10 + static_cast<size_t>(value[i] - '0');
  }
  return n;
}

void write(std::ostream& out, const json& message) {
  std::string text = message.dump(-1, ' ', false, json::error_handler_t::replace);
  out << "Content-Length: " << text.size() << "\r\n\r\n" << text;
}

json frame_error(const std::string& message) {
  return {{"jsonrpc", "2.0"}, {"id", nullptr}, {"error", {{"code", -32700}, {"message", message}}}};
}

}  // namespace

int serve(std::istream& in, std::ostream& out) {
  LanguageServer server;
  for (;;) {
    std::optional<size_t> length;
    std::string header, bad_length;
    bool any = false;
    while (std::getline(in, header)) {
      any = true;
      if (!header.empty() && header.back() == '\r') header.pop_back();
      if (header.empty()) break;
      if (header.rfind("Content-Length:", 0) == 0) {
        length = content_length(header.substr(15));
        if (!length) bad_length = header.substr(std::min(header.find_first_not_of(' ', 15), header.size()));
      }
    }
    if (!any || !in) return server.exit_code();
    if (!length) {
      // Where this message ends cannot be known: say so, and read on from the next header.
      write(out, frame_error(bad_length.empty() ? "malformed message: no Content-Length header"
                                                : "malformed message: Content-Length '" + bad_length +
                                                      "' is not a number of bytes"));
      out.flush();
      continue;
    }
    if (*length > kMaxMessage) {
      // Skipped, not stored: a wrong header must not make the server allocate what it says.
      write(out, frame_error(fmt::format("message of {} bytes refused: at most {} bytes are taken", *length, kMaxMessage)));
      out.flush();
      std::array<char, 65536> sink;
      for (size_t left = *length; left > 0 && in;) {
        size_t n = std::min(left, sink.size());
        in.read(sink.data(), static_cast<std::streamsize>(n));
        left -= static_cast<size_t>(in.gcount());
      }
      if (!in) return server.exit_code();
      continue;
    }
    std::string body(*length, '\0');
    in.read(body.data(), static_cast<std::streamsize>(*length));
    if (static_cast<size_t>(in.gcount()) < *length) return server.exit_code();  // the client went away mid-message
    json message;
    try {
      message = json::parse(body, nullptr, false);
    } catch (const json::exception&) {  // a number beyond a double throws even so
      message = json(json::value_t::discarded);
    }
    std::vector<json> answers;
    if (message.is_discarded())
      answers.push_back(frame_error("parse error: the message is not JSON"));
    else
      answers = server.handle(message);
    for (const json& a : answers) write(out, a);
    out.flush();
    if (server.exited()) return server.exit_code();
  }
}

}  // namespace orderflow::lsp
