// orderflow tell --channel NAME MESSAGE [--settings FILE]: the request
// that would tell a channel of one outbound message.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/support.h"
#include "compiler/support/source.h"
#include "connectors/connector.h"

namespace orderflow::cli {

namespace {

struct TellOptions {
  std::string channel;
  std::string message;
  std::string settings;
};

// What orderflow would send a channel for one outbound message.
int run_tell(const TellOptions& o) {
  const connectors::Connector* connector = connectors::find_connector(o.channel);
  if (!connector) {
    std::cerr << fmt::format("orderflow tell: no connector for '{}'\n", o.channel);
    return 2;
  }
  auto read_json = [](const std::string& file) -> std::optional<nlohmann::json> {
    std::optional<std::string> text = read_text_file(file);
    if (!text) return std::nullopt;
    nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
    if (!j.is_object()) return std::nullopt;
    return j;
  };
  std::optional<nlohmann::json> message = read_json(o.message);
  std::optional<nlohmann::json> settings = o.settings.empty() ? nlohmann::json::object() : read_json(o.settings);
  if (!message || !settings) {
    std::cerr << fmt::format("orderflow tell: cannot read '{}' as a JSON object\n", !message ? o.message : o.settings);
    return 2;
  }
  connectors::Outbound m{message->value("kind", ""),    message->value("order", nlohmann::json::object()),
                         message->value("from", ""),    message->value("to", ""),
                         message->value("cause", ""),   message->value("by", ""),
                         message->value("at", ""),      message->value("carrier", ""),
                         message->value("tracking_number", ""),
                         message->value("sku", ""),     message->value("quantity", int64_t{0}),
                         message->value("return_id", ""),
                         message->value("lines", nlohmann::json::array()),
                         message->value("amount", ""),  message->value("currency", ""),
                         message->value("now_ms", int64_t{0})};
  std::optional<connectors::ChannelRequest> request = connector->outbound(m, *settings);
  if (!request) {
    std::cout << fmt::format("nothing to tell {}\n", o.channel);
    return 0;
  }
  std::cout << json_text(nlohmann::json({{"method", request->method}, {"path", request->path}, {"body", request->body}}), 2)
            << "\n";
  return 0;
}

}  // namespace

void add_tell_command(CLI::App& app, Command& run) {
  auto* cmd = app.add_subcommand("tell", "Print the request that tells a channel of one outbound message");
  auto o = std::make_shared<TellOptions>();
  cmd->add_option("--channel", o->channel, "The channel")->required();
  cmd->add_option("message", o->message,
                  R"(The message: {"kind": "state", "order": {...}, "to": "cancelled", "by": "ops"} or )"
                  R"({"kind": "inventory_update", "sku": "...", "quantity": 5} or )"
                  R"({"kind": "refund", "order": {...}, "return_id": "...", "lines": [...], "amount": "990.00", )"
                  R"("currency": "INR"})")
      ->required();
  cmd->add_option("--settings", o->settings, "The channel's outbound settings (the ids its API wants)");
  cmd->callback([&run, o] { run = [o] { return run_tell(*o); }; });
}

}  // namespace orderflow::cli
