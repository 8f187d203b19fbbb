// orderflow normalize --channel NAME FILE... [--bundle DIR]
// Several files are the parts of one order, for channels that answer in
// parts (Amazon's getOrder + getOrderItems, Lazada's GetOrder + GetOrderItems).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/support.h"
#include "runtime/canonical/json_parse.h"
#include "compiler/check/checker.h"
#include "compiler/support/source.h"
#include "connectors/connector.h"
#include "connectors/csv/csv_orders.h"
#include "runtime/canonical/order_json.h"

namespace orderflow::cli {

namespace {

struct NormalizeOptions {
  std::string channel;
  std::vector<std::string> files;
  std::string bundle;
  bool lines = false;
};

int run_normalize(const NormalizeOptions& o) {
  const connectors::Connector* connector = connectors::find_connector(o.channel);
  if (!connector && o.channel != "csv") {
    std::cerr << fmt::format("orderflow normalize: no connector for '{}'; there are: {}\n", o.channel,
                             fmt::join(connectors::connector_channels(), ", "));
    return 2;
  }
  std::string named = fmt::format("{}", fmt::join(o.files, " + "));
  connectors::Normalized result;
  std::vector<nlohmann::json> payloads;
  for (const std::string& file : o.files) {
    std::optional<std::string> text = read_text_file(file);
    if (!text) {
      std::cerr << fmt::format("orderflow normalize: cannot read '{}'\n", file);
      return 2;
    }
    if (o.channel == "csv") {
      if (o.files.size() != 1) {
        std::cerr << "orderflow normalize: a sheet is read on its own: give one CSV file\n";
        return 2;
      }
      result = connectors::orders_from_csv(*text);
      break;
    }
    payloads.push_back(runtime::parse_json(*text));
    if (payloads.back().is_discarded()) {
      std::cerr << fmt::format("orderflow normalize: {}: $: {}\n", file, runtime::json_problem(*text).value_or("not JSON"));
      return 1;
    }
  }
  if (connector) result = connector->normalize_parts(payloads);
  if (auto* error = std::get_if<connectors::PayloadError>(&result)) {
    std::cerr << fmt::format("orderflow normalize: {}: {}\n", named, error->text());
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
  if (std::get<std::vector<nlohmann::json>>(result).empty())
    std::cerr << fmt::format("orderflow normalize: {}: nothing in it changes an order\n", named);
  for (const nlohmann::json& input : std::get<std::vector<nlohmann::json>>(result)) {
    if (input.value("type", "order") == "order") {
      runtime::DecodeResult decoded = runtime::decode_order(*checked.bundle, input);
      if (auto* e = std::get_if<runtime::DecodeError>(&decoded)) {
        std::cerr << fmt::format("orderflow normalize: {}: the canonical order is not valid: {}\n", named, e->text());
        status = 1;
      }
    }
    std::cout << json_text(input, o.lines ? -1 : 2) << "\n";
  }
  return status;
}

}  // namespace

void add_normalize_command(CLI::App& app, Command& run) {
  auto* cmd = app.add_subcommand("normalize", "Print the canonical order (or events) of a channel payload");
  auto o = std::make_shared<NormalizeOptions>();
  cmd->add_option("--channel", o->channel, "The channel (" + fmt::format("{}", fmt::join(connectors::connector_channels(), ", ")) +
                      "), or csv for a sheet of orders")
      ->required();
  cmd->add_option("files", o->files, "The payload (JSON); several are the parts of one order (Amazon v0, Lazada)")
      ->required();
  cmd->add_flag("--lines", o->lines, "One input per line (JSON lines), to pipe into `orderflow run --events -`");
  cmd->add_option("--bundle", o->bundle, "Check orders against this bundle's schema (default: the standard library's)");
  cmd->callback([&run, o] { run = [o] { return run_normalize(*o); }; });
}

}  // namespace orderflow::cli
