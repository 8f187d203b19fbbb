// orderflow fmt [--check | --stdout] PATH...
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "compiler/format/formatter.h"
#include "compiler/lsp/server.h"
#include "compiler/support/source.h"

namespace orderflow::cli {

namespace {

namespace fs = std::filesystem;

struct FmtOptions {
  std::vector<std::string> paths;
  bool check = false;
  bool to_stdout = false;
};

std::vector<std::string> flow_files(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (it->is_directory() && (name.starts_with(".") || name == "node_modules")) {
          it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file() && it->path().extension() == ".flow") found.push_back(it->path().string());
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(p);
    }
  }
  return files;
}

int run_fmt(const FmtOptions& o) {
  int status = 0;
  size_t changed = 0;
  std::vector<std::string> files = flow_files(o.paths);
  for (const std::string& path : files) {
    std::optional<std::string> text = path == "-" ? std::optional<std::string>(std::string(
                                                        std::istreambuf_iterator<char>(std::cin), {}))
                                                  : read_text_file(path);
    if (!text) {
      std::cerr << fmt::format("orderflow fmt: cannot read '{}'\n", path);
      status = 2;
      continue;
    }
    format::FormatResult r = format::format_flow(path == "-" ? "<stdin>" : path, *text);
    if (r.error) {
      std::cerr << "orderflow fmt: " << *r.error << "\n";
      status = std::max(status, 1);
      if (o.to_stdout || path == "-") std::cout << *text;
      continue;
    }
    if (o.to_stdout || path == "-") {
      std::cout << r.text;
      continue;
    }
    if (r.text == *text) continue;
    ++changed;
    if (o.check) {
      std::cout << path << "\n";
      status = std::max(status, 1);
      continue;
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << r.text;
    if (!out) {
      std::cerr << fmt::format("orderflow fmt: cannot write '{}'\n", path);
      status = 2;
      continue;
    }
    std::cout << "formatted " << path << "\n";
  }
  if (o.check && changed)
    std::cerr << fmt::format("orderflow fmt: {} of {} files are not formatted; run `orderflow fmt` on them\n",
                             changed, files.size());
  return status;
}

}  // namespace

void add_lsp_command(CLI::App& app, Command& run) {
  auto* cmd = app.add_subcommand("lsp", "The language server, over standard input and output (for editors)");
  auto stdio = std::make_shared<bool>(true);
  cmd->add_flag("--stdio", *stdio, "Talk over standard input and output (the only way; editors pass it)");
  cmd->callback([&run, stdio] {
    run = [] {
      std::ios::sync_with_stdio(false);
      return lsp::serve(std::cin, std::cout);
    };
  });
}

void add_fmt_command(CLI::App& app, Command& run) {
  auto* cmd = app.add_subcommand("fmt", "Lay .flow files out canonically (keeps comments; idempotent)");
  auto o = std::make_shared<FmtOptions>();
  cmd->add_option("paths", o->paths, "Files or folders ('-': standard input to standard output)")->required();
  cmd->add_flag("--check", o->check, "Change nothing; list the files that are not formatted and exit 1");
  cmd->add_flag("--stdout", o->to_stdout, "Print the formatted text instead of rewriting the files");
  cmd->callback([&run, o] { run = [o] { return run_fmt(*o); }; });
}

}  // namespace orderflow::cli
