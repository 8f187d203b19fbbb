// The order engine on the example bundle: lifecycle, holds and their
// timers, escalation deadlines, idempotent intake, refusals, restarts,
// line-level states, projections, deployments. Every case runs on both
// engines.
#include <fmt/format.h>
#include <gmock/gmock.h>

#include <fstream>

#include "runtime/engine/explain.h"
#include "runtime/engine/lifecycle.h"
#include "runtime/store/projection.h"
#include "tests/runtime/engine_fixture.h"

namespace orderflow::runtime::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const Entry* last_of(const std::vector<Entry>& journal, const std::string& kind) {
  const Entry* found = nullptr;
  for (const auto& e : journal)
    if (e.kind == kind) found = &e;
  return found;
}

int count_of(const std::vector<Entry>& journal, const std::string& kind, const std::string& timer_kind = "") {
  int n = 0;
  for (const auto& e : journal)
    if (e.kind == kind && (timer_kind.empty() || e.body.value("kind", "") == timer_kind)) ++n;
  return n;
}

TEST_P(EngineTest, AcceptedOrderIsRoutedAndEveryStepJournalled) {
  Ack ack = submit(example_order("amazon-express-prepaid.json"), "2026-11-20T04:00:00Z");
  EXPECT_EQ(ack.status, Ack::Status::Stored);
  EXPECT_EQ(ack.state, "allocated");
  EXPECT_THAT(kinds("AMZ-407-1184403"),
              ::testing::IsSupersetOf({"received", "state", "decision"}));
  auto journal = history("AMZ-407-1184403");
  ASSERT_GE(journal.size(), 7u);
  EXPECT_EQ(journal[0].kind, "received");
  EXPECT_EQ(journal[1].body["to"], "new");
  EXPECT_EQ(journal[2].kind, "decision");
  EXPECT_EQ(journal[2].body["policy"], "acceptance");
  EXPECT_EQ(journal[2].body["decision"], "accept");
  EXPECT_EQ(journal[2].body["rule"], "otherwise");
  EXPECT_EQ(journal[2].body["version"], "2026.11-3");
  EXPECT_EQ(journal[2].body["deployment"], 1);
  EXPECT_EQ(journal[3].body["to"], "accepted");
  EXPECT_EQ(journal[4].body["policy"], "routing");
  EXPECT_EQ(journal[4].body["shipments"][0]["node"], "BLR-DS2");
  EXPECT_EQ(journal[5].kind, "allocation");
  EXPECT_EQ(journal[5].body["reserved"][0]["node"], "BLR-DS2");
  EXPECT_EQ(journal[5].body["reserved"][0]["quantity"], 2);
  EXPECT_EQ(journal[6].body["to"], "allocated");
  StoredOrder o = order("AMZ-407-1184403");
  EXPECT_EQ(o.state, "allocated");
  EXPECT_EQ(o.priority, "high");
  EXPECT_EQ(o.deployment, 1);
}

TEST_P(EngineTest, HoldTimesOutOnceAtItsDeadline) {
  Ack ack = submit(example_order("flipkart-cod-high-value.json"), "2026-11-20T05:10:00Z");
  EXPECT_EQ(ack.state, "held");
  EXPECT_EQ(order("FK-OD33120099812").hold->reason, "cod_confirmation");
  advance_to("2026-11-21T05:09:59Z");
  EXPECT_EQ(order("FK-OD33120099812").state, "held");
  advance_to("2026-11-21T05:10:00Z");
  EXPECT_EQ(order("FK-OD33120099812").state, "cancelled");
  EXPECT_TRUE(advance_to("2026-11-25T00:00:00Z").empty());
  auto journal = history("FK-OD33120099812");
  EXPECT_EQ(count_of(journal, "timer_fired", "hold_timeout"), 1);
  const Entry* event = last_of(journal, "event");
  ASSERT_NE(event, nullptr);
  EXPECT_EQ(event->body["event"], "timeout");
  EXPECT_EQ(event->at, at("2026-11-21T05:10:00Z"));
  EXPECT_TRUE(order("FK-OD33120099812").timers.empty()) << "a cancelled order keeps no timers";
}

TEST_P(EngineTest, HoldThatTimesOutIntoAcceptanceIsRouted) {
  submit(example_order("web-new-customer-big-basket.json"), "2026-11-20T06:00:00Z");
  EXPECT_EQ(order("WEB-88120").state, "held");
  advance_to("2026-11-20T10:00:00Z");
  EXPECT_EQ(order("WEB-88120").state, "allocated");
}

