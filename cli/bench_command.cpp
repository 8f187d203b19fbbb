// orderflow bench --orders F --nodes F --params F --out F.tsv --reps 5 --warmup 1 [--engine jit|interp]
//
// The rules benchmark of ../shared/bench (README.md has the contract): the
// rule set is examples/bench, in our own language. Reading the files,
// converting orders and compiling are untimed; then acceptance and routing
// are timed over every order, each several times.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/support.h"
#include "compiler/check/checker.h"
#include "compiler/jit/jit_engine.h"
#include <llvm/Config/llvm-config.h>
#include "runtime/canonical/order_json.h"

namespace orderflow::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct BenchOptions {
  std::string orders, nodes, params, out;
  int reps = 5;
  int warmup = 1;
  std::string engine = "jit";
  std::string bundle = std::string(ORDERFLOW_SOURCE_DIR) + "/examples/bench";
  std::string only;  // "acceptance" or "routing": time one half (for profiling)
  std::string trace = "rules";  // "off": the JIT records no rules, to measure what recording costs
};

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  return nlohmann::json::parse(in);
}

// The benchmark's data as the bundle's data files. Numbers are written in
// nlohmann's shortest round-trip form, so they parse to the very doubles the
// baseline reads.
void write_data(const fs::path& dir, const nlohmann::json& params, const nlohmann::json& nodes) {
  fs::create_directories(dir);
  auto list = [&](const char* file, const nlohmann::json& values) {
    std::ofstream out(dir / file);
    for (const auto& v : values) out << v.get<std::string>() << "\n";
  };
  list("blocked_postal_codes.csv", params.at("blocked_postal_codes"));
  list("express_blocked_prefixes.csv", params.at("express_blocked_prefixes"));
  list("served_countries.csv", params.at("served_countries"));
  std::ofstream centroids(dir / "centroids.csv");
  centroids << "prefix,lat,lon,lon_scale\n";
  for (auto it = nodes.at("centroids").begin(); it != nodes.at("centroids").end(); ++it)
    centroids << it.key() << "," << it.value()[0].dump() << "," << it.value()[1].dump() << "," << it.value()[2].dump()
              << "\n";
  std::ofstream node_file(dir / "nodes.csv");
  std::ofstream stock(dir / "stock.csv");
  node_file << "id,lat,lon,cost_per_order,max_units\n";
  stock << "node,sku,on_hand\n";
  for (const auto& n : nodes.at("nodes")) {
    std::string id = n.at("id").get<std::string>();
    node_file << id << "," << n.at("lat").dump() << "," << n.at("lon").dump() << "," << n.at("cost_per_order").dump()
              << "," << n.at("capacity").dump() << "\n";
    for (auto s = n.at("stock").begin(); s != n.at("stock").end(); ++s)
      stock << id << "," << s.key() << "," << s.value().dump() << "\n";
  }
}

