// The commands over an orderflow database:
//   orderflow deploy BUNDLE_DIR --db FILE
//   orderflow versions --db FILE
//   orderflow diff V1 V2 --db FILE
//   orderflow run --db FILE --events FILE.jsonl [--bundle DIR] [--clock system|events] [--until TIME] [--follow]
//   orderflow audit ORDER_ID --db FILE [--format text|json]
//   orderflow rebuild --db FILE
//   orderflow deadletters --db FILE [--format text|json]
//   orderflow migrate --db FILE
#include <fmt/format.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/support.h"
#include "runtime/engine/order_engine.h"
#include "runtime/engine/timer_service.h"
#include "runtime/store/inbox.h"
#include "runtime/store/projection.h"
#include "runtime/store/sqlite_store.h"

namespace orderflow::cli {

namespace {

using runtime::Ack;

int64_t system_now() { return runtime::SystemClock().now(); }

runtime::EngineChoice engine_choice(const std::string& which) {
  runtime::EngineChoice choice;
  choice.kind = which;
  if (const char* dir = std::getenv("ORDERFLOW_JIT_CACHE")) choice.cache_dir = dir;
  return choice;
}

// Runs a command body, turning a store failure into a clear message and exit 1.
template <typename Body>
int with_store_errors(const char* command, Body body) {
  try {
    return body();
  } catch (const runtime::StoreError& e) {
    std::cerr << fmt::format("orderflow {}: error: {}\n", command, e.what());
    return 1;
  }
}

std::unique_ptr<runtime::Store> open_store(const std::string& path, bool read_only, bool sync_full = true) {
  runtime::SqliteOptions options;
  options.read_only = read_only;
  options.sync_full = sync_full;
  if (const char* pages = std::getenv("ORDERFLOW_DB_MAX_PAGES")) options.max_pages = std::atoll(pages);
  return runtime::open_sqlite_store(path, options);
}

// ------------------------------------------------------------ deploy

int run_deploy(const std::string& dir, const std::string& db, const std::string& engine) {
  return with_store_errors("deploy", [&] {
    auto store = open_store(db, false);
    runtime::DeployResult r = runtime::deploy_bundle(*store, dir, system_now(), engine_choice(engine),
                                                     stderr_is_terminal());
    if (!r.diagnostics.empty()) std::cerr << r.diagnostics;
    if (!r.warning.empty()) std::cerr << "orderflow deploy: warning: " << r.warning << "\n";
    if (r.status == runtime::DeployResult::Status::Refused) {
      std::cerr << "orderflow deploy: " << r.message << "\n";
      return 1;
    }
    std::cout << r.message << "\n";
    return 0;
  });
}

int run_versions(const std::string& db, const std::string& format) {
  return with_store_errors("versions", [&] {
    auto store = open_store(db, true);
    std::optional<int64_t> live = store->live();
    std::vector<runtime::Deployment> all = store->deployments(true);
    if (format == "json") {
      nlohmann::ordered_json out = nlohmann::ordered_json::array();
      for (const auto& d : all)
        out.push_back({{"id", d.id}, {"live", live == d.id}, {"version", d.version}, {"title", d.title},
                       {"owner", d.owner}, {"deployed_at", model::format_time(d.deployed_at)},
                       {"content_hash", d.content_hash}, {"source", d.source}, {"files", d.files.size()}});
      std::cout << out.dump(2) << "\n";
      return 0;
    }
    if (all.empty()) {
      std::cout << "nothing has been deployed to " << db << "\n";
      return 0;
    }
    std::cout << fmt::format("{:>4}  {:<4} {:<14} {:<21} {:<12}  {:<28} {}\n", "id", "", "version", "deployed at",
                             "content", "owner", "from");
    for (const auto& d : all)
      std::cout << fmt::format("{:>4}  {:<4} {:<14} {:<21} {:<12}  {:<28} {} ({} files)\n", d.id,
                               live == d.id ? "live" : "", d.version.empty() ? "-" : d.version,
                               model::format_time(d.deployed_at), d.content_hash.substr(0, 12),
                               d.owner.empty() ? "-" : d.owner, d.source, d.files.size());
    return 0;
  });
}

int run_diff(const std::string& a, const std::string& b, const std::string& db) {
  return with_store_errors("diff", [&] {
    auto store = open_store(db, true);
    auto from = runtime::find_deployment(*store, a);
    auto to = runtime::find_deployment(*store, b);
    for (const auto& [name, found] : {std::pair{a, from.has_value()}, std::pair{b, to.has_value()}})
      if (!found) {
        std::cerr << fmt::format(
            "orderflow diff: no deployment '{}' (name one by its id, declared version or content hash; see "
            "`orderflow versions`)\n",
            name);
        return 2;
      }
    std::string diff = runtime::diff_deployments(*from, *to);
    if (diff.empty())
      std::cout << fmt::format("deployments {} and {} have the same files\n", from->id, to->id);
    else
      std::cout << diff;
    return 0;
  });
}

// ------------------------------------------------------------ run

struct RunOptions {
  std::string db;
  std::string bundle;
  std::string events;
  std::string engine = "jit";
  std::string clock = "system";
  std::string until;
  std::string format = "json";
  std::string sync = "full";
  std::string trace = "values";
  bool follow = false;
  bool quiet = false;
  size_t batch = 512;
};

struct Tally {
  size_t stored = 0, duplicate = 0, refused = 0, invalid = 0, timers = 0;
  void count(const Ack& a) {
    switch (a.status) {
      case Ack::Status::Stored: ++stored; break;
      case Ack::Status::Duplicate: ++duplicate; break;
      case Ack::Status::Refused: ++refused; break;
      case Ack::Status::Invalid: ++invalid; break;
    }
  }
};

class Printer {
 public:
  Printer(const RunOptions& o) : o_(o) {}
  void print(const Ack& a, const std::string& origin) {
    if (o_.quiet) return;
    if (o_.format == "json") {
      nlohmann::ordered_json j;
      j["input"] = origin;
      nlohmann::ordered_json ack = a.to_json();
      for (auto& [k, v] : ack.items()) j[k] = std::move(v);
      std::cout << j.dump() << "\n";
    } else {
      std::string what = a.message.empty() ? fmt::format("{}", fmt::join(a.steps, "; ")) : a.message;
      std::cout << fmt::format("{:<10} {:<20} {:<10} {:<14} {}\n", origin, a.order_id.empty() ? "-" : a.order_id,
                               runtime::status_name(a.status), a.state, what);
    }
  }
  void flush() { std::cout.flush(); }

