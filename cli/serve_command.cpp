// orderflow serve --db FILE [--bundle DIR] [--port N] [--address A] [--config FILE] [--engine jit|interp]
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/support.h"
#include "compiler/support/source.h"
#include "connectors/intake/intake.h"
#include "connectors/outbound/sender.h"
#include "connectors/poller/poller.h"
#include "runtime/store/sqlite_store.h"

namespace orderflow::cli {

namespace {

struct ServeOptions {
  std::string db;
  std::string bundle;
  std::string address = "127.0.0.1";
  unsigned short port = 8080;
  std::string config;
  std::string engine = "jit";
};

int run_serve(const ServeOptions& o) {
  intake::IntakeConfig config;
  if (!o.config.empty()) {
    std::optional<std::string> text = read_text_file(o.config);
    nlohmann::json j = text ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
    if (!j.is_object()) {
      std::cerr << fmt::format("orderflow serve: cannot read the config '{}' as a JSON object\n", o.config);
      return 2;
    }
    config = intake::IntakeConfig::from_json(j);
  }
  try {
    auto store = runtime::open_sqlite_store(o.db);
    runtime::SystemClock clock;
    runtime::EngineChoice choice;
    choice.kind = o.engine;
    if (!o.bundle.empty()) {
      runtime::DeployResult r = runtime::deploy_bundle(*store, o.bundle, clock.now(), choice, stderr_is_terminal());
      if (!r.diagnostics.empty()) std::cerr << r.diagnostics;
      if (r.status == runtime::DeployResult::Status::Refused) {
        std::cerr << "orderflow serve: " << r.message << "\n";
        return 1;
      }
    }
    runtime::EngineOptions options;
    options.engine = choice;
    runtime::OrderEngine engine(*store, clock, options);
    runtime::SqliteOptions read_only;
    read_only.read_only = true;
    auto reader = runtime::open_sqlite_store(o.db, read_only);
    std::string inbox_file = runtime::inbox_path(o.db);
    auto inbox = runtime::open_sqlite_inbox(inbox_file);
    intake::Intake intake(engine, *reader, *inbox, inbox_file, config);
    std::vector<std::unique_ptr<poller::Poller>> pollers;
    for (const auto& [channel, settings] : config.pollers.items()) {
      poller::PollConfig poll = poller::PollConfig::from_json(channel, settings);
      auto api = poller::make_channel_api(poll, [](const poller::HttpCall& c) { return poller::http_call(c); });
      pollers.push_back(std::make_unique<poller::Poller>(
          poll, std::move(api), [&intake](const auto& work) { intake.with_inbox(work); }));
    }
    std::unique_ptr<outbound::Sender> sender;
    if (!config.outbound.empty())
      sender = std::make_unique<outbound::Sender>(
          outbound::SenderConfig::from_json(config.outbound), runtime::open_sqlite_store(o.db, read_only),
          [&intake](const auto& work) { intake.with_inbox(work); },
          [](const poller::HttpCall& c) { return poller::http_call(c); });
    int status = intake::serve_http(intake, engine, clock, o.address, o.port, [&](unsigned short port) {
      for (auto& p : pollers) p->start();
      if (sender) sender->start();
      std::cerr << fmt::format("orderflow serve: listening on http://{}:{}\n", o.address, port) << std::flush;
    });
    for (auto& p : pollers) p->stop();
    if (sender) sender->stop();
    return status;
  } catch (const runtime::StoreError& e) {
    std::cerr << "orderflow serve: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "orderflow serve: error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

void add_serve_command(CLI::App& app, Command& run) {
  auto* cmd = app.add_subcommand("serve", "Take webhooks and API calls over HTTP into the engine");
  auto o = std::make_shared<ServeOptions>();
  cmd->add_option("--db", o->db, "SQLite database")->required();
  cmd->add_option("--bundle", o->bundle, "Deploy this bundle first (when it changed)");
  cmd->add_option("--address", o->address, "Address to listen on");
  cmd->add_option("--port", o->port, "Port (0: any free one)");
  cmd->add_option("--config", o->config, "JSON: webhook secrets by channel, API token, limits");
  cmd->add_option("--engine", o->engine, "jit or interp")->check(CLI::IsMember({"jit", "interp"}));
  cmd->callback([&run, o] { run = [o] { return run_serve(*o); }; });
}

}  // namespace orderflow::cli
