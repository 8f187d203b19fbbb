// Policy tests that follow an order through its life (`then event pack`,
// `then routed`, `after 3h`, `expect state packed`) run on the order engine
// itself: the bundle is deployed into a database of the test's own, the
// order arrives at the story's start, and every step is an input or a
// move of the engine's clock, so that what a story shows is what
// production does (holds that time out, escalations that fire, stock that
// is reserved), not a second account of it.
#include "runtime/testing/stories.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>

#include "compiler/check/checker.h"
#include "runtime/canonical/order_json.h"
#include "runtime/engine/clock.h"
#include "runtime/engine/explain.h"
#include "runtime/engine/lifecycle.h"
#include "runtime/engine/order_engine.h"
#include "runtime/store/sqlite_store.h"
#include "runtime/store/writer_lock.h"

namespace orderflow::runtime {

namespace fs = std::filesystem;

namespace {
// A story's database need not survive a crash.
SqliteOptions scratch_database() {
  SqliteOptions options;
  options.sync_full = false;
  return options;
}
}  // namespace

using Kind = syntax::TestExpectation::Kind;
using StepKind = syntax::StoryStep::Kind;

StoryRunner::StoryRunner(std::string bundle_dir, EngineChoice choice)
    : bundle_dir_(std::move(bundle_dir)), choice_(std::move(choice)) {}

StoryRunner::~StoryRunner() {
  if (dir_.empty()) return;
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string StoryRunner::prepare() {
  if (!dir_.empty()) return {};
  std::string pattern = (fs::temp_directory_path() / "orderflow-stories-XXXXXX").string();
  if (!mkdtemp(pattern.data())) return "cannot make a folder for the stories' databases";
  dir_ = pattern;
  // Compiled once, for every story.
  if (choice_.kind == "jit") {
    choice_.cache_dir = dir_ + "/compiled";
    choice_.wait_for_native = true;
  }
  std::string db = dir_ + "/deployed.db";
  WriterLock lock = WriterLock::acquire(db, "orderflow test");
  auto store = open_sqlite_store(db, scratch_database());
  DeployResult r = deploy_bundle(*store, bundle_dir_, 0, choice_);
  if (r.status != DeployResult::Status::Deployed) return "the bundle could not be deployed for its stories: " + r.message;
  return {};
}

namespace {

// What the story has done to the order so far, from its journal.
struct SoFar {
  std::string state;
  std::vector<journal::Decided> decisions;  // the order's own
  std::vector<journal::Decided> about_returns;  // returns and disposition decisions, in order
  std::vector<journal::Decided> about_ndrs;     // ndr decisions, in order
  std::vector<journal::Refunded> refunds;
  std::vector<std::string> refused;  // inputs the order refused, with why
  std::vector<journal::Notification> notifications;
  std::vector<std::string> tags;
  std::vector<std::string> priorities;
  StoredOrder order;

  std::string summary() const {
    std::vector<std::string> parts;
    for (const journal::Decided& d : decisions) {
      std::string s = d.policy + ": " + d.decision;
      if (!d.reason.empty()) s += fmt::format(" \"{}\"", d.reason);
      if (d.decision == "route") {
        std::vector<std::string> nodes;
        for (const journal::Shipment& sh : d.shipments) nodes.push_back(sh.node);
        s += " to " + fmt::format("{}", fmt::join(nodes, ", "));
      }
      parts.push_back(s);
    }
    for (const journal::Decided& d : about_returns) {
      std::string s = fmt::format("return {}, {}: {}", d.return_id, d.policy, d.decision);
      if (!d.reason.empty()) s += fmt::format(" \"{}\"", d.reason);
      if (!d.refund.empty()) s += ", refund " + d.refund + (d.keep_item.value_or(false) ? ", keep item" : "");
      if (!d.restock_to.empty()) s += " to " + d.restock_to;
      parts.push_back(s);
    }
    for (const journal::Decided& d : about_ndrs) {
      std::string s = fmt::format("failed delivery {}, ndr: {}", d.ndr_attempt.value_or(0), d.decision);
      if (!d.reason.empty()) s += fmt::format(" \"{}\"", d.reason);
      parts.push_back(s);
    }
    for (const journal::Refunded& f : refunds) parts.push_back(fmt::format("return {}: refunded {}", f.return_id, f.amount));
    for (const std::string& r : refused) parts.push_back(r);
    parts.push_back("state " + state);
    return fmt::format("{}", fmt::join(parts, "; "));
  }
};

SoFar story_so_far(Store& store, const std::string& order_id) {
  SoFar s;
  auto add = [](std::vector<std::string>& to, const std::string& v) {
    if (!v.empty() && std::find(to.begin(), to.end(), v) == to.end()) to.push_back(v);
  };
  for (const journal::Record& r : store.journal().of_order(order_id))
    for (const journal::Entry& e : r.entries) {
      if (const auto* f = std::get_if<journal::Refunded>(&e)) s.refunds.push_back(*f);
      if (const auto* x = std::get_if<journal::Refused>(&e)) s.refused.push_back(x->event + " refused: " + x->error);
      if (const auto* d = std::get_if<journal::Decided>(&e)) {
        (d->ndr_attempt ? s.about_ndrs : d->return_id.empty() ? s.decisions : s.about_returns).push_back(*d);
        for (const auto& n : d->notifications) s.notifications.push_back(n);
        for (const auto& t : d->tags) add(s.tags, t);
        add(s.priorities, d->priority);
      } else if (const auto* x = std::get_if<journal::Escalated>(&e)) {
        for (const auto& n : x->notifications) s.notifications.push_back(n);
        for (const auto& t : x->tags) add(s.tags, t);
        add(s.priorities, x->priority);
      }
    }
  if (auto stored = store.orders().get(order_id)) {
    s.order = *stored;
    s.state = stored->state;
  }
  return s;
}

// The order as the test writes it (its file, with the test's `with`), as JSON.
std::variant<nlohmann::json, std::string> test_order(const check::CheckedBundle& b, const check::PolicyTest& t) {
  DecodeResult decoded = parse_order(b, t.order_json);
  if (auto* e = std::get_if<DecodeError>(&decoded))
    return fmt::format("the order ({}) is not valid: {}", t.order_origin, e->text());
  OrderImage& image = std::get<OrderImage>(decoded);
  for (const check::TestAssignment& a : t.assignments) set_field(b, image, a.path, a.value);
  return encode_record(b, b.order_record, image.data());
}

// The order as the channel sends it again with a story's `then update`
// changes: the order it sent last, with those fields set.
std::variant<nlohmann::json, std::string> changed_order(const check::CheckedBundle& b, const nlohmann::json& sent,
                                                        const std::vector<check::TestAssignment>& changes) {
  DecodeResult decoded = parse_order(b, sent.dump());
  if (auto* e = std::get_if<DecodeError>(&decoded)) return e->text();
  OrderImage& image = std::get<OrderImage>(decoded);
  for (const check::TestAssignment& a : changes) set_field(b, image, a.path, a.value);
  return encode_record(b, b.order_record, image.data());
}

// What a story's `then event`, `then return of`, `then grade` or `then
// ndr` step gives the engine.
nlohmann::json story_input(const check::StoryStep& s, const std::string& order_id) {
  using StepKind = syntax::StoryStep::Kind;
  if (s.kind == StepKind::Event) {
    nlohmann::json input = {{"type", "event"}, {"order_id", order_id}, {"event", s.event}, {"by", "test"}};
    for (const auto& [line_id, quantity] : s.returned)
      input["lines"].push_back({{"id", line_id}, {"quantity", quantity.value_or(0)}});
    return input;
  }
  if (s.kind == StepKind::Ndr) {
    nlohmann::json input = {{"type", "ndr"}, {"order_id", order_id}, {"reason", s.reason}, {"by", "test"}};
    if (s.attempt) input["attempt"] = *s.attempt;
    return input;
  }
  nlohmann::json input = {{"type", s.kind == StepKind::Return ? "return" : "grade"}, {"order_id", order_id}, {"by", "test"}};
  if (s.kind == StepKind::Return) {
    nlohmann::json lines = nlohmann::json::array();
    for (const auto& [line_id, quantity] : s.returned) {
      nlohmann::json line = {{"id", line_id}};
      if (quantity) line["quantity"] = *quantity;  // else every unit that can come back
      lines.push_back(line);
    }
    input["lines"] = lines;
    input["reason"] = s.reason;
  } else {
    nlohmann::json units = nlohmann::json::array();
    for (const auto& [grade, reason] : s.grades) {
      nlohmann::json u = {{"grade", grade}};
      if (!reason.empty()) u["reason"] = reason;
      units.push_back(u);
    }
    input["units"] = units;
  }
  return input;
}

}  // namespace

void StoryRunner::run(const engine::PolicyEngine& policies, const check::PolicyTest& t, PolicyTestResult& r) {
  const check::CheckedBundle& b = policies.bundle();
  if (std::string problem = prepare(); !problem.empty()) {
    r.failures.push_back(problem);
    return;
  }
  auto order_json = test_order(b, t);
  if (auto* problem = std::get_if<std::string>(&order_json)) {
    r.failures.push_back(*problem);
    return;
  }
  std::string db = fmt::format("{}/story-{}.db", dir_, ++stories_);
  fs::copy_file(dir_ + "/deployed.db", db, fs::copy_options::overwrite_existing);
  // The story starts at the test's `at`, else when the order was placed.
  int64_t start = t.at ? *t.at : stated_time(std::get<nlohmann::json>(order_json)).value_or(0);
  // What the engine took before the order (`history from`): each input at
  // the moment it says it happened, in that order, as `run --clock events`.
  std::vector<std::pair<int64_t, nlohmann::json>> history;
  for (size_t i = 0; i < t.history.size(); ++i) {
    nlohmann::json input = nlohmann::json::parse(t.history[i], nullptr, false);
    std::optional<int64_t> when = stated_time(input);
    if (!when || *when > start) {
      r.failures.push_back(fmt::format("{}, input {}: {}", t.history_origin, i + 1,
                                       when ? fmt::format("happens at {}, after the test's order arrives at {}",
                                                          model::format_time(*when), model::format_time(start))
                                            : std::string("says neither `at` nor `placed_at`: when did it happen?")));
      return;
    }
    history.emplace_back(*when, std::move(input));
  }
  std::stable_sort(history.begin(), history.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  ManualClock clock(history.empty() ? start : history.front().first);
  WriterLock lock = WriterLock::acquire(db, "orderflow test");
  auto store = open_sqlite_store(db, scratch_database());
  EngineOptions options;
  options.engine = choice_;
  OrderEngine engine(*store, lock, clock, options);

  // Moves the story's clock on, firing what falls due on the way.
  auto move_to = [&](int64_t t) {
    clock.set(t);
    engine.fire_due(t, true);
    engine.commit();
  };
  for (size_t i = 0; i < history.size(); ++i) {
    move_to(history[i].first);
    Ack ack = engine.submit(read_input(history[i].second, fmt::format("{}:{}", t.history_origin, i + 1)));
    engine.commit();
    if (ack.status != Ack::Status::Stored && ack.status != Ack::Status::Duplicate) {
      r.failures.push_back(fmt::format("{}, input {}: the engine did not take it ({}): {}", t.history_origin, i + 1,
                                       status_name(ack.status), ack.message));
      return;
    }
  }
  move_to(start);
  Ack taken = engine.submit(read_input(nlohmann::json{{"type", "order"}, {"order", std::get<nlohmann::json>(order_json)}},
                                       "test:" + t.name));
  engine.commit();
  if (taken.status != Ack::Status::Stored) {
    r.failures.push_back(fmt::format("the engine did not take the order ({}): {}", status_name(taken.status),
                                     taken.message));
    return;
  }
  const std::string order_id = taken.order_id;
  nlohmann::json sent = std::get<nlohmann::json>(order_json);  // as the channel last sent it
  Lifecycle lifecycle(b);

  auto check = [&](const check::TestExpectation& x) {
    SoFar so_far = story_so_far(*store, order_id);
    std::string want;
    bool holds = false;
    std::string by_rule;  // the rule behind what matched, for `by rule`
    switch (x.kind) {
      case Kind::State:
        want = "state " + x.strings.at(0);
        holds = so_far.state == x.strings[0];
        break;
      case Kind::Decision: {
        std::string verdict = engine::verdict_name(engine::verdict_of(x.decision));
        want = verdict + (x.reason.empty() ? "" : fmt::format(" \"{}\"", x.reason));
        for (const journal::Decided& d : so_far.decisions)
          if (d.decision == verdict && (x.reason.empty() || d.reason == x.reason) &&
              (!x.by_rule || d.rule == *x.by_rule)) {
            holds = true;
            by_rule = d.rule.value_or("");
          }
        if (x.by_rule) want += fmt::format(" by rule \"{}\"", *x.by_rule);
        break;
      }
      case Kind::Priority:
        want = "priority " + check::print_value(b, x.value);
        holds = std::find(so_far.priorities.begin(), so_far.priorities.end(),
                          engine::priority_name(b, x.value.i)) != so_far.priorities.end();
        break;
      case Kind::Tag:
        want = fmt::format("tag \"{}\"", x.strings.at(0));
        holds = std::find(so_far.tags.begin(), so_far.tags.end(), x.strings[0]) != so_far.tags.end();
        break;
      case Kind::Delivery: {
        want = "delivery " + check::print_value(b, x.value);
        DecodeResult decoded = parse_order(b, so_far.order.order);
        if (auto* image = std::get_if<OrderImage>(&decoded)) {
          model::Value promised = model::RecordRef(b.schema, b.order_record, image->data()).get("delivery");
          holds = !promised.is_missing() && promised.i == x.value.i;
        }
        break;
      }
      case Kind::Route: {
        std::vector<std::string> wanted = x.strings;
        std::sort(wanted.begin(), wanted.end());
        want = "route to " + fmt::format("{}", fmt::join(x.strings, ", "));
        for (const journal::Decided& d : so_far.decisions) {
          if (d.decision != "route") continue;
          std::vector<std::string> got;
          for (const journal::Shipment& s : d.shipments) got.push_back(s.node);
          std::sort(got.begin(), got.end());
          if (got == wanted && (!x.by_rule || d.rule == *x.by_rule)) holds = true;
        }
        if (x.by_rule) want += fmt::format(" by rule \"{}\"", *x.by_rule);
        break;
      }
      case Kind::Notify:
      case Kind::Escalate: {
        bool escalate = x.kind == Kind::Escalate;
        want = fmt::format("{} \"{}\"", escalate ? "escalate to" : "notify", x.strings.at(0));
        for (const journal::Notification& n : so_far.notifications)
          if ((n.kind == "escalate") == escalate && n.to == x.strings[0]) holds = true;
        break;
      }
      case Kind::NoPriority:
        want = "a priority";
        holds = !so_far.priorities.empty();
        break;
      case Kind::NoTag:
        want = "a tag";
        holds = !so_far.tags.empty();
        break;
      case Kind::NoNotify:
      case Kind::NoEscalate: {
        bool escalate = x.kind == Kind::NoEscalate;
        want = escalate ? "an escalation" : "a notification";
        for (const journal::Notification& n : so_far.notifications) holds |= (n.kind == "escalate") == escalate;
        break;
      }
      case Kind::Return: {
        static const std::map<std::string, std::string> decisions = {
            {"approved", "approve"}, {"rejected", "reject"}, {"held", "hold"}};
        want = "return " + x.strings.at(0);
        if (x.refund != check::RefundTiming::Unspecified) want += fmt::format(", refund {}", syntax::refund_timing_words(x.refund));
        if (x.keep_item) want += ", keep item";
        const journal::Decided* last = nullptr;
        for (const journal::Decided& d : so_far.about_returns)
          if (d.policy == "returns") last = &d;
        holds = last && last->decision == decisions.at(x.strings[0]) &&
                (x.refund == check::RefundTiming::Unspecified || last->refund == syntax::refund_timing_words(x.refund)) &&
                (!x.keep_item || last->keep_item.value_or(false)) && (!x.by_rule || last->rule == *x.by_rule);
        if (last) by_rule = last->rule.value_or("");
        break;
      }
      case Kind::Disposition: {
        std::string verdict = engine::verdict_name(engine::verdict_of(x.decision));
        want = "disposition " + verdict + (x.reason.empty() ? "" : " to " + x.reason);
        const journal::Decided* last = nullptr;
        for (const journal::Decided& d : so_far.about_returns)
          if (d.policy == "disposition") last = &d;
        holds = last && last->decision == verdict && (x.reason.empty() || last->restock_to == x.reason) &&
                (!x.by_rule || last->rule == *x.by_rule);
        break;
      }
      case Kind::Ndr: {
        std::string verdict = engine::verdict_name(engine::verdict_of(x.decision));
        want = "ndr " + verdict + (x.reason.empty() ? "" : fmt::format(" \"{}\"", x.reason));
        const journal::Decided* last = so_far.about_ndrs.empty() ? nullptr : &so_far.about_ndrs.back();
        holds = last && last->decision == verdict && (x.reason.empty() || last->reason == x.reason) &&
                (!x.by_rule || last->rule == *x.by_rule);
        if (last) by_rule = last->rule.value_or("");
        break;
      }
      case Kind::Refund:
        want = "refund " + check::print_value(b, x.value);
        holds = !so_far.refunds.empty() && so_far.refunds.back().amount == model::format_money(x.value.i, x.value.aux);
        break;
      case Kind::That: {
        want = "that " + x.condition_text;
        DecodeResult decoded = parse_order(b, so_far.order.order);
        if (auto* image = std::get_if<OrderImage>(&decoded)) {
          stamp_state(b, lifecycle, *image, so_far.order);
          engine::EvalInput input;
          input.order = image->data();
          input.now = clock.now();
          input.history = engine.live_history();
          holds = x.condition && policies.condition_holds(*x.condition, t.slot_count, input);
        }
        break;
      }
    }
    // `expect no X` holds when there is none: `want` names what there must not be.
    bool none = x.kind == Kind::NoPriority || x.kind == Kind::NoTag || x.kind == Kind::NoNotify ||
                x.kind == Kind::NoEscalate;
    bool wanted = none ? x.negated : !x.negated;
    if (holds == wanted) return;
    std::string expected = none ? (x.negated ? want : "no " + want.substr(want.find(' ') + 1))
                                : (x.negated ? "not " + want : want);
    r.failures.push_back(fmt::format("at {}: expected {}, but the story so far is: {}", model::format_time(clock.now()),
                                     expected, so_far.summary()));
  };

  size_t next = 0;  // the next expectation to check
  auto check_up_to = [&](size_t steps_done) {
    for (; next < t.expectations.size() && t.expectations[next].after_steps <= steps_done; ++next)
      check(t.expectations[next]);
  };
  check_up_to(0);
  for (size_t i = 0; i < t.steps.size(); ++i) {
    const check::StoryStep& s = t.steps[i];
    std::string stopped;  // why the story cannot go on
    switch (s.kind) {
      case StepKind::After: move_to(clock.now() + s.after); break;
      case StepKind::At:
        if (s.at && *s.at < clock.now())
          stopped = fmt::format("at {}: the story is already at {}", model::format_time(*s.at),
                                model::format_time(clock.now()));
        else if (s.at)
          move_to(*s.at);
        break;
      case StepKind::Event:
      case StepKind::Return:
      case StepKind::Grade:
      case StepKind::Ndr: {
        std::string what = s.kind == StepKind::Event    ? "event " + s.event
                           : s.kind == StepKind::Return ? "return"
                           : s.kind == StepKind::Ndr    ? "ndr " + s.reason
                                                        : "grade";
        if (s.at && *s.at < clock.now()) {
          stopped = fmt::format("then {} at {}: the story is already at {}", what, model::format_time(*s.at),
                                model::format_time(clock.now()));
          break;
        }
        if (s.at) move_to(*s.at);
        Ack ack = engine.submit(read_input(story_input(s, order_id), "test:" + t.name));
        engine.commit();
        if (ack.status != Ack::Status::Stored)
          stopped = fmt::format("then {}: {} ({})", what, ack.message, status_name(ack.status));
        break;
      }
      case StepKind::Update: {
        if (s.at && *s.at < clock.now()) {
          stopped = fmt::format("then update at {}: the story is already at {}", model::format_time(*s.at),
                                model::format_time(clock.now()));
          break;
        }
        if (s.at) move_to(*s.at);
        auto changed = changed_order(b, sent, s.changes);
        if (auto* problem = std::get_if<std::string>(&changed)) {
          stopped = "then update: the changed order is not valid: " + *problem;
          break;
        }
        sent = std::get<nlohmann::json>(changed);
        Ack ack = engine.submit(read_input(nlohmann::json{{"type", "order"}, {"order", sent}}, "test:" + t.name));
        engine.commit();
        // Refused is a story of its own (a change after shipping): the
        // expectations that follow say what the order is then.
        if (ack.status == Ack::Status::Duplicate)
          stopped = "then update: it changes nothing the order did not say already";
        else if (ack.status != Ack::Status::Stored && ack.status != Ack::Status::Refused)
          stopped = fmt::format("then update: {} ({})", ack.message, status_name(ack.status));
        break;
      }
      case StepKind::Routed: {
        SoFar so_far = story_so_far(*store, order_id);
        bool routed = std::any_of(so_far.decisions.begin(), so_far.decisions.end(),
                                  [](const journal::Decided& d) { return d.decision == "route"; });
        if (!routed) stopped = "then routed: the order was not routed; the story so far is: " + so_far.summary();
        break;
      }
    }
    if (!stopped.empty()) {
      r.failures.push_back(stopped);
      return;  // what comes after this step is about a story that did not happen
    }
    check_up_to(i + 1);
  }
}

}  // namespace orderflow::runtime
