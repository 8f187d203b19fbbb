// The durable throughput of the runtime, beside what a minimal durable
// journal writer does on the same machine, in one run.
//
// The reference writer is the least a durable order journal can do: per
// order, the input and a 300-byte decision appended, the order row upserted
// and one stock row updated; SQLite in WAL mode, synchronous=FULL, 512
// orders a transaction. orderflow does what `orderflow run` does: the
// example bundle deployed, every order decided (acceptance, routing with
// reservation, escalation), journalled with what explaining it needs (the
// full values trace), on the engine thread, durable before it is
// acknowledged. Both read the same file of orders.
//
// usage: runtime_benchmark ORDERS.jsonl [--work DIR] [--sync full|normal] [--trace values|rules]
//                          [--engine jit|interp] [--repeat N]
// With --repeat, the two run in turns N times and the medians are shown:
// this machine's speed moves by tens of percent from one run to the next.
// Make the orders with tests/runtime/make_orders.py N.
#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "runtime/engine/engine_thread.h"
#include "runtime/engine/input_file.h"
#include "runtime/store/sqlite_store.h"

namespace {

using Clock = std::chrono::steady_clock;
using orderflow::runtime::Ack;

struct Result {
  std::string name;
  size_t orders = 0;
  double seconds = 0;
  size_t bytes = 0;
  double sqlite_share = -1;    // of the wall time
  double encoding_share = -1;  // writing to the store, less SQLite's own time
  double statements = -1;      // per order
  // orderflow's: the live orders it keeps between inputs (its byte budget bounds them).
  orderflow::runtime::EngineStats cache;
};

void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw std::runtime_error(fmt::format("{}: {}", what, sqlite3_errmsg(db)));
}

size_t file_bytes(const std::string& path) {
  size_t total = 0;
  for (const char* suffix : {"", "-wal"}) {
    std::error_code ec;
    auto size = std::filesystem::file_size(path + suffix, ec);
    if (!ec) total += size;
  }
  return total;
}

// The "id" of an order line, found without parsing the line.
std::string order_id_of(const std::string& line) {
  size_t key = line.find("\"id\":\"");
  if (key == std::string::npos) return line.substr(0, 32);
  size_t start = key + 6, end = line.find('"', start);
  return line.substr(start, end - start);
}

