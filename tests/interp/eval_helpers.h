#pragma once
// Evaluating inline policies on inline orders in tests. Every evaluation
// runs on the reference interpreter and on the JIT (its unoptimised
// baseline tier and its optimised tier, plain and explaining): a test
// states what the interpreter must answer, and the harness fails it when
// the compiled code answers anything else.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "compiler/interp/interpreter.h"
#include "runtime/canonical/order_json.h"
#include "tests/check/check_helpers.h"
#include "tests/differential/differential.h"

namespace orderflow::testing {

// A minimal valid order; `extra` is spliced in as more top-level fields
// (later keys win), so a test states only what matters to it.
inline std::string order_json(const std::string& extra = "") {
  std::string base = R"({"id":"T-1","channel":"web","placed_at":"2026-11-20T10:00:00Z",
    "total":{"amount":"1000.00","currency":"INR"},"payment":{"method":"prepaid"},"customer":{},
    "ship_to":{"postal_code":"560001","country":"IN"},
    "lines":[{"sku":"TEE","quantity":1,"unit_price":{"amount":"1000.00","currency":"INR"}}])";
  if (!extra.empty()) base += "," + extra;
  return base + "}";
}

struct Harness {
  std::shared_ptr<const check::CheckedBundle> bundle;
  std::unique_ptr<interp::Interpreter> interpreter;
  CompiledEngines compiled;

  static Harness of(check::CheckOutcome out) {
    Harness h;
    EXPECT_TRUE(out.ok()) << rendered(out);
    if (out.ok()) {
      h.bundle = std::shared_ptr<const check::CheckedBundle>(std::move(out.bundle));
      h.interpreter = std::make_unique<interp::Interpreter>(h.bundle);
      h.compiled = CompiledEngines::of(h.bundle);
    }
    return h;
  }
  static Harness of_text(const std::string& text) { return of(check_text(text)); }

  engine::Outcome run(check::PolicyKind kind, const std::string& json, const std::string& now = "2026-11-20T12:00:00Z",
                      engine::TraceDetail detail = engine::TraceDetail::Values) const {
    if (!bundle) {
      ADD_FAILURE() << "the bundle did not check";
      return {};
    }
    auto decoded = runtime::parse_order(*bundle, json);
    if (auto* e = std::get_if<runtime::DecodeError>(&decoded)) {
      ADD_FAILURE() << e->text();
      return {};
    }
    auto& image = std::get<runtime::OrderImage>(decoded);
    engine::EvalInput input;
    input.order = image.data();
    input.now = *model::parse_time(now);
    std::string diff = differences(*interpreter, compiled, kind, input);
    EXPECT_EQ(diff, "") << "the JIT disagrees with the interpreter on " << json;
    return interpreter->evaluate(kind, input, detail);
  }
  engine::Outcome accept(const std::string& json, const std::string& now = "2026-11-20T12:00:00Z") const {
    return run(check::PolicyKind::Acceptance, json, now);
  }
};

}  // namespace orderflow::testing
