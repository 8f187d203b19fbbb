// Google Benchmark suite for the engines: how long a bundle takes to be
// ready (parse + check + JIT), and how long one order takes through each
// policy, interpreted and compiled. Built with the tests; run it with
//   build/tests/engine_benchmark [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "compiler/check/checker.h"
#include "compiler/interp/interpreter.h"
#include "compiler/jit/jit_engine.h"
#include "runtime/canonical/order_json.h"

namespace orderflow {
namespace {

namespace fs = std::filesystem;

std::string source_dir() { return ORDERFLOW_SOURCE_DIR; }

std::shared_ptr<const check::CheckedBundle> load(const std::string& path) {
  check::CheckOutcome out = check::check_bundle({path});
  if (!out.ok()) {
    std::fprintf(stderr, "%s", render_text(out.diagnostics, *out.sources).c_str());
    std::abort();
  }
  return std::shared_ptr<const check::CheckedBundle>(std::move(out.bundle));
}

// A bundle of `rules` acceptance rules of the kinds analysts write: money
// thresholds, channels and payment methods, PIN codes, quantities, times.
std::string generated_bundle(int rules) {
  std::string dir = (fs::temp_directory_path() / fmt::format("orderflow-gen-{}-{}", ::getpid(), rules)).string();
  fs::create_directories(dir + "/data");
  std::ofstream(dir + "/data/pins.csv") << "110001\n400001\n560001\n";
  std::ofstream policy(dir + "/acceptance.flow");
  policy << "policy acceptance \"Generated\"\nversion \"1\"\nuse list pins from \"data/pins.csv\"\n";
  static const char* channels[] = {"amazon", "flipkart", "shopee", "lazada", "noon", "shopify", "web"};
  static const char* methods[] = {"cod", "prepaid", "card", "upi", "wallet"};
  std::mt19937 rng(12345);
  for (int i = 0; i < rules; ++i) {
    policy << fmt::format("rule \"Rule {}\"\n  when ", i);
    switch (i % 6) {
      case 0: policy << fmt::format("order.total > {} INR and order.payment.method is {}", 1000 + rng() % 50000, methods[rng() % 5]); break;
      case 1: policy << fmt::format("order.channel in [{}, {}] and order.customer.rto_count >= {}", channels[rng() % 7], channels[rng() % 7], rng() % 9); break;
      case 2: policy << fmt::format("any line in order.lines where line.quantity > {}", 10 + rng() % 90); break;
      case 3: policy << fmt::format("order.ship_to.postal_code in pins and order.delivery is express and hour(order.placed_at) >= {}", rng() % 24); break;
      case 4: policy << fmt::format("order.customer.is_new and order.total.amount >= {} and count(order.lines) > {}", rng() % 90000, rng() % 6); break;
      case 5: policy << fmt::format("order.dispatch_by - order.placed_at < {}h or order.ship_to.country != \"IN\"", 1 + rng() % 72); break;
    }
    if (i % 3 == 0) policy << fmt::format("\n  then hold \"review_{}\"\n", i);
    else if (i % 3 == 1) policy << fmt::format("\n  then reject \"refused_{}\"\n", i);
    else policy << "\n  then set priority high\n";
  }
  policy << "otherwise accept\n";
  return dir;
}

// From text to native code serving: parse, check, lower and the JIT's
// baseline tier. The optimised tier lands later, on the engine's thread;
// its time is reported as a counter, outside the timed region.
void ready(benchmark::State& state, const std::string& dir) {
  double optimised_ms = 0, baseline_ms = 0;
  for (auto _ : state) {
    auto bundle = load(dir);
    jit::JitOptions options;
    options.wait = jit::JitOptions::Wait::Baseline;
    auto engine = jit::JitEngine::create(bundle, options);
    state.PauseTiming();
    if (!engine->is_compiled(check::PolicyKind::Acceptance)) state.SkipWithError(engine->status().warning.c_str());
    engine->wait_for(jit::JitOptions::Wait::Everything);
    jit::JitStatus status = engine->status();
    baseline_ms += status.baseline_ms;
    optimised_ms += status.optimised ? status.optimised_ms : 0;
    engine.reset();
    state.ResumeTiming();
  }
  double n = static_cast<double>(state.iterations());
  state.counters["jit_baseline_ms"] = baseline_ms / n;
  state.counters["jit_optimised_ms"] = optimised_ms / n;
}

void BM_ReadyGeneratedBundle(benchmark::State& state) {
  std::string dir = generated_bundle(static_cast<int>(state.range(0)));
  ready(state, dir);
  fs::remove_all(dir);
}
BENCHMARK(BM_ReadyGeneratedBundle)->Arg(12)->Arg(1000)->Unit(benchmark::kMillisecond)->Iterations(5);

void BM_ReadyBenchBundle(benchmark::State& state) { ready(state, source_dir() + "/examples/bench"); }
BENCHMARK(BM_ReadyBenchBundle)->Unit(benchmark::kMillisecond)->Iterations(10);

// One order at a time through a policy of the example bundle, the same few
// orders over and over (their images stay in cache: this is the engine's
// own cost, not memory's).
struct Orders {
  std::shared_ptr<const check::CheckedBundle> bundle;
  std::vector<runtime::OrderImage> images;
};

const Orders& example_orders() {
  static Orders orders = [] {
    Orders o;
    o.bundle = load(source_dir() + "/examples/marketplace");
    std::ifstream in(source_dir() + "/examples/marketplace/orders/sample.jsonl");
    std::string line;
    while (std::getline(in, line)) o.images.push_back(std::get<runtime::OrderImage>(runtime::parse_order(*o.bundle, line)));
    return o;
  }();
  return orders;
}

void run_policy(benchmark::State& state, const engine::PolicyEngine& e, check::PolicyKind kind,
                engine::TraceDetail detail) {
  const Orders& o = example_orders();
  engine::Outcome outcome;
  engine::EvalInput input;
  input.now = *model::parse_time("2026-11-20T13:00:00Z");
  size_t i = 0;
  for (auto _ : state) {
    input.order = o.images[i++ % o.images.size()].data();
    e.evaluate_into(kind, input, detail, outcome);
    benchmark::DoNotOptimize(outcome.verdict);
  }
}

void BM_Acceptance(benchmark::State& state) {
  const Orders& o = example_orders();
  if (state.range(0) == 0) {
    interp::Interpreter e(o.bundle);
    run_policy(state, e, check::PolicyKind::Acceptance, engine::TraceDetail::Rules);
  } else {
    jit::JitOptions options;
    options.wait = jit::JitOptions::Wait::Optimised;
    auto e = jit::JitEngine::create(o.bundle, options);
    run_policy(state, *e, check::PolicyKind::Acceptance, engine::TraceDetail::Rules);
  }
  state.SetLabel(state.range(0) == 0 ? "interpreter" : "jit");
}
BENCHMARK(BM_Acceptance)->Arg(0)->Arg(1);

void BM_Routing(benchmark::State& state) {
  const Orders& o = example_orders();
  if (state.range(0) == 0) {
    interp::Interpreter e(o.bundle);
    run_policy(state, e, check::PolicyKind::Routing, engine::TraceDetail::Rules);
  } else {
    jit::JitOptions options;
    options.wait = jit::JitOptions::Wait::Optimised;
    auto e = jit::JitEngine::create(o.bundle, options);
    run_policy(state, *e, check::PolicyKind::Routing, engine::TraceDetail::Rules);
  }
  state.SetLabel(state.range(0) == 0 ? "interpreter" : "jit");
}
BENCHMARK(BM_Routing)->Arg(0)->Arg(1);

// Explaining (every value behind every condition) costs more; it is only
// asked for one order at a time.
void BM_AcceptanceExplained(benchmark::State& state) {
  const Orders& o = example_orders();
  jit::JitOptions options;
  options.wait = jit::JitOptions::Wait::Everything;
  auto e = jit::JitEngine::create(o.bundle, options);
  run_policy(state, *e, check::PolicyKind::Acceptance, engine::TraceDetail::Values);
}
BENCHMARK(BM_AcceptanceExplained);

}  // namespace
}  // namespace orderflow

BENCHMARK_MAIN();