Result reference_writer(const std::vector<std::string>& lines, const std::string& path, bool sync_full) {
  std::filesystem::remove(path);
  sqlite3* db = nullptr;
  check(sqlite3_open(path.c_str(), &db), db, "open");
  auto exec = [&](const char* sql) { check(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), db, sql); };
  exec("PRAGMA journal_mode=WAL");
  exec(sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  exec("CREATE TABLE journal(seq INTEGER PRIMARY KEY, order_id TEXT NOT NULL, kind INTEGER NOT NULL, body BLOB NOT NULL)");
  exec("CREATE INDEX journal_by_order ON journal(order_id, seq)");
  exec("CREATE TABLE orders(order_id TEXT PRIMARY KEY, state TEXT NOT NULL, last_seq INTEGER NOT NULL) WITHOUT ROWID");
  exec("CREATE TABLE stock(node TEXT, sku TEXT, on_hand INTEGER, reserved INTEGER, PRIMARY KEY(node, sku)) WITHOUT ROWID");
  exec("INSERT INTO stock VALUES('BLR-WH1', 'KURTA-M-IND', 1000000000, 0)");
  sqlite3_stmt *append = nullptr, *upsert = nullptr, *reserve = nullptr;
  check(sqlite3_prepare_v2(db, "INSERT INTO journal(order_id, kind, body) VALUES(?, ?, ?)", -1, &append, nullptr), db,
        "prepare");
  check(sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO orders VALUES(?, 'allocated', ?)", -1, &upsert, nullptr), db,
        "prepare");
  check(sqlite3_prepare_v2(db, "UPDATE stock SET reserved = reserved + 1 WHERE node = 'BLR-WH1' AND sku = "
                               "'KURTA-M-IND'",
                           -1, &reserve, nullptr),
        db, "prepare");
  std::string decision(300, 'd');
  auto started = Clock::now();
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i % 512 == 0) exec("BEGIN IMMEDIATE");
    // The order's own id: the order row lands where that id sorts, as it does in orderflow.
    std::string id = order_id_of(lines[i]);
    for (auto [kind, body] : {std::pair<int, const std::string*>{1, &lines[i]}, std::pair<int, const std::string*>{2, &decision}}) {
      sqlite3_bind_text(append, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      sqlite3_bind_int(append, 2, kind);
      sqlite3_bind_blob(append, 3, body->data(), static_cast<int>(body->size()), SQLITE_STATIC);
      check(sqlite3_step(append), db, "append");
      sqlite3_reset(append);
    }
    int64_t seq = sqlite3_last_insert_rowid(db);
    sqlite3_bind_text(upsert, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
    sqlite3_bind_int64(upsert, 2, seq);
    check(sqlite3_step(upsert), db, "upsert");
    sqlite3_reset(upsert);
    check(sqlite3_step(reserve), db, "reserve");
    sqlite3_reset(reserve);
    if (i % 512 == 511 || i + 1 == lines.size()) exec("COMMIT");
  }
  Result r;
  r.name = "reference writer";
  r.orders = lines.size();
  r.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  r.statements = 4;
  sqlite3_finalize(append);
  sqlite3_finalize(upsert);
  sqlite3_finalize(reserve);
  exec("PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_close(db);
  r.bytes = file_bytes(path);
  return r;
}

Result orderflow_run(const std::string& orders, const std::string& path, bool sync_full, const std::string& trace,
                     const std::string& engine_kind) {
  namespace rt = orderflow::runtime;
  for (const char* suffix : {"", "-wal", "-shm", "-lock"}) std::filesystem::remove(path + suffix);
  rt::WriterLock lock = rt::WriterLock::acquire(path, "runtime_benchmark");
  rt::SqliteOptions options;
  options.sync_full = sync_full;
  auto store = rt::open_sqlite_store(path, options);
  rt::EngineChoice choice;
  choice.kind = engine_kind;
  rt::SystemClock clock;
  rt::DeployResult deployed =
      rt::deploy_bundle(*store, std::string(ORDERFLOW_SOURCE_DIR) + "/examples/marketplace", clock.now(), choice);
  if (deployed.status != rt::DeployResult::Status::Deployed) throw std::runtime_error(deployed.message);
  rt::EngineOptions engine_options;
  engine_options.engine = choice;
  engine_options.trace = trace == "rules" ? orderflow::engine::TraceDetail::Rules : orderflow::engine::TraceDetail::Values;
  auto engine_ptr = std::make_unique<rt::OrderEngine>(*store, lock, clock, engine_options);
  rt::OrderEngine& engine = *engine_ptr;
  rt::StoreStats before = store->stats();
  double store_before = engine.store_ms();
  size_t stored = 0, other = 0;
  // Read and decoded ahead (as `run`'s reader and the intake's decider do
  // on their own threads), so that the time is the engine thread's own.
  std::vector<rt::Input> inputs;
  {
    rt::InputFile file(orders, false);
    rt::Input input;
    size_t line = 0;
    auto bundle = engine.live().bundle;
    while (file.next(input, line)) {
      rt::prepare_input(input, bundle);
      inputs.push_back(std::move(input));
    }
  }
  auto started = Clock::now();
  {
    rt::EngineThread::Options thread_options;
    thread_options.queue_limit = inputs.size() + 1;
    rt::EngineThread thread(engine, clock, thread_options);
    std::atomic<size_t> ok{0}, not_ok{0};
    for (rt::Input& input : inputs)
      thread.post(std::move(input), [&](const Ack& a) { (a.status == Ack::Status::Stored ? ok : not_ok)++; });
    thread.flush();
    stored = ok;
    other = not_ok;
  }
  Result r;
  r.name = fmt::format("orderflow ({}, trace {})", engine_kind, trace);
  r.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  r.orders = stored;
  if (other) std::cerr << fmt::format("runtime_benchmark: {} inputs were not stored\n", other);
  rt::StoreStats after = store->stats();
  double wall_ms = r.seconds * 1000;
  r.sqlite_share = (after.database_ms - before.database_ms) / wall_ms;
  r.encoding_share = std::max(0.0, (engine.store_ms() - store_before) - (after.database_ms - before.database_ms)) / wall_ms;
  r.statements = static_cast<double>(after.statements - before.statements) / std::max<size_t>(stored, 1);
  r.cache = engine.stats();
  engine_ptr.reset();
  store.reset();
  {
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  r.bytes = file_bytes(path);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: runtime_benchmark ORDERS.jsonl [--work DIR] [--sync full|normal] [--trace values|rules] "
                 "[--engine jit|interp]\n";
    return 2;
  }
  std::string orders = argv[1], work = std::filesystem::temp_directory_path().string(), sync = "full",
              trace = "values", engine = "jit";
  int repeat = 1;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--work") work = v;
    else if (a == "--sync") sync = v;
    else if (a == "--trace") trace = v;
    else if (a == "--engine") engine = v;
    else if (a == "--repeat") repeat = std::max(1, std::stoi(v));
  }
  std::vector<std::string> lines;
  {
    std::ifstream in(orders);
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) lines.push_back(line);
  }
  if (lines.empty()) {
    std::cerr << "runtime_benchmark: no orders in " << orders << "\n";
    return 2;
  }
  try {
    // orderflow first: its peak memory is then its own.
    std::vector<Result> engines, references;
    for (int i = 0; i < repeat; ++i) {
      engines.push_back(orderflow_run(orders, work + "/runtime_benchmark_orderflow.db", sync == "full", trace, engine));
      references.push_back(reference_writer(lines, work + "/runtime_benchmark_reference.db", sync == "full"));
      std::cerr << fmt::format("pass {}: reference {:.0f}/s, orderflow {:.0f}/s\n", i + 1,
                               references.back().orders / references.back().seconds,
                               engines.back().orders / engines.back().seconds);
    }
    auto median = [](std::vector<Result> runs) {
      std::sort(runs.begin(), runs.end(), [](const Result& a, const Result& b) { return a.seconds < b.seconds; });
      return runs[runs.size() / 2];
    };
    Result engine_result = median(engines);
    Result reference = median(references);
    std::cout << fmt::format("{} orders, synchronous={}, on this machine{}:\n\n", lines.size(),
                             sync == "full" ? "FULL" : "NORMAL",
                             repeat > 1 ? fmt::format(", medians of {} passes", repeat) : "");
    std::cout << fmt::format("{:<32} {:>10} {:>12} {:>12} {:>10} {:>10} {:>10}\n", "", "orders/s", "bytes/order",
                             "statements", "in SQLite", "encoding", "vs ref");
    for (const Result* r : {&reference, &engine_result}) {
      double rate = r->orders / r->seconds;
      auto share = [](double s) { return s < 0 ? std::string("-") : fmt::format("{:.0f}%", 100 * s); };
      std::cout << fmt::format("{:<32} {:>10.0f} {:>12.0f} {:>12.1f} {:>10} {:>10} {:>9.2f}x\n", r->name, rate,
                               static_cast<double>(r->bytes) / r->orders, r->statements, share(r->sqlite_share),
                               share(r->encoding_share), rate / (reference.orders / reference.seconds));
    }
    const orderflow::runtime::EngineStats& cache = engine_result.cache;
    std::cout << fmt::format(
        "\norderflow kept {} live orders in memory at the end, {:.1f} MB, {:.0f} bytes each by its own count; {} "
        "evicted (the budget is 64 MiB)\n",
        cache.cached_orders, cache.cached_bytes / 1048576.0,
        static_cast<double>(cache.cached_bytes) / std::max<size_t>(cache.cached_orders, 1), cache.evicted);
    for (const char* name : {"runtime_benchmark_orderflow.db", "runtime_benchmark_reference.db"})
      for (const char* suffix : {"", "-wal", "-shm", "-lock", "-inbox"}) std::filesystem::remove(work + "/" + name + suffix);
  } catch (const std::exception& e) {
    std::cerr << "runtime_benchmark: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