// A benchmark order as a canonical order (runtime/canonical/README.md).
nlohmann::json canonical(const nlohmann::json& o) {
  std::string currency = o.at("currency").get<std::string>();
  auto money = [&](const nlohmann::json& amount) { return nlohmann::json{{"amount", amount.dump()}, {"currency", currency}}; };
  nlohmann::json lines = nlohmann::json::array();
  for (const auto& l : o.at("lines"))
    lines.push_back({{"sku", l.at("sku")}, {"quantity", l.at("qty")}, {"unit_price", money(l.at("unit_price"))}});
  return {
      {"id", o.at("id")},
      {"channel", o.at("channel")},
      {"placed_at", o.at("created_at")},
      {"total", money(o.at("total"))},
      {"payment", {{"method", o.at("payment")}}},
      {"delivery", o.at("delivery")},
      {"customer", {{"is_new", o.at("customer").at("new_customer")}, {"rto_count", o.at("customer").at("prior_rto_count")}}},
      {"ship_to", {{"postal_code", o.at("postal_code")}, {"country", o.at("country")}}},
      {"lines", lines},
  };
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// What the timed loops keep of each outcome: enough to name it afterwards.
struct Kept {
  engine::Verdict verdict = engine::Verdict::None;
  std::string_view reason;
  int64_t priority = -1;
  std::string_view node;
};

int run_bench(const BenchOptions& o) {
  nlohmann::json params = read_json(o.params);
  nlohmann::json nodes = read_json(o.nodes);

  // The bundle with this run's data.
  fs::path work = fs::temp_directory_path() / fmt::format("orderflow-bench-{}", ::getpid());
  fs::create_directories(work);
  for (const auto& entry : fs::directory_iterator(o.bundle))
    if (entry.path().extension() == ".flow") fs::copy_file(entry.path(), work / entry.path().filename());
  write_data(work / "data", params, nodes);

  auto compile_start = Clock::now();
  check::CheckOutcome checked = check::check_bundle({work.string()});
  double check_ms = std::chrono::duration<double, std::milli>(Clock::now() - compile_start).count();
  if (!checked.ok()) {
    std::cerr << render_text(checked.diagnostics, *checked.sources);
    fs::remove_all(work);
    return 1;
  }
  std::shared_ptr<const check::CheckedBundle> bundle(std::move(checked.bundle));
  std::unique_ptr<engine::PolicyEngine> engine;
  std::string engine_note = "reference interpreter";
  std::string tier_notes;
  if (o.engine == "jit") {
    jit::JitOptions options;
    options.wait = jit::JitOptions::Wait::Optimised;
    options.record_rules = o.trace == "rules";
    if (const char* dir = std::getenv("ORDERFLOW_JIT_CACHE")) options.cache_dir = dir;
    auto jit = jit::JitEngine::create(bundle, options);
    jit::JitStatus status = jit->status();
    if (!status.warning.empty()) std::cerr << "orderflow bench: warning: " << status.warning << "\n";
    engine_note = fmt::format("LLVM {} ORC JIT, {} IR instructions, trace {}", LLVM_VERSION_MAJOR,
                              status.ir_instructions, o.trace);
    tier_notes = fmt::format(
        "note jit_baseline_ms {:.1f} (after checking: lowered and compiled unoptimised, native code serves)\n"
        "note jit_optimised_ms {:.1f} (after checking: the optimised tier replaces the baseline)\n",
        status.baseline_ms, status.optimised_ms);
    engine = std::move(jit);
  } else {
    engine = make_engine(bundle, "interp");
  }
  double compile_ms = std::chrono::duration<double, std::milli>(Clock::now() - compile_start).count();
  fs::remove_all(work);

  // Orders, converted untimed, side by side in one arena as the baseline
  // keeps its structs in one vector.
  model::Arena arena;
  std::vector<const std::byte*> orders;
  std::vector<std::string> ids;
  {
    std::ifstream in(o.orders);
    if (!in) throw std::runtime_error("cannot read " + o.orders);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      nlohmann::json j = nlohmann::json::parse(line);
      auto decoded = runtime::decode_record(*bundle, bundle->order_record, canonical(j), arena);
      if (auto* e = std::get_if<runtime::DecodeError>(&decoded)) {
        std::cerr << "orderflow bench: order " << j.at("id") << ": " << e->text() << "\n";
        return 1;
      }
      ids.push_back(j.at("id").get<std::string>());
      orders.push_back(std::get<std::byte*>(decoded));
    }
  }
  const size_t n = orders.size();
  std::vector<Kept> accepted(n), routed(n);
  engine::Outcome outcome;
  auto pass = [&](check::PolicyKind kind, std::vector<Kept>& kept) {
    engine::EvalInput input;
    auto t0 = Clock::now();
    for (size_t i = 0; i < n; ++i) {
      input.order = orders[i];
      engine->evaluate_into(kind, input, engine::TraceDetail::Rules, outcome);
      Kept& k = kept[i];
      k.verdict = outcome.verdict;
      k.reason = outcome.reason;
      k.priority = outcome.priority.value_or(-1);
      k.node = outcome.shipments.empty() ? std::string_view() : outcome.shipments[0].node_id;
    }
    return std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / static_cast<double>(n);
  };
  std::vector<double> accept_runs, route_runs;
  bool acceptance = o.only != "routing", routing = o.only != "acceptance";
  for (int r = 0; acceptance && r < o.warmup; ++r) pass(check::PolicyKind::Acceptance, accepted);
  for (int r = 0; r < (acceptance ? o.reps : 1); ++r) accept_runs.push_back(pass(check::PolicyKind::Acceptance, accepted));
  for (int r = 0; routing && r < o.warmup; ++r) pass(check::PolicyKind::Routing, routed);
  for (int r = 0; r < (routing ? o.reps : 1); ++r) route_runs.push_back(pass(check::PolicyKind::Routing, routed));

  // Names in the benchmark's vocabulary (untimed).
  const auto& priorities = bundle->schema.enum_def(bundle->priority_enum).values;
  auto decision_name = [&](const Kept& k) -> std::string {
    if (k.verdict == engine::Verdict::Accept) {
      std::string p = k.priority >= 0 ? priorities.at(k.priority) : "normal";
      return std::string("accept:") + (p == "urgent" ? "p1" : p == "high" ? "p2" : "p3");
    }
    return fmt::format("{}:{}", engine::verdict_name(k.verdict), k.reason);
  };
  auto route_name = [&](const Kept& k) -> std::string {
    if (k.verdict == engine::Verdict::Route) return std::string(k.node);
    if (k.verdict == engine::Verdict::Backorder) return "backorder";
    if (k.verdict == engine::Verdict::Hold && k.reason == "split") return "split";
    return fmt::format("{}:{}", engine::verdict_name(k.verdict), k.reason);
  };
  static const char* kDecisionOrder[] = {
      "reject:blocked_postal", "reject:qty_limit", "reject:unserved_country", "reject:currency_mismatch",
      "reject:express_unserviceable", "hold:fraud_review", "hold:rto_risk", "hold:cod_review", "hold:bulk_review",
      "hold:same_day_cutoff", "accept:p1", "accept:p2", "accept:p3"};
  std::map<std::string, long> decisions, routes;
  std::vector<std::string> decision_text(n), route_text(n);
  for (size_t i = 0; i < n; ++i) {
    decision_text[i] = decision_name(accepted[i]);
    route_text[i] = route_name(routed[i]);
    decisions[decision_text[i]]++;
    routes[route_text[i]]++;
  }
  if (!o.out.empty()) {
    std::ofstream out(o.out);
    for (size_t i = 0; i < n; ++i) out << ids[i] << '\t' << decision_text[i] << '\t' << route_text[i] << '\n';
  }
  std::cout << "impl orderflow-" << o.engine << "\n";
  std::cout << fmt::format("runtime orderflow {} ({}), g++ {} -O2\n", ORDERFLOW_VERSION, engine_note, __VERSION__);
  std::cout << "orders " << n << "\n";
  for (const char* d : kDecisionOrder)
    if (decisions.count(d)) std::cout << "decision " << d << " " << decisions[d] << "\n";
  for (const auto& [d, count] : decisions)
    if (std::find(std::begin(kDecisionOrder), std::end(kDecisionOrder), d) == std::end(kDecisionOrder))
      std::cout << "decision " << d << " " << count << "\n";
  for (const auto& node : nodes.at("nodes")) {
    std::string id = node.at("id").get<std::string>();
    if (routes.count(id)) std::cout << "route " << id << " " << routes[id] << "\n";
  }
  for (const char* r : {"split", "backorder"})
    if (routes.count(r)) std::cout << "route " << r << " " << routes[r] << "\n";
  std::cout << fmt::format("accept_ns {:.2f}\n", median(accept_runs));
  std::cout << "accept_ns_runs";
  for (double v : accept_runs) std::cout << fmt::format(" {:.2f}", v);
  std::cout << fmt::format("\nroute_ns {:.2f}\n", median(route_runs));
  std::cout << "route_ns_runs";
  for (double v : route_runs) std::cout << fmt::format(" {:.2f}", v);
  std::cout << "\n";
  std::cout << fmt::format("note compile_ms {:.1f}\n", compile_ms);
  std::cout << fmt::format("note check_ms {:.1f}\n", check_ms);
  std::cout << tier_notes;
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, Command& run) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Run the rules benchmark of ../shared/bench on the bench bundle");
  cmd->add_option("--orders", o->orders, "orders.jsonl from gen_orders.py")->required();
  cmd->add_option("--nodes", o->nodes, "nodes.json from gen_orders.py")->required();
  cmd->add_option("--params", o->params, "params.json from gen_orders.py")->required();
  cmd->add_option("--out", o->out, "Where to write id<TAB>decision<TAB>route for every order");
  cmd->add_option("--reps", o->reps, "Timed passes");
  cmd->add_option("--warmup", o->warmup, "Untimed passes first");
  cmd->add_option("--engine", o->engine, "jit or interp")->check(CLI::IsMember({"jit", "interp"}));
  cmd->add_option("--bundle", o->bundle, "The benchmark's rule set in orderflow's language");
  cmd->add_option("--only", o->only, "Time only acceptance or only routing (one pass of the other), for profiling")
      ->check(CLI::IsMember({"acceptance", "routing"}));
  cmd->add_option("--trace", o->trace,
                  "rules (default: record which rules matched, as in production) or off (the decision only)")
      ->check(CLI::IsMember({"rules", "off"}));
  cmd->callback([o, &run] { run = [o] { return run_bench(*o); }; });
}

}  // namespace orderflow::cli
