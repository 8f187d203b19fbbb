// Google Benchmark suite for what the intake does with one webhook, stage
// by stage, on the real Shopify order payload: the check on the HTTP
// thread, then the decider's parse, mapping, reading and preparing (decode
// into the order image, the canonical text for the journal). The sum is
// what a webhook costs before the engine decides it. Run it with
//   build/tests/intake_stages_benchmark
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>

#include "compiler/check/checker.h"
#include "connectors/connector.h"
#include "runtime/canonical/json_parse.h"
#include "runtime/engine/inputs.h"

namespace orderflow {
namespace {

std::string webhook_body() {
  std::ifstream in(std::string(ORDERFLOW_SOURCE_DIR) + "/../shared/payloads/shopify/rest_fixture_order.json");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json doc = nlohmann::json::parse(text.str());
  return (doc.contains("order") ? doc["order"] : doc).dump();
}

const std::string& body() {
  static const std::string b = webhook_body();
  return b;
}

const connectors::Connector& shopify() { return *connectors::find_connector("shopify"); }

nlohmann::json canonical_order() {
  auto normalized = shopify().normalize(runtime::parse_json(body()));
  return std::get<std::vector<nlohmann::json>>(normalized).front();
}

std::shared_ptr<const check::CheckedBundle> marketplace() {
  static std::shared_ptr<const check::CheckedBundle> bundle = [] {
    check::CheckOutcome out = check::check_bundle({std::string(ORDERFLOW_SOURCE_DIR) + "/examples/marketplace"});
    if (!out.ok()) std::abort();
    return std::shared_ptr<const check::CheckedBundle>(std::move(out.bundle));
  }();
  return bundle;
}

void BM_JsonProblem(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(runtime::json_problem(body()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body().size()));
}
BENCHMARK(BM_JsonProblem);

void BM_ParseJson(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(runtime::parse_json(body()));
}
BENCHMARK(BM_ParseJson);

void BM_ShopifyNormalize(benchmark::State& state) {
  nlohmann::json payload = runtime::parse_json(body());
  for (auto _ : state) benchmark::DoNotOptimize(shopify().normalize(payload));
}
BENCHMARK(BM_ShopifyNormalize);

// What the intake does instead of the two above: simdjson's document, read in place.
void BM_ShopifyNormalizeInPlace(benchmark::State& state) {
  for (auto _ : state) {
    connectors::Payload payload(body());
    benchmark::DoNotOptimize(shopify().normalize(payload.root()));
  }
}
BENCHMARK(BM_ShopifyNormalizeInPlace);

void BM_ReadInput(benchmark::State& state) {
  nlohmann::json order = canonical_order();
  for (auto _ : state) benchmark::DoNotOptimize(runtime::read_input(order, "webhook:shopify"));
}
BENCHMARK(BM_ReadInput);

void BM_PrepareInput(benchmark::State& state) {
  nlohmann::json order = canonical_order();
  auto bundle = marketplace();
  for (auto _ : state) {
    state.PauseTiming();
    runtime::Input input = runtime::read_input(order, "webhook:shopify");
    state.ResumeTiming();
    runtime::prepare_input(input, bundle);
    benchmark::DoNotOptimize(input);
  }
}
BENCHMARK(BM_PrepareInput);

// All of the decider's work on one webhook, as Intake::inputs_of and
// normalize_all do it.
void BM_DecideSide(benchmark::State& state) {
  auto bundle = marketplace();
  for (auto _ : state) {
    connectors::Payload payload(body());
    auto normalized = shopify().normalize(payload.root());
    for (const nlohmann::json& json : std::get<std::vector<nlohmann::json>>(normalized)) {
      runtime::Input input = runtime::read_input(json, "webhook:shopify");
      runtime::prepare_input(input, bundle);
      benchmark::DoNotOptimize(input);
    }
  }
}
BENCHMARK(BM_DecideSide);

}  // namespace
}  // namespace orderflow

BENCHMARK_MAIN();
