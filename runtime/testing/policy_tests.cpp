#include "runtime/testing/policy_tests.h"

#include <fmt/format.h>

#include <algorithm>

#include "compiler/check/checker.h"
#include "runtime/canonical/order_json.h"
#include "runtime/testing/stories.h"

namespace orderflow::runtime {

using engine::Outcome;
using engine::Verdict;

namespace {

std::string decision_text(Verdict v, const std::string& reason) {
  std::string out = engine::verdict_name(v);
  if (!reason.empty()) out += fmt::format(" \"{}\"", reason);
  return out;
}

// What the engine does with `set delivery` before the next policy runs:
// the order promises the new mode.
void keep_promise(const check::CheckedBundle& b, const Outcome& o, OrderImage& order) {
  if (!o.delivery) return;
  const model::FieldDef& field = b.schema.record_def(b.order_record).fields[b.delivery_field];
  set_field(b, order, {{b.order_record, b.delivery_field}},
            model::Value::enumeration(static_cast<uint32_t>(field.type.ref), *o.delivery));
}

}  // namespace

std::vector<PolicyTestResult> run_policy_tests(const engine::PolicyEngine& engine, StoryRunner* stories) {
  const check::CheckedBundle& b = engine.bundle();
  std::vector<PolicyTestResult> results;
  for (const check::PolicyTest& t : b.tests) {
    PolicyTestResult r;
    r.name = t.name;
    r.range = t.range;
    if (t.is_story()) {
      if (stories)
        stories->run(engine, t, r);
      else
        r.failures.push_back("this test follows the order through its life, which needs the bundle's folder: "
                             "run it with `orderflow test`");
      r.passed = r.failures.empty();
      results.push_back(std::move(r));
      continue;
    }
    DecodeResult decoded = parse_order(b, t.order_json);
    if (auto* e = std::get_if<DecodeError>(&decoded)) {
      r.failures.push_back(fmt::format("the order ({}) is not valid: {}", t.order_origin, e->text()));
      results.push_back(std::move(r));
      continue;
    }
    OrderImage& order = std::get<OrderImage>(decoded);
    for (const check::TestAssignment& a : t.assignments) set_field(b, order, a.path, a.value);
    engine::EvalInput input;
    input.order = order.data();
    if (t.at) {
      input.now = *t.at;
    } else {
      model::Value placed = model::RecordRef(b.schema, b.order_record, order.data()).get("placed_at");
      input.now = placed.kind == model::Value::Kind::Time ? placed.i : 0;
    }
    Outcome acceptance = engine.evaluate(check::PolicyKind::Acceptance, input, engine::TraceDetail::Rules);
    keep_promise(b, acceptance, order);
    std::optional<Outcome> routing;
    if ((acceptance.verdict == Verdict::Accept || !b.policy(check::PolicyKind::Acceptance)) &&
        b.policy(check::PolicyKind::Routing)) {
      routing = engine.evaluate(check::PolicyKind::Routing, input, engine::TraceDetail::Rules);
      keep_promise(b, *routing, order);
    }
    Outcome escalation = engine.evaluate(check::PolicyKind::Escalation, input, engine::TraceDetail::Rules);

    r.summary = engine::summary(b, acceptance);
    if (routing) r.summary += "; routing: " + engine::summary(b, *routing);
    std::vector<const Outcome*> outcomes = {&acceptance};
    if (routing) outcomes.push_back(&*routing);
    // What one policy's outcome gave, for a message about it.
    auto describe = [&](const Outcome& o) {
      return &o == &escalation ? "escalation: " + engine::summary(b, o) : r.summary;
    };

    using Kind = syntax::TestExpectation::Kind;
    // The priorities, tags or notifications (of one kind) every policy gave,
    // for a message about an expectation of that kind.
    auto annotations_given = [&](Kind kind) {
      std::vector<std::string> given;
      std::vector<const Outcome*> all = outcomes;
      all.push_back(&escalation);
      for (const Outcome* o : all) {
        if ((kind == Kind::Priority || kind == Kind::NoPriority) && o->priority)
          given.push_back("priority " + engine::priority_name(b, *o->priority));
        if (kind == Kind::Tag || kind == Kind::NoTag)
          for (const std::string& tag : o->tags) given.push_back(fmt::format("tag \"{}\"", tag));
        bool escalations = kind == Kind::Escalate || kind == Kind::NoEscalate;
        if (escalations || kind == Kind::Notify || kind == Kind::NoNotify)
          for (const auto& n : o->notifications)
            if (n.escalation == escalations)
              given.push_back(fmt::format("{} \"{}\"", n.escalation ? "escalate to" : "notify", n.who));
      }
      return given;
    };
    for (const check::TestExpectation& x : t.expectations) {
      std::string want;
      const Outcome* match = nullptr;
      switch (x.kind) {
        case Kind::Decision: {
          Verdict v = engine::verdict_of(x.decision);
          want = decision_text(v, x.reason);
          for (const Outcome* o : outcomes)
            if (o->verdict == v && (x.reason.empty() || o->reason == x.reason)) match = o;
          break;
        }
        case Kind::Return:
        case Kind::Disposition:
        case Kind::Refund:
          want = "a return, which only a story has";  // the checker asks for a story's return first
          break;
        case Kind::Ndr:
          want = "a failed delivery, which only a story has";  // the checker asks for a story's `then ndr` first
          break;
        case Kind::Priority: {
          want = "priority " + check::print_value(b, x.value);
          for (const Outcome* o : outcomes)
            if (o->priority && *o->priority == x.value.i) match = o;
          break;
        }
        case Kind::Tag: {
          want = fmt::format("tag \"{}\"", x.strings.at(0));
          for (const Outcome* o : outcomes)
            if (std::find(o->tags.begin(), o->tags.end(), x.strings[0]) != o->tags.end()) match = o;
          if (std::find(escalation.tags.begin(), escalation.tags.end(), x.strings[0]) != escalation.tags.end())
            match = &escalation;
          break;
        }
        case Kind::Route: {
          std::vector<std::string> wanted = x.strings, got;
          want = "route to " + fmt::format("{}", fmt::join(wanted, ", "));
          if (routing && routing->verdict == Verdict::Route) {
            for (const auto& s : routing->shipments) got.emplace_back(s.node_id);
            std::sort(wanted.begin(), wanted.end());
            std::sort(got.begin(), got.end());
            if (got == wanted) match = &*routing;
          }
          break;
        }
        case Kind::State: break;  // a story's (above)
        case Kind::Delivery: {
          // What the order promises once its policies have run (set delivery, or as it came).
          want = "delivery " + check::print_value(b, x.value);
          model::Value promised = model::RecordRef(b.schema, b.order_record, order.data()).get("delivery");
          std::string now = promised.is_missing() ? "no delivery mode" : engine::delivery_name(b, promised.i);
          bool holds = !promised.is_missing() && promised.i == x.value.i;
          if (holds == !x.negated) continue;
          r.failures.push_back(x.negated ? fmt::format("expected not {}, but it is so ({})", want, r.summary)
                                         : fmt::format("expected {}, but the order promises {} ({})", want, now,
                                                       r.summary));
          continue;
        }
        case Kind::That: {
          want = "that " + x.condition_text;
          if (x.condition && engine.condition_holds(*x.condition, t.slot_count, input)) match = &acceptance;
          break;
        }
        case Kind::Notify:
        case Kind::Escalate: {
          bool escalate = x.kind == Kind::Escalate;
          want = fmt::format("{} \"{}\"", escalate ? "escalate to" : "notify", x.strings.at(0));
          for (const auto& n : escalation.notifications)
            if (n.escalation == escalate && n.who == x.strings[0]) match = &escalation;
          for (const Outcome* o : outcomes)
            for (const auto& n : o->notifications)
              if (n.escalation == escalate && n.who == x.strings[0]) match = o;
          break;
        }
        case Kind::NoPriority:
        case Kind::NoTag:
        case Kind::NoNotify:
        case Kind::NoEscalate: {
          // Holds when no policy gave one.
          want = x.kind == Kind::NoPriority ? "no priority"
                 : x.kind == Kind::NoTag    ? "no tag"
                 : x.kind == Kind::NoNotify ? "no notification"
                                            : "no escalation";
          std::vector<std::string> given = annotations_given(x.kind);  // what the policies gave instead
          if (given.empty() == !x.negated) continue;
          r.failures.push_back(x.negated ? fmt::format("expected not {}, but there was none ({})", want, r.summary)
                                         : fmt::format("expected {}, got {}", want, fmt::join(given, ", ")));
          continue;
        }
      }
      bool by_wanted_rule = !x.by_rule || x.kind != Kind::Decision || (match && match->deciding_rule_name == *x.by_rule);
      if (x.negated) {
        // expect not ...: a failure when it holds (by the rule named, when one is).
        if (match && by_wanted_rule)
          r.failures.push_back(x.kind == Kind::That ? fmt::format("expected not {}, but it is true", want)
                                                    : fmt::format("expected not {}, but it is so ({})", want,
                                                                  describe(*match)));
        continue;
      }
      if (!match) {
        // Said about what was asked for: a priority expected is compared with
        // the priorities given, not with the decision.
        std::vector<std::string> given = annotations_given(x.kind);
        const char* none = x.kind == Kind::Priority ? "no rule set a priority"
                           : x.kind == Kind::Tag    ? "no rule tagged the order"
                                                    : "no rule notified anyone";
        if (x.kind == Kind::That)
          r.failures.push_back(fmt::format("expected {}, but it is false", want));
        else if (x.kind == Kind::Priority || x.kind == Kind::Tag || x.kind == Kind::Notify || x.kind == Kind::Escalate)
          r.failures.push_back(given.empty() ? fmt::format("expected {}, but {} ({})", want, none, r.summary)
                                             : fmt::format("expected {}, got {}", want, fmt::join(given, ", ")));
        else
          r.failures.push_back(fmt::format("expected {}, got {}", want, r.summary));
        continue;
      }
      if (!by_wanted_rule) {
        r.failures.push_back(fmt::format("expected {} by rule \"{}\", but rule \"{}\" decided", want, *x.by_rule,
                                         match->deciding_rule_name));
      }
    }
    r.passed = r.failures.empty();
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace orderflow::runtime
