#pragma once
// What the subcommands share: loading a bundle (reporting its diagnostics),
// choosing an engine, reading the time.
#include <memory>
#include <optional>
#include <string>

#include "compiler/check/bundle.h"
#include "compiler/engine/engine.h"

namespace orderflow::cli {

// Checks the bundle; on errors prints them to stderr and returns null.
std::shared_ptr<const check::CheckedBundle> load_bundle(const std::string& path);

// "interp" or "jit".
std::unique_ptr<engine::PolicyEngine> make_engine(std::shared_ptr<const check::CheckedBundle> bundle,
                                                  const std::string& which);

// --now: an ISO 8601 time, or "" for the current time.
std::optional<int64_t> parse_now(const std::string& text);

bool stderr_is_terminal();

// The command line orderflow was started with ("orderflow serve --db
// orders.db"): what a database's writer lock says of its holder.
void set_command_line(int argc, char** argv);
const std::string& command_line();

}  // namespace orderflow::cli