TEST_P(EngineTest, EventTheStateDoesNotTakeIsRefusedAndChangesNothing) {
  submit(example_order("shopify-cod-repeat-rto.json"), "2026-11-20T06:00:00Z");
  StoredOrder before = order("SHP-1002");
  Ack ship = event("SHP-1002", "ship", "2026-11-20T07:00:00Z");
  EXPECT_EQ(ship.status, Ack::Status::Refused);
  EXPECT_THAT(ship.message, HasSubstr("is held, which does not take the event 'ship' (it takes release, "
                                      "cod_confirmed, timeout, cancel)"));
  StoredOrder after = order("SHP-1002");
  EXPECT_EQ(after.state, "held");
  EXPECT_EQ(after.lines, before.lines);
  EXPECT_EQ(after.state_entry, before.state_entry);
  EXPECT_EQ(kinds("SHP-1002").back(), "refused");

  Ack release = event("SHP-1002", "release", "2026-11-20T08:00:00Z", {{"by", "priya@ops"}});
  EXPECT_EQ(release.status, Ack::Status::Stored);
  EXPECT_EQ(release.state, "allocated");
  EXPECT_EQ(event("SHP-1002", "release", "2026-11-20T08:01:00Z").status, Ack::Status::Refused);
  EXPECT_EQ(event("SHP-1002", "teleport", "2026-11-20T08:02:00Z").message.substr(0, 24), "unknown event 'teleport'");
}

TEST_P(EngineTest, RedeliveriesAreStoredOnce) {
  nlohmann::json o = example_order("amazon-express-prepaid.json");
  EXPECT_EQ(submit(o, "2026-11-20T04:00:00Z").status, Ack::Status::Stored);
  Ack again = submit(o, "2026-11-20T04:00:05Z");
  EXPECT_EQ(again.status, Ack::Status::Duplicate);
  EXPECT_EQ(again.state, "allocated");
  nlohmann::json pack = {{"event_id", "amzn-evt-1"}, {"lines", {{{"line", 0}, {"quantity", 1}}}}};
  EXPECT_EQ(event("AMZ-407-1184403", "pack", "2026-11-20T05:00:00Z", pack).status, Ack::Status::Stored);
  EXPECT_EQ(event("AMZ-407-1184403", "pack", "2026-11-20T05:00:01Z", pack).status, Ack::Status::Duplicate);
  auto journal = history("AMZ-407-1184403");
  EXPECT_EQ(count_of(journal, "received"), 1);
  EXPECT_EQ(count_of(journal, "event"), 1);
  EXPECT_EQ(store_->orders().count(), 1);
}

TEST_P(EngineTest, MalformedInputIsDeadLetteredAndTheEngineGoesOn) {
  nlohmann::json bad = example_order("amazon-express-prepaid.json");
  bad["total"]["amount"] = "25.98.00";
  Ack ack = submit(bad, "2026-11-20T04:00:00Z");
  EXPECT_EQ(ack.status, Ack::Status::Invalid);
  EXPECT_THAT(ack.message, HasSubstr("$.total.amount"));
  EXPECT_EQ(event("NO-SUCH-ORDER", "ship", "2026-11-20T04:00:01Z").status, Ack::Status::Invalid);
  auto letters = store_->dead_letters().list();
  ASSERT_EQ(letters.size(), 2u);
  EXPECT_THAT(letters[0].body, HasSubstr("25.98.00"));
  EXPECT_EQ(submit(example_order("amazon-express-prepaid.json"), "2026-11-20T04:00:02Z").status,
            Ack::Status::Stored);
}

TEST_P(EngineTest, EscalationTimerIsSetForTheMomentItsConditionTurnsTrue) {
  submit(example_order("amazon-accepted-near-deadline.json"), "2026-11-20T02:31:00Z");
  std::string id = example_order("amazon-accepted-near-deadline.json")["id"];
  auto timers = order(id).timers;
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].kind, "escalation");
  // dispatch_by 20:00 +05:30 = 14:30Z; `order.dispatch_by - now < 2h` turns true just after 12:30Z.
  EXPECT_EQ(timers[0].due, at("2026-11-20T12:30:00Z") + 1);
  advance_to("2026-11-20T12:30:00Z");
  EXPECT_EQ(count_of(history(id), "escalation"), 0);
  advance_to("2026-11-20T12:30:00.001Z");
  auto journal = history(id);
  const Entry* fired = last_of(journal, "escalation");
  ASSERT_NE(fired, nullptr);
  EXPECT_EQ(fired->body["rules"][0], "Dispatch deadline close");
  EXPECT_EQ(fired->body["notifications"][0]["to"], "ops-oncall");
  // Then the breach, at the deadline itself; each rule once per state entry.
  advance_to("2026-11-21T00:00:00Z");
  journal = history(id);
  EXPECT_EQ(count_of(journal, "escalation"), 2);
  EXPECT_EQ(last_of(journal, "escalation")->body["rules"][0], "Dispatch SLA breached");
  EXPECT_THAT(order(id).tags, ::testing::Contains("sla_breached"));
}

