// The audit's words for journal entries, as an auditor reads them next to
// `explain`: lines counted from 1, nothing printed as an empty version, a
// routing rule that found no node not listed as one that matched, and an
// escalation's priority shown.
#include <gtest/gtest.h>

#include "runtime/engine/history.h"

namespace orderflow::runtime {
namespace {

TEST(HistoryText, AnUnversionedDeploymentSaysSo) {
  journal::Received r;
  r.source = "run:orders.jsonl:1";
  r.channel = "web";
  r.external_id = "W-1";
  r.deployment = 3;
  EXPECT_EQ(describe_entry(r), "received from run:orders.jsonl:1 (web order W-1), decided by deployment 3 (version -)");
}

TEST(HistoryText, LinesAreCountedFromOneAsExplainCountsThem) {
  journal::StateChanged s;
  s.from = "allocated";
  s.to = "allocated";
  s.cause = "on pack";
  s.lines = {{{"allocated", 1}, {"packed", 1}}};
  EXPECT_EQ(describe_entry(s), "allocated -> allocated (on pack); line 1: 1 allocated, 1 packed");
  journal::EventApplied e;
  e.event = "ship";
  e.lines = {journal::LineRef{0, "", "", 1}};
  EXPECT_EQ(describe_entry(e), "event ship on line 1 x1");
}

// A decision of deployment 1, version 1.
journal::Decided decided(const char* policy, const char* decision, const char* rule) {
  journal::Decided d;
  d.policy = policy;
  d.version = "1";
  d.deployment = 1;
  d.decision = decision;
  d.rule = rule;
  return d;
}

TEST(HistoryText, ARoutingRuleThatFoundNoNodeDidNotMatch) {
  journal::Decided d = decided("routing", "route", "Any warehouse");
  d.matched = {"Nearest dark store", "Any warehouse"};
  d.shipments = {{"BLR-WH", {{0, "TEE", 1}}}};
  EXPECT_EQ(describe_entry(d),
            "routing policy: route by rule \"Any warehouse\"; deployment 1, version 1; "
            "tried without a route: Nearest dark store; ship TEE x1 from BLR-WH");
}

TEST(HistoryText, AHoldSaysWhenItRunsOut) {
  journal::Decided d = decided("acceptance", "hold", "Night COD");
  d.reason = "night_cod";
  d.hold_for = 27'000'000;  // 7h30m
  d.until = 1'764'725'400'000;
  d.on_timeout = "accept";
  EXPECT_EQ(describe_entry(d),
            "acceptance policy: hold \"night_cod\" for 7h30m (until 2025-12-03T01:30:00Z), then accept by rule "
            "\"Night COD\"; deployment 1, version 1");
}

TEST(HistoryText, AnEscalationShowsItsPriorityAndTags) {
  journal::Escalated e;
  e.rules = {"Late express"};
  e.notifications = {{"notify", "ops-oncall", "Late express", "high"}};
  e.priority = "urgent";
  e.tags = {"sla_risk"};
  EXPECT_EQ(describe_entry(e),
            "escalation rules Late express: notify ops-oncall (priority high); priority urgent; tagged sla_risk");
}

}  // namespace
}  // namespace orderflow::runtime
