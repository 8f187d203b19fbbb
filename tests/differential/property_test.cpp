// Random well-typed bundles and random orders through both engines. Each
// bundle has some two dozen acceptance rules (most of them annotate, so
// that evaluation goes on past them), a few routing and escalation rules,
// and random nodes and stock; each is run on many random orders at random
// moments. A disagreement is shrunk (rules dropped, expressions replaced by
// simpler ones, order fields dropped) to a minimal reproducer, printed with
// the seed that makes it again.
//
//   ORDERFLOW_PROPERTY_SEED     the seed (default 20261126)
//   ORDERFLOW_PROPERTY_BUNDLES  how many bundles (default 40)
//   ORDERFLOW_PROPERTY_ORDERS   orders per bundle (default 60)
//   ORDERFLOW_PROPERTY_ONLY     run only this bundle number
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "compiler/check/checker.h"
#include "compiler/interp/interpreter.h"
#include "runtime/canonical/order_json.h"
#include "tests/check/check_helpers.h"
#include "tests/differential/differential.h"
#include "tests/differential/policy_generator.h"

namespace orderflow::testing {
namespace {

uint64_t env_number(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

struct Built {
  std::shared_ptr<const check::CheckedBundle> bundle;
  std::unique_ptr<interp::Interpreter> interpreter;
  CompiledEngines compiled;
  std::string problems;  // diagnostics, when the bundle does not check
};

Built build(const gen::Bundle& generated) {
  TempBundle dir;
  for (const auto& [name, content] : generated.files()) dir.write(name, content);
  check::CheckOutcome checked = dir.check();
  Built b;
  if (!checked.ok()) {
    b.problems = rendered(checked);
    return b;
  }
  b.bundle = std::shared_ptr<const check::CheckedBundle>(std::move(checked.bundle));
  b.interpreter = std::make_unique<interp::Interpreter>(b.bundle);
  b.compiled = CompiledEngines::of(b.bundle);
  return b;
}

// history() answers from a key's characters and the window, so that both
// engines read varied counts, rates and missing rates.
class HashedHistory final : public engine::HistorySource {
 public:
  engine::HistoryCounts counts(engine::HistoryKey kind, std::string_view key, int64_t from, int64_t to) const override {
    uint64_t h = std::hash<std::string_view>{}(key) ^ static_cast<uint64_t>(to - from) ^ static_cast<uint64_t>(kind);
    engine::HistoryCounts c;
    c.orders = static_cast<int64_t>(h % 5);
    c.delivered = c.orders ? static_cast<int64_t>((h >> 8) % (c.orders + 1)) : 0;
    c.rto = c.orders - c.delivered;
    c.returned = c.delivered ? static_cast<int64_t>((h >> 16) % (c.delivered + 1)) : 0;
    return c;
  }
};

// The first difference for this order, "" when the engines agree (or the
// order does not decode, which the generator never makes).
std::string mismatch(const Built& b, const std::string& order, const std::string& now, check::PolicyKind kind) {
  auto decoded = runtime::parse_order(*b.bundle, order);
  if (!std::holds_alternative<runtime::OrderImage>(decoded)) return "";
  engine::EvalInput input;
  input.order = std::get<runtime::OrderImage>(decoded).data();
  input.now = *model::parse_time(now);
  static const HashedHistory history;
  input.history = &history;
  return differences(*b.interpreter, b.compiled, kind, input);
}

struct Case {
  gen::Bundle bundle;
  std::string order;
  std::string now;
  check::PolicyKind kind;
  std::string difference;
};

// Makes the case smaller while the engines still disagree on it.
Case shrink(Case c) {
  constexpr int kMaxBuilds = 400;
  int builds = 0;
  bool smaller = true;
  while (smaller && builds < kMaxBuilds) {
    smaller = false;
    for (gen::Bundle& candidate : gen::simpler_bundles(c.bundle)) {
      if (++builds > kMaxBuilds) break;
      Built b = build(candidate);
      if (!b.bundle) continue;
      std::string diff = mismatch(b, c.order, c.now, c.kind);
      if (diff.empty()) continue;
      c.bundle = std::move(candidate);
      c.difference = diff;
      smaller = true;
      break;
    }
    if (smaller) continue;
    Built b = build(c.bundle);
    for (std::string& candidate : gen::simpler_orders(c.order)) {
      std::string diff = mismatch(b, candidate, c.now, c.kind);
      if (diff.empty()) continue;
      c.order = std::move(candidate);
      c.difference = diff;
      smaller = true;
      break;
    }
  }
  return c;
}

std::string reproducer(const Case& c, uint64_t seed, uint64_t bundle_number) {
  std::string out = "The JIT and the interpreter disagree (ORDERFLOW_PROPERTY_SEED=" + std::to_string(seed) +
                    " ORDERFLOW_PROPERTY_ONLY=" + std::to_string(bundle_number) + "), shrunk to:\n";
  for (const auto& [name, content] : c.bundle.files())
    if (name.rfind("data/", 0) != 0 || name == "data/nodes.csv" || name == "data/stock.csv")
      out += "--- " + name + "\n" + content;
  out += "--- order\n" + c.order + "\n--- now " + c.now + ", " + check::policy_kind_name(c.kind) + " policy\n";
  out += "--- " + c.difference + "\n";
  return out;
}

TEST(Property, TheJitAgreesWithTheInterpreterOnRandomBundlesAndOrders) {
  const uint64_t seed = env_number("ORDERFLOW_PROPERTY_SEED", 20261126);
  const uint64_t bundles = env_number("ORDERFLOW_PROPERTY_BUNDLES", 40);
  const uint64_t orders = env_number("ORDERFLOW_PROPERTY_ORDERS", 60);
  const uint64_t only = env_number("ORDERFLOW_PROPERTY_ONLY", UINT64_MAX);
  constexpr int kMaxReported = 3;
  int reported = 0;
  size_t evaluations = 0, rules = 0;
  auto start = std::chrono::steady_clock::now();
  for (uint64_t n = 0; n < bundles && reported < kMaxReported; ++n) {
    if (only != UINT64_MAX && n != only) continue;
    // Each bundle from a generator of its own, so one can be made again alone.
    gen::Rng rng(seed * 1'000'003 + n);
    gen::Bundle generated = gen::generate_bundle(rng);
    Built b = build(generated);
    ASSERT_TRUE(b.bundle) << "the generator made a bundle that does not check (a generator bug), bundle " << n << ":\n"
                          << b.problems << generated.files()["acceptance.flow"];
    rules += generated.acceptance.size() + generated.routing.size() + generated.escalation.size();
    for (check::PolicyKind kind : {check::PolicyKind::Acceptance, check::PolicyKind::Routing, check::PolicyKind::Escalation})
      ASSERT_TRUE(b.compiled.optimised->is_compiled(kind)) << b.compiled.optimised->status().warning;
    for (uint64_t i = 0; i < orders; ++i) {
      std::string order = gen::generate_order(rng, static_cast<int>(i));
      std::string now = gen::generate_now(rng);
      auto decoded = runtime::parse_order(*b.bundle, order);
      if (auto* e = std::get_if<runtime::DecodeError>(&decoded)) FAIL() << "the generator made a bad order: " << e->text() << "\n" << order;
      bool failed = false;
      for (check::PolicyKind kind : {check::PolicyKind::Acceptance, check::PolicyKind::Routing, check::PolicyKind::Escalation}) {
        std::string diff = mismatch(b, order, now, kind);
        ++evaluations;
        if (diff.empty()) continue;
        Case shrunk = shrink(Case{generated, order, now, kind, diff});
        ADD_FAILURE() << reproducer(shrunk, seed, n);
        failed = true;
        ++reported;
        break;
      }
      if (failed) break;
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "compared " << evaluations << " evaluations (each on two tiers, plain and explaining) of " << rules
            << " random rules in " << bundles << " bundles, seed " << seed << ", in " << seconds << " s\n";
}

}  // namespace
}  // namespace orderflow::testing