TEST_P(EngineTest, DeadlineThatPassedWhileDownFiresAtStartUp) {
  submit(example_order("flipkart-cod-high-value.json"), "2026-11-20T05:10:00Z");
  restart();
  clock_.set(at("2026-11-23T00:00:00Z"));
  auto acks = engine_->fire_due(clock_.now());
  engine_->commit();
  EXPECT_EQ(order("FK-OD33120099812").state, "cancelled");
  auto journal = history("FK-OD33120099812");
  int late = 0;
  for (const auto& e : journal)
    if (e.kind == "timer_fired" && e.body.contains("late")) ++late;
  EXPECT_GE(late, 1);
  restart();
  EXPECT_TRUE(engine_->fire_due(at("2026-11-30T00:00:00Z")).empty()) << "fired timers never fire again";
}

TEST_P(EngineTest, UnitsMoveLineByLineAndTheOrderStateFollowsTheLeastAdvanced) {
  submit(example_order("amazon-express-prepaid.json"), "2026-11-20T04:00:00Z");
  const std::string id = "AMZ-407-1184403";
  nlohmann::json one = {{"lines", {{{"sku", "KURTA-M-IND"}, {"quantity", 1}}}}};
  EXPECT_EQ(event(id, "pack", "2026-11-20T05:00:00Z", one).state, "allocated");
  EXPECT_THAT(order(id).lines[0], ElementsAre(LineState{"allocated", 1}, LineState{"packed", 1}));
  EXPECT_EQ(event(id, "pack", "2026-11-20T05:01:00Z", one).state, "packed");
  nlohmann::json three = {{"lines", {{{"line", 0}, {"quantity", 3}}}}};
  Ack too_many = event(id, "ship", "2026-11-20T05:02:00Z", three);
  EXPECT_EQ(too_many.status, Ack::Status::Refused);
  EXPECT_THAT(too_many.message, HasSubstr("has only 2 unit(s)"));
  EXPECT_EQ(event(id, "ship", "2026-11-20T06:00:00Z", one).state, "packed");
  EXPECT_EQ(event(id, "ship", "2026-11-20T06:30:00Z").state, "shipped");
  EXPECT_EQ(event(id, "deliver", "2026-11-21T10:00:00Z").state, "delivered");
  EXPECT_EQ(order_json(id)["delivered_at"], "2026-11-21T10:00:00Z");
  Ack late_return = event(id, "return_request", "2026-12-25T10:00:00Z");
  EXPECT_EQ(late_return.status, Ack::Status::Refused);
  EXPECT_THAT(late_return.message, HasSubstr("now < order.delivered_at + 30d"));
  EXPECT_EQ(event(id, "return_request", "2026-11-24T10:00:00Z").state, "return_requested");
}

TEST_P(EngineTest, CancellingSomeUnitsLeavesTheRestGoing) {
  submit(example_order("amazon-express-prepaid.json"), "2026-11-20T04:00:00Z");
  const std::string id = "AMZ-407-1184403";
  EXPECT_EQ(event(id, "cancel", "2026-11-20T05:00:00Z", {{"lines", {{{"line", 0}, {"quantity", 1}}}}}).state,
            "allocated");
  EXPECT_EQ(order_json(id)["lines"][0]["cancelled_quantity"], 1);
  EXPECT_EQ(event(id, "cancel", "2026-11-20T05:01:00Z").state, "cancelled");
}

// An event refused on an order that has ended: the refusal is written, the
// order leaves the cache once the input is answered, and the answer says
// where the order is (ASan found it read from the already freed order).
TEST_P(EngineTest, AnEventRefusedOnAnEndedOrderIsAnsweredWithItsState) {
  submit(example_order("amazon-express-prepaid.json"), "2026-11-20T04:00:00Z");
  const std::string id = "AMZ-407-1184403";
  ASSERT_EQ(event(id, "cancel", "2026-11-20T05:00:00Z").state, "cancelled");
  Ack again = event(id, "ship", "2026-11-20T05:01:00Z");
  EXPECT_EQ(again.status, Ack::Status::Refused);
  EXPECT_EQ(again.state, "cancelled");
  EXPECT_EQ(event(id, "pack", "2026-11-20T05:02:00Z").state, "cancelled");
}

