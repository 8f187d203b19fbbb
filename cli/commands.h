#pragma once
// The subcommands of the `orderflow` binary. Each registers its options on
// the CLI11 app and returns the function that runs it.
#include <CLI/CLI.hpp>

#include <functional>

namespace orderflow::cli {

using Command = std::function<int()>;

void add_check_command(CLI::App& app, Command& run);
void add_eval_commands(CLI::App& app, Command& run);
void add_test_command(CLI::App& app, Command& run);
void add_bench_command(CLI::App& app, Command& run);
void add_runtime_commands(CLI::App& app, Command& run);
void add_fmt_command(CLI::App& app, Command& run);
void add_lsp_command(CLI::App& app, Command& run);
void add_normalize_command(CLI::App& app, Command& run);
void add_tell_command(CLI::App& app, Command& run);
void add_serve_command(CLI::App& app, Command& run);

}  // namespace orderflow::cli
