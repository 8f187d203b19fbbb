// orderflow normalize --channel NAME FILE... [--bundle DIR]
// Several files are the parts of one order, for channels that answer in
// parts (Amazon's getOrder + getOrderItems, Lazada's GetOrder + GetOrderItems).
#include <fmt/format.h>

#include <algorithm>
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
  std::string encoding = "auto";  // of a CSV sheet: auto, utf-8 or windows-1252
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
      std::string sheet = *text;
      bool utf8 = first_invalid_utf8(sheet) == std::string_view::npos;
      if (o.encoding == "windows-1252" || (o.encoding == "auto" && !utf8)) {
        if (o.encoding == "auto") {
          // Said, not silently guessed: where the first such byte is, so that a wrong guess is seen.
          size_t at = first_invalid_utf8(sheet);
          uint32_t line = position_of(sheet, at).line;
          std::cerr << fmt::format("orderflow normalize: {} is not UTF-8 (the byte 0x{:02X} on line {}): read as "
                                   "Windows-1252, as spreadsheets on Windows save CSV; give --encoding utf-8 to "
                                   "refuse it instead\n",
                                   file, static_cast<unsigned char>(sheet[at]), line);
        }
        sheet = connectors::utf8_from_windows_1252(sheet);
      }
      result = connectors::orders_from_csv(sheet);
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
  std::shared_ptr<const check::CheckedBundle> schema = check::standard_library();
  if (!o.bundle.empty()) {
    check::CheckOutcome checked = check::check_bundle({o.bundle});
    if (!checked.ok()) {
      std::cerr << "orderflow normalize: the bundle does not check: " << summary_line(checked.diagnostics) << "\n";
      return 1;
    }
    schema = std::move(checked.bundle);
  }
  int status = 0;
  if (std::get<std::vector<nlohmann::json>>(result).empty())
    std::cerr << fmt::format("orderflow normalize: {}: nothing in it changes an order\n", named);
  for (const nlohmann::json& input : std::get<std::vector<nlohmann::json>>(result)) {
    if (input.value("type", "order") == "order") {
      runtime::DecodeResult decoded = runtime::decode_order(*schema, input);
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
  cmd->add_option("--encoding", o->encoding,
                  "A CSV sheet's encoding: auto (UTF-8, else Windows-1252, said on stderr), utf-8 or windows-1252")
      ->check(CLI::IsMember({"auto", "utf-8", "windows-1252"}));
  cmd->add_option("--bundle", o->bundle, "Check orders against this bundle's schema (default: the standard library's)");
  cmd->callback([&run, o] { run = [o] { return run_normalize(*o); }; });
}

}  // namespace orderflow::cli