TEST_P(EngineTest, ProjectionsRebuildFromTheJournalExactly) {
  submit(example_order("amazon-express-prepaid.json"), "2026-11-20T04:00:00Z");
  submit(example_order("flipkart-cod-high-value.json"), "2026-11-20T05:10:00Z");
  submit(example_order("shopify-cod-repeat-rto.json"), "2026-11-20T06:00:00Z");
  submit(example_order("amazon-accepted-near-deadline.json"), "2026-11-20T06:01:00Z");
  event("AMZ-407-1184403", "pack", "2026-11-20T07:00:00Z", {{"lines", {{{"line", 0}, {"quantity", 1}}}}});
  event("SHP-1002", "release", "2026-11-20T07:10:00Z");
  event("SHP-1002", "ship", "2026-11-20T07:20:00Z");  // refused
  advance_to("2026-11-20T20:00:00Z");

  auto snapshot = [&] {
    std::vector<StoredOrder> orders;
    store_->orders().scan([&](const StoredOrder& o) { orders.push_back(o); });
    std::vector<std::tuple<int64_t, std::string, int64_t, std::string, int64_t>> timers;
    for (const Timer& t : store_->orders().due_timers(INT64_MAX, 1000))
      timers.push_back({t.id, t.order_id, t.due, t.kind, t.state_entry});
    return std::pair{orders, timers};
  };
  auto live = snapshot();
  ASSERT_EQ(live.first.size(), 4u);
  ASSERT_FALSE(live.second.empty());
  RebuildReport report = rebuild_projections(*store_);
  EXPECT_EQ(report.orders, 4);
  auto rebuilt = snapshot();
  EXPECT_EQ(rebuilt.second, live.second);
  ASSERT_EQ(rebuilt.first.size(), live.first.size());
  for (size_t i = 0; i < live.first.size(); ++i) EXPECT_EQ(rebuilt.first[i], live.first[i]) << live.first[i].order_id;
}

TEST_P(EngineTest, OrdersInFlightKeepTheVersionThatAcceptedThemUntilMigrated) {
  submit(example_order("shopify-cod-repeat-rto.json"), "2026-11-20T06:00:00Z");
  // A new version of the bundle: same rules, another declared version.
  TempDir copy;
  std::filesystem::copy(kExample, copy.path(), std::filesystem::copy_options::recursive);
  std::string path = copy.path() + "/acceptance.flow";
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  text.replace(text.find("2026.11-3"), 9, "2026.12-1");
  std::ofstream(path) << text;
  DeployResult r = deploy_bundle(*store_, copy.path(), at("2026-11-20T06:30:00Z"), choice());
  ASSERT_EQ(r.status, DeployResult::Status::Deployed) << r.message << r.diagnostics;
  EXPECT_EQ(r.id, 2);
  EXPECT_EQ(deploy_bundle(*store_, copy.path(), at("2026-11-20T06:31:00Z"), choice()).status,
            DeployResult::Status::Unchanged);
  restart();

  submit(example_order("amazon-express-prepaid.json"), "2026-11-20T07:00:00Z");
  EXPECT_EQ(order("AMZ-407-1184403").deployment, 2);
  EXPECT_EQ(last_of(history("AMZ-407-1184403"), "decision")->body["deployment"], 2);
  event("SHP-1002", "release", "2026-11-20T07:10:00Z");
  EXPECT_EQ(order("SHP-1002").deployment, 1);
  EXPECT_EQ(last_of(history("SHP-1002"), "decision")->body["deployment"], 1);

  submit(example_order("flipkart-cod-high-value.json"), "2026-11-20T07:20:00Z");
  // SHP-1002 is in flight on deployment 1 (allocated); the Flipkart order is on 2 already.
  EXPECT_EQ(engine_->migrate_to_live(at("2026-11-20T07:30:00Z")), 1);
  engine_->commit();
  EXPECT_EQ(order("SHP-1002").deployment, 2);
  EXPECT_EQ(last_of(history("SHP-1002"), "migrated")->body["from"], 1);

  std::optional<Deployment> v1 = find_deployment(*store_, "2026.11-3");
  std::optional<Deployment> v2 = find_deployment(*store_, "2");
  ASSERT_TRUE(v1 && v2);
  std::string diff = diff_deployments(*v1, *v2);
  EXPECT_THAT(diff, HasSubstr("-version \"2026.11-3\""));
  EXPECT_THAT(diff, HasSubstr("+version \"2026.12-1\""));
  EXPECT_THAT(diff, HasSubstr("acceptance.flow"));
}

