// orderflow check BUNDLE_DIR_OR_FILES... [--format text|json] [--emit tokens|ast|typed]
#include <fmt/format.h>
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "compiler/check/checker.h"
#include "compiler/jit/jit_engine.h"
#include "compiler/syntax/parser.h"

namespace orderflow::cli {

namespace {
struct CheckOptions {
  std::vector<std::string> paths;
  std::string format = "text";
  std::string emit;
  std::string color = "auto";
};
}  // namespace

void add_check_command(CLI::App& app, Command& run) {
  auto opts = std::make_shared<CheckOptions>();
  CLI::App* cmd = app.add_subcommand("check", "Check a policy bundle: exit 0 when clean (warnings allowed), 1 on errors");
  cmd->add_option("paths", opts->paths, "Bundle folders or .flow files")->required();
  cmd->add_option("--format", opts->format, "How to print diagnostics")->check(CLI::IsMember({"text", "json"}));
  cmd->add_option("--emit", opts->emit, "Also print a phase: tokens, ast, typed, ir (LLVM IR) or ir-optimized")
      ->check(CLI::IsMember({"tokens", "ast", "typed", "ir", "ir-optimized"}));
  cmd->add_option("--color", opts->color, "Colour diagnostics")->check(CLI::IsMember({"auto", "always", "never"}));
  cmd->callback([opts, &run] {
    run = [opts] {
      check::CheckOutcome outcome = check::check_bundle(opts->paths);
      if (opts->emit == "tokens") {
        for (const auto& parsed : outcome.parsed) {
          std::cout << "# " << outcome.sources->file(parsed.file).path() << "\n";
          std::cout << syntax::dump_tokens(syntax::tokenize(*outcome.sources, parsed.file));
        }
      } else if (opts->emit == "ast") {
        for (const auto& parsed : outcome.parsed) {
          std::cout << "# " << outcome.sources->file(parsed.file).path() << "\n";
          std::cout << syntax::dump_ast(parsed);
        }
      } else if (opts->emit == "typed" && outcome.bundle) {
        std::cout << check::dump_typed(*outcome.bundle);
      } else if ((opts->emit == "ir" || opts->emit == "ir-optimized") && outcome.bundle) {
        std::cout << jit::dump_ir(*outcome.bundle, opts->emit == "ir-optimized");
      }
      if (opts->format == "json") {
        nlohmann::json j;
        j["ok"] = outcome.ok();
        j["errors"] = outcome.diagnostics.error_count();
        j["warnings"] = outcome.diagnostics.warning_count();
        j["diagnostics"] = to_json(outcome.diagnostics, *outcome.sources);
        std::cout << j.dump(2) << "\n";
      } else {
        bool color = opts->color == "always" || (opts->color == "auto" && isatty(STDERR_FILENO));
        std::cerr << render_text(outcome.diagnostics, *outcome.sources, {color});
        std::cerr << summary_line(outcome.diagnostics) << "\n";
      }
      return outcome.ok() ? 0 : 1;
    };
  });
}

}  // namespace orderflow::cli
