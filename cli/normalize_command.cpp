// orderflow normalize --channel NAME FILE [--bundle DIR]
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>

#include "cli/commands.h"
#include "compiler/check/checker.h"
#include "compiler/support/source.h"
#include "connectors/connector.h"
#include "runtime/canonical/order_json.h"

namespace orderflow::cli {

namespace {

struct NormalizeOptions {
  std::string channel;
  std::string file;
  std::string bundle;
};

int run_normalize(const NormalizeOptions& o) {
  const connectors::Connector* connector = connectors::find_connector(o.channel);
  if (!connector) {
    std::cerr << fmt::format("orderflow normalize: no connector for '{}'; there are: {}\n", o.channel,
                             fmt::join(connectors::connector_channels(), ", "));
    return 2;
  }
  std::optional<std::string> text = read_text_file(o.file);
  if (!text) {
    std::cerr << fmt::format("orderflow normalize: cannot read '{}'\n", o.file);
    return 2;
  }
  nlohmann::json payload;
  try {
    payload = nlohmann::json::parse(*text);
  } catch (const nlohmann::json::parse_error& e) {
    std::string why = e.what();
    if (auto tag = why.find("] "); tag != std::string::npos) why.erase(0, tag + 2);
    std::cerr << fmt::format("orderflow normalize: {}: $: not JSON: {}\n", o.file, why);
    return 1;
  }
  connectors::Normalized result = connector->normalize(payload);
  if (auto* error = std::get_if<connectors::PayloadError>(&result)) {
    std::cerr << fmt::format("orderflow normalize: {}: {}\n", o.file, error->text());
    return 1;
  }
  // Orders are checked against the schema they will meet: the bundle's, or the standard library's.
  check::CheckOptions options;
  std::vector<std::string> paths = {o.bundle};
  if (o.bundle.empty()) {
    options.overlay["<standard library>.flow"] = "";
    paths = {"<standard library>.flow"};
  }
  check::CheckOutcome checked = check::check_bundle(paths, options);
  if (!checked.ok()) {
    std::cerr << "orderflow normalize: the bundle does not check: " << summary_line(checked.diagnostics) << "\n";
    return 1;
  }
  int status = 0;
  for (const nlohmann::json& input : std::get<std::vector<nlohmann::json>>(result)) {
    if (input.value("type", "order") == "order") {
      runtime::DecodeResult decoded = runtime::decode_order(*checked.bundle, input);
      if (auto* e = std::get_if<runtime::DecodeError>(&decoded)) {
        std::cerr << fmt::format("orderflow normalize: {}: the canonical order is not valid: {}\n", o.file, e->text());
        status = 1;
      }
    }
    std::cout << input.dump(2) << "\n";
  }
  return status;
}

}  // namespace

void add_normalize_command(CLI::App& app, Command& run) {
  auto* cmd = app.add_subcommand("normalize", "Print the canonical order (or event) of one channel payload");
  auto o = std::make_shared<NormalizeOptions>();
  cmd->add_option("--channel", o->channel, "The channel: " + fmt::format("{}", fmt::join(connectors::connector_channels(), ", ")))
      ->required();
  cmd->add_option("file", o->file, "The payload (JSON)")->required();
  cmd->add_option("--bundle", o->bundle, "Check orders against this bundle's schema (default: the standard library's)");
  cmd->callback([&run, o] { run = [o] { return run_normalize(*o); }; });
}

}  // namespace orderflow::cli
