// The policies about returns, returned units and failed deliveries through
// both engines: the owner's section 3 examples (tests/lang/tour-2) over
// every return, grade and failed delivery a story could bring, at moments
// inside and outside the return window. The JIT must agree with the
// interpreter fact for fact, and each path of the policies must be taken.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "compiler/check/checker.h"
#include "compiler/interp/interpreter.h"
#include "runtime/canonical/order_json.h"
#include "tests/differential/differential.h"

namespace orderflow::testing {
namespace {

namespace fs = std::filesystem;

struct Tour {
  std::shared_ptr<const check::CheckedBundle> bundle;
  std::unique_ptr<interp::Interpreter> interpreter;
  CompiledEngines compiled;
  runtime::OrderImage order;
};

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Tour& tour() {
  static Tour* t = [] {
    fs::path dir = fs::path(ORDERFLOW_SOURCE_DIR) / "tests/lang/tour-2";
    check::CheckOutcome checked = check::check_bundle({dir.string()});
    if (!checked.ok()) throw std::runtime_error("tests/lang/tour-2 does not check");
    std::shared_ptr<const check::CheckedBundle> bundle(std::move(checked.bundle));
    // The order delivered, so that the return window has a start.
    nlohmann::json order = nlohmann::json::parse(read(dir / "orders/amazon-express.json"));
    order["delivered_at"] = "2026-12-03T06:30:00Z";
    order["lines"].push_back({{"id", "2"},
                              {"sku", "SAREE-RED"},
                              {"quantity", 2},
                              {"unit_price", {{"amount", "149.50"}, {"currency", "INR"}}},
                              {"tags", {"final_sale"}}});
    auto decoded = runtime::decode_order(*bundle, order);
    auto* image = std::get_if<runtime::OrderImage>(&decoded);
    if (!image) throw std::runtime_error("the test order does not decode: " + std::get<runtime::DecodeError>(decoded).text());
    auto* interpreter = new interp::Interpreter(bundle);
    CompiledEngines compiled = CompiledEngines::of(bundle);
    return new Tour{bundle, std::unique_ptr<interp::Interpreter>(interpreter), std::move(compiled), std::move(*image)};
  }();
  return *t;
}

std::byte* subject(const check::CheckedBundle& b, int record, const nlohmann::json& json, model::Arena& arena) {
  auto decoded = runtime::decode_record(b, record, json, arena);
  if (auto* e = std::get_if<runtime::DecodeError>(&decoded)) throw std::runtime_error(e->text());
  return std::get<std::byte*>(decoded);
}

// Compares every moment; returns the deciding rules seen.
std::set<std::string> compare_all(check::PolicyKind kind, const std::byte* image, const std::string& what) {
  Tour& t = tour();
  std::set<std::string> decided_by;
  for (const char* now : {"2026-12-05T03:30:00Z", "2027-01-20T00:00:00Z"}) {
    engine::EvalInput input;
    input.order = t.order.data();
    input.subject = image;
    input.now = *model::parse_time(now);
    EXPECT_EQ(differences(*t.interpreter, t.compiled, kind, input), "")
        << what << " at " << now << ", " << check::policy_kind_name(kind) << " policy";
    engine::Outcome out = t.interpreter->evaluate(kind, input, engine::TraceDetail::Rules);
    EXPECT_TRUE(out.decided()) << what;
    decided_by.insert(std::string(out.deciding_rule_name));
  }
  return decided_by;
}

TEST(ReturnPolicies, EveryReturnIsDecidedAlikeByBothEngines) {
  Tour& t = tour();
  model::Arena arena;
  std::set<std::string> rules;
  for (const char* reason : {"size", "defective"}) {
    for (auto [line, value] : {std::pair{"1", "1299.00"}, {"2", "149.50"}}) {
      nlohmann::json lines = nlohmann::json::array();
      lines.push_back({{"id", line},
                       {"sku", std::string(line) == "1" ? "KURTA-M" : "SAREE-RED"},
                       {"quantity", 1},
                       {"unit_price", {{"amount", value}, {"currency", "INR"}}},
                       {"tags", std::string(line) == "2" ? nlohmann::json{"final_sale"} : nlohmann::json::array()}});
      for (const char* worth : {value, "250.00"}) {
        nlohmann::json r = {{"id", "R1"},
                            {"reason", reason},
                            {"lines", lines},
                            {"value", {{"amount", worth}, {"currency", "INR"}}},
                            {"requested_at", "2026-12-05T03:30:00Z"}};
        for (const std::string& rule :
             compare_all(check::PolicyKind::Returns, subject(*t.bundle, t.bundle->return_record, r, arena), r.dump()))
          rules.insert(rule);
      }
    }
  }
  EXPECT_EQ(rules, (std::set<std::string>{"Final sale", "Window closed", "Cheaper to let them keep it", "otherwise"}));
}

TEST(ReturnPolicies, EveryGradedUnitIsDisposedOfAlikeByBothEngines) {
  Tour& t = tour();
  model::Arena arena;
  std::set<std::string> rules;
  for (const char* grade : {"A", "B", "C", "D", "not_received", "wrong_item"}) {
    for (const char* reason : {"size", "defective", "damaged_in_transit"}) {
      nlohmann::json u = {{"return_id", "R1"},  {"line_id", "1"},     {"sku", "KURTA-M"},
                          {"grade", grade},     {"reason", reason},
                          {"price", {{"amount", "1299.00"}, {"currency", "INR"}}}};
      for (const std::string& rule :
           compare_all(check::PolicyKind::Disposition, subject(*t.bundle, t.bundle->unit_record, u, arena), u.dump()))
        rules.insert(rule);
    }
  }
  EXPECT_EQ(rules, (std::set<std::string>{"As new", "Opened, fine", "Faulty from the maker", "Damaged by the buyer",
                                          "otherwise"}));
}

TEST(ReturnPolicies, TheDispositionsWordsReachTheOutcome) {
  Tour& t = tour();
  model::Arena arena;
  auto decide = [&](const char* grade, const char* reason) {
    nlohmann::json u = {{"return_id", "R1"}, {"sku", "KURTA-M"}, {"grade", grade}, {"reason", reason},
                        {"price", {{"amount", "1299.00"}, {"currency", "INR"}}}};
    engine::EvalInput input;
    input.order = t.order.data();
    input.subject = subject(*t.bundle, t.bundle->unit_record, u, arena);
    input.now = *model::parse_time("2026-12-05T03:30:00Z");
    return t.compiled.optimised->evaluate(check::PolicyKind::Disposition, input, engine::TraceDetail::Rules);
  };
  engine::Outcome refurbished = decide("B", "size");
  EXPECT_EQ(refurbished.verdict, engine::Verdict::Restock);
  EXPECT_EQ(refurbished.restock_node, "BLR-WH1");
  engine::Outcome damaged = decide("D", "size");
  EXPECT_EQ(damaged.verdict, engine::Verdict::WriteOff);
  ASSERT_EQ(damaged.refund_terms.size(), 1u);
  EXPECT_EQ(damaged.refund_terms[0].kind, engine::RefundTerm::Kind::ShareFee);
  EXPECT_EQ(damaged.refund_terms[0].label, "restocking");
  EXPECT_EQ(damaged.refund_terms[0].value, 150'000);  // 15%
  engine::Outcome faulty = decide("C", "defective");
  EXPECT_EQ(faulty.verdict, engine::Verdict::ReturnToVendor);
  ASSERT_EQ(faulty.refund_terms.size(), 1u);
  EXPECT_EQ(faulty.refund_terms[0].kind, engine::RefundTerm::Kind::RefundShipping);
}

TEST(ReturnPolicies, EveryFailedDeliveryIsDecidedAlikeByBothEngines) {
  Tour& t = tour();
  model::Arena arena;
  std::set<std::string> rules;
  for (int attempt = 1; attempt <= 4; ++attempt) {
    for (const char* reason : {"customer_unavailable", "refused", "address_issue"}) {
      nlohmann::json n = {{"attempt", attempt}, {"reason", reason}, {"at", "2026-12-04T12:00:00Z"}};
      for (const std::string& rule :
           compare_all(check::PolicyKind::Ndr, subject(*t.bundle, t.bundle->ndr_record, n, arena), n.dump()))
        rules.insert(rule);
    }
  }
  // The test order is prepaid: nobody refuses it at the door as COD.
  EXPECT_EQ(rules, (std::set<std::string>{"Not at home: try again", "otherwise"}));
}

TEST(ReturnPolicies, APolicyAboutAReturnDecidesNothingWithoutOne) {
  Tour& t = tour();
  engine::EvalInput input;
  input.order = t.order.data();
  input.now = *model::parse_time("2026-12-05T03:30:00Z");
  for (check::PolicyKind kind : {check::PolicyKind::Returns, check::PolicyKind::Disposition, check::PolicyKind::Ndr}) {
    EXPECT_FALSE(t.interpreter->evaluate(kind, input, engine::TraceDetail::Rules).decided());
    EXPECT_FALSE(t.compiled.optimised->evaluate(kind, input, engine::TraceDetail::Rules).decided());
  }
}

}  // namespace
}  // namespace orderflow::testing
