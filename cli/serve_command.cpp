// orderflow serve --db FILE [--bundle DIR] [--port N] [--address A] [--config FILE] [--engine jit|interp]
// orderflow import --db FILE --events FILE.jsonl
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/support.h"
#include "compiler/support/source.h"
#include "connectors/intake/intake.h"
#include "connectors/outbound/sender.h"
#include "connectors/poller/poller.h"
#include "runtime/engine/engine_thread.h"
#include "runtime/store/sqlite_store.h"
#include "runtime/store/writer_lock.h"

namespace orderflow::cli {

namespace {

struct ServeOptions {
  std::string db;
  std::string bundle;
  std::string despite_failing_tests;
  std::string address = "127.0.0.1";
  unsigned short port = 8080;
  std::string config;
  std::string engine = "jit";
  int cache_mb = 0;
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
    runtime::WriterLock lock = runtime::WriterLock::acquire(o.db, command_line());
    auto store = runtime::open_sqlite_store(o.db);
    runtime::SystemClock clock;
    runtime::EngineChoice choice;
    choice.kind = o.engine;
    if (!o.bundle.empty()) {
      runtime::DeployResult r = runtime::deploy_bundle(*store, o.bundle, clock.now(), choice,
                                                       deploy_options(o.bundle, o.engine, o.despite_failing_tests));
      if (!r.diagnostics.empty()) std::cerr << r.diagnostics;
      if (r.status == runtime::DeployResult::Status::Refused) {
        std::cerr << "orderflow serve: " << r.message << "\n";
        return 1;
      }
    }
    runtime::EngineOptions options;
    options.engine = choice;
    if (o.cache_mb > 0) options.order_cache_bytes = static_cast<size_t>(o.cache_mb) << 20;
    runtime::OrderEngine engine(*store, lock, clock, options);
    std::string inbox_file = runtime::inbox_path(o.db);
    auto inbox = runtime::open_sqlite_inbox(inbox_file);
    int64_t decided = engine.inbox_decided();
    if (decided == 0) {
      // An inbox the decider read before the engine kept the cursor itself.
      if (auto cursor = inbox->cursor("decided"); cursor && std::stoll(*cursor) > 0) {
        engine.set_inbox_decided(std::stoll(*cursor));
        engine.commit();
        decided = engine.inbox_decided();
      }
    }
    runtime::EngineThread::Options thread_options;
    thread_options.on_failure = [](const std::string& why) {
      std::cerr << "orderflow serve: error: a batch was not stored (its inputs are tried again): " << why << "\n";
    };
    runtime::EngineThread thread(engine, clock, thread_options);
    runtime::SqliteOptions read_only;
    read_only.read_only = true;
    auto reader = runtime::open_sqlite_store(o.db, read_only);
    intake::Intake intake(thread, decided, *reader, *inbox, inbox_file, config);
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
    int status = intake::serve_http(intake, o.address, o.port, [&](unsigned short port) {
      for (auto& p : pollers) p->start();
      if (sender) sender->start();
      std::cerr << fmt::format("orderflow serve: listening on http://{}:{}\n", o.address, port) << std::flush;
    });
    for (auto& p : pollers) p->stop();
    if (sender) sender->stop();
    intake.stop();
    thread.stop();
    return status;
  } catch (const runtime::StoreError& e) {
    std::cerr << "orderflow serve: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "orderflow serve: error: " << e.what() << "\n";
    return 1;
  }
}

// Queues a file of canonical inputs into the inbox of the database, where
// `orderflow serve` (the one engine writing the database) decides them.
int run_import(const std::string& db, const std::string& events, int timeout_seconds) {
  std::ifstream in(events);
  if (!in) {
    std::cerr << fmt::format("orderflow import: cannot read '{}'\n", events);
    return 2;
  }
  try {
    auto inbox = runtime::open_sqlite_inbox(runtime::inbox_path(db));
    int64_t now = runtime::SystemClock().now();
    std::string line;
    size_t number = 0, queued = 0, known = 0;
    int64_t last = 0;
    inbox->begin();
    while (std::getline(in, line)) {
      ++number;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      runtime::InboxEntry entry{0, runtime::inbox_key(runtime::kCanonicalChannel, line), runtime::kCanonicalChannel,
                                fmt::format("import:{}:{}", events, number), now, line};
      if (inbox->add(entry)) {
        ++queued;
        last = entry.seq;
      } else {
        ++known;
      }
      if ((queued + known) % 1000 == 0) {
        inbox->commit();
        inbox->begin();
      }
    }
    inbox->commit();
    std::cout << fmt::format("queued {} input{} from {} into the inbox of {}{}\n", queued, queued == 1 ? "" : "s",
                             events, db, known ? fmt::format(" ({} queued before, left alone)", known) : "");
    std::optional<runtime::LockHolder> holder = runtime::WriterLock::holder(db);
    if (!holder) {
      std::cout << "no engine is running on the database: `orderflow serve` decides them when it starts (or decide "
                   "them now with `orderflow run --db "
                << db << " --events " << events << "`)\n";
      return 0;
    }
    if (last == 0) return 0;
    std::cout << fmt::format("waiting for `{}` (pid {}) to decide them...\n", holder->command, holder->pid)
              << std::flush;
    runtime::SqliteOptions read_only;
    read_only.read_only = true;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
    for (;;) {
      auto store = runtime::open_sqlite_store(db, read_only);
      int64_t decided = std::stoll(store->settings().get("inbox_decided").value_or("0"));
      if (decided >= last) {
        size_t dead = 0;
        std::string prefix = fmt::format("import:{}:", events);
        for (const runtime::DeadLetter& d : store->dead_letters().list())
          if (d.source.rfind(prefix, 0) == 0 && d.received_at >= now) ++dead;
        std::cout << fmt::format("decided; {} of them became dead letters (`orderflow deadletters --db {}`)\n", dead,
                                 db);
        return dead > 0 ? 1 : 0;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        std::cerr << fmt::format(
            "orderflow import: the server has decided the inbox up to entry {}, not yet {}; they stay queued and "
            "are decided in order\n",
            decided, last);
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  } catch (const runtime::StoreError& e) {
    std::cerr << "orderflow import: error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

void add_serve_command(CLI::App& app, Command& run) {
  auto* cmd = app.add_subcommand("serve", "Take webhooks and API calls over HTTP into the engine");
  auto o = std::make_shared<ServeOptions>();
  cmd->add_option("--db", o->db, "SQLite database")->required();
  cmd->add_option("--bundle", o->bundle, "Deploy this bundle first (when it changed)");
  cmd->add_option("--despite-failing-tests", o->despite_failing_tests,
                  "Deploy the bundle even though policy tests fail, for this reason (kept with the deployment)");
  cmd->add_option("--address", o->address, "Address to listen on");
  cmd->add_option("--port", o->port, "Port (0: any free one)");
  cmd->add_option("--config", o->config, "JSON: webhook secrets by channel, API token, limits");
  cmd->add_option("--engine", o->engine, "jit or interp")->check(CLI::IsMember({"jit", "interp"}));
  cmd->add_option("--cache-mb", o->cache_mb, "Memory for live orders kept between inputs (MiB; default 64)");
  cmd->callback([&run, o] { run = [o] { return run_serve(*o); }; });

  auto* import = app.add_subcommand(
      "import", "Queue a file of orders and events into a running server's inbox, where it decides them");
  auto db = std::make_shared<std::string>();
  auto events = std::make_shared<std::string>();
  auto timeout = std::make_shared<int>(600);
  import->add_option("--db", *db, "SQLite database")->required();
  import->add_option("--events", *events, "JSON lines: orders and events, as `run` reads them")->required();
  import->add_option("--timeout", *timeout, "Seconds to wait for the server to decide them");
  import->callback([&run, db, events, timeout] { run = [=] { return run_import(*db, *events, *timeout); }; });
}

}  // namespace orderflow::cli
