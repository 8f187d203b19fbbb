#pragma once
// What the subcommands share: loading a bundle (reporting its diagnostics),
// choosing an engine, reading the time.
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>

#include "compiler/check/bundle.h"
#include "compiler/engine/engine.h"
#include "runtime/engine/deployments.h"

namespace orderflow::cli {

// Checks the bundle; on errors prints them to stderr and returns null.
std::shared_ptr<const check::CheckedBundle> load_bundle(const std::string& path);

// "interp" or "jit".
std::unique_ptr<engine::PolicyEngine> make_engine(std::shared_ptr<const check::CheckedBundle> bundle,
                                                  const std::string& which);

// --now: an ISO 8601 time, or "" for the current time.
std::optional<int64_t> parse_now(const std::string& text);

bool stderr_is_terminal();

// How the command line deploys a bundle (deploy, run --bundle, serve
// --bundle): its policy tests, stories too, run first on the engine it will
// serve with, and a failing one refuses the deployment unless `despite`
// gives the reason to go on, which the deployment keeps.
runtime::DeployOptions deploy_options(const std::string& bundle_dir, const std::string& engine,
                                      const std::string& despite);

// JSON for what orderflow prints. Text from outside (a byte of Latin-1 in an
// order line, a data file's cell quoted in a diagnostic) may not be UTF-8;
// it is replaced (U+FFFD), never a reason to stop. Every command that
// prints JSON prints it through here.
template <typename Json>
std::string json_text(const Json& j, int indent = -1) {
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

// The command line orderflow was started with ("orderflow serve --db
// orders.db"): what a database's writer lock says of its holder.
void set_command_line(int argc, char** argv);
const std::string& command_line();

}  // namespace orderflow::cli