 private:
  const RunOptions& o_;
};

class Progress {
 public:
  Progress(const std::string& path, bool on) : on_(on && stderr_is_terminal()) {
    if (!on_) return;
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    total_ = in ? static_cast<size_t>(in.tellg()) : 0;
  }
  void update(size_t bytes, size_t lines, double seconds) {
    if (!on_ || lines % 2000 != 0) return;
    double fraction = total_ ? static_cast<double>(bytes) / total_ : 0;
    int filled = static_cast<int>(fraction * 30);
    std::cerr << fmt::format("\r[{:<30}] {:3.0f}%  {} inputs  {:.0f}/s", std::string(filled, '#'), fraction * 100,
                             lines, lines / std::max(seconds, 1e-9))
              << std::flush;
  }
  void done() {
    if (on_) std::cerr << "\r" << std::string(70, ' ') << "\r";
  }

 private:
  bool on_;
  size_t total_ = 0;
};

int run_run(const RunOptions& o) {
  using Clock = std::chrono::steady_clock;
  std::unique_ptr<runtime::Store> store;
  try {
    store = open_store(o.db, false, o.sync == "full");
  } catch (const runtime::StoreError& e) {
    std::cerr << "orderflow run: error: " << e.what() << "\n";
    return 1;
  }
  std::optional<int64_t> until;
  if (!o.until.empty() && !(until = model::parse_time(o.until))) {
    std::cerr << "orderflow run: --until must be an ISO 8601 time such as 2026-11-21T10:00:00Z\n";
    return 2;
  }
  bool replay = o.clock == "events";
  runtime::SystemClock system_clock;
  runtime::ManualClock replay_clock;
  const runtime::Clock& clock = replay ? static_cast<const runtime::Clock&>(replay_clock) : system_clock;

  std::istream* in = &std::cin;
  std::ifstream file;
  if (o.events != "-") {
    file.open(o.events);
    if (!file) {
      std::cerr << fmt::format("orderflow run: cannot read '{}'\n", o.events);
      return 2;
    }
    in = &file;
  }

  Tally tally;
  Printer printer(o);
  std::vector<std::pair<Ack, std::string>> pending;  // acknowledged at the next commit
  size_t line_number = 0;
  size_t first_pending_line = 1;
  auto started = Clock::now();
  try {
    if (!o.bundle.empty()) {
      runtime::DeployResult r = runtime::deploy_bundle(*store, o.bundle, clock.now() ? clock.now() : system_now(),
                                                       engine_choice(o.engine), stderr_is_terminal());
      if (!r.diagnostics.empty()) std::cerr << r.diagnostics;
      if (r.status == runtime::DeployResult::Status::Refused) {
        std::cerr << "orderflow run: " << r.message << "\n";
        return 1;
      }
      if (r.status == runtime::DeployResult::Status::Deployed) std::cerr << "orderflow run: " << r.message << "\n";
    }
    runtime::EngineOptions engine_options;
    engine_options.engine = engine_choice(o.engine);
    engine_options.trace = o.trace == "rules" ? engine::TraceDetail::Rules : engine::TraceDetail::Values;
    runtime::OrderEngine engine(*store, clock, engine_options);

    auto acknowledge = [&] {
      engine.commit();
      for (auto& [ack, origin] : pending) {
        tally.count(ack);
        printer.print(ack, origin);
      }
      printer.flush();
      pending.clear();
      first_pending_line = line_number + 1;
    };
    auto fire = [&](int64_t t) {
      for (Ack& a : engine.fire_due(t, replay)) {
        ++tally.timers;
        pending.push_back({std::move(a), "timer"});
      }
    };
    // Deadlines that passed while the engine was down fire first.
    if (!replay) fire(clock.now());
    acknowledge();

    Progress progress(o.events, !o.quiet || true);
    std::string line;
    size_t bytes = 0;
    auto batch_started = Clock::now();
    while (std::getline(*in, line)) {
      ++line_number;
      bytes += line.size() + 1;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      std::string origin = fmt::format("{}", line_number);
      std::string source = fmt::format("run:{}:{}", o.events, line_number);
      nlohmann::json input;
      std::string parse_error;
      try {
        input = nlohmann::json::parse(line);
      } catch (const nlohmann::json::parse_error& e) {
        // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." without the library's tag.
        parse_error = e.what();
        if (auto tag = parse_error.find("] "); tag != std::string::npos) parse_error.erase(0, tag + 2);
      }
      if (!parse_error.empty()) {
        pending.push_back({engine.reject_unparsable(line, source, "not JSON: " + parse_error), origin});
      } else {
        std::optional<int64_t> at;
        if (replay) {
          const nlohmann::json* when = input.contains("at") ? &input["at"] : nullptr;
          if (!when && input.value("type", "order") == "order") {
            const nlohmann::json& order = input.contains("order") ? input["order"] : input;
            if (order.contains("placed_at")) when = &order["placed_at"];
          }
          std::optional<int64_t> t = when && when->is_string() ? model::parse_time(when->get<std::string>())
                                                               : std::nullopt;
          // The replayed clock never runs backwards.
          at = std::max(t.value_or(replay_clock.now()), replay_clock.now());
          fire(*at);
          replay_clock.set(*at);
        }
        pending.push_back({engine.submit(input, source, at), origin});
      }
      if (engine.uncommitted() >= o.batch || Clock::now() - batch_started > std::chrono::milliseconds(20)) {
        acknowledge();
        batch_started = Clock::now();
      }
      progress.update(bytes, line_number, std::chrono::duration<double>(Clock::now() - started).count());
    }
    if (until) {
      if (replay) replay_clock.set(std::max(*until, replay_clock.now()));
      fire(*until);
    }
    acknowledge();
    progress.done();
    double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    size_t inputs = tally.stored + tally.duplicate + tally.refused + tally.invalid;
    runtime::StoreStats db = store->stats();
    double ms = std::max(seconds * 1000, 1e-9);
    std::cerr << fmt::format(
        "orderflow run: {} inputs: {} stored, {} duplicates, {} refused, {} invalid (dead letters); {} timers fired\n"
        "orderflow run: {:.0f} inputs/s in {:.2f} s; {:.0f}% of the time inside SQLite ({} statements, {} commits), "
        "{:.0f}% in the store with encoding\n",
        inputs, tally.stored, tally.duplicate, tally.refused, tally.invalid, tally.timers,
        inputs / std::max(seconds, 1e-9), seconds, 100.0 * db.database_ms / ms, db.statements, db.commits,
        100.0 * engine.store_ms() / ms);

    if (o.follow) {
      // Serve the timers live until interrupted.
      boost::asio::io_context io;
      runtime::TimerService timers(io, engine, clock, [&](const std::vector<Ack>& acks) {
        for (const Ack& a : acks) printer.print(a, "timer");
        printer.flush();
      });
      boost::asio::signal_set signals(io, SIGINT, SIGTERM);
      signals.async_wait([&](const boost::system::error_code&, int) {
        timers.stop();
        io.stop();
      });
      std::cerr << "orderflow run: following timers; Ctrl-C stops\n";
      timers.rearm();
      io.run();
    }
  } catch (const runtime::StoreError& e) {
    std::cerr << fmt::format("orderflow run: error: {}\n", e.what());
    if (!pending.empty())
      std::cerr << fmt::format(
          "orderflow run: the inputs from line {} on were not stored (nothing of them was acknowledged); run again "
          "with the same file to send them: what was stored is recognised and not stored twice\n",
          first_pending_line);
    return 1;
  } catch (const std::runtime_error& e) {
    std::cerr << fmt::format("orderflow run: error: {}\n", e.what());
    return 1;
  }
  return tally.invalid > 0 ? 1 : 0;
}

// ------------------------------------------------------------ audit

std::string describe_entry(const runtime::JournalEntry& e) {
  const nlohmann::json& b = e.body;
  auto str = [&](const char* key) { return b.contains(key) && b[key].is_string() ? b[key].get<std::string>() : ""; };
  if (e.kind == "received")
    return fmt::format("received from {} ({} order {}), decided by deployment {} (version {})", str("source"),
                       str("channel"), str("external_id"), b.value("deployment", 0), str("version"));
  if (e.kind == "state") {
    std::string from = str("from");
    std::string s = fmt::format("{}{}{}", from.empty() ? "enters " : from + " -> ", str("to"),
                                str("cause").empty() ? "" : " (" + str("cause") + ")");
    // Where the units are, when they are not all in the order's state.
    std::vector<std::string> lines;
    bool split = false;
    for (size_t i = 0; i < b["lines"].size(); ++i) {
      std::vector<std::string> parts;
      for (const auto& part : b["lines"][i]) {
        parts.push_back(fmt::format("{} {}", part[1].get<int64_t>(), part[0].get<std::string>()));
        split |= part[0] != b["to"];
      }
      lines.push_back(fmt::format("line {}: {}", i, fmt::join(parts, ", ")));
    }
    if (split) s += fmt::format("; {}", fmt::join(lines, "; "));
    return s;
  }
  if (e.kind == "decision") {
    std::string s = fmt::format("{} policy: {}", str("policy"), str("decision"));
    if (!str("reason").empty()) s += fmt::format(" \"{}\"", str("reason"));
    if (b.contains("hold_for")) s += " for " + str("hold_for");
    if (b.contains("on_timeout")) s += ", then " + b["on_timeout"].value("decision", "");
    s += b["rule"].is_string() ? fmt::format(" by rule \"{}\"", b["rule"].get<std::string>()) : " (no rule decided)";
    s += fmt::format("; deployment {}, version {}, content {}", b.value("deployment", 0), str("version"),
                     str("content_hash").substr(0, 12));
    if (b.contains("matched")) s += fmt::format("; rules matched: {}", fmt::join(b["matched"].get<std::vector<std::string>>(), ", "));
    if (b.contains("shipments"))
      for (const auto& sh : b["shipments"]) {
        std::vector<std::string> parts;
        for (const auto& l : sh["lines"]) parts.push_back(fmt::format("{} x{}", l.value("sku", ""), l.value("quantity", 0)));
        s += fmt::format("; ship {} from {}", fmt::join(parts, ", "), sh.value("node", ""));
      }
    if (b.contains("error")) s += "; error: " + str("error");
    return s;
  }
  if (e.kind == "event") {
    std::string s = fmt::format("event {}", str("event"));
    if (!str("by").empty()) s += " by " + str("by");
    if (!str("event_id").empty()) s += fmt::format(" (event id {})", str("event_id"));
    if (b.contains("lines")) s += " on lines " + b["lines"].dump();
    if (b.contains("set")) s += " setting " + b["set"].dump();
    return s;
  }
  if (e.kind == "escalation") {
    std::vector<std::string> parts;
    for (const auto& n : b.value("notifications", nlohmann::json::array()))
      parts.push_back(fmt::format("{} {}", n.value("kind", ""), n.value("to", "")));
    return fmt::format("escalation rules {}: {}", b["rules"].dump(), fmt::join(parts, ", "));
  }
  if (e.kind == "allocation" || e.kind == "stock") {
    auto units = [](const nlohmann::json& list) {
      std::vector<std::string> parts;
      for (const auto& u : list)
        parts.push_back(fmt::format("{} x{} at {}", u.value("sku", ""), u.value("quantity", 0), u.value("node", "")));
      return fmt::format("{}", fmt::join(parts, ", "));
    };
    std::vector<std::string> parts;
    if (b.contains("reserved")) parts.push_back("reserved " + units(b["reserved"]));
    if (b.contains("released")) parts.push_back("released " + units(b["released"]));
    if (b.contains("consumed")) parts.push_back("shipped " + units(b["consumed"]));
    if (b.contains("exclude_node")) parts.push_back(fmt::format("{} left out of routing", str("exclude_node")));
    return fmt::format("{}", fmt::join(parts, "; "));
  }
  if (e.kind == "timer_set") return fmt::format("timer {} set ({}), due {}", b.value("id", 0), str("kind"), str("due_time"));
  if (e.kind == "timer_fired")
    return fmt::format("timer {} fired ({}){}", b.value("id", 0), str("kind"),
                       b.value("stale", false) ? ", no longer relevant" : "");
  if (e.kind == "timer_cancelled") return fmt::format("timer {} cancelled ({})", b.value("id", 0), str("kind"));
  if (e.kind == "refused") return fmt::format("refused event {}: {}", str("event"), str("error"));
  if (e.kind == "migrated") return fmt::format("moved from deployment {} to {}", b.value("from", 0), b.value("to", 0));
  return b.dump();
}

int run_audit(const std::string& order_id, const std::string& db, const std::string& format, bool explain) {
  return with_store_errors("audit", [&] {
    auto store = open_store(db, true);
    std::optional<runtime::StoredOrder> order = store->get_order(order_id);
    std::vector<runtime::JournalEntry> entries = store->journal(order_id);
    if (!order && entries.empty()) {
      std::cerr << fmt::format("orderflow audit: no order '{}' in {}\n", order_id, db);
      return 1;
    }
    if (format == "json") {
      nlohmann::ordered_json out;
      out["order"] = order_id;
      if (order) {
        out["state"] = order->state;
        out["state_since"] = model::format_time(order->state_since);
        out["deployment"] = order->deployment;
      }
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      for (const auto& e : entries)
        list.push_back({{"seq", e.seq}, {"at", model::format_time(e.at)}, {"kind", e.kind}, {"body", e.body}});
      out["history"] = std::move(list);
      std::cout << out.dump(2) << "\n";
      return 0;
    }
    if (order)
      std::cout << fmt::format("order {} ({} order {}): {} since {}, deployment {}\n", order_id, order->channel,
                               order->external_id, order->state, model::format_time(order->state_since),
                               order->deployment);
    for (const auto& e : entries) {
      std::cout << fmt::format("  {:>6}  {}  {:<15} {}\n", e.seq, model::format_time(e.at), e.kind,
                               describe_entry(e));
      if (e.kind == "decision" && e.body.contains("trace") && explain) {
        for (const auto& r : e.body["trace"]["rules"]) {
          std::cout << fmt::format("            {} rule \"{}\"{}\n", r.value("matched", false) ? "+" : "-",
                                   r.value("rule", ""), r.value("decided", false) ? ": decided" : "");
          for (const auto& f : r["facts"]) std::cout << "                " << f.get<std::string>() << "\n";
          if (r.contains("error")) std::cout << "                error: " << r["error"].get<std::string>() << "\n";
        }
        for (const auto& n : e.body["trace"].value("nodes", nlohmann::json::array())) {
          std::cout << fmt::format("            node {}: {}\n", n.value("node", ""), n.value("status", ""));
          for (const auto& f : n["facts"]) std::cout << "                " << f.get<std::string>() << "\n";
        }
      }
    }
    return 0;
  });
}

int run_rebuild(const std::string& db) {
  return with_store_errors("rebuild", [&] {
    auto store = open_store(db, false);
    runtime::RebuildReport r = runtime::rebuild_projections(*store);
    std::cout << fmt::format("rebuilt {} orders and {} pending timers from {} journal entries\n", r.orders, r.timers,
                             r.entries);
    return 0;
  });
}

int run_deadletters(const std::string& db, const std::string& format) {
  return with_store_errors("deadletters", [&] {
    auto store = open_store(db, true);
    auto letters = store->dead_letters();
    if (format == "json") {
      for (const auto& d : letters)
        std::cout << nlohmann::ordered_json{{"id", d.id}, {"received_at", model::format_time(d.received_at)},
                                           {"source", d.source}, {"error", d.error}, {"body", d.body}}
                         .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                  << "\n";
      return 0;
    }
    if (letters.empty()) std::cout << "no dead letters\n";
    for (const auto& d : letters)
      std::cout << fmt::format("{:>5}  {}  {}\n       {}\n", d.id, model::format_time(d.received_at), d.source,
                               d.error);
    return 0;
  });
}

int run_stock(const std::string& db, const std::string& format, const std::string& only_sku) {
  return with_store_errors("stock", [&] {
    auto store = open_store(db, true);
    std::vector<runtime::StockRow> rows;
    store->scan_stock([&](const runtime::StockRow& r) {
      if (only_sku.empty() || r.sku == only_sku) rows.push_back(r);
    });
    auto atp = [](const runtime::StockRow& r) {
      return model::StockLevel{r.on_hand, r.reserved, r.safety_stock}.available(0);
    };
    // What each channel is told it may sell, by SKU.
    std::map<std::string, std::map<std::string, int64_t>> channels;
    std::set<std::string> skus;
    for (const auto& r : rows) skus.insert(r.sku);
    int channel_enum = -1;
    std::vector<std::string> channel_names;
    if (auto live = store->live()) {
      auto d = runtime::load_deployment(*store, *live, engine_choice("interp"));
      channel_enum = d->bundle->schema.find_enum("Channel");
      if (channel_enum >= 0) channel_names = d->bundle->schema.enum_def(channel_enum).values;
    }
    for (const std::string& c : channel_names)
      for (const std::string& sku : skus)
        if (auto q = store->advertised(c, sku)) channels[c][sku] = *q;
    // Told already: up to the sender's cursor in the inbox (when `serve` has run).
    int64_t told_up_to = 0;
    if (std::filesystem::exists(runtime::inbox_path(db))) {
      runtime::SqliteOptions read_only;
      read_only.read_only = true;
      auto inbox = runtime::open_sqlite_inbox(runtime::inbox_path(db), read_only);
      told_up_to = std::stoll(inbox->cursor("tell:outbox").value_or("0"));
    }
    size_t pending = store->outbox_after(told_up_to, 1'000'000).size();
    if (format == "json") {
      nlohmann::ordered_json out;
      nlohmann::ordered_json nodes = nlohmann::ordered_json::array();
      for (const auto& r : rows)
        nodes.push_back({{"node", r.node}, {"sku", r.sku}, {"on_hand", r.on_hand}, {"reserved", r.reserved},
                         {"safety_stock", r.safety_stock}, {"available", atp(r)}});
      out["nodes"] = nodes;
      out["channels"] = channels;
      out["unsent_channel_updates"] = pending;
      std::cout << out.dump(2) << "\n";
      return 0;
    }
    if (rows.empty()) {
      std::cout << "no stock in " << db << "\n";
      return 0;
    }
    std::cout << fmt::format("{:<10} {:<18} {:>8} {:>9} {:>7} {:>10}\n", "node", "sku", "on hand", "reserved",
                             "safety", "available");
    for (const auto& r : rows)
      std::cout << fmt::format("{:<10} {:<18} {:>8} {:>9} {:>7} {:>10}\n", r.node, r.sku, r.on_hand, r.reserved,
                               r.safety_stock, atp(r));
    std::cout << "\nwhat each channel may sell:\n";
    std::cout << fmt::format("{:<12}", "sku");
    for (const auto& [c, _] : channels) std::cout << fmt::format(" {:>11}", c);
    std::cout << "\n";
    for (const std::string& sku : skus) {
      std::cout << fmt::format("{:<12}", sku.substr(0, 12));
      for (const auto& [c, by_sku] : channels) {
        auto it = by_sku.find(sku);
        std::cout << fmt::format(" {:>11}", it == by_sku.end() ? std::string("-") : std::to_string(it->second));
      }
      std::cout << "\n";
    }
    std::cout << fmt::format("\n{} inventory update{} waiting for the channels' connectors\n", pending,
                             pending == 1 ? "" : "s");
    return 0;
  });
}

int run_migrate(const std::string& db, const std::string& engine) {
  return with_store_errors("migrate", [&] {
    auto store = open_store(db, false);
    runtime::SystemClock clock;
    runtime::EngineOptions options;
    options.engine = engine_choice(engine);
    runtime::OrderEngine e(*store, clock, options);
    int64_t moved = e.migrate_to_live(clock.now());
    e.commit();
    std::cout << fmt::format("moved {} in-flight orders to deployment {}\n", moved, e.live().meta.id);
    return 0;
  });
}

}  // namespace

void add_runtime_commands(CLI::App& app, Command& run) {
  {
    auto* cmd = app.add_subcommand("deploy", "Check, compile and record a bundle, and make it live");
    auto dir = std::make_shared<std::string>();
    auto db = std::make_shared<std::string>();
    auto engine = std::make_shared<std::string>("jit");
    cmd->add_option("bundle", *dir, "Bundle folder")->required();
    cmd->add_option("--db", *db, "SQLite database")->required();
    cmd->add_option("--engine", *engine, "jit or interp")->check(CLI::IsMember({"jit", "interp"}));
    cmd->callback([&run, dir, db, engine] { run = [=] { return run_deploy(*dir, *db, *engine); }; });
  }
  {
    auto* cmd = app.add_subcommand("versions", "List the deployments of a database");
    auto db = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>("text");
    cmd->add_option("--db", *db, "SQLite database")->required();
    cmd->add_option("--format", *format, "text or json")->check(CLI::IsMember({"text", "json"}));
    cmd->callback([&run, db, format] { run = [=] { return run_versions(*db, *format); }; });
  }
  {
    auto* cmd = app.add_subcommand("diff", "What changed in the policy text between two deployments");
    auto a = std::make_shared<std::string>();
    auto b = std::make_shared<std::string>();
    auto db = std::make_shared<std::string>();
    cmd->add_option("from", *a, "Deployment id, declared version or content hash")->required();
    cmd->add_option("to", *b, "Deployment id, declared version or content hash")->required();
    cmd->add_option("--db", *db, "SQLite database")->required();
    cmd->callback([&run, a, b, db] { run = [=] { return run_diff(*a, *b, *db); }; });
  }
  {
    auto* cmd = app.add_subcommand("run", "Feed new orders and events through the engine, durably");
    auto o = std::make_shared<RunOptions>();
    cmd->add_option("--db", o->db, "SQLite database")->required();
    cmd->add_option("--events", o->events, "JSON lines: orders and events ('-': standard input)")->required();
    cmd->add_option("--bundle", o->bundle, "Deploy this bundle first (when it changed)");
    cmd->add_option("--engine", o->engine, "jit or interp")->check(CLI::IsMember({"jit", "interp"}));
    cmd->add_option("--clock", o->clock, "system, or events: replay at each input's `at` (or placed_at)")
        ->check(CLI::IsMember({"system", "events"}));
    cmd->add_option("--until", o->until, "Then fire the timers due by this time");
    cmd->add_option("--format", o->format, "json or text")->check(CLI::IsMember({"json", "text"}));
    cmd->add_option("--batch", o->batch, "Inputs per commit (group commit)")->check(CLI::Range(1, 100000));
    cmd->add_option("--sync", o->sync, "full (survives power loss) or normal (survives a crash)")
        ->check(CLI::IsMember({"full", "normal"}));
    cmd->add_option("--trace", o->trace, "What decisions keep: values (every rule and the values behind it) or rules")
        ->check(CLI::IsMember({"values", "rules"}));
    cmd->add_flag("--follow", o->follow, "Keep running and fire timers on time until interrupted");
    cmd->add_flag("--quiet", o->quiet, "Print only the summary");
    cmd->callback([&run, o] { run = [=] { return run_run(*o); }; });
  }
  {
    auto* cmd = app.add_subcommand("audit", "The whole history of one order");
    auto id = std::make_shared<std::string>();
    auto db = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>("text");
    auto explain = std::make_shared<bool>(false);
    cmd->add_option("order", *id, "Order id")->required();
    cmd->add_option("--db", *db, "SQLite database")->required();
    cmd->add_option("--format", *format, "text or json")->check(CLI::IsMember({"text", "json"}));
    cmd->add_flag("--explain", *explain, "Under each decision, every rule considered and the values behind it");
    cmd->callback([&run, id, db, format, explain] { run = [=] { return run_audit(*id, *db, *format, *explain); }; });
  }
  {
    auto* cmd = app.add_subcommand("rebuild", "Rebuild the order and timer tables from the journal");
    auto db = std::make_shared<std::string>();
    cmd->add_option("--db", *db, "SQLite database")->required();
    cmd->callback([&run, db] { run = [=] { return run_rebuild(*db); }; });
  }
  {
    auto* cmd = app.add_subcommand("deadletters", "Inputs that could not be taken, kept for replay");
    auto db = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>("text");
    cmd->add_option("--db", *db, "SQLite database")->required();
    cmd->add_option("--format", *format, "text or json")->check(CLI::IsMember({"text", "json"}));
    cmd->callback([&run, db, format] { run = [=] { return run_deadletters(*db, *format); }; });
  }
  {
    auto* cmd = app.add_subcommand("stock", "Stock per node and SKU, and what each channel may sell");
    auto db = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>("text");
    auto sku = std::make_shared<std::string>();
    cmd->add_option("--db", *db, "SQLite database")->required();
    cmd->add_option("--format", *format, "text or json")->check(CLI::IsMember({"text", "json"}));
    cmd->add_option("--sku", *sku, "Only this SKU");
    cmd->callback([&run, db, format, sku] { run = [=] { return run_stock(*db, *format, *sku); }; });
  }
  {
    auto* cmd = app.add_subcommand("migrate", "Move in-flight orders to the live deployment");
    auto db = std::make_shared<std::string>();
    auto engine = std::make_shared<std::string>("jit");
    cmd->add_option("--db", *db, "SQLite database")->required();
    cmd->add_option("--engine", *engine, "jit or interp")->check(CLI::IsMember({"jit", "interp"}));
    cmd->callback([&run, db, engine] { run = [=] { return run_migrate(*db, *engine); }; });
  }
}

}  // namespace orderflow::cli