TEST_P(EngineTest, MigrationMovesHeldOrdersToTheLiveVersion) {
  submit(example_order("shopify-cod-repeat-rto.json"), "2026-11-20T06:00:00Z");
  TempDir copy;
  std::filesystem::copy(kExample, copy.path(), std::filesystem::copy_options::recursive);
  // A comment, so that the content differs (a note beside it would not: deployments keep what the bundle reads).
  std::ofstream(copy.path() + "/acceptance.flow", std::ios::app) << "# reviewed 2026-11-20\n";
  ASSERT_EQ(deploy_bundle(*store_, copy.path(), at("2026-11-20T06:30:00Z"), choice()).status,
            DeployResult::Status::Deployed);
  restart();
  EXPECT_EQ(engine_->migrate_to_live(at("2026-11-20T06:40:00Z")), 1);
  engine_->commit();
  EXPECT_EQ(order("SHP-1002").deployment, 2);
  event("SHP-1002", "release", "2026-11-20T07:10:00Z");
  EXPECT_EQ(last_of(history("SHP-1002"), "decision")->body["deployment"], 2);
}

TEST_P(EngineTest, BundleWithErrorsIsRefusedAndTheLiveOneStays) {
  TempDir copy;
  std::filesystem::copy(kExample, copy.path(), std::filesystem::copy_options::recursive);
  std::ofstream(copy.path() + "/broken.flow") << "const limit = 5000 INR\nconst other = limit > 5\n";
  DeployResult r = deploy_bundle(*store_, copy.path(), at("2026-11-20T06:30:00Z"), choice());
  EXPECT_EQ(r.status, DeployResult::Status::Refused);
  EXPECT_THAT(r.message, HasSubstr("the live version stays"));
  EXPECT_THAT(r.diagnostics, HasSubstr("broken.flow:2"));
  EXPECT_EQ(store_->deployments().live(), 1);
  EXPECT_EQ(store_->deployments().list(false).size(), 1u);
}

