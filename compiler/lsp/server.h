#pragma once
// `orderflow lsp`: a language server over stdio (JSON-RPC with
// Content-Length framing). Everything it knows comes from the compiler's
// own front end: diagnostics from the checker, hover and go-to-definition
// from the checker's symbol references, completion from the schema and the
// keywords, formatting from `orderflow fmt`. Nothing is duplicated in the
// editor extension.
#include <nlohmann/json.hpp>

#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "compiler/check/checker.h"

namespace orderflow::lsp {

class LanguageServer {
 public:
  // Handles one message; returns the messages to send (a response and/or
  // notifications such as published diagnostics).
  std::vector<nlohmann::json> handle(const nlohmann::json& message);
  bool exited() const { return exited_; }
  int exit_code() const { return shutdown_ ? 0 : 1; }

 private:
  struct Document {
    std::string path;
    std::string text;
  };
  struct Analysis {
    check::CheckOutcome outcome;
    // The last bundle of the folder that checked, for completion while the
    // text has errors.
    std::shared_ptr<const check::CheckedBundle> last_good;
  };

  nlohmann::json initialize_result() const;
  std::vector<nlohmann::json> analyse(const std::string& uri);
  Analysis& analysis_for(const std::string& uri);
  // The symbol reference under the request's position, or null.
  const check::SymbolReference* symbol_at(const nlohmann::json& params);
  nlohmann::json hover(const nlohmann::json& params);
  nlohmann::json definition(const nlohmann::json& params);
  nlohmann::json completion(const nlohmann::json& params);
  nlohmann::json symbols(const nlohmann::json& params);
  nlohmann::json formatting(const nlohmann::json& params);

  std::map<std::string, Document> documents_;  // by URI
  std::map<std::string, Analysis> analyses_;   // by bundle folder
  bool shutdown_ = false;
  bool exited_ = false;
};

// Reads framed messages from `in` and writes answers to `out` until `exit`
// or the end of input. Returns the process's exit code.
int serve(std::istream& in, std::ostream& out);

std::string path_of_uri(const std::string& uri);
std::string uri_of_path(const std::string& path);

}  // namespace orderflow::lsp
