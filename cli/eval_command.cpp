// orderflow eval --bundle DIR --orders FILE.jsonl [--now TIME] [--format json|text] [--engine interp|jit]
// (FILE may also be one order over several lines, or a JSON array of orders.)
// orderflow explain --bundle DIR --order FILE.json [--now TIME] [--engine interp|jit]
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "cli/support.h"
#include "runtime/canonical/order_json.h"

namespace orderflow::cli {

namespace {

struct EvalOptions {
  std::string bundle;
  std::string orders;
  std::string order;
  std::string now;
  std::string format = "json";
  std::string engine = "interp";
};

// Acceptance, then routing for an accepted order, then escalation.
struct Evaluated {
  engine::Outcome acceptance;
  std::optional<engine::Outcome> routing;
  engine::Outcome escalation;
};

Evaluated evaluate_order(const engine::PolicyEngine& e, const engine::EvalInput& input, engine::TraceDetail detail) {
  const check::CheckedBundle& b = e.bundle();
  Evaluated out;
  out.acceptance = e.evaluate(check::PolicyKind::Acceptance, input, detail);
  bool accepted = out.acceptance.verdict == engine::Verdict::Accept || !b.policy(check::PolicyKind::Acceptance);
  if (accepted && b.policy(check::PolicyKind::Routing))
    out.routing = e.evaluate(check::PolicyKind::Routing, input, detail);
  out.escalation = e.evaluate(check::PolicyKind::Escalation, input, detail);
  return out;
}

// "priority high, tag gift_wrap": what the rules noted besides the decision.
std::string annotations_text(const check::CheckedBundle& b, const engine::Outcome& o) {
  std::vector<std::string> parts;
  if (o.priority && b.priority_enum >= 0)
    parts.push_back("priority " + b.schema.enum_def(b.priority_enum).values.at(*o.priority));
  for (const auto& t : o.tags) parts.push_back("tag " + t);
  for (const auto& n : o.notifications) parts.push_back((n.escalation ? "escalate to " : "notify ") + n.who);
  return fmt::format("{}", fmt::join(parts, ", "));
}

int run_eval(const EvalOptions& o) {
  auto bundle = load_bundle(o.bundle);
  if (!bundle) return 1;
  auto now = parse_now(o.now);
  if (!now) {
    std::cerr << "orderflow eval: --now must be an ISO 8601 time such as 2026-11-20T10:00:00Z\n";
    return 2;
  }
  auto engine = make_engine(bundle, o.engine);
  // `--orders -` reads standard input, so that orders can be piped in.
  std::ifstream file;
  if (o.orders != "-") {
    file.open(o.orders);
    if (!file) {
      std::cerr << fmt::format("orderflow eval: cannot read '{}'\n", o.orders);
      return 2;
    }
  }
  std::istream& in = o.orders == "-" ? std::cin : file;
  const std::string shown = o.orders == "-" ? "standard input" : o.orders;
  // One order a line; or, as an analyst often has it at hand, one order
  // written over several lines (orders/x.json), or a JSON array of orders.
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::pair<size_t, std::string>> orders;  // the line each starts on (in an array: its place), and its JSON
  bool in_array = false;
  nlohmann::json whole = nlohmann::json::parse(text, nullptr, false);
  if (whole.is_object()) {
    orders.emplace_back(1, text);
  } else if (whole.is_array() && !whole.empty() && whole[0].is_object()) {
    in_array = true;
    for (const auto& each : whole) orders.emplace_back(orders.size() + 1, each.dump());
  } else {
    std::istringstream lines(text);
    std::string line;
    for (size_t number = 1; std::getline(lines, line); ++number)
      if (line.find_first_not_of(" \t\r") != std::string::npos) orders.emplace_back(number, line);
  }
  size_t bad = 0, evaluated = 0;
  for (const auto& [line_number, line] : orders) {
    runtime::DecodeResult decoded = runtime::parse_order(*bundle, line);
    if (auto* err = std::get_if<runtime::DecodeError>(&decoded)) {
      ++bad;
      std::cerr << fmt::format("{}:{}{}: {}\n", shown, in_array ? "order " : "", line_number, err->text());
      if (o.format == "json")
        std::cout << json_text(nlohmann::ordered_json{{in_array ? "index" : "line", line_number}, {"error", err->text()}})
                  << "\n";
      else
        std::cout << fmt::format("{} {}: not evaluated: {}\n", in_array ? "order" : "line", line_number, err->text());
      continue;
    }
    runtime::OrderImage& order = std::get<runtime::OrderImage>(decoded);
    engine::EvalInput input;
    input.order = order.data();
    input.now = *now;
    Evaluated r = evaluate_order(*engine, input, engine::TraceDetail::Rules);
    ++evaluated;
    if (o.format == "json") {
      nlohmann::ordered_json j = engine::outcome_to_json(*bundle, r.acceptance, order.data());
      if (r.routing) {
        nlohmann::ordered_json route = engine::outcome_to_json(*bundle, *r.routing, order.data());
        route.erase("order");
        route.erase("bundle");
        j["routing"] = route;
      }
      if (!r.escalation.notifications.empty() || !r.escalation.tags.empty()) {
        nlohmann::ordered_json esc = engine::outcome_to_json(*bundle, r.escalation, order.data());
        nlohmann::ordered_json keep;
        for (const char* k : {"notifications", "tags", "error"})
          if (esc.contains(k)) keep[k] = esc[k];
        j["escalation"] = keep;
      }
      std::cout << json_text(j) << "\n";
    } else {
      std::string id = runtime::order_id(*bundle, order.data());
      std::cout << fmt::format("{:<18} {}\n", id, engine::summary(*bundle, r.acceptance));
      std::string notes = annotations_text(*bundle, r.acceptance);
      if (!notes.empty()) std::cout << fmt::format("{:<18}   {}\n", "", notes);
      if (r.routing) std::cout << fmt::format("{:<18}   routing: {}\n", "", engine::summary(*bundle, *r.routing));
      for (const auto& n : r.escalation.notifications)
        std::cout << fmt::format("{:<18}   {} {} (rule \"{}\")\n", "", n.escalation ? "escalate to" : "notify", n.who,
                                 n.rule);
    }
  }
  std::cerr << fmt::format("{} order{} evaluated with the {}{}\n", evaluated, evaluated == 1 ? "" : "s",
                           engine->name(), bad ? fmt::format(", {} not valid", bad) : "");
  return bad ? 1 : 0;
}

int run_explain(const EvalOptions& o) {
  auto bundle = load_bundle(o.bundle);
  if (!bundle) return 1;
  auto now = parse_now(o.now);
  if (!now) {
    std::cerr << "orderflow explain: --now must be an ISO 8601 time such as 2026-11-20T10:00:00Z\n";
    return 2;
  }
  std::stringstream ss;
  if (o.order == "-") {
    ss << std::cin.rdbuf();
  } else {
    std::ifstream in(o.order);
    if (!in) {
      std::cerr << fmt::format("orderflow explain: cannot read '{}'\n", o.order);
      return 2;
    }
    ss << in.rdbuf();
  }
  runtime::DecodeResult decoded = runtime::parse_order(*bundle, ss.str());
  if (auto* err = std::get_if<runtime::DecodeError>(&decoded)) {
    std::cerr << fmt::format("{}: {}\n", o.order, err->text());
    return 1;
  }
  runtime::OrderImage& order = std::get<runtime::OrderImage>(decoded);
  auto engine = make_engine(bundle, o.engine);
  engine::EvalInput input;
  input.order = order.data();
  input.now = *now;
  Evaluated r = evaluate_order(*engine, input, engine::TraceDetail::Values);
  std::cout << fmt::format("Order {} at {} ({})\n\n", runtime::order_id(*bundle, order.data()),
                           model::format_time(*now), engine->name());
  std::cout << engine::explain_text(*bundle, r.acceptance, order.data());
  if (r.routing) std::cout << "\n" << engine::explain_text(*bundle, *r.routing, order.data());
  if (bundle->policy(check::PolicyKind::Escalation)) std::cout << "\n" << engine::explain_text(*bundle, r.escalation, order.data());
  return 0;
}

void add_common(CLI::App* cmd, EvalOptions& o) {
  cmd->add_option("--bundle", o.bundle, "The policy bundle's folder")->required();
  cmd->add_option("--now", o.now, "Evaluate as if it were this time (ISO 8601); default: now");
  cmd->add_option("--engine", o.engine, "interp (the reference interpreter) or jit")
      ->check(CLI::IsMember({"interp", "jit"}));
}

}  // namespace

void add_eval_commands(CLI::App& app, Command& run) {
  auto eval = std::make_shared<EvalOptions>();
  CLI::App* e = app.add_subcommand("eval", "Evaluate orders (one canonical JSON order a line); print one JSON line each");
  add_common(e, *eval);
  e->add_option("--orders", eval->orders, "Orders: one canonical JSON object a line, one order over several lines, or a JSON array (- for standard input)")->required();
  e->add_option("--format", eval->format, "json (one object a line) or text")->check(CLI::IsMember({"json", "text"}));
  e->callback([eval, &run] { run = [eval] { return run_eval(*eval); }; });

  auto explain = std::make_shared<EvalOptions>();
  CLI::App* x = app.add_subcommand("explain", "Show how the policies decide one order, rule by rule");
  add_common(x, *explain);
  x->add_option("--order", explain->order, "One order in canonical JSON (- for standard input)")->required();
  x->callback([explain, &run] { run = [explain] { return run_explain(*explain); }; });
}

}  // namespace orderflow::cli
