// What history() costs a decision when the engine has journalled a million
// orders: the index the engine keeps (runtime/engine/customer_history.h),
// filled with 1M orders whose keys are spread as a brand's are (400k
// phones, a few repeat customers with many orders, 19k pincodes with the
// metro ones far busier), then asked as the tour's rules ask it.
//   build/tests/history_benchmark [--orders N] [--benchmark_filter=...]
//   build/tests/history_benchmark --startup N   (only: the engine's start, below)
// Reports per decision: one history() question by kind of key, and a whole
// compiled acceptance policy with and without its two history() rules. The
// index's memory and the time to fill it are printed before the runs.
// With --startup N it writes a SQLite journal of N such orders (each
// received, then delivered, cancelled, returned or returned to origin) and
// times what an engine starting on it does first: build the index from it.
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "compiler/check/checker.h"
#include "compiler/jit/jit_engine.h"
#include "runtime/canonical/order_json.h"
#include "runtime/engine/customer_history.h"
#include "runtime/store/sqlite_store.h"
#include "runtime/store/store.h"

namespace orderflow {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int64_t g_orders = 1'000'000;
constexpr int64_t kStart = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr int64_t kDay = 86'400'000;

// Keys drawn as real traffic has them: most phones order once or twice, a
// few hundred order weekly; pincodes are Zipf-like (a metro pincode sees a
// thousand times a village's orders).
struct Population {
  std::mt19937_64 rng{20261205};
  std::vector<double> pincode_weights;
  std::discrete_distribution<int> pincode;
  Population() {
    for (int i = 1; i <= 19'000; ++i) pincode_weights.push_back(1.0 / i);
    pincode = std::discrete_distribution<int>(pincode_weights.begin(), pincode_weights.end());
  }
  int64_t phone_number() {
    // 1 in 50 orders from one of 500 regulars, the rest from 400k occasional buyers.
    return rng() % 50 == 0 ? 9000000000 + static_cast<int64_t>(rng() % 500)
                           : 8000000000 + static_cast<int64_t>(rng() % 400'000);
  }
  nlohmann::json order(int64_t phone, int pin) {
    nlohmann::json o;
    o["customer"] = {{"phone", fmt::format("+91 {}", phone)}, {"email", fmt::format("buyer{}@mail.example", phone)}};
    o["ship_to"] = {{"line1", fmt::format("{} MG Road, Block {}", phone % 997, phone % 13)},
                    {"postal_code", fmt::format("{}", 110001 + pin * 3)}};
    return o;
  }
};

int64_t decision_time() { return kStart + 365 * kDay; }

// What became of an order: most delivered, some cancelled, returned or
// returned to origin, a day or a week after it came; what had not happened
// by the decision is not journalled yet.
void outcome(runtime::CustomerHistory& h, const std::string& id, int64_t at, std::mt19937_64& rng) {
  auto happened = [&](const char* state, int64_t when) {
    if (when < decision_time()) h.entered(id, state, when);
  };
  int roll = static_cast<int>(rng() % 100);
  if (roll < 8) {
    happened("cancelled", at + kDay / 4);
  } else if (roll < 16) {
    happened("rto", at + 5 * kDay);
  } else {
    happened("delivered", at + 3 * kDay);
    if (roll < 24) happened("returned", at + 9 * kDay);
  }
}

// The index as the engine holds it after a year of `g_orders` orders.
runtime::CustomerHistory& index() {
  static runtime::CustomerHistory* built = [] {
    auto* h = new runtime::CustomerHistory;
    Population p;
    auto t0 = Clock::now();
    for (int64_t i = 0; i < g_orders; ++i) {
      int64_t at = kStart + i * (365 * kDay / g_orders);
      std::string id = fmt::format("O{}", i);
      h->received(id, at, p.order(p.phone_number(), p.pincode(p.rng)));
      outcome(*h, id, at, p.rng);
    }
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::fprintf(stderr, "index of %lld orders: %zu keys, %.0f MB, filled in %.2f s (%.2f us an order)\n",
                 static_cast<long long>(g_orders), h->key_count(), h->bytes() / 1e6, s, s * 1e6 / g_orders);
    return h;
  }();
  return *built;
}

void BM_HistoryQuestion(benchmark::State& state, engine::HistoryKey kind) {
  runtime::CustomerHistory& h = index();
  Population p;
  std::vector<std::string> keys;
  for (int i = 0; i < 4096; ++i) {
    nlohmann::json o = p.order(p.phone_number(), p.pincode(p.rng));
    switch (kind) {
      case engine::HistoryKey::Phone:
        keys.push_back(engine::normalize_history_key(kind, o["customer"]["phone"].get<std::string>()));
        break;
      case engine::HistoryKey::Email:
        keys.push_back(engine::normalize_history_key(kind, o["customer"]["email"].get<std::string>()));
        break;
      case engine::HistoryKey::Pincode:
        keys.push_back(engine::normalize_history_key(kind, o["ship_to"]["postal_code"].get<std::string>()));
        break;
      case engine::HistoryKey::Address:
        keys.push_back(engine::address_history_key(o["ship_to"]["line1"].get<std::string>(),
                                                   o["ship_to"]["postal_code"].get<std::string>()));
        break;
    }
  }
  int64_t window = state.range(0) * kDay, now = decision_time();
  size_t i = 0;
  int64_t orders = 0;
  for (auto _ : state) {
    engine::HistoryCounts c = h.counts(kind, keys[i++ & 4095], now - window, now);
    orders += c.orders;
    benchmark::DoNotOptimize(c);
  }
  state.counters["orders_per_question"] = static_cast<double>(orders) / static_cast<double>(state.iterations());
}
BENCHMARK_CAPTURE(BM_HistoryQuestion, phone, engine::HistoryKey::Phone)->Arg(180);
BENCHMARK_CAPTURE(BM_HistoryQuestion, email, engine::HistoryKey::Email)->Arg(180);
BENCHMARK_CAPTURE(BM_HistoryQuestion, address, engine::HistoryKey::Address)->Arg(180);
BENCHMARK_CAPTURE(BM_HistoryQuestion, pincode, engine::HistoryKey::Pincode)->Arg(90)->Arg(7);

// The tour's acceptance policy (section 1, without its data files), with
// or without the two rules that ask history().
std::string policy_dir(bool with_history) {
  std::string dir = (fs::temp_directory_path() / fmt::format("orderflow-history-{}-{}", ::getpid(), with_history)).string();
  fs::create_directories(dir);
  std::ofstream f(dir + "/acceptance.flow");
  f << "policy acceptance \"History\"\nversion \"1\"\ntimezone \"Asia/Kolkata\"\n\n"
       "rule \"More than 5 units of one SKU\"\n"
       "  when any s in distinct(order.lines.sku)\n"
       "       where sum(line.quantity for line in order.lines where line.sku == s) > 5\n"
       "  then hold \"bulk_review\"\n\n";
  if (with_history)
    f << "rule \"Pincode with many returns to origin\"\n"
         "  when order.payment.method is cod\n"
         "   and history(order.ship_to.postal_code, 90d).rto_rate > 30%\n"
         "  then hold \"cod_confirmation\" for 12h on timeout cancel \"COD not confirmed\"\n\n"
         "rule \"Serial RTO customer\"\n"
         "  when history(order.customer.phone, 180d).rto >= 3\n"
         "  then reject \"repeated returns to origin\"\n\n";
  f << "rule \"Night COD orders wait for the morning shift\"\n"
       "  when order.payment.method is cod\n"
       "   and (hour(order.placed_at) >= 23 or hour(order.placed_at) < 7)\n"
       "  then hold \"night_cod\" until next 07:00 on timeout accept\n\n"
       "otherwise accept\n";
  return dir;
}

void BM_Decision(benchmark::State& state, bool with_history) {
  runtime::CustomerHistory& h = index();
  check::CheckOutcome checked = check::check_bundle({policy_dir(with_history)});
  if (!checked.ok()) {
    state.SkipWithError(render_text(checked.diagnostics, *checked.sources).c_str());
    return;
  }
  std::shared_ptr<const check::CheckedBundle> bundle(std::move(checked.bundle));
  jit::JitOptions options;
  options.wait = jit::JitOptions::Wait::Everything;
  auto engine = jit::JitEngine::create(bundle, options);
  Population p;
  std::vector<runtime::OrderImage> orders;
  for (int i = 0; i < 1024; ++i) {
    nlohmann::json o = p.order(p.phone_number(), p.pincode(p.rng));
    o["id"] = fmt::format("NEW-{}", i);
    o["channel"] = "web";
    o["placed_at"] = "2026-12-31T20:00:00Z";
    o["total"] = {{"amount", "999.00"}, {"currency", "INR"}};
    o["payment"] = {{"method", "cod"}};
    o["lines"] = {{{"sku", "A"}, {"quantity", 2}, {"unit_price", {{"amount", "499.50"}, {"currency", "INR"}}}}};
    auto decoded = runtime::parse_order(*bundle, o.dump());
    orders.push_back(std::move(std::get<runtime::OrderImage>(decoded)));
  }
  engine::Outcome out;
  engine::EvalInput input;
  input.now = decision_time();
  input.history = &h;
  size_t i = 0;
  for (auto _ : state) {
    input.order = orders[i++ & 1023].data();
    engine->evaluate_into(check::PolicyKind::Acceptance, input, engine::TraceDetail::Rules, out);
    benchmark::DoNotOptimize(out.verdict);
  }
}
BENCHMARK_CAPTURE(BM_Decision, without_history, false);
BENCHMARK_CAPTURE(BM_Decision, with_two_history_rules, true);

// The engine's start on a journal of `n` orders: the index read from it.
int startup(int64_t n) {
  std::string path = (fs::temp_directory_path() / fmt::format("orderflow-history-journal-{}.db", ::getpid())).string();
  {
    runtime::SqliteOptions fast;
    fast.sync_full = false;
    auto store = runtime::open_sqlite_store(path, fast);
    Population p;
    auto t0 = Clock::now();
    store->begin();
    for (int64_t i = 0; i < n; ++i) {
      int64_t at = kStart + i * (365 * kDay / n);
      std::string id = fmt::format("O{}", i);
      nlohmann::json order = p.order(p.phone_number(), p.pincode(p.rng));
      order["id"] = id;
      order["channel"] = "web";
      runtime::journal::Record received{0, id, at, {}, 0};
      received.entries.push_back(runtime::journal::Received{"web", id, 1, "1", "bench", order.dump()});
      received.entries.push_back(runtime::journal::StateChanged{"", "new", true, 1, "received", {}});
      store->journal().append(received);
      static const char* outcomes[] = {"delivered", "delivered", "delivered", "cancelled", "rto"};
      runtime::journal::Record later{0, id, at + 3 * kDay, {}, received.seq};
      later.entries.push_back(runtime::journal::StateChanged{"new", outcomes[p.rng() % 5], true, 2, "bench", {}});
      store->journal().append(later);
      if (i % 20000 == 19999) {
        store->commit();
        store->begin();
      }
    }
    store->commit();
    std::fprintf(stderr, "wrote a journal of %lld orders (%lld records) in %.1f s\n", static_cast<long long>(n),
                 static_cast<long long>(2 * n), std::chrono::duration<double>(Clock::now() - t0).count());
  }
  runtime::SqliteOptions read_only;
  read_only.read_only = true;
  auto store = runtime::open_sqlite_store(path, read_only);
  runtime::CustomerHistory h;
  auto t0 = Clock::now();
  int64_t records = h.load(*store);
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("engine start: index of %zu orders (%zu keys, %.0f MB) built from %lld journal records in %.2f s "
              "(%.2f us a record)\n",
              h.order_count(), h.key_count(), h.bytes() / 1e6, static_cast<long long>(records), s, s * 1e6 / records);
  store.reset();
  fs::remove(path);
  fs::remove(path + "-wal");
  fs::remove(path + "-shm");
  return 0;
}

}  // namespace
}  // namespace orderflow

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--startup") == 0) return orderflow::startup(std::stoll(argv[i + 1]));
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--orders") == 0) {
      orderflow::g_orders = std::stoll(argv[i + 1]);
      for (int j = i; j + 2 < argc; ++j) argv[j] = argv[j + 2];
      argc -= 2;
      break;
    }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