// The example bundle with one more acceptance rule, just before `otherwise`, deployed.
void deploy_with_rule(Store& store, const TempDir& copy, const std::string& rule, const std::string& engine) {
  std::filesystem::copy(kExample, copy.path(), std::filesystem::copy_options::recursive);
  std::string text;
  {
    std::ifstream in(copy.path() + "/acceptance.flow");
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  text.replace(text.find("otherwise accept"), 16, rule + "\n\notherwise accept");
  std::ofstream(copy.path() + "/acceptance.flow") << text;
  EngineChoice choice;
  choice.kind = engine;
  DeployResult r = deploy_bundle(store, copy.path(), at("2026-11-20T00:00:00Z"), choice);
  ASSERT_EQ(r.status, DeployResult::Status::Deployed) << r.message << r.diagnostics;
}

// `set delivery`: the decision records the change and its rule, the order
// promises the new mode, routing reads it, and the journal alone rebuilds it.
TEST_P(EngineTest, ChangedDeliveryPromiseIsJournalledAndRoutingReadsIt) {
  TempDir copy;
  deploy_with_rule(*store_, copy,
                   "rule \"No same-day to Mumbai\"\n  when order.delivery is same_day and order.ship_to.city == \"Mumbai\"\n"
                   "  then set delivery next_day",
                   GetParam());
  restart();

  Ack ack = submit(example_order("web-same-day-mumbai-no-stock.json"), "2026-11-20T06:10:00Z");
  EXPECT_EQ(ack.state, "allocated") << "as next day it ships from a warehouse, not a Mumbai dark store";
  EXPECT_THAT(ack.steps, ::testing::Contains("delivery same_day -> next_day (rule \"No same-day to Mumbai\")"));
  auto journal = history("WEB-88140");
  const Entry* acceptance = nullptr;
  for (const Entry& e : journal)
    if (e.kind == "decision" && e.body["policy"] == "acceptance") acceptance = &e;
  ASSERT_NE(acceptance, nullptr);
  EXPECT_EQ(acceptance->body["delivery"], "next_day");
  EXPECT_EQ(acceptance->body["delivery_was"], "same_day");
  EXPECT_EQ(acceptance->body["delivery_rule"], "No same-day to Mumbai");
  EXPECT_EQ(last_of(journal, "decision")->body["rule"], "Standard");
  EXPECT_EQ(order_json("WEB-88140")["delivery"], "next_day");

  std::string before = order("WEB-88140").order;
  rebuild_projections(*store_);
  EXPECT_EQ(order("WEB-88140").order, before);
}

// history(): what the engine journalled about a pincode, as of each
// decision, from its own index; the same after a restart, which builds the
// index again from the journal; and only over the window.
TEST_P(EngineTest, HistoryCountsWhatTheEngineJournalledAsOfTheDecision) {
  TempDir copy;
  deploy_with_rule(*store_, copy,
                   "rule \"Pincode that refuses deliveries\"\n"
                   "  when history(order.ship_to.postal_code, 30d).rto >= 2\n"
                   "   and history(order.ship_to.postal_code, 30d).rto_rate >= 50%\n"
                   "  then reject \"pincode returns to origin\"",
                   GetParam());
  restart();
  int n = 0;
  auto submit_copy = [&](const char* when) {
    nlohmann::json o = example_order("amazon-express-prepaid.json");  // pincode 560034
    std::string id = fmt::format("HIST-{}", ++n);
    o["id"] = id;
    o["external_id"] = id;
    o["placed_at"] = when;
    Ack ack = submit(o, when);
    return std::make_pair(id, ack);
  };
  auto returned_to_origin = [&](const std::string& id, const char* when) {
    for (const char* e : {"pack", "ship", "return_to_origin"}) EXPECT_EQ(event(id, e, when).status, Ack::Status::Stored) << e;
  };
  auto [first, a1] = submit_copy("2026-11-20T06:00:00Z");
  auto [second, a2] = submit_copy("2026-11-20T07:00:00Z");
  EXPECT_EQ(a2.state, "allocated");
  returned_to_origin(first, "2026-11-21T06:00:00Z");
  auto [third, a3] = submit_copy("2026-11-21T07:00:00Z");
  EXPECT_EQ(a3.state, "allocated") << "one of two came back: 1 rto";
  returned_to_origin(second, "2026-11-22T06:00:00Z");
  auto [fourth, a4] = submit_copy("2026-11-22T07:00:00Z");
  EXPECT_EQ(a4.state, "rejected") << "two of three came back: 2 rto, rate 66%";
  // Explained later, from the journal, it decides as it did then.
  Explainer explainer(*store_);
  std::vector<journal::Record> records = store_->journal().of_order(fourth);
  for (size_t r = 0; r < records.size(); ++r)
    for (size_t e = 0; e < records[r].entries.size(); ++e)
      if (std::holds_alternative<journal::Decided>(records[r].entries[e])) {
        Explanation x = explainer.explain(records, r, e);
        EXPECT_TRUE(x.available) << x.why_not;
        EXPECT_EQ(x.mismatch, "");
        EXPECT_EQ(x.outcome.deciding_rule_name, "Pincode that refuses deliveries");
      }
  restart();
  auto [fifth, a5] = submit_copy("2026-11-22T08:00:00Z");
  EXPECT_EQ(a5.state, "rejected") << "2 rto of 4 orders (the refused one counts); after a restart the index is "
                                      "built again from the journal";
  EXPECT_EQ(last_of(history(fifth), "decision")->body["rule"], "Pincode that refuses deliveries");
  auto [later, a6] = submit_copy("2026-12-25T08:00:00Z");
  EXPECT_EQ(a6.state, "allocated") << "30 days on, those orders are out of the window";

  // A batch the store could not keep is forgotten by history() too.
  nlohmann::json lost = example_order("amazon-express-prepaid.json");
  lost["id"] = lost["external_id"] = "HIST-LOST";
  clock_.set(at("2026-12-25T09:00:00Z"));
  engine_->submit(read_input(lost, "test"));
  engine_->abort();
  engine::HistoryCounts c = engine_->live_history()->counts(engine::HistoryKey::Pincode, "560034",
                                                            at("2026-12-01T00:00:00Z"), at("2026-12-26T00:00:00Z"));
  EXPECT_EQ(c.orders, 1) << "only the order of 2026-12-25T08:00, not the one whose batch was lost";
}

INSTANTIATE_TEST_SUITE_P(Engines, EngineTest, ::testing::Values("interp", "jit"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace orderflow::runtime::testing
