// orderflow: check, evaluate, test and run order policies.
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "cli/support.h"

int main(int argc, char** argv) {
  CLI::App app{"orderflow: order policies, checked, compiled and run"};
  app.require_subcommand(1);
  orderflow::cli::Command run;
  orderflow::cli::add_check_command(app, run);
  orderflow::cli::add_eval_commands(app, run);
  orderflow::cli::add_test_command(app, run);
  orderflow::cli::add_bench_command(app, run);
  orderflow::cli::add_runtime_commands(app, run);
  orderflow::cli::add_fmt_command(app, run);
  orderflow::cli::add_lsp_command(app, run);
  orderflow::cli::add_normalize_command(app, run);
  orderflow::cli::add_tell_command(app, run);
  orderflow::cli::add_serve_command(app, run);
  orderflow::cli::set_command_line(argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    return run ? run() : 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "orderflow: internal error: %s\n", e.what());
    return 3;
  }
}
