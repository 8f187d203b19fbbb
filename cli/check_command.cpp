// orderflow check BUNDLE_DIR_OR_FILES... [--format text|json] [--emit tokens|ast|typed]
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/support.h"
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
  bool timings = false;
};
// Milliseconds from reading the files; the JIT's figures count from the
// end of checking.
void print_timings(std::unique_ptr<check::CheckedBundle>& checked, double check_ms) {
  std::shared_ptr<const check::CheckedBundle> bundle(std::move(checked));
  jit::JitOptions options;
  options.wait = jit::JitOptions::Wait::Everything;
  auto engine = jit::JitEngine::create(bundle, options);
  jit::JitStatus s = engine->status();
  std::cerr << fmt::format("parse and check      {:8.1f} ms\n", check_ms);
  std::cerr << fmt::format("lower to LLVM IR     {:8.1f} ms  ({} instructions)\n", check_ms + s.lower_ms,
                           s.ir_instructions);
  if (s.compiled) std::cerr << fmt::format("native code serves   {:8.1f} ms  (baseline tier{})\n", check_ms + s.baseline_ms,
                                           s.from_cache ? ", from the cache" : "");
  if (s.optimised) std::cerr << fmt::format("optimised code       {:8.1f} ms\n", check_ms + s.optimised_ms);
  if (s.explainable) std::cerr << fmt::format("explaining code      {:8.1f} ms\n", check_ms + s.explain_ms);
  if (!s.warning.empty()) std::cerr << "warning: " << s.warning << "\n";
}
}  // namespace

void add_check_command(CLI::App& app, Command& run) {
  auto opts = std::make_shared<CheckOptions>();
  CLI::App* cmd = app.add_subcommand("check", "Check a policy bundle: exit 0 when clean (warnings allowed), 1 on errors");
  cmd->add_option("paths", opts->paths, "Bundle folders or .flow files")->required();
  cmd->add_option("--format", opts->format, "How to print diagnostics")->check(CLI::IsMember({"text", "json"}));
  cmd->add_option("--emit", opts->emit, "Also print a phase: tokens, ast, typed, ir (LLVM IR) or ir-optimized")
      ->check(CLI::IsMember({"tokens", "ast", "typed", "ir", "ir-optimized"}));
  cmd->add_option("--color", opts->color, "Colour diagnostics")->check(CLI::IsMember({"auto", "always", "never"}));
  cmd->add_flag("--timings", opts->timings, "Also compile to native code and print how long each phase took");
  cmd->callback([opts, &run] {
    run = [opts] {
      auto start = std::chrono::steady_clock::now();
      check::CheckOutcome outcome = check::check_bundle(opts->paths);
      double check_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
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
        std::cout << json_text(j, 2) << "\n";
      } else {
        bool color = opts->color == "always" || (opts->color == "auto" && isatty(STDERR_FILENO));
        std::cerr << render_text(outcome.diagnostics, *outcome.sources, {color});
        std::cerr << summary_line(outcome.diagnostics) << "\n";
      }
      if (opts->timings && outcome.bundle) print_timings(outcome.bundle, check_ms);
      return outcome.ok() ? 0 : 1;
    };
  });
}

}  // namespace orderflow::cli
