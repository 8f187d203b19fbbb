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

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <thread>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/support.h"
#include "connectors/connector.h"
#include "runtime/engine/engine_thread.h"
#include "runtime/engine/history.h"
#include "runtime/engine/input_file.h"
#include "runtime/engine/order_engine.h"
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

int run_deploy(const std::string& dir, const std::string& db, const std::string& engine, const std::string& despite) {
  return with_store_errors("deploy", [&] {
    auto store = open_store(db, false);
    runtime::DeployResult r = runtime::deploy_bundle(*store, dir, system_now(), engine_choice(engine),
                                                     deploy_options(dir, engine, despite));
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
    std::optional<int64_t> live = store->deployments().live();
    std::vector<runtime::Deployment> all = store->deployments().list(true);
    if (format == "json") {
      nlohmann::ordered_json out = nlohmann::ordered_json::array();
      for (const auto& d : all) {
        out.push_back({{"id", d.id}, {"live", live == d.id}, {"version", d.version}, {"title", d.title},
                       {"owner", d.owner}, {"deployed_at", model::format_time(d.deployed_at)},
                       {"content_hash", d.content_hash}, {"source", d.source}, {"files", d.files.size()}});
        if (!d.note.empty()) out.back()["note"] = d.note;
      }
      std::cout << json_text(out, 2) << "\n";
      return 0;
    }
    if (all.empty()) {
      std::cout << "nothing has been deployed to " << db << "\n";
      return 0;
    }
    std::cout << fmt::format("{:>4}  {:<4} {:<14} {:<21} {:<12}  {:<28} {}\n", "id", "", "version", "deployed at",
                             "content", "owner", "from");
    for (const auto& d : all) {
      std::cout << fmt::format("{:>4}  {:<4} {:<14} {:<21} {:<12}  {:<28} {} ({} files)\n", d.id,
                               live == d.id ? "live" : "", d.version.empty() ? "-" : d.version,
                               model::format_time(d.deployed_at), d.content_hash.substr(0, 12),
                               d.owner.empty() ? "-" : d.owner, d.source, d.files.size());
      // The override, where one was given: what an auditor must see.
      std::string note = d.note;
      for (size_t at = note.find('\n'); at != std::string::npos && at + 1 < note.size(); at = note.find('\n', at + 7))
        note.replace(at, 1, "\n      ");
      if (!note.empty()) std::cout << "      note: " << note << (note.back() == '\n' ? "" : "\n");
    }
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
  std::string despite_failing_tests;
  std::string events;
  std::string engine = "jit";
  std::string clock = "system";
  std::string until;
  std::string format = "json";
  std::string sync = "full";
  std::string trace = "values";
  bool follow = false;
  bool quiet = false;
  size_t batch = 2048;
  int wait_seconds = 0;
};

// Late inputs warned of one by one; beyond, they are counted.
constexpr size_t kLateShown = 20;

struct Tally {
  size_t stored = 0, duplicate = 0, refused = 0, invalid = 0, failed = 0, timers = 0, late = 0;
  void count(const Ack& a) {
    switch (a.status) {
      case Ack::Status::Stored: ++stored; break;
      case Ack::Status::Duplicate: ++duplicate; break;
      case Ack::Status::Refused: ++refused; break;
      case Ack::Status::Invalid: ++invalid; break;
      case Ack::Status::Failed: ++failed; break;
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
      std::cout << json_text(j) << "\n";
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
  Progress(size_t total, bool on) : on_(on && stderr_is_terminal()), total_(total) {}
  void update(size_t bytes, size_t inputs, double seconds) {
    if (!on_ || inputs % 2000 != 0) return;
    double fraction = total_ ? static_cast<double>(bytes) / total_ : 0;
    int filled = static_cast<int>(fraction * 30);
    std::cerr << fmt::format("\r[{:<30}] {:3.0f}%  {} inputs  {:.0f}/s", std::string(filled, '#'), fraction * 100,
                             inputs, inputs / std::max(seconds, 1e-9))
              << std::flush;
  }
  void done() {
    if (on_) std::cerr << "\r" << std::string(70, ' ') << "\r";
  }

 private:
  bool on_;
  size_t total_ = 0;
};

// What the engine thread answered, for the reading thread to print in order.
class Answers {
 public:
  void add(Ack ack, std::string origin) {
    std::lock_guard lock(mutex_);
    answered_.push_back({std::move(ack), std::move(origin)});
  }
  std::vector<std::pair<Ack, std::string>> take() {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<Ack, std::string>> out(std::make_move_iterator(answered_.begin()),
                                                 std::make_move_iterator(answered_.end()));
    answered_.clear();
    return out;
  }

 private:
  std::mutex mutex_;  // guards answered_: the engine thread adds, the reading thread takes
  std::deque<std::pair<Ack, std::string>> answered_;
};

int run_run(const RunOptions& o) {
  using Clock = std::chrono::steady_clock;
  bool replay = o.clock == "events";
  if (o.follow && replay) {
    std::cerr << "orderflow run: --follow fires timers on the system's clock; it cannot follow the inputs' own "
                 "(--clock events). Run the file first, then `orderflow run --events /dev/null --follow`\n";
    return 2;
  }
  std::optional<int64_t> until;
  if (!o.until.empty() && !(until = model::parse_time(o.until))) {
    std::cerr << "orderflow run: --until must be an ISO 8601 time such as 2026-11-21T10:00:00Z\n";
    return 2;
  }
  if (o.follow) {
    // Only the reading thread takes SIGINT and SIGTERM (the engine thread
    // inherits the mask), so that following ends by committing, not dying.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  }
  std::optional<runtime::WriterLock> lock;
  std::unique_ptr<runtime::Store> store;
  try {
    lock.emplace(runtime::WriterLock::acquire(o.db, command_line(), std::chrono::seconds(o.wait_seconds)));
    store = open_store(o.db, false, o.sync == "full");
  } catch (const runtime::StoreError& e) {
    std::cerr << "orderflow run: error: " << e.what() << "\n";
    return 1;
  }
  std::unique_ptr<runtime::InputFile> file;
  try {
    file = std::make_unique<runtime::InputFile>(o.events, replay);
  } catch (const std::runtime_error& e) {
    std::cerr << "orderflow run: " << e.what() << "\n";
    return 2;
  }
  runtime::SystemClock system_clock;
  runtime::ManualClock replay_clock;
  const runtime::Clock& clock = replay ? static_cast<const runtime::Clock&>(replay_clock) : system_clock;

  Tally tally;
  Printer printer(o);
  Answers answers;
  auto started = Clock::now();
  size_t first_failed_line = 0;
  auto print_answers = [&] {
    for (auto& [ack, origin] : answers.take()) {
      tally.count(ack);
      if (origin == "timer") ++tally.timers;
      if (ack.status == Ack::Status::Failed && first_failed_line == 0) {
        first_failed_line = origin == "timer" ? 1 : std::stoul(origin);
        std::cerr << fmt::format("orderflow run: error: {}\n", ack.message);
      }
      if (replay && ack.happened_at && *ack.happened_at < ack.applied_at && ++tally.late <= kLateShown) {
        std::cerr << fmt::format(
            "orderflow run: warning: input {} ({}) happened at {} but was applied at {}, {} later: the engine's clock "
            "had passed it (inputs of an earlier run, or of another file, went further)\n",
            origin, ack.order_id.empty() ? "-" : ack.order_id, model::format_time(*ack.happened_at),
            model::format_time(ack.applied_at), model::format_duration(ack.applied_at - *ack.happened_at));
      }
      printer.print(ack, origin);
    }
    printer.flush();
  };
  try {
    if (!o.bundle.empty()) {
      runtime::DeployResult r = runtime::deploy_bundle(*store, o.bundle, system_now(), engine_choice(o.engine),
                                                       deploy_options(o.bundle, o.engine, o.despite_failing_tests));
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
    runtime::OrderEngine engine(*store, *lock, clock, engine_options);

    runtime::EngineThread::Options thread_options;
    thread_options.timing = replay ? runtime::EngineThread::Timing::Replay : runtime::EngineThread::Timing::Live;
    thread_options.max_batch = o.batch;
    thread_options.on_timers = [&](const std::vector<Ack>& acks) {
      for (const Ack& a : acks) answers.add(a, "timer");
    };
    runtime::EngineThread thread(engine, clock, thread_options, replay ? &replay_clock : nullptr);

    Progress progress(file->total_bytes(), !o.quiet || true);
    runtime::Input input;
    size_t line = 0, posted = 0;
    while (first_failed_line == 0 && file->next(input, line)) {
      thread.post(std::move(input), [&answers, origin = std::to_string(line)](const Ack& a) { answers.add(a, origin); });
      ++posted;
      if (posted % 64 == 0) print_answers();
      progress.update(file->bytes_read(), posted, std::chrono::duration<double>(Clock::now() - started).count());
    }
    if (until && first_failed_line == 0) {
      if (replay) {
        thread.advance_to(*until);
      } else {
        thread.post_task([&answers, t = *until](runtime::OrderEngine& e) {
          for (const Ack& a : e.fire_due(t)) answers.add(a, "timer");
        });
      }
    }
    thread.flush();
    print_answers();
    progress.done();
    double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    size_t inputs = tally.stored + tally.duplicate + tally.refused + tally.invalid + tally.failed;
    runtime::StoreStats db = store->stats();
    double ms = std::max(seconds * 1000, 1e-9);
    std::cerr << fmt::format(
        "orderflow run: {} inputs: {} stored, {} duplicates, {} refused, {} invalid (dead letters); {} timers fired\n",
        inputs, tally.stored, tally.duplicate, tally.refused, tally.invalid, tally.timers);
    if (file->reordered() > 0)
      std::cerr << fmt::format(
          "orderflow run: {} input{} came in the file after later ones; every input was taken in the order it "
          "happened (--clock events)\n",
          file->reordered(), file->reordered() == 1 ? "" : "s");
    if (tally.late > 0)
      std::cerr << fmt::format("orderflow run: {} input{} applied after the engine's clock had passed {} ({})\n",
                               tally.late, tally.late == 1 ? " was" : "s were", tally.late == 1 ? "it" : "them",
                               tally.late > kLateShown ? fmt::format("the first {} are shown above", kLateShown)
                                                       : "see the warnings above");
    std::cerr << fmt::format(
        "orderflow run: {:.0f} inputs/s in {:.2f} s; {:.0f}% of the time inside SQLite ({} statements, {} commits), "
        "{:.0f}% writing to the store with encoding\n",
        inputs / std::max(seconds, 1e-9), seconds, 100.0 * db.database_ms / ms, db.statements, db.commits,
        100.0 * engine.store_ms() / ms);
    if (first_failed_line != 0) {
      std::cerr << "orderflow run: what was not acknowledged was not stored; run again with the same file to send "
                   "it: what was stored is recognised and not stored twice\n";
      return 1;
    }
    if (o.follow) {
      // Serve the timers live until interrupted.
      std::cerr << "orderflow run: following timers; Ctrl-C stops\n";
      std::atomic<bool> done{false};
      std::thread printer_thread([&] {
        while (!done) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          print_answers();
        }
      });
      sigset_t stop;
      sigemptyset(&stop);
      sigaddset(&stop, SIGINT);
      sigaddset(&stop, SIGTERM);
      int signal = 0;
      sigwait(&stop, &signal);
      thread.stop();
      done = true;
      printer_thread.join();
      print_answers();
    }
  } catch (const runtime::StoreError& e) {
    std::cerr << fmt::format("orderflow run: error: {}\n", e.what());
    return 1;
  } catch (const std::runtime_error& e) {
    std::cerr << fmt::format("orderflow run: error: {}\n", e.what());
    return 1;
  }
  return tally.invalid > 0 ? 1 : 0;
}

// ------------------------------------------------------------ audit

int run_audit(const std::string& order_id, const std::string& db, const std::string& format, bool explain) {
  return with_store_errors("audit", [&] {
    auto store = open_store(db, true);
    std::optional<runtime::StoredOrder> order = store->orders().get(order_id);
    std::vector<runtime::journal::Record> records = store->journal().of_order(order_id);
    if (!order && records.empty()) {
      std::cerr << fmt::format("orderflow audit: no order '{}' in {}\n", order_id, db);
      return 1;
    }
    if (format == "json") {
      std::cout << json_text(runtime::history_json(*store, order_id, order, records, explain), 2) << "\n";
      return 0;
    }
    if (order)
      std::cout << fmt::format("order {} ({} order {}): {} since {}, deployment {}\n", order_id, order->channel,
                               order->external_id, order->state, model::format_time(order->state_since),
                               order->deployment);
    std::map<int64_t, std::string> content;
    runtime::Explainer explainer(*store);
    for (size_t r = 0; r < records.size(); ++r) {
      const runtime::journal::Record& record = records[r];
      for (size_t e = 0; e < record.entries.size(); ++e) {
        const runtime::journal::Entry& entry = record.entries[e];
        std::string text = runtime::describe_entry(entry);
        if (auto* d = std::get_if<runtime::journal::Decided>(&entry)) {
          if (!content.count(d->deployment)) {
            auto dep = store->deployments().get(d->deployment);
            content[d->deployment] = dep ? dep->content_hash.substr(0, 12) : "?";
          }
          text += ", content " + content[d->deployment];
        }
        std::string late = runtime::lateness(entry, record.at);
        if (!late.empty()) text += " (" + late + ")";
        std::cout << fmt::format("  {:>6}  {}  {:<15} {}\n", record.seq, model::format_time(record.at),
                                 runtime::journal::kind_name(entry), text);
        if (auto* d = std::get_if<runtime::journal::Decided>(&entry); d && explain) {
          runtime::Explanation x;
          if (d->stored_trace.empty()) x = explainer.explain(records, r, e);
          for (const std::string& l : runtime::explanation_lines(x, *d, "            ")) std::cout << l << "\n";
        }
      }
    }
    return 0;
  });
}

// ------------------------------------------------------------ returns

// Every return (customer returns and returns to origin), newest order last,
// for the people who receive, grade and refund them.
int run_returns(const std::string& db, const std::string& format, const std::string& state, const std::string& kind) {
  return with_store_errors("returns", [&] {
    auto store = open_store(db, true);
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    store->orders().scan([&](const runtime::StoredOrder& o) {
      for (const runtime::OrderReturn& r : o.returns)
        if ((state.empty() || r.state == state) && (kind.empty() || r.kind == kind))
          list.push_back(runtime::return_json(o, r));
    });
    if (format == "json") {
      std::cout << json_text(nlohmann::ordered_json{{"returns", list}}, 2) << "\n";
      return 0;
    }
    if (list.empty()) {
      std::cout << fmt::format("no returns{} in {}\n", state.empty() ? "" : " " + state, db);
      return 0;
    }
    std::cout << fmt::format("{:<22} {:<22} {:<8} {:<11} {:<20} {:<18} {}\n", "order", "return", "kind", "state",
                             "units", "reason", "refund");
    for (const auto& r : list) {
      std::vector<std::string> units;
      for (const auto& l : r["lines"]) units.push_back(fmt::format("{} x{}", l.value("sku", "?"), l["quantity"].get<int64_t>()));
      std::string refund = r.contains("refunded")       ? r["refunded"].get<std::string>()
                           : r.contains("exchange_order") ? "exchanged: order " + r["exchange_order"].get<std::string>()
                           : r.contains("exchange")       ? "exchange, sent once received"
                           : r.value("refund", "") == "none" ? "none (nothing was paid)"
                           : r.contains("refund")            ? r["refund"].get<std::string>()
                                                             : "-";
      std::cout << fmt::format("{:<22} {:<22} {:<8} {:<11} {:<20} {:<18} {}\n", r["order"].get<std::string>(),
                               r["return"].get<std::string>(), r["kind"].get<std::string>(),
                               r["state"].get<std::string>(), fmt::format("{}", fmt::join(units, ", ")),
                               r["reason"].get<std::string>(), refund);
    }
    return 0;
  });
}

// The journal as JSON lines, one entry a line, for people and programs
// that read it outside orderflow (every entry through the one codec).
int run_journal(const std::string& db, const std::string& order_id, int64_t after, int64_t limit) {
  return with_store_errors("journal", [&] {
    auto store = open_store(db, true);
    int64_t printed = 0;
    auto print = [&](const runtime::journal::Record& r) {
      for (const runtime::journal::Entry& e : r.entries) {
        if (limit > 0 && printed >= limit) return;
        std::cout << json_text(nlohmann::ordered_json{{"seq", r.seq},
                                                      {"order", r.order_id},
                                                      {"at", model::format_time(r.at)},
                                                      {"kind", runtime::journal::kind_name(e)},
                                                      {"body", runtime::journal::to_json(e)}})
                  << "\n";
        ++printed;
      }
    };
    if (!order_id.empty()) {
      for (const auto& r : store->journal().of_order(order_id))
        if (r.seq > after) print(r);
      return 0;
    }
    for (int64_t seq = after;;) {
      std::vector<runtime::journal::Record> records = store->journal().after(seq, 1024);
      if (records.empty() || (limit > 0 && printed >= limit)) break;
      for (const auto& r : records) print(r);
      seq = records.back().seq;
    }
    return 0;
  });
}

int run_rebuild(const std::string& db) {
  return with_store_errors("rebuild", [&] {
    runtime::WriterLock lock = runtime::WriterLock::acquire(db, command_line());
    auto store = open_store(db, false);
    runtime::RebuildReport r = runtime::rebuild_projections(*store);
    std::cout << fmt::format("rebuilt {} orders and {} pending timers from {} journal records\n", r.orders, r.timers,
                             r.records);
    return 0;
  });
}

int run_deadletters(const std::string& db, const std::string& format) {
  return with_store_errors("deadletters", [&] {
    auto store = open_store(db, true);
    auto letters = store->dead_letters().list();
    if (format == "json") {
      for (const auto& d : letters)
        std::cout << json_text(nlohmann::ordered_json{{"id", d.id},
                                                      {"received_at", model::format_time(d.received_at)},
                                                      {"source", d.source},
                                                      {"error", d.error},
                                                      {"body", d.body}})
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
    store->stock().scan([&](const runtime::StockRow& r) {
      if (only_sku.empty() || r.sku == only_sku) rows.push_back(r);
    });
    // Available to promise as the live deployment's routing sees it: its
    // inactive nodes have none, and what its rules keep back is kept.
    std::unique_ptr<runtime::LoadedDeployment> live;
    if (auto id = store->deployments().live()) live = runtime::load_deployment(*store, *id, engine_choice("interp"));
    runtime::StockBook book;
    for (const auto& r : rows) {
      size_t node = book.add_node(r.node);
      book.level(node, r.sku) = {r.on_hand, r.reserved, r.safety_stock};
    }
    std::unique_ptr<runtime::LiveInventory> nodes;
    if (live) nodes = std::make_unique<runtime::LiveInventory>(*live->bundle, book);
    int64_t keep = nodes ? nodes->keep() : 0;
    auto node_index = [&](const std::string& id) { return nodes ? nodes->find_node(id) : std::nullopt; };
    auto atp = [&](const runtime::StockRow& r) -> int64_t {
      std::optional<size_t> n = node_index(r.node);
      if (!n) return 0;  // not a node of the live deployment: nothing routes to it
      return nodes->active(*n) ? nodes->available(*n, r.sku) : 0;
    };
    auto status = [&](const runtime::StockRow& r) -> std::string {
      std::optional<size_t> n = node_index(r.node);
      if (!n) return "not in the live deployment";
      return nodes->active(*n) ? "" : "inactive";
    };
    std::map<std::string, std::map<std::string, int64_t>> channels;
    std::set<std::string> skus;
    for (const auto& r : rows) skus.insert(r.sku);
    std::vector<std::string> channel_names;
    if (live)
      for (const runtime::ChannelRule& rule : live->channels.rules) channel_names.push_back(rule.channel);
    for (const std::string& c : channel_names)
      for (const std::string& sku : skus)
        if (auto q = store->outbox().advertised(c, sku)) channels[c][sku] = *q;
    // Told already: up to the sender's cursor in the inbox (when `serve` has run).
    int64_t told_up_to = 0;
    if (std::filesystem::exists(runtime::inbox_path(db))) {
      runtime::SqliteOptions read_only;
      read_only.read_only = true;
      auto inbox = runtime::open_sqlite_inbox(runtime::inbox_path(db), read_only);
      told_up_to = std::stoll(inbox->cursor("tell:outbox").value_or("0"));
    }
    size_t pending = store->outbox().after(told_up_to, 1'000'000).size();
    if (format == "json") {
      nlohmann::ordered_json out;
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      for (const auto& r : rows) {
        nlohmann::ordered_json row = {{"node", r.node},       {"sku", r.sku}, {"on_hand", r.on_hand},
                                      {"reserved", r.reserved}, {"safety_stock", r.safety_stock},
                                      {"kept_by_routing", keep}, {"available", atp(r)},
                                      {"quarantined", r.quarantined}, {"written_off", r.written_off},
                                      {"to_vendor", r.to_vendor}};
        if (!status(r).empty()) row["status"] = status(r);
        list.push_back(std::move(row));
      }
      out["nodes"] = list;
      out["channels"] = channels;
      out["unsent_channel_updates"] = pending;
      std::cout << json_text(out, 2) << "\n";
      return 0;
    }
    if (rows.empty()) {
      std::cout << "no stock in " << db << "\n";
      return 0;
    }
    std::cout << fmt::format("{:<10} {:<18} {:>8} {:>9} {:>7} {:>10}\n", "node", "sku", "on hand", "reserved",
                             "safety", "available");
    for (const auto& r : rows)
      std::cout << fmt::format("{:<10} {:<18} {:>8} {:>9} {:>7} {:>10}{}\n", r.node, r.sku, r.on_hand, r.reserved,
                               std::max(r.safety_stock, keep), atp(r), status(r).empty() ? "" : "  " + status(r));
    // Returned units kept out of stock, where there are any.
    bool apart = std::any_of(rows.begin(), rows.end(),
                             [](const runtime::StockRow& r) { return r.quarantined || r.written_off || r.to_vendor; });
    if (apart) {
      std::cout << fmt::format("\nreturned units kept out of stock:\n{:<10} {:<18} {:>11} {:>11} {:>9}\n", "node", "sku",
                               "quarantined", "written off", "to vendor");
      for (const auto& r : rows)
        if (r.quarantined || r.written_off || r.to_vendor)
          std::cout << fmt::format("{:<10} {:<18} {:>11} {:>11} {:>9}\n", r.node, r.sku, r.quarantined, r.written_off,
                                   r.to_vendor);
    }
    if (keep > 0)
      std::cout << fmt::format("\nsafety: the larger of the row's safety stock and the {} unit{} routing keeps back "
                               "(`keep {} units safety stock`); available = on hand - reserved - safety\n",
                               keep, keep == 1 ? "" : "s", keep);
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

// What each channel has been told and what it has yet to hear: the drift
// between orderflow and the channels, from the sender's record (the inbox's
// `told`), the updates queued past its cursor, and the orders a webhook
// only named (fetches a poller has yet to read).
int run_channels(const std::string& db, const std::string& format) {
  return with_store_errors("channels", [&] {
    auto store = open_store(db, true);
    std::unique_ptr<runtime::Inbox> inbox;
    if (std::filesystem::exists(runtime::inbox_path(db))) {
      runtime::SqliteOptions read_only;
      read_only.read_only = true;
      inbox = runtime::open_sqlite_inbox(runtime::inbox_path(db), read_only);
    }
    struct Channel {
      int64_t told = 0, refused = 0, pending = 0, fetches = 0;
      std::map<std::string, runtime::ToldRecord> last;  // by order or SKU: the latest
    };
    std::map<std::string, Channel> channels;
    std::vector<runtime::ToldRecord> told = inbox ? inbox->told(10'000'000) : std::vector<runtime::ToldRecord>{};
    for (const runtime::ToldRecord& t : told) {  // the latest first
      Channel& c = channels[t.channel];
      ++c.told;
      if (t.status < 200 || t.status >= 300) ++c.refused;
      c.last.emplace(t.about, t);
    }
    int64_t told_up_to = inbox ? std::stoll(inbox->cursor("tell:outbox").value_or("0")) : 0;
    for (const runtime::OutboxMessage& m : store->outbox().after(told_up_to, 10'000'000)) ++channels[m.channel].pending;
    if (inbox)
      for (const std::string& channel : connectors::connector_channels())
        if (int64_t waiting = static_cast<int64_t>(inbox->fetches(channel, 10'000'000).size()))
          channels[channel].fetches = waiting;
    if (format == "json") {
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      for (const auto& [name, c] : channels) {
        nlohmann::ordered_json last = nlohmann::ordered_json::array();
        for (const auto& [about, t] : c.last)
          last.push_back({{"about", about}, {"at", model::format_time(t.at)}, {"status", t.status},
                          {"request", t.request}, {"answer", t.answer}});
        list.push_back({{"channel", name}, {"told", c.told}, {"refused", c.refused},
                        {"pending_updates", c.pending}, {"fetches_waiting", c.fetches}, {"last", last}});
      }
      std::cout << json_text(nlohmann::ordered_json{{"channels", list}}, 2) << "\n";
      return 0;
    }
    if (channels.empty()) {
      std::cout << "no channel has been told anything, and nothing is waiting to be told\n";
      return 0;
    }
    std::cout << fmt::format("{:<12} {:>6} {:>8} {:>16} {:>16}\n", "channel", "told", "refused", "updates waiting",
                             "fetches waiting");
    for (const auto& [name, c] : channels)
      std::cout << fmt::format("{:<12} {:>6} {:>8} {:>16} {:>16}\n", name, c.told, c.refused, c.pending, c.fetches);
    std::cout << "\nthe last each was told, by order or SKU:\n";
    for (const auto& [name, c] : channels)
      for (const auto& [about, t] : c.last)
        std::cout << fmt::format("{:<12} {:<22} {}  {}  {}\n", name, about, model::format_time(t.at), t.status,
                                 t.request.substr(0, t.request.find(' ', t.request.find(' ') + 1)));
    return 0;
  });
}

int run_migrate(const std::string& db, const std::string& engine) {
  return with_store_errors("migrate", [&] {
    runtime::WriterLock lock = runtime::WriterLock::acquire(db, command_line());
    int64_t rewritten = runtime::upgrade_sqlite_store(db);
    if (rewritten > 0)
      std::cout << fmt::format("brought {} up to date: {} journal entries rewritten in the binary form\n", db,
                               rewritten);
    auto store = open_store(db, false);
    runtime::SystemClock clock;
    runtime::EngineOptions options;
    options.engine = engine_choice(engine);
    runtime::OrderEngine e(*store, lock, clock, options);
    int64_t moved = e.migrate_to_live(clock.now());
    e.commit();
    std::cout << fmt::format("moved {} in-flight orders to deployment {}\n", moved, e.live().meta.id);
    return 0;
  });
}

}  // namespace

// The options most commands here take: the database (required), and how
// to print (text or json), each shared with the command's callback.
std::shared_ptr<std::string> db_option(CLI::App* cmd) {
  auto db = std::make_shared<std::string>();
  cmd->add_option("--db", *db, "SQLite database")->required();
  return db;
}

std::shared_ptr<std::string> format_option(CLI::App* cmd) {
  auto format = std::make_shared<std::string>("text");
  cmd->add_option("--format", *format, "text or json")->check(CLI::IsMember({"text", "json"}));
  return format;
}

void add_runtime_commands(CLI::App& app, Command& run) {
  {
    auto* cmd = app.add_subcommand("deploy", "Check, compile and record a bundle, and make it live");
    auto dir = std::make_shared<std::string>();
    auto db = db_option(cmd);
    auto engine = std::make_shared<std::string>("jit");
    auto despite = std::make_shared<std::string>();
    cmd->add_option("bundle", *dir, "Bundle folder")->required();
    cmd->add_option("--engine", *engine, "jit or interp")->check(CLI::IsMember({"jit", "interp"}));
    cmd->add_option("--despite-failing-tests", *despite,
                    "Deploy even though policy tests fail, for this reason (kept with the deployment)");
    cmd->callback([&run, dir, db, engine, despite] { run = [=] { return run_deploy(*dir, *db, *engine, *despite); }; });
  }
  {
    auto* cmd = app.add_subcommand("versions", "List the deployments of a database");
    auto db = db_option(cmd);
    auto format = format_option(cmd);
    cmd->callback([&run, db, format] { run = [=] { return run_versions(*db, *format); }; });
  }
  {
    auto* cmd = app.add_subcommand("diff", "What changed in the policy text between two deployments");
    auto a = std::make_shared<std::string>();
    auto b = std::make_shared<std::string>();
    auto db = db_option(cmd);
    cmd->add_option("from", *a, "Deployment id, declared version or content hash")->required();
    cmd->add_option("to", *b, "Deployment id, declared version or content hash")->required();
    cmd->callback([&run, a, b, db] { run = [=] { return run_diff(*a, *b, *db); }; });
  }
  {
    auto* cmd = app.add_subcommand("run", "Feed new orders and events through the engine, durably");
    auto o = std::make_shared<RunOptions>();
    cmd->add_option("--db", o->db, "SQLite database")->required();
    cmd->add_option("--events", o->events, "JSON lines: orders and events ('-': standard input)")->required();
    cmd->add_option("--bundle", o->bundle, "Deploy this bundle first (when it changed)");
    cmd->add_option("--despite-failing-tests", o->despite_failing_tests,
                    "Deploy the bundle even though policy tests fail, for this reason (kept with the deployment)");
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
    cmd->add_option("--wait", o->wait_seconds,
                    "Seconds to wait for another engine on the database to finish (default: refuse at once)");
    cmd->callback([&run, o] { run = [=] { return run_run(*o); }; });
  }
  {
    auto* cmd = app.add_subcommand("audit", "The whole history of one order");
    auto id = std::make_shared<std::string>();
    auto db = db_option(cmd);
    auto format = format_option(cmd);
    auto explain = std::make_shared<bool>(false);
    cmd->add_option("order", *id, "Order id")->required();
    cmd->add_flag("--explain", *explain, "Under each decision, every rule considered and the values behind it");
    cmd->callback([&run, id, db, format, explain] { run = [=] { return run_audit(*id, *db, *format, *explain); }; });
  }
  {
    auto* cmd = app.add_subcommand("journal", "The journal as JSON lines, one entry a line");
    auto db = db_option(cmd);
    auto order = std::make_shared<std::string>();
    auto after = std::make_shared<int64_t>(0);
    auto limit = std::make_shared<int64_t>(0);
    cmd->add_option("--order", *order, "Only this order's entries");
    cmd->add_option("--after", *after, "Only records after this sequence number");
    cmd->add_option("--limit", *limit, "At most this many entries");
    cmd->callback([&run, db, order, after, limit] { run = [=] { return run_journal(*db, *order, *after, *limit); }; });
  }
  {
    auto* cmd = app.add_subcommand("rebuild", "Rebuild the order and timer tables from the journal");
    auto db = db_option(cmd);
    cmd->callback([&run, db] { run = [=] { return run_rebuild(*db); }; });
  }
  {
    auto* cmd = app.add_subcommand("deadletters", "Inputs that could not be taken, kept for replay");
    auto db = db_option(cmd);
    auto format = format_option(cmd);
    cmd->callback([&run, db, format] { run = [=] { return run_deadletters(*db, *format); }; });
  }
  {
    auto* cmd = app.add_subcommand("stock", "Stock per node and SKU, and what each channel may sell");
    auto db = db_option(cmd);
    auto format = format_option(cmd);
    auto sku = std::make_shared<std::string>();
    cmd->add_option("--sku", *sku, "Only this SKU");
    cmd->callback([&run, db, format, sku] { run = [=] { return run_stock(*db, *format, *sku); }; });
  }
  {
    auto* cmd = app.add_subcommand("returns", "Returns and returns to origin: what comes back, its state and its refund");
    auto db = db_option(cmd);
    auto format = format_option(cmd);
    auto state = std::make_shared<std::string>();
    auto kind = std::make_shared<std::string>();
    cmd->add_option("--state", *state, "Only returns in this state (requested, authorized, held, in_transit, received, "
                                       "graded, disposed, refunded, closed, rejected)");
    cmd->add_option("--kind", *kind, "customer or rto")->check(CLI::IsMember({"customer", "rto"}));
    cmd->callback([&run, db, format, state, kind] { run = [=] { return run_returns(*db, *format, *state, *kind); }; });
  }
  {
    auto* cmd = app.add_subcommand("channels", "What each channel was told, what it answered, and what it has yet to hear");
    auto db = db_option(cmd);
    auto format = format_option(cmd);
    cmd->callback([&run, db, format] { run = [=] { return run_channels(*db, *format); }; });
  }
  {
    auto* cmd = app.add_subcommand("migrate", "Move in-flight orders to the live deployment");
    auto db = db_option(cmd);
    auto engine = std::make_shared<std::string>("jit");
    cmd->add_option("--engine", *engine, "jit or interp")->check(CLI::IsMember({"jit", "interp"}));
    cmd->callback([&run, db, engine] { run = [=] { return run_migrate(*db, *engine); }; });
  }
}

}  // namespace orderflow::cli
