#include "runtime/engine/order_engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "runtime/engine/deadline.h"
#include "runtime/engine/explain.h"
#include "runtime/engine/refunds.h"
#include "runtime/store/projection.h"

namespace orderflow::runtime {

namespace {

using engine::Verdict;
using Clocked = std::chrono::steady_clock;

const char* kHoldTimeout = "hold_timeout";
const char* kEscalation = "escalation";
const char* kNdrTimeout = "ndr_timeout";
// A return whose money the channel pays back itself, not the engine.
const char* kRefundByChannel = "by channel";
// A return's state that times out (`after 14d`): "return:ID:STATE".
const std::string kReturnTimer = "return:";

std::string return_timer_kind(const std::string& return_id, const std::string& state) {
  return kReturnTimer + return_id + ":" + state;
}

// The state a policy's verdict moves an order (or a return) to.
std::string verdict_target(Verdict v) {
  switch (v) {
    case Verdict::Accept: return check::decision_target_state(check::DecisionKind::Accept, false);
    case Verdict::Route: return check::decision_target_state(check::DecisionKind::Accept, true);
    case Verdict::Hold: return check::decision_target_state(check::DecisionKind::Hold, false);
    case Verdict::Reject: return check::decision_target_state(check::DecisionKind::Reject, false);
    case Verdict::Cancel: return check::decision_target_state(check::DecisionKind::Cancel, false);
    case Verdict::Backorder: return check::decision_target_state(check::DecisionKind::Backorder, false);
    case Verdict::Approve: return check::decision_target_state(check::DecisionKind::Approve, false);
    // A unit's disposition and a failed delivery's decision move no order state by themselves.
    case Verdict::Restock:
    case Verdict::Quarantine:
    case Verdict::WriteOff:
    case Verdict::ReturnToVendor:
    case Verdict::Reattempt:
    case Verdict::Reschedule:
    case Verdict::ReturnToOrigin:
    case Verdict::None: return "";
  }
  return "";
}

std::string target_of_verdict_name(const std::string& name) {
  for (Verdict v : {Verdict::Accept, Verdict::Hold, Verdict::Reject, Verdict::Cancel, Verdict::Backorder,
                    Verdict::Route})
    if (name == engine::verdict_name(v)) return verdict_target(v);
  return "";
}

// Adds the time spent in its scope to a counter.
struct Timed {
  double& total;
  Clocked::time_point start = Clocked::now();
  ~Timed() { total += std::chrono::duration<double, std::milli>(Clocked::now() - start).count(); }
};

// Refused inputs leave by this exception; the engine undoes what the input did.
struct Refusal {
  std::string message;
};

// The inventory routing reads, noting which SKUs it looked up, so that the
// decision can keep what it saw of their stock.
class RecordingInventory final : public model::Inventory {
 public:
  explicit RecordingInventory(const LiveInventory& inner) : inner_(inner) {}
  size_t node_count() const override { return inner_.node_count(); }
  const std::byte* const* node_images() const override { return inner_.node_images(); }
  const model::StockLevel* sku_stock(std::string_view sku) const override {
    if (std::find(seen_.begin(), seen_.end(), sku) == seen_.end()) seen_.emplace_back(sku);
    return inner_.sku_stock(sku);
  }
  const uint8_t* inactive() const override { return inner_.inactive(); }
  const std::vector<std::string>& seen() const { return seen_; }

 private:
  const LiveInventory& inner_;
  mutable std::vector<std::string> seen_;
};

journal::Notification notification_record(const check::CheckedBundle& bundle, const engine::Notification& n) {
  return {n.escalation ? "escalate" : "notify", n.who, std::string(n.rule),
          n.priority ? engine::priority_name(bundle, *n.priority) : ""};
}

// What an order costs in memory, roughly: its texts and lists.
size_t footprint(const StoredOrder& o) {
  size_t bytes = sizeof(StoredOrder) + o.order.capacity() + o.order_id.capacity() + o.channel.capacity() +
                 o.external_id.capacity() + o.state.capacity();
  for (const auto& line : o.lines) bytes += sizeof(line) + line.capacity() * sizeof(LineState);
  bytes += o.allocations.capacity() * sizeof(Allocation) + o.timers.capacity() * sizeof(Timer);
  bytes += (o.tags.capacity() + o.fired.capacity() + o.excluded_nodes.capacity()) * sizeof(std::string);
  return bytes;
}

}  // namespace

const char* status_name(Ack::Status status) {
  switch (status) {
    case Ack::Status::Stored: return "stored";
    case Ack::Status::Duplicate: return "duplicate";
    case Ack::Status::Refused: return "refused";
    case Ack::Status::Invalid: return "invalid";
    case Ack::Status::Failed: return "failed";
  }
  return "?";
}

nlohmann::ordered_json Ack::to_json() const {
  nlohmann::ordered_json j;
  j["status"] = status_name(status);
  if (!order_id.empty()) j["order"] = order_id;
  if (!state.empty()) j["state"] = state;
  if (!steps.empty()) j["steps"] = steps;
  if (!message.empty()) j["error"] = message;
  if (happened_at && *happened_at < applied_at) {
    j["happened_at"] = model::format_time(*happened_at);
    j["applied_at"] = model::format_time(applied_at);
  }
  return j;
}

struct OrderEngine::LiveOrder {
  StoredOrder stored;
  const LoadedDeployment* dep = nullptr;
  std::optional<OrderImage> image;  // while an input is decided; not kept between inputs
  size_t bytes = 0;
};

// What one input does, kept in memory until it is wholly decided, then
// written in one go (write_work) or forgotten (undo_work).
struct OrderEngine::Work {
  int64_t at = 0;
  std::vector<std::pair<IntakeKey, std::string>> claims;
  std::vector<std::pair<LiveOrder*, journal::Record>> records;  // by order, in the order first touched
  std::vector<std::unique_ptr<LiveOrder>> created;              // new orders
  std::vector<StockChange> stock;
  // The stock levels as they were before this input, to undo it.
  std::map<std::pair<std::string, std::string>, StockRow> stock_before;
  std::vector<std::pair<std::string, int64_t>> counted;  // orders counted against a node's capacity
  std::vector<std::pair<bool, Timer>> timers;            // added (true) or removed, in order
  std::set<std::string> skus;                            // whose stock changed

  journal::Record& record_for(LiveOrder& order, const std::string& order_id) {
    for (auto& [o, r] : records)
      if (o == &order) return r;
    // Its previous record is its last one before this input.
    records.push_back({&order, journal::Record{0, order_id, at, {}, order.stored.last_seq}});
    return records.back().second;
  }
};

// One input's work on one order: every journal entry goes through here, so
// that the in-memory order, the journal and the order table stay one.
class OrderEngine::Step {
 public:
  Step(OrderEngine& engine, LiveOrder& order, int64_t at, Ack& ack)
      : engine_(engine), o_(order), at_(at), ack_(ack), dep_(*order.dep), bundle_(*dep_.bundle),
        life_(*dep_.lifecycle) {}

  void append(journal::Entry entry) {
    journal::Record& r = engine_.work_->record_for(o_, o_.stored.order_id.empty() ? ack_.order_id : o_.stored.order_id);
    r.entries.push_back(std::move(entry));
    apply_entry(r, r.entries.back(), o_.stored);
  }

  OrderImage& image() {
    if (!o_.image) {
      DecodeResult decoded = decode_order(bundle_, nlohmann::json::parse(o_.stored.order));
      if (auto* error = std::get_if<DecodeError>(&decoded))
        throw std::runtime_error(
            fmt::format("order '{}' no longer decodes: {}", o_.stored.order_id, error->text()));
      o_.image.emplace(std::move(std::get<OrderImage>(decoded)));
      sync_image();
    }
    return *o_.image;
  }

  // Moves units to `target`, then records the order's new state.
  void move(const std::string& target, const std::string& cause, LineStates lines, const std::string& event = "") {
    if (!o_.stored.allocations.empty()) settle_stock(o_.stored.lines, lines, event);
    std::string from = o_.stored.state;
    std::string to = life_.derive(lines, target);
    bool entered = to != from;
    if (!entered && lines == o_.stored.lines) return;
    if (entered && !from.empty()) cancel_order_timers();
    journal::StateChanged s;
    s.from = from;
    s.to = to;
    s.entered = entered;
    s.entry = entered ? o_.stored.state_entry + 1 : o_.stored.state_entry;
    s.cause = cause;
    s.lines = std::move(lines);
    for (auto& line : s.lines) std::erase_if(line, [](const LineState& p) { return p.quantity <= 0; });
    append(std::move(s));
    ack_.steps.push_back(from.empty() ? fmt::format("-> {}", to) : fmt::format("{} -> {}", from, to));
    sync_image();
  }

  // Every unit from the states a transition leaves to `target`.
  LineStates all_units_to(const check::Transition* t, const std::string& target) const {
    LineStates lines = o_.stored.lines;
    for (auto& line : lines) {
      int64_t moved = 0;
      std::vector<LineState> kept;
      for (const LineState& part : line) {
        int s = life_.state(part.state);
        bool leaves = !t || std::find(t->sources.begin(), t->sources.end(), s) != t->sources.end();
        if (leaves)
          moved += part.quantity;
        else
          kept.push_back(part);
      }
      add_units(kept, target, moved);
      line = std::move(kept);
    }
    return lines;
  }

  // Runs the policies that the order's state hands it to (`by acceptance`,
  // `by routing`) until it rests in a state no policy moves it from.
  void run_policies(const std::string& cause) {
    for (int guard = 0; guard < 8; ++guard) {
      int s = life_.state(o_.stored.state);
      const check::Transition* t = s >= 0 ? life_.by_policy(s) : nullptr;
      if (!t) return;
      std::string target = decide(*t->by);
      if (!take(t, target, cause)) return;
    }
  }

  // A decision of `kind`'s policy: which policy, version and deployment.
  // Those no rule made (a hold's timeout, a person's) are this and no more.
  journal::Decided policy_decision(check::PolicyKind kind) const {
    journal::Decided d;
    d.policy = check::policy_kind_name(kind);
    if (const check::Policy* p = bundle_.policy(kind)) d.version = p->version;
    d.deployment = dep_.meta.id;
    return d;
  }

  // What every decision records of its outcome: the policy, its verdict,
  // the rule, the hold and the annotations every kind of policy makes.
  journal::Decided decision_record(check::PolicyKind kind, const engine::Outcome& out) const {
    journal::Decided d = policy_decision(kind);
    d.decision = engine::verdict_name(out.verdict);
    d.reason = std::string(out.reason);
    if (out.deciding_rule != -2) d.rule = std::string(out.deciding_rule_name);
    d.matched = engine::matched_rule_names(bundle_, out);
    d.hold_for = out.hold_for;
    if (out.hold_for) d.until = at_ + *out.hold_for;
    if (out.timeout_verdict != Verdict::None) {
      d.on_timeout = engine::verdict_name(out.timeout_verdict);
      d.on_timeout_reason = std::string(out.timeout_reason);
    }
    d.tags = out.tags;
    for (const engine::Notification& n : out.notifications) d.notifications.push_back(notification_record(bundle_, n));
    if (out.policy_error) d.error = out.error;
    return d;
  }

  // Evaluates a policy and records the decision; returns the state it picks.
  std::string decide(check::PolicyKind kind) {
    bool routing = kind == check::PolicyKind::Routing;
    if (!bundle_.policy(kind)) {
      // A bundle without the policy leaves the order where it is (a bundle
      // without routing fulfils accepted orders itself: they are packed).
      return "";
    }
    engine::Outcome out;
    engine::EvalInput input = input_now();
    std::vector<bool> excluded;
    std::vector<journal::ExcludedNode> why_excluded;
    bool values = engine_.options_.trace == engine::TraceDetail::Values;
    std::optional<RecordingInventory> recording;
    if (dep_.inventory) {
      const LiveInventory& nodes = *dep_.inventory;
      recording.emplace(nodes);
      input.inventory = &*recording;
    }
    if (routing && dep_.inventory) {
      why_excluded = engine_.routing_exclusions(o_, at_, excluded);
      if (!why_excluded.empty()) input.excluded_nodes = &excluded;
    }
    dep_.engine->evaluate_into(kind, input, engine::TraceDetail::Rules, out);
    std::vector<Allocation> reserved;
    if (out.verdict == Verdict::Route) reserved = reserve(out);

    journal::Decided d = decision_record(kind, out);
    if (out.priority) d.priority = engine::priority_name(bundle_, *out.priority);
    if (out.delivery) {
      model::Value was = model::RecordRef(bundle_.schema, bundle_.order_record, image().data()).get("delivery");
      if (was.is_missing() || was.i != *out.delivery) {
        d.delivery = engine::delivery_name(bundle_, *out.delivery);
        d.delivery_was = was.is_missing() ? "" : engine::delivery_name(bundle_, was.i);
        d.delivery_rule = std::string(out.delivery_rule);
      }
    }
    for (uint32_t s = 0; s < out.shipments.size(); ++s) {
      journal::Shipment shipment{std::string(out.shipments[s].node_id), {}};
      for (const engine::ShipmentLine& l : out.lines_of(s))
        shipment.lines.push_back({l.line, engine::line_sku(bundle_, image().data(), l.line), l.quantity});
      d.shipments.push_back(std::move(shipment));
    }
    if (values) {
      d.explainable = true;
      d.excluded = std::move(why_excluded);
      if (recording && dep_.inventory) {
        // What the evaluation saw, as it saw it: before this decision reserved anything.
        for (const std::string& sku : recording->seen()) {
          const model::StockLevel* levels = dep_.inventory->sku_stock(sku);
          for (size_t n = 0; levels && n < dep_.inventory->node_count(); ++n) {
            model::StockLevel level = levels[n];
            for (const Allocation& a : reserved)
              if (a.sku == sku && a.node == dep_.inventory->node_id(n)) level.reserved -= a.quantity;
            if (level.on_hand == 0 && level.reserved == 0 && level.safety == 0) continue;
            d.stock_seen.push_back({dep_.inventory->node_id(n), sku, level.on_hand, level.reserved, level.safety});
          }
        }
      }
    }
    std::string promise_changed =
        d.delivery.empty() ? "" : fmt::format("delivery {} -> {} (rule \"{}\")", d.delivery_was, d.delivery, d.delivery_rule);
    append(std::move(d));
    ack_.steps.push_back(engine::summary(bundle_, out));
    if (!promise_changed.empty()) {
      ack_.steps.push_back(promise_changed);
      o_.image.reset();  // the order now promises otherwise: what runs next reads it anew
    }
    if (!reserved.empty()) {
      std::set<std::string> shipping;
      for (const Allocation& r : reserved) shipping.insert(r.node);
      for (const std::string& node : shipping) {
        engine_.stock_.count_order(node, at_);
        engine_.work_->counted.push_back({node, at_});
      }
      append(journal::Reserved{std::move(reserved)});
    }
    hold_for_ = out.verdict == Verdict::Hold ? out.hold_for : std::nullopt;
    return verdict_target(out.verdict);
  }

  // Reserves what a route allocates. Routing chose from the stock the
  // engine holds, so every unit is there to reserve; a shortfall is a bug,
  // and the input fails rather than promise a unit twice.
  std::vector<Allocation> reserve(const engine::Outcome& out) {
    std::vector<Allocation> reserved;
    if (out.shipment_lines.empty())
      throw std::logic_error("routing chose a node but no line to ship from it; nothing was reserved");
    for (uint32_t s = 0; s < out.shipments.size(); ++s)
      for (const engine::ShipmentLine& l : out.lines_of(s)) {
        std::string node(out.shipments[s].node_id);
        std::string sku = engine::line_sku(bundle_, image().data(), l.line);
        StockRow row = engine_.stock_.row(node, sku);
        if (row.on_hand - row.reserved - row.safety_stock < l.quantity)
          throw std::logic_error(fmt::format("routing chose {} x {} at {}, which has {} available", l.quantity, sku,
                                             node, std::max<int64_t>(0, row.on_hand - row.reserved - row.safety_stock)));
        stock_change(node, sku, 0, l.quantity, "reserved");
        reserved.push_back({l.line, sku, node, l.quantity});
      }
    return reserved;
  }

  void stock_change(const std::string& node, const std::string& sku, int64_t on_hand, int64_t reserved,
                    const std::string& cause) {
    StockChange c;
    c.at = at_;
    c.node = node;
    c.sku = sku;
    c.on_hand_change = on_hand;
    c.reserved_change = reserved;
    c.cause = cause;
    c.order_id = o_.stored.order_id;
    engine_.change_stock(std::move(c));
  }

  // A returned unit that is not restocked is counted apart at the node it
  // came back to, by its disposition: never sold again, still accounted for.
  void keep_apart(const std::string& node, const std::string& sku, Verdict disposition) {
    StockChange c;
    c.at = at_;
    c.node = node;
    c.sku = sku;
    c.order_id = o_.stored.order_id;
    switch (disposition) {
      case Verdict::Quarantine: c.quarantined_change = 1; c.cause = "quarantined"; break;
      case Verdict::WriteOff: c.written_off_change = 1; c.cause = "written_off"; break;
      case Verdict::ReturnToVendor: c.to_vendor_change = 1; c.cause = "to_vendor"; break;
      default: return;
    }
    engine_.change_stock(std::move(c));
  }

  // Units that ship consume their reservation; units that end (cancelled,
  // rejected) or go back to routing release it.
  void settle_stock(const LineStates& before, const LineStates& after, const std::string& event) {
    std::vector<Allocation> released, consumed;
    for (size_t i = 0; i < after.size() && i < before.size(); ++i) {
      std::map<std::string, int64_t> change;
      for (const LineState& p : before[i]) change[p.state] -= p.quantity;
      for (const LineState& p : after[i]) change[p.state] += p.quantity;
      int64_t leaving = 0, ending = 0;
      for (const auto& [state, delta] : change) {
        if (delta < 0) leaving -= delta;
        if (delta > 0 && life_.terminal(state)) ending += delta;
      }
      // A delivery reported without a shipment before it ships the units all the same.
      bool ships = event == "ship" || event == "deliver";
      int64_t settle = ships ? leaving : ending;
      for (const Allocation& a : o_.stored.allocations) {
        if (settle == 0) break;
        if (a.line != static_cast<int64_t>(i)) continue;
        int64_t q = std::min(settle, a.quantity);
        settle -= q;
        (ships ? consumed : released).push_back({a.line, a.sku, a.node, q});
      }
    }
    if (!released.empty() || !consumed.empty()) record_stock(std::move(released), std::move(consumed), "");
  }

  // Writes released and consumed units to the stock and the order's journal.
  void record_stock(std::vector<Allocation> released, std::vector<Allocation> consumed, const std::string& exclude) {
    for (const Allocation& r : released) stock_change(r.node, r.sku, 0, -r.quantity, "released");
    for (const Allocation& c : consumed) stock_change(c.node, c.sku, -c.quantity, -c.quantity, "shipped");
    append(journal::StockSettled{std::move(released), std::move(consumed), exclude});
  }

  // Every reservation of the order given back, the node that refused it
  // kept out of its next routing.
  void release_all(const std::string& refusing_node) { record_stock(o_.stored.allocations, {}, refusing_node); }

  // Takes transition `t` to `target`; false when the machine has no such
  // move (recorded, and the order stays).
  bool take(const check::Transition* t, const std::string& target, const std::string& cause,
            const std::string& event = "") {
    if (target.empty()) return false;
    int ts = life_.state(target);
    if (ts < 0 || std::find(t->targets.begin(), t->targets.end(), ts) == t->targets.end()) {
      append(journal::Refused{event, "",
                              fmt::format("machine {} has no transition from '{}' to '{}' {}", life_.machine().name,
                                          o_.stored.state, target, cause),
                              std::nullopt});
      return false;
    }
    std::string before = o_.stored.state;
    move(target, cause, all_units_to(t, target), event);
    if (o_.stored.state == "held" && hold_for_) set_timer(kHoldTimeout, at_ + *hold_for_);
    hold_for_.reset();
    return o_.stored.state != before;
  }

  // Checks the escalation policy: notifies for rules that newly hold, then
  // sets a timer for the next moment one of the others will.
  void escalate() {
    const check::Policy* p = bundle_.policy(check::PolicyKind::Escalation);
    if (!p) return;
    if (settled()) {
      cancel_timers(kEscalation);
      return;
    }
    engine::Outcome out;
    engine::EvalInput input = input_now();
    dep_.engine->evaluate_into(check::PolicyKind::Escalation, input, engine::TraceDetail::Rules, out);
    std::vector<std::string> fired;
    for (size_t i = 0; i < p->rules.size(); ++i) {
      const std::string& name = p->rules[i].name;
      if (out.rule_matched(static_cast<int>(i)) &&
          std::find(o_.stored.fired.begin(), o_.stored.fired.end(), name) == o_.stored.fired.end())
        fired.push_back(name);
    }
    if (!fired.empty()) {
      journal::Escalated e;
      e.rules = fired;
      e.deployment = dep_.meta.id;
      for (const engine::Notification& n : out.notifications)
        if (std::find(fired.begin(), fired.end(), std::string(n.rule)) != fired.end())
          e.notifications.push_back(notification_record(bundle_, n));
      if (out.priority) e.priority = engine::priority_name(bundle_, *out.priority);
      e.tags = out.tags;
      if (out.policy_error) e.error = out.error;
      for (const journal::Notification& n : e.notifications)
        ack_.steps.push_back(fmt::format("{} {} (rule \"{}\")", n.kind, n.to, n.rule));
      append(std::move(e));
    }
    std::optional<int64_t> next;
    for (size_t i = 0; i < p->rules.size(); ++i) {
      const check::Rule& r = p->rules[i];
      if (!dep_.escalation_reads_clock[i]) continue;
      if (std::find(o_.stored.fired.begin(), o_.stored.fired.end(), r.name) != o_.stored.fired.end()) continue;
      auto t = next_moment_true(*dep_.engine, *r.when, p->slot_count, image().data(), at_,
                                engine_.options_.escalation_horizon_ms);
      if (t && (!next || *t < *next)) next = t;
    }
    std::vector<Timer> armed = timers(kEscalation);
    if (armed.size() == 1 && next && armed[0].due == *next) return;
    cancel_timers(kEscalation);
    if (next) set_timer(kEscalation, *next);
  }

  // Nothing more will happen to the order: it has ended, and so has every
  // return of it (a returned order whose return waits to be graded is
  // still watched).
  bool settled() const {
    if (!life_.terminal(o_.stored.state)) return false;
    return std::all_of(o_.stored.returns.begin(), o_.stored.returns.end(), [&](const OrderReturn& r) {
      return !dep_.return_lifecycle || dep_.return_lifecycle->terminal(r.state);
    });
  }

  void set_timer(const std::string& kind, int64_t due) {
    Timer t{engine_.next_timer_id_++, o_.stored.order_id, due, kind, o_.stored.state_entry};
    append(journal::TimerSet{t.id, t.kind, t.due, t.state_entry});
    engine_.work_->timers.push_back({true, t});
  }

  std::vector<Timer> timers(const char* kind = nullptr) const {
    std::vector<Timer> out;
    for (const Timer& t : o_.stored.timers)
      if (!kind || t.kind == kind) out.push_back(t);
    return out;
  }

  void cancel_timers(const char* kind = nullptr) {
    for (const Timer& t : timers(kind)) cancel_timer(t);
  }

  void cancel_timer(const Timer& t) {
    append(journal::TimerCancelled{t.id, t.kind});
    engine_.work_->timers.push_back({false, t});
  }

  // The order's own timers, which its leaving a state ends; its returns'
  // run on their own states.
  void cancel_order_timers() {
    for (const Timer& t : timers())
      if (!t.kind.starts_with(kReturnTimer)) cancel_timer(t);
  }

  OrderReturn* find_return(const std::string& id) {
    for (OrderReturn& r : o_.stored.returns)
      if (r.id == id) return &r;
    return nullptr;
  }

  // Decides about a return (returns), one of its units (disposition) or a
  // failed delivery (ndr), `subject` being its image, and records the
  // decision with the return's id or the attempt.
  engine::Outcome decide_about(check::PolicyKind kind, const std::byte* subject, const std::string& return_id,
                               std::optional<int64_t> ndr_attempt = std::nullopt) {
    engine::Outcome out;
    if (!bundle_.policy(kind)) {
      // Nothing is let through unseen: a return or a failed delivery waits
      // for a person, a unit is kept apart.
      out.policy = kind;
      out.verdict = kind == check::PolicyKind::Disposition ? Verdict::Quarantine : Verdict::Hold;
      out.reason = kind == check::PolicyKind::Disposition ? ""
                   : kind == check::PolicyKind::Ndr       ? "no_ndr_policy"
                                                          : "no_returns_policy";
    } else {
      engine::EvalInput input = input_now();
      input.subject = subject;
      if (dep_.inventory) input.inventory = dep_.inventory.get();
      dep_.engine->evaluate_into(kind, input, engine::TraceDetail::Rules, out);
    }
    journal::Decided d = decision_record(kind, out);
    d.return_id = return_id;
    if (out.verdict == Verdict::Approve) {
      d.refund = syntax::refund_timing_words(out.refund_timing);
      if (out.keep_item) d.keep_item = true;
    }
    d.restock_to = std::string(out.restock_node);
    for (const engine::RefundTerm& t : out.refund_terms) d.refund_terms.push_back(encode_fee(t));
    d.ndr_attempt = ndr_attempt;
    if (out.verdict == Verdict::Reschedule) d.reschedule_to = out.reschedule_at;
    append(std::move(d));
    ack_.steps.push_back(ndr_attempt ? fmt::format("failed delivery {}: {}", *ndr_attempt, engine::summary(bundle_, out))
                                     : fmt::format("return {}: {}", return_id, engine::summary(bundle_, out)));
    return out;
  }

  // Moves the order's machine by `event_name` where its state takes it (one
  // target, its condition holding); else the order stays where it is.
  bool hear(const std::string& event_name, const std::string& cause) {
    int event = life_.event(event_name);
    int state = life_.state(o_.stored.state);
    const check::Transition* t = event >= 0 && state >= 0 ? life_.on_event(state, event) : nullptr;
    if (!t || t->targets.size() != 1) return false;
    if (t->guard && !dep_.engine->condition_holds(*t->guard, life_.machine().slot_count, input_now())) return false;
    return take(t, life_.state_name(t->targets[0]), cause, event_name);
  }

  // The units of each line that a return to origin brings back: those in
  // a state that takes `return_to_origin`, or, for a machine without that
  // event, every unit sold and not cancelled.
  std::vector<std::pair<int64_t, int64_t>> units_out_for_delivery() const {
    std::vector<std::pair<int64_t, int64_t>> units;
    int event = life_.event("return_to_origin");
    for (size_t i = 0; i < o_.stored.lines.size(); ++i) {
      int64_t n = 0;
      for (const LineState& part : o_.stored.lines[i]) {
        int s = life_.state(part.state);
        if (event >= 0 && s >= 0 && life_.on_event(s, event)) n += part.quantity;
      }
      if (n > 0) units.push_back({static_cast<int64_t>(i), n});
    }
    if (!units.empty() || event >= 0) return units;
    nlohmann::json order = nlohmann::json::parse(o_.stored.order);
    const nlohmann::json lines = order.value("lines", nlohmann::json::array());
    for (size_t i = 0; i < lines.size(); ++i) {
      int64_t n = lines[i].value("quantity", int64_t{0}) - lines[i].value("cancelled_quantity", int64_t{0});
      if (n > 0) units.push_back({static_cast<int64_t>(i), n});
    }
    return units;
  }

  // The parcel comes back undelivered: a return of its own (kind rto),
  // on its way back at once, received, graded and disposed like a
  // customer's. Cash on delivery was never collected, so nothing is
  // refunded; a prepaid order is refunded once its units are inspected.
  void start_rto(std::vector<std::pair<int64_t, int64_t>> units, const std::string& by, const std::string& event_id) {
    for (const OrderReturn& r : o_.stored.returns)
      if (r.kind == "rto") return;  // already on its way back
    if (units.empty()) return;
    nlohmann::json order = nlohmann::json::parse(o_.stored.order);
    std::string method = order.contains("payment") && order["payment"].is_object()
                             ? order["payment"].value("method", "")
                             : "";
    std::transform(method.begin(), method.end(), method.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string id = fmt::format("{}-RTO", o_.stored.order_id);
    journal::ReturnRequested requested{id, "rto", "undelivered", std::move(units), by, event_id,
                                       method == "cod" ? "none" : "after inspection", {}};
    append(std::move(requested));
    ack_.steps.push_back(fmt::format("return to origin {}", id));
    return_step(id, "ship_back", "return to origin");
  }

  // A failed delivery held for a person and not answered in time: the
  // hold's own timeout decides, recorded as the ndr policy's.
  void ndr_timed_out() {
    Verdict verdict = Verdict::None;
    for (Verdict v : {Verdict::Reattempt, Verdict::Reschedule, Verdict::ReturnToOrigin})
      if (o_.stored.ndr_on_timeout == engine::verdict_name(v)) verdict = v;
    if (verdict == Verdict::None) return;  // nothing said: it waits for a person
    journal::Decided d = policy_decision(check::PolicyKind::Ndr);
    d.decision = o_.stored.ndr_on_timeout;
    d.reason = "the hold timed out";
    d.ndr_attempt = o_.stored.ndr_attempts;
    append(std::move(d));
    ack_.steps.push_back(fmt::format("failed delivery {}: hold timed out, {}", o_.stored.ndr_attempts,
                                     engine::verdict_name(verdict)));
    act_on_ndr(verdict, std::nullopt, "timer");
  }

  // A return approved (by its policy or a person): the order's machine
  // hears of it where it takes `return_request`; trusted at once (refund
  // now, or keep the item), its money and its exchange go now.
  void authorized(const std::string& id, bool refund_now, bool keep_item) {
    hear("return_request", "on return_request");
    if (refund_now || keep_item) {
      refund_return(id);
      open_exchange(id);
    }
    if (keep_item) return_step(id, "close", "the customer keeps the item");
  }

  // Acts on a failed delivery's decision: a return to origin moves the
  // order (where its machine takes `return_to_origin`) and brings its
  // units back; a hold waits for a person or its timeout; a reattempt or a
  // reschedule leaves the order out for delivery.
  void act_on_ndr(Verdict verdict, std::optional<int64_t> hold_for, const std::string& by) {
    if (verdict == Verdict::ReturnToOrigin) {
      auto units = units_out_for_delivery();
      hear("return_to_origin", "by ndr");
      start_rto(std::move(units), by, "");
    } else if (verdict == Verdict::Hold && hold_for) {
      set_timer(kNdrTimeout, at_ + *hold_for);
    }
  }

  const Lifecycle& return_life() const {
    if (!dep_.return_lifecycle) throw Refusal{"the deployment has no return_lifecycle machine"};
    return *dep_.return_lifecycle;
  }

  // The transition a step the engine takes on a return (a ReturnEvent)
  // follows from where the return is, or null: the machine does not take it.
  const check::Transition* return_transition(const OrderReturn& r, const char* step) const {
    const Lifecycle& life = return_life();
    int event = life.event(step), state = life.state(r.state);
    return event >= 0 && state >= 0 ? life.on_event(state, event) : nullptr;
  }
  bool return_takes(const OrderReturn& r, const char* step) const { return return_transition(r, step) != nullptr; }

  // The return an input about a step is for: `return_id`'s when it names
  // one, else the order's first whose machine takes that step where it is;
  // null when there is none.
  OrderReturn* return_for(const std::string& return_id, const char* step) {
    if (!return_id.empty()) return find_return(return_id);
    for (OrderReturn& r : o_.stored.returns)
      if (return_takes(r, step)) return &r;
    return nullptr;
  }

  // Takes a step on a return where its machine takes it (to `target` where
  // the machine offers several: a person's review); elsewhere the return
  // stays where it is. Whether it moved.
  bool return_step(const std::string& id, const char* step, const std::string& cause, const std::string& target = "") {
    OrderReturn* r = find_return(id);
    const check::Transition* t = r ? return_transition(*r, step) : nullptr;
    if (!t) return false;
    const Lifecycle& life = return_life();
    std::string to = life.state_name(t->targets.front());
    if (!target.empty() || t->targets.size() > 1) {
      bool offered = std::any_of(t->targets.begin(), t->targets.end(),
                                 [&](int s) { return life.state_name(s) == target; });
      if (!offered) {
        std::vector<std::string> names;
        for (int s : t->targets) names.push_back(life.state_name(s));
        throw Refusal{fmt::format("machine {} takes return '{}' from {} on {} to {}, not to '{}'", life.machine().name,
                                  id, r->state, step, fmt::join(names, " or "), target)};
      }
      to = target;
    }
    enter_return(id, to, cause);
    return true;
  }

  // A returns policy's decision (`by returns`) carried out.
  void return_decided(const std::string& id, const std::string& to, const std::string& cause) {
    OrderReturn* r = find_return(id);
    const Lifecycle& life = return_life();
    const check::Transition* t = life.by_policy(life.state(r->state));
    if (t && std::find(t->targets.begin(), t->targets.end(), life.state(to)) != t->targets.end()) {
      enter_return(id, to, cause);
      return;
    }
    throw Refusal{fmt::format("machine {} has no `by returns` transition from {} to {}", life.machine().name,
                              r->state, to)};
  }

  // Moves a return into `to`; a state it may not stay in past a time
  // (`after 14d`) starts that return's timer, and leaving one ends it.
  void enter_return(const std::string& id, const std::string& to, const std::string& cause) {
    OrderReturn* r = find_return(id);
    if (!r || r->state == to) return;
    std::string from = r->state;
    for (const Timer& t : timers())
      if (t.kind == return_timer_kind(id, from)) cancel_timer(t);
    append(journal::ReturnChanged{id, from, to, cause});
    ack_.steps.push_back(fmt::format("return {}: {} -> {}", id, from, to));
    const Lifecycle& life = return_life();
    if (int s = life.state(to); s >= 0)
      if (const check::Transition* lapse = life.after(s)) set_timer(return_timer_kind(id, to), at_ + *lapse->after);
    sync_image();  // order.returns, as policies read it, moved too
  }

  // A return's state lasted as long as its machine lets it: it moves on
  // (an approved return nobody sent back expires). A return that so ends
  // without coming back gives the order back its delivered state, where
  // the order's machine takes `return_rejected` and no other return is open.
  void return_timed_out(const std::string& timer_kind) {
    std::string rest = timer_kind.substr(kReturnTimer.size());
    size_t colon = rest.rfind(':');
    if (colon == std::string::npos) return;
    std::string id = rest.substr(0, colon), state = rest.substr(colon + 1);
    OrderReturn* r = find_return(id);
    if (!r || r->state != state) return;  // it moved on meanwhile
    const Lifecycle& life = return_life();
    const check::Transition* lapse = life.after(life.state(state));
    if (!lapse) return;  // a redeployed machine no longer times it out
    std::string to = life.state_name(lapse->targets.front());
    enter_return(id, to, fmt::format("nothing happened for {}", model::format_duration(*lapse->after)));
    if (!life.terminal(to)) return;
    for (const OrderReturn& other : o_.stored.returns)
      if (other.id != id && !life.terminal(other.state)) return;
    hear("return_rejected", fmt::format("return {} {}", id, to));
  }

  // Pays a return back: every unit, with what its disposition charged.
  void refund_return(const std::string& id) {
    OrderReturn* r = find_return(id);
    if (!r || !r->refunded.empty() || r->refund == "none" || r->refund == kRefundByChannel) return;
    std::vector<RefundedUnit> units;
    size_t graded = 0;
    for (const auto& [line, quantity] : r->lines)
      for (int64_t k = 0; k < quantity; ++k) {
        RefundedUnit u;
        u.line = line;
        if (graded < r->units.size())
          for (const std::string& text : r->units[graded].fees)
            if (auto fee = decode_fee(text)) u.fees.push_back(std::move(*fee));
        ++graded;
        units.push_back(std::move(u));
      }
    bool shipping_already = false;
    for (const OrderReturn& other : o_.stored.returns) shipping_already |= other.refunded_shipping;
    Refund refund = compute_refund(bundle_, image().data(), units, shipping_already);
    if (!refund.error.empty()) {
      // Money that cannot be worked out is not paid: a person looks at it.
      return_step(id, "refund_failed", "refund_review: " + refund.error);
      return;
    }
    append(journal::Refunded{id, refund.text(), refund.arithmetic, refund.shipping_refunded});
    ack_.steps.push_back(fmt::format("return {}: refund {}", id, refund.text()));
    return_step(id, "refund", "refunded");
  }

  // Records what a channel refunded for a return (it pays it back itself).
  void refunded_by_channel(const std::string& id, const std::string& amount, const std::string& channel) {
    OrderReturn* r = find_return(id);
    if (!r || !r->refunded.empty()) return;
    append(journal::Refunded{id, amount, {fmt::format("refunded on {}: {}", channel, amount)}, false});
    ack_.steps.push_back(fmt::format("return {}: refunded on {} {}", id, channel, amount));
    return_step(id, "refund", "refunded on " + channel);
  }

  // Sends a return's exchange as an order of its own, decided by the live
  // bundle like any order: this order's customer, channel and addresses,
  // the items wanted instead at the price paid for what comes back (paid
  // already: nothing to collect), tagged "exchange". Once per return.
  void open_exchange(const std::string& return_id) {
    size_t n = 0;
    const Exchange* x = nullptr;
    for (const Exchange& e : o_.stored.exchanges) {
      ++n;
      if (e.return_id == return_id) {
        x = &e;
        break;
      }
    }
    const OrderReturn* r = find_return(return_id);
    if (!x || !r || !x->order_id.empty()) return;
    nlohmann::json was = nlohmann::json::parse(o_.stored.order);
    const nlohmann::json sold = was.value("lines", nlohmann::json::array());
    nlohmann::json price = sold.at(static_cast<size_t>(r->lines.front().first)).at("unit_price");
    auto amount = model::parse_decimal(price.value("amount", ""));
    std::string id = fmt::format("{}-X{}", o_.stored.order_id, n);
    nlohmann::json order = {{"id", id}, {"channel", o_.stored.channel},
                            {"external_id", fmt::format("{}-X{}", o_.stored.external_id, n)},
                            {"placed_at", model::format_time(at_)},
                            {"payment", {{"method", "prepaid"}, {"status", "paid"}}},
                            {"tags", {"exchange"}}, {"lines", nlohmann::json::array()}};
    for (const char* kept : {"customer", "ship_to", "bill_to", "delivery"})
      if (was.contains(kept)) order[kept] = was[kept];
    int64_t total = 0;
    for (size_t i = 0; i < x->lines.size(); ++i) {
      order["lines"].push_back({{"id", std::to_string(i + 1)}, {"sku", x->lines[i].first},
                                {"quantity", x->lines[i].second}, {"unit_price", price}});
      total += model::decimal_mul(amount.value_or(0), *model::decimal_from_int(x->lines[i].second)).value_or(0);
    }
    order["total"] = {{"amount", model::format_decimal(total, 2)}, {"currency", price.value("currency", "")}};
    const LoadedDeployment& live = engine_.deployment(engine_.live_id_);
    Input input{NewOrder{order, {}}, "exchange of return " + return_id, std::nullopt, {}};
    prepare_input(input, live.bundle);
    std::shared_ptr<PreparedOrder> prepared = std::get<NewOrder>(input.body).prepared;
    if (auto* error = std::get_if<DecodeError>(&prepared->decoded))
      throw Refusal{fmt::format("the exchange for return '{}' cannot be made: {}", return_id, error->text())};
    IntakeKey key{o_.stored.channel, order["external_id"].get<std::string>(), "order"};
    if (engine_.claimed(key) || engine_.load(id))
      throw Refusal{fmt::format("the exchange for return '{}' would be order '{}', which exists already", return_id, id)};
    Ack opened;
    opened.order_id = id;
    engine_.admit(live, *prepared, std::move(std::get<OrderImage>(prepared->decoded)), key, input.source, at_, opened);
    append(journal::ExchangeOpened{return_id, id});
    ack_.steps.push_back(fmt::format("return {}: exchange order {} ({})", return_id, id, fmt::join(opened.steps, "; ")));
  }

  // Writes what the engine keeps in the order (its state and since when)
  // into the image that policies read.
  void sync_image() {
    if (o_.image) stamp_state(bundle_, life_, *o_.image, o_.stored);
  }

  // What a policy reads of the order now.
  engine::EvalInput input_now() {
    engine::EvalInput input;
    input.order = image().data();
    input.now = at_;
    input.history = engine_.history_for(dep_);
    return input;
  }

  // A step of the input's answer, in words.
  void note(std::string text) { ack_.steps.push_back(std::move(text)); }

  int64_t at() const { return at_; }
  const Lifecycle& life() const { return life_; }
  const check::CheckedBundle& bundle() const { return bundle_; }

 private:
  OrderEngine& engine_;
  LiveOrder& o_;
  int64_t at_;
  Ack& ack_;
  const LoadedDeployment& dep_;
  const check::CheckedBundle& bundle_;
  const Lifecycle& life_;
  std::optional<int64_t> hold_for_;
};

// ------------------------------------------------------------ engine

OrderEngine::OrderEngine(Store& store, const WriterLock&, const Clock& clock, EngineOptions options)
    : store_(store), clock_(clock), options_(std::move(options)), stock_(store) {
  std::optional<int64_t> live = store_.deployments().live();
  if (!live)
    throw std::runtime_error("nothing is deployed in this database yet; run `orderflow deploy BUNDLE_DIR --db ...`");
  live_id_ = *live;
  // The live deployment's nodes are numbered first, so that its routing
  // reads the book's levels as they are.
  std::unique_ptr<LoadedDeployment> dep = load_deployment(store_, live_id_, options_.engine);
  std::vector<std::string> nodes;
  if (dep->bundle->inventory)
    for (size_t i = 0; i < dep->bundle->inventory->node_count(); ++i) nodes.push_back(dep->bundle->inventory->node_id(i));
  stock_.load(nodes);
  dep->inventory = std::make_unique<LiveInventory>(*dep->bundle, stock_.book());
  deployments_.emplace(live_id_, std::move(dep));
  next_timer_id_ = store_.orders().last_timer_id() + 1;
  latest_stored_ = latest_applied_ = std::stoll(store_.settings().get("clock").value_or("0"));
  fill_filters();
  seed_stock(deployment(live_id_), clock_.now());
  // The start pays for reading history() from the journal, not the first order.
  history_for(deployment(live_id_));
}

OrderEngine::~OrderEngine() {
  try {
    if (store_.in_transaction()) store_.rollback();
  } catch (...) {
  }
}

const LoadedDeployment& OrderEngine::deployment(int64_t id) {
  auto it = deployments_.find(id);
  if (it == deployments_.end()) {
    it = deployments_.emplace(id, load_deployment(store_, id, options_.engine)).first;
    it->second->inventory = std::make_unique<LiveInventory>(*it->second->bundle, stock_.book());
  }
  return *it->second;
}

void OrderEngine::seed_stock(const LoadedDeployment& dep, int64_t at) {
  std::vector<StockChange> changes = stock_.unseeded(*dep.bundle, at, fmt::format("seeded from deployment {}", dep.meta.id));
  if (changes.empty()) return;
  // Its own transaction, committed before anything is decided on it.
  bool own = !store_.in_transaction();
  if (own) store_.begin();
  try {
    std::set<std::string> skus;
    for (StockChange& c : changes) {
      StockRow row = stock_.apply(c);
      store_.stock().put(row);
      store_.stock().log(c);
      skus.insert(c.sku);
    }
    for (const std::string& sku : stock_.book().skus()) skus.insert(sku);
    if (dep.inventory) stock_.advertise(dep.channels, *dep.inventory, skus, at);
    if (own) store_.commit();
  } catch (...) {
    if (own) store_.rollback();
    stock_.reload();
    throw;
  }
}

bool OrderEngine::follow_live() {
  std::optional<int64_t> live = store_.deployments().live();
  if (!live || *live == live_id_) return false;
  const LoadedDeployment& dep = deployment(*live);
  live_id_ = *live;
  seed_stock(dep, clock_.now());
  history_for(dep);
  return true;
}

const engine::HistorySource* OrderEngine::history_for(const LoadedDeployment& dep) {
  if (!dep.bundle->uses_history) return nullptr;
  if (!history_) {
    // Once, from the journal: from then on, kept as inputs are written.
    auto built = std::make_unique<CustomerHistory>();
    built->load(store_);
    history_ = std::move(built);
  }
  return history_.get();
}

EngineStats OrderEngine::stats() const { return {orders_.size(), cached_bytes_, evicted_}; }

void OrderEngine::begin_if_needed() {
  if (store_.in_transaction()) return;
  Timed t{store_ms_};
  store_.begin();
}

void OrderEngine::change_stock(StockChange change) {
  auto key = std::make_pair(change.node, change.sku);
  if (!work_->stock_before.count(key)) work_->stock_before.emplace(key, stock_.row(change.node, change.sku));
  stock_.apply(change);
  work_->skus.insert(change.sku);
  work_->stock.push_back(std::move(change));
}

void OrderEngine::begin_work() {
  begin_if_needed();
  work_ = std::make_unique<Work>();
  work_->at = clock_.now();
}

void OrderEngine::write_work() {
  Work& w = *work_;
  {
    Timed t{store_ms_};
    for (const auto& [key, order_id] : w.claims) {
      store_.orders().claim(key, order_id);
      known_keys_.add(key_text(key));
    }
    for (auto& created : w.created) known_ids_.add(created->stored.order_id);
    for (auto& [order, record] : w.records) {
      store_.journal().append(record);
      order->stored.last_seq = record.seq;
      for (const journal::Entry& e : record.entries)
        if (std::holds_alternative<journal::Received>(e)) order->stored.received_seq = record.seq;
    }
    for (const auto& [added, timer] : w.timers) {
      if (added)
        store_.orders().add_timer(timer);
      else
        store_.orders().remove_timer(timer);
    }
    std::set<std::pair<std::string, std::string>> rows;
    for (StockChange& c : w.stock) {
      store_.stock().log(c);
      rows.insert({c.node, c.sku});
    }
    for (const auto& [node, sku] : rows) store_.stock().put(stock_.row(node, sku));
    for (auto& [order, record] : w.records) store_.orders().put(order->stored);
  }
  skus_changed_.insert(w.skus.begin(), w.skus.end());
  for (auto& [order, record] : w.records) order->image.reset();
  if (history_)
    for (auto& [order, record] : w.records) history_->apply(record);
  for (auto& created : w.created) {
    created->image.reset();
    if (!created->dep->lifecycle->terminal(created->stored.state)) remember(std::move(created));
  }
  for (auto& [order, record] : w.records) note_waiting(*order);
  for (auto& [order, record] : w.records) {
    if (!orders_.count(order->stored.order_id)) continue;
    touch(*order);
    // An order that has ended leaves the cache once the input is answered,
    // not now: whoever holds it may still read it for the answer.
    if (order->dep->lifecycle->terminal(order->stored.state)) ended_.push_back(order->stored.order_id);
  }
  work_.reset();
  trim_cache();
}

void OrderEngine::release_ended() {
  for (const std::string& id : ended_) forget(id);
  ended_.clear();
}

void OrderEngine::undo_work() {
  if (!work_) return;
  Work& w = *work_;
  for (const auto& [key, before] : w.stock_before) stock_.restore(before);
  for (const auto& [node, at] : w.counted) stock_.uncount_order(node, at);
  // The orders it changed are read again from the store, which has them as they were.
  for (auto& [order, record] : w.records) {
    bool created = std::any_of(w.created.begin(), w.created.end(), [&](const auto& c) { return c.get() == order; });
    if (!created) forget(order->stored.order_id.empty() ? record.order_id : order->stored.order_id);
  }
  work_.reset();
}

void OrderEngine::remember(std::unique_ptr<LiveOrder> order) {
  order->bytes = footprint(order->stored);
  cached_bytes_ += order->bytes;
  std::string id = order->stored.order_id;
  lru_.push_front(std::move(order));
  orders_[id] = lru_.begin();
}

void OrderEngine::forget(const std::string& order_id) {
  auto it = orders_.find(order_id);
  if (it == orders_.end()) return;
  cached_bytes_ -= (*it->second)->bytes;
  lru_.erase(it->second);
  orders_.erase(it);
}

void OrderEngine::touch(LiveOrder& order) {
  auto it = orders_.find(order.stored.order_id);
  if (it == orders_.end()) return;
  cached_bytes_ -= order.bytes;
  order.bytes = footprint(order.stored);
  cached_bytes_ += order.bytes;
  lru_.splice(lru_.begin(), lru_, it->second);
}

void OrderEngine::trim_cache() {
  while (cached_bytes_ > options_.order_cache_bytes && !lru_.empty()) {
    cached_bytes_ -= lru_.back()->bytes;
    orders_.erase(lru_.back()->stored.order_id);
    lru_.pop_back();
    ++evicted_;
  }
}

void OrderEngine::commit() {
  commit_unsynced();
  Timed t{store_ms_};
  store_.sync();
}

void OrderEngine::sync() { store_.sync(); }

void OrderEngine::commit_unsynced() {
  if (!store_.in_transaction()) return;
  Timed t{store_ms_};
  // The channels hear of the stock once a batch, at its last level.
  if (!skus_changed_.empty()) {
    const LoadedDeployment& live = deployment(live_id_);
    if (live.inventory) stock_.advertise(live.channels, *live.inventory, skus_changed_, clock_.now());
    skus_changed_.clear();
  }
  store_.settings().set("last_timer_id", std::to_string(next_timer_id_ - 1));
  if (latest_applied_ > latest_stored_) {
    store_.settings().set("clock", std::to_string(latest_applied_));
    latest_stored_ = latest_applied_;
  }
  if (inbox_decided_dirty_) {
    store_.settings().set("inbox_decided", std::to_string(inbox_decided_));
    inbox_decided_dirty_ = false;
  }
  store_.commit_unsynced();
  uncommitted_ = 0;
  release_ended();
  if (known_keys_.crowded() || known_ids_.crowded()) fill_filters();
}

void OrderEngine::abort() {
  store_.rollback();
  work_.reset();
  lru_.clear();
  orders_.clear();
  ended_.clear();
  cached_bytes_ = 0;
  skus_changed_.clear();
  stock_.reload();
  next_timer_id_ = store_.orders().last_timer_id() + 1;
  latest_applied_ = latest_stored_;
  inbox_decided_ = -1;
  inbox_decided_dirty_ = false;
  backorders_.clear();
  // It counted the inputs the store has just forgotten: read again from the
  // journal when next asked.
  history_.reset();
  uncommitted_ = 0;
}

void OrderEngine::set_inbox_decided(int64_t seq) {
  begin_if_needed();
  inbox_decided_ = seq;
  inbox_decided_dirty_ = true;
}

int64_t OrderEngine::inbox_decided() {
  if (inbox_decided_ < 0) inbox_decided_ = std::stoll(store_.settings().get("inbox_decided").value_or("0"));
  return inbox_decided_;
}

OrderEngine::LiveOrder* OrderEngine::load(const std::string& order_id) {
  auto it = orders_.find(order_id);
  if (it != orders_.end()) return it->second->get();
  if (work_)
    for (auto& created : work_->created)
      if (created->stored.order_id == order_id) return created.get();
  std::optional<StoredOrder> stored;
  {
    Timed t{store_ms_};
    stored = store_.orders().get(order_id);
  }
  if (!stored) return nullptr;
  auto live = std::make_unique<LiveOrder>();
  live->dep = &deployment(stored->deployment);
  live->stored = std::move(*stored);
  LiveOrder* raw = live.get();
  remember(std::move(live));
  return raw;
}

Ack OrderEngine::dead_letter(const std::string& raw, const std::string& source, const std::string& error,
                             int64_t at) {
  begin_if_needed();
  {
    Timed t{store_ms_};
    store_.dead_letters().add({0, at, source, raw, error});
  }
  ++uncommitted_;
  Ack ack;
  ack.status = Ack::Status::Invalid;
  ack.message = error;
  ack.applied_at = at;
  return ack;
}

Ack OrderEngine::submit(const Input& input) {
  release_ended();
  int64_t at = clock_.now();
  Ack ack;
  if (input.inbox.seq > 0 && inbox_decided() != input.inbox.after) {
    // An entry before it in the inbox was not stored (its batch failed):
    // taking this one would skip that one for good. The intake sends both again.
    ack.status = Ack::Status::Failed;
    ack.message = fmt::format("not stored, send it again: inbox entry {} comes after entry {}, and the engine has "
                              "decided the inbox up to entry {}",
                              input.inbox.seq, input.inbox.after, inbox_decided());
    return ack;
  }
  if (std::holds_alternative<NothingToDecide>(input.body)) {
    begin_if_needed();
  } else if (auto* unreadable = std::get_if<Unreadable>(&input.body)) {
    ack = dead_letter(unreadable->raw, input.source, unreadable->error, at);
  } else if (auto* order = std::get_if<NewOrder>(&input.body)) {
    ack = take_order(*order, input.source, at);
  } else if (auto* event = std::get_if<OrderEvent>(&input.body)) {
    ack = take_event(*event, input.source, input.at, at);
  } else if (auto* stock = std::get_if<StockInput>(&input.body)) {
    ack = take_stock(*stock, input.source, at);
  } else if (auto* request = std::get_if<ReturnRequest>(&input.body)) {
    ack = take_return(*request, input.source, input.at, at);
  } else if (auto* grade = std::get_if<GradeInput>(&input.body)) {
    ack = take_grade(*grade, input.source, input.at, at);
  } else if (auto* ndr = std::get_if<NdrInput>(&input.body)) {
    ack = take_ndr(*ndr, input.source, input.at, at);
  } else if (auto* decision = std::get_if<PersonDecision>(&input.body)) {
    ack = take_person_decision(*decision, input.source, input.at, at);
  }
  ack.applied_at = at;
  // Applied later than it happened: said when it changed something.
  bool applied = ack.status == Ack::Status::Stored || ack.status == Ack::Status::Refused;
  if (applied && input.at && *input.at != at) ack.happened_at = input.at;
  latest_applied_ = std::max(latest_applied_, at);
  if (input.inbox.seq > 0 && input.inbox.last) set_inbox_decided(input.inbox.seq);
  return ack;
}

std::string OrderEngine::key_text(const IntakeKey& key) {
  return key.channel + '\0' + key.external_id + '\0' + key.channel_event_id;
}

void OrderEngine::fill_filters() {
  known_keys_ = KeyFilter(std::max<size_t>(1u << 20, 2 * static_cast<size_t>(store_.orders().count())));
  known_ids_ = KeyFilter(std::max<size_t>(1u << 20, 2 * static_cast<size_t>(store_.orders().count())));
  store_.orders().scan_keys([&](const IntakeKey& k) { known_keys_.add(key_text(k)); });
  store_.orders().scan_ids([&](const std::string& id) { known_ids_.add(id); });
}

bool OrderEngine::claimed(const IntakeKey& key) {
  if (!known_keys_.may_contain(key_text(key))) return false;
  Timed t{store_ms_};
  return store_.orders().claimed(key);
}

Ack OrderEngine::take_order(const NewOrder& input, const std::string& source, int64_t at) {
  const LoadedDeployment& dep = deployment(live_id_);
  // Decoded where it was posted, against the bundle live then; again here if another went live since.
  std::shared_ptr<PreparedOrder> prepared = input.prepared;
  if (!prepared || prepared->bundle != dep.bundle) {
    Input again{NewOrder{input.prepared ? nlohmann::json::parse(input.prepared->text, nullptr, false) : input.order, {}},
                source, std::nullopt, {}};
    prepare_input(again, dep.bundle);
    prepared = std::get<NewOrder>(again.body).prepared;
  }
  if (auto* error = std::get_if<DecodeError>(&prepared->decoded))
    return dead_letter(prepared->text, source, error->text(), at);
  OrderImage& image = std::get<OrderImage>(prepared->decoded);
  if (auto error = nothing_to_fulfil(*dep.bundle, image.data()))
    return dead_letter(prepared->text, source, error->text(), at);
  Ack ack;
  ack.order_id = order_id(*dep.bundle, image.data());
  const std::string& channel = prepared->channel;
  std::string external_id = prepared->external_id.empty() ? ack.order_id : prepared->external_id;
  IntakeKey key{channel, external_id, "order"};
  begin_if_needed();
  if (claimed(key)) {
    LiveOrder* existing = load(ack.order_id);
    // Sent before: a copy, or the order changed at the channel.
    if (existing && existing->stored.sent_hash != sent_hash(prepared->text))
      return take_update(ack.order_id, prepared, source, at);
    ack.status = Ack::Status::Duplicate;
    if (existing) ack.state = existing->stored.state;
    return ack;
  }
  if (LiveOrder* existing = known_ids_.may_contain(ack.order_id) ? load(ack.order_id) : nullptr) {
    ack.status = Ack::Status::Refused;
    ack.state = existing->stored.state;
    ack.message = fmt::format("order '{}' exists already (from {} order '{}'); changes to an order come as events",
                              ack.order_id, existing->stored.channel, existing->stored.external_id);
    return ack;
  }
  begin_work();
  work_->at = at;
  try {
    admit(dep, *prepared, std::move(image), key, source, at, ack);
    write_work();
  } catch (const StoreError&) {
    throw;  // the store is failing: the batch is lost as a whole
  } catch (const std::exception& e) {
    undo_work();
    return dead_letter(prepared->text, source,
                       fmt::format("could not process order '{}': {}", ack.order_id, e.what()), at);
  }
  ++uncommitted_;
  return ack;
}

namespace {

// The record image of a Return, a ReturnUnit or an Ndr, from its JSON.
std::byte* subject_image(const check::CheckedBundle& b, int record, const nlohmann::json& json, model::Arena& arena) {
  if (record < 0) throw Refusal{"the schema has no record for returns and failed deliveries (Return, ReturnUnit, Ndr)"};
  auto decoded = decode_record(b, record, json, arena);
  if (auto* e = std::get_if<DecodeError>(&decoded)) throw Refusal{e->text()};
  return std::get<std::byte*>(decoded);
}

// Who wanted a cancellation, for the reports that count them apart: as the
// event says; else as its sender reads (a connector names the buyer, the
// seller or the system where its channel does, or itself: the
// marketplace); a timer is the system; anyone else is left unsaid.
std::string cancel_initiator(const OrderEvent& e, const StoredOrder& o) {
  if (!e.initiator.empty()) return e.initiator;
  if (e.by == "buyer" || e.by == "seller" || e.by == "marketplace" || e.by == "system") return e.by;
  if (e.by == "timer") return "system";
  if (!e.by.empty() && e.by == o.channel) return "marketplace";
  return "";
}

// Whether the order was ever in `state` (it may have moved on since).
bool ever_entered(const StoredOrder& o, std::string_view state) {
  return std::any_of(o.entered.begin(), o.entered.end(), [&](const auto& e) { return e.first == state; });
}

// A line's id as the order JSON gives it (a channel may send a number).
std::string line_id_of(const nlohmann::json& line) {
  if (!line.contains("id")) return "";
  return line["id"].is_string() ? line["id"].get<std::string>() : line["id"].dump();
}

// A line of the order JSON named by index, SKU or id.
std::optional<size_t> find_line(const nlohmann::json& lines, const journal::LineRef& ref) {
  if (ref.line) return *ref.line < static_cast<int64_t>(lines.size()) ? std::optional<size_t>(*ref.line) : std::nullopt;
  for (size_t k = 0; k < lines.size(); ++k) {
    if (!ref.sku.empty() && lines[k].value("sku", "") == ref.sku) return k;
    if (!ref.id.empty() && line_id_of(lines[k]) == ref.id) return k;
  }
  return std::nullopt;
}

}  // namespace

Ack OrderEngine::take_event(const OrderEvent& input, const std::string& source, std::optional<int64_t> happened,
                            int64_t at) {
  const std::string& event_name = input.event;
  Input original{input, source, happened, {}};
  return on_order(input.order_id, event_name, fmt::format("the event '{}'", event_name), input.event_id, original,
                  happened, at, [&](Step& step, LiveOrder& order) {
    LiveOrder* o = &order;
    const Lifecycle& life = step.life();
    journal::EventApplied record;
    record.event = event_name;
    record.event_id = input.event_id;
    record.by = input.by;
    record.reason = input.reason;
    record.carrier = input.carrier;
    record.tracking_number = input.tracking_number;
    if (event_name == "cancel") record.initiator = cancel_initiator(input, o->stored);
    if (happened && *happened != at) record.happened_at = happened;
    int event = life.event(event_name);
    if (event < 0 && event_name == "reject_allocation") {
      // Built in, for machines without such an event: a node refuses what it
      // was allocated; the stock goes back and the order is routed again
      // without that node, from the state routing starts from.
      if (o->stored.allocations.empty())
        throw Refusal{fmt::format("order '{}' has no allocation to reject", input.order_id)};
      const check::Transition* routing = nullptr;
      for (const check::Transition& t : life.machine().transitions)
        if (!routing && t.event < 0 && t.by == check::PolicyKind::Routing) routing = &t;
      if (!routing) throw Refusal{"the machine has no `by routing` transition to route the order again"};
      std::string node = input.node.empty() ? o->stored.allocations[0].node : input.node;
      record.node = node;
      step.append(std::move(record));
      step.release_all(node);
      const std::string& again = life.state_name(routing->sources.front());
      step.move(again, fmt::format("{} refused the allocation", node), step.all_units_to(nullptr, again));
      step.run_policies("by policy");
      return;
    }
    if (event < 0 && event_name == "return_shipped") {
      // Built in, about a return only: its parcel set out back (picked up
      // from the customer), which the order's machine need not know.
      OrderReturn* r = step.return_for(input.return_id, "ship_back");
      if (!r || !step.return_takes(*r, "ship_back"))
        throw Refusal{input.return_id.empty()
                          ? fmt::format("order '{}' has no return waiting to be sent back", input.order_id)
                          : fmt::format("order '{}' has no return '{}' waiting to be sent back", input.order_id,
                                        input.return_id)};
      std::string id = r->id;
      step.append(std::move(record));
      step.return_step(id, "ship_back", "on return_shipped");
      return;
    }
    if (event < 0)
      throw Refusal{fmt::format("unknown event '{}'; the events are {}", event_name,
                                fmt::join(life.event_names(), ", "))};
    // `return_received` is the parcel of the order's open return (or of
    // `return_id`) arriving; `return_rejected` withdraws it (the customer,
    // or the channel, called it off).
    bool return_took = false;
    if (event_name == "return_received" || event_name == "return_rejected") {
      const char* return_event = event_name == "return_received" ? "receive" : "withdraw";
      OrderReturn* r = step.return_for(input.return_id, return_event);
      if (!input.return_id.empty()) {
        if (!r) throw Refusal{fmt::format("order '{}' has no return '{}'", input.order_id, input.return_id)};
        if (!step.return_takes(*r, return_event))
          throw Refusal{fmt::format("return '{}' is {}: it cannot be {} now", r->id, r->state,
                                    event_name == "return_received" ? "received" : "withdrawn")};
      }
      if (r) {
        std::string id = r->id;
        bool pay = r->refund == "after receipt";
        step.return_step(id, return_event, "on " + event_name);
        if (event_name == "return_received") {
          if (pay) step.refund_return(id);
          step.open_exchange(id);  // an exchange waits for what it replaces
        }
        return_took = true;
      }
    }

    // Fields the event sets on the order, checked against the schema first.
    nlohmann::json set = input.set;
    nlohmann::json current = nlohmann::json::parse(o->stored.order);
    if (event_name == "deliver" && !set.contains("delivered_at") && !current.contains("delivered_at") &&
        step.bundle().schema.record_def(step.bundle().order_record).find("delivered_at") >= 0)
      set["delivered_at"] = model::format_time(happened.value_or(at));
    if (!set.empty()) {
      nlohmann::json changed = current;
      for (const auto& [field, value] : set.items()) changed[field] = value;
      DecodeResult decoded = decode_order(step.bundle(), changed);
      if (auto* error = std::get_if<DecodeError>(&decoded))
        throw Refusal{fmt::format("$.set: the order would not be valid: {}", error->text())};
      record.set = set.dump();
    }

    int current_state = life.state(o->stored.state);
    // Which units move: the lines named, or every unit whose state takes the event.
    const check::Transition* transition = nullptr;
    LineStates lines = o->stored.lines;
    std::vector<std::pair<size_t, int64_t>> wanted;  // line, quantity
    if (input.lines) {
      const nlohmann::json& order_lines = current.contains("lines") ? current["lines"] : nlohmann::json::array();
      for (size_t i = 0; i < input.lines->size(); ++i) {
        const journal::LineRef& g = (*input.lines)[i];
        std::optional<size_t> index = find_line(order_lines, g);
        if (!index || *index >= lines.size())
          throw Refusal{fmt::format("$.lines[{}]: no such line in order '{}'", i, input.order_id)};
        wanted.push_back({*index, g.quantity});
      }
      record.lines = *input.lines;
    }
    // Guards and targets are per transition; with lines, units may come from several states.
    std::vector<std::pair<const check::Transition*, std::string>> moves;  // transition, target
    auto accepts = [&](const std::string& state) -> const check::Transition* {
      int s = life.state(state);
      return s >= 0 ? life.on_event(s, event) : nullptr;
    };
    auto target_for = [&](const check::Transition* t) -> std::string {
      if (t->guard) {
        engine::EvalInput in = step.input_now();
        if (!o->dep->engine->condition_holds(*t->guard, life.machine().slot_count, in))
          throw Refusal{fmt::format("order '{}' does not take '{}' now: the condition `{}` does not hold",
                                    input.order_id, event_name, step.bundle().source_text(t->guard->range))};
      }
      if (t->targets.size() == 1) return life.state_name(t->targets[0]);
      if (event_name == "timeout" && o->stored.hold && !o->stored.hold->on_timeout.empty())
        return target_of_verdict_name(o->stored.hold->on_timeout);
      if (t->by) return "";  // the policy decides
      throw Refusal{fmt::format("the transition on '{}' from '{}' has several targets and nothing picks one",
                                event_name, o->stored.state)};
    };
    if (wanted.empty()) {
      for (const auto& line : lines)
        for (const LineState& part : line)
          if (part.quantity > 0 && accepts(part.state) && !transition) transition = accepts(part.state);
      if (!transition && lines.empty() && current_state >= 0) transition = life.on_event(current_state, event);
      if (!transition && return_took) {
        // The return took it; the order's own machine has nothing to do with it.
        step.append(std::move(record));
        return;
      }
      if (!transition) {
        std::vector<std::string> takes =
            current_state >= 0 ? life.accepted_events(current_state) : std::vector<std::string>{};
        throw Refusal{fmt::format("order '{}' is {}, which does not take the event '{}'{}", input.order_id,
                                  o->stored.state, event_name,
                                  takes.empty() ? std::string(" (it takes no events)")
                                                : fmt::format(" (it takes {})", fmt::join(takes, ", ")))};
      }
      moves.push_back({transition, target_for(transition)});
    } else {
      LineStates after = lines;
      for (auto [index, quantity] : wanted) {
        int64_t left = quantity;
        auto& line = after[index];
        std::vector<LineState> moved;
        for (LineState& part : line) {
          const check::Transition* t = accepts(part.state);
          if (!t || left == 0) continue;
          if (t->by) throw Refusal{fmt::format("the event '{}' applies to the whole order, not to lines", event_name)};
          std::string target = target_for(t);
          int64_t n = std::min(left, part.quantity);
          part.quantity -= n;
          left -= n;
          moved.push_back({target, n});
          if (!transition) transition = t;
        }
        if (left > 0)
          throw Refusal{fmt::format("line {} of order '{}' has only {} unit(s) in a state that takes '{}'", index,
                                    input.order_id, quantity - left, event_name)};
        for (const LineState& m : moved) add_units(line, m.state, m.quantity);
        std::erase_if(line, [](const LineState& p) { return p.quantity == 0; });
      }
      lines = std::move(after);
    }

    if (event_name == "cancel" && !wanted.empty()) {
      // Cancelled units are no longer the order's to ship: policies read
      // them in line.cancelled_quantity.
      for (auto [index, quantity] : wanted) record.cancelled_units.push_back({static_cast<int64_t>(index), quantity});
    }
    bool order_changes = !record.set.empty() || !record.cancelled_units.empty();
    step.append(std::move(record));
    if (order_changes) {
      o->image.reset();
      step.image();  // decoded again with what the event set, checked
    }
    step.sync_image();
    std::string cause = fmt::format("on {}", event_name);
    if (event_name == "reject_allocation" && !o->stored.allocations.empty()) {
      // A machine with its own reject_allocation event: the stock goes back all the same.
      step.release_all(input.node.empty() ? o->stored.allocations[0].node : input.node);
    }
    if (wanted.empty()) {
      auto [t, target] = moves.front();
      if (target.empty() && t->by) target = step.decide(*t->by);
      // A courier's return to origin brings the units back as a return of its own.
      auto coming_back = event_name == "return_to_origin" ? step.units_out_for_delivery()
                                                          : std::vector<std::pair<int64_t, int64_t>>{};
      if (!target.empty() && step.take(t, target, cause, event_name) && !coming_back.empty())
        step.start_rto(std::move(coming_back), input.by, input.event_id);
    } else {
      step.move(o->stored.state, cause, std::move(lines), event_name);
    }
    step.run_policies("by policy");
  });
}

template <class Body>
Ack OrderEngine::on_order(const std::string& order_id, const std::string& refused_as, const std::string& what,
                          const std::string& event_id, const Input& original, std::optional<int64_t> happened,
                          int64_t at, Body body) {
  Ack ack;
  ack.order_id = order_id;
  LiveOrder* o = load(order_id);
  if (!o) return dead_letter(input_text(original), original.source, fmt::format("$.order_id: there is no order '{}'", order_id), at);
  if (!event_id.empty() && claimed({o->stored.channel, o->stored.external_id, event_id})) {
    ack.status = Ack::Status::Duplicate;
    ack.state = o->stored.state;
    return ack;
  }
  begin_work();
  work_->at = at;
  try {
    Step step(*this, *o, at, ack);
    if (!event_id.empty()) work_->claims.push_back({{o->stored.channel, o->stored.external_id, event_id}, order_id});
    body(step, *o);
    step.escalate();
    ack.state = o->stored.state;
    write_work();
  } catch (const Refusal& r) {
    undo_work();
    o = load(order_id);
    begin_work();
    work_->at = at;
    Ack refused;
    refused.order_id = order_id;
    Step note(*this, *o, at, refused);
    note.append(journal::Refused{refused_as, event_id, r.message, happened && *happened != at ? happened : std::nullopt});
    write_work();
    ++uncommitted_;
    ack.status = Ack::Status::Refused;
    ack.message = r.message;
    ack.state = o->stored.state;
    ack.steps.clear();
    return ack;
  } catch (const StoreError&) {
    throw;
  } catch (const std::exception& e) {
    undo_work();
    return dead_letter(input_text(original), original.source,
                       fmt::format("could not process {} for order '{}': {}", what, order_id, e.what()), at);
  }
  ++uncommitted_;
  return ack;
}


void OrderEngine::admit(const LoadedDeployment& dep, const PreparedOrder& prepared, OrderImage image,
                        const IntakeKey& key, const std::string& source, int64_t at, Ack& ack) {
  auto live = std::make_unique<LiveOrder>();
  live->dep = &dep;
  live->image.emplace(std::move(image));
  LiveOrder& o = *live;
  work_->created.push_back(std::move(live));
  work_->claims.push_back({key, ack.order_id});
  Step step(*this, o, at, ack);
  step.append(journal::Received{key.channel, key.external_id, dep.meta.id, dep.meta.version, source, prepared.text});
  LineStates lines;
  for (int64_t quantity : prepared.quantities) lines.push_back({{step.life().initial(), quantity}});
  step.move(step.life().initial(), "received", std::move(lines));
  step.run_policies("by policy");
  step.escalate();
  ack.state = o.stored.state;
}

Ack OrderEngine::take_update(const std::string& order_id, const std::shared_ptr<PreparedOrder>& sent,
                             const std::string& source, int64_t at) {
  const PreparedOrder& prepared = *sent;
  // What the channel sent last: the journal's latest copy of the order.
  std::string before = "{}";
  for (const journal::Record& r : store_.journal().of_order(order_id))
    for (const journal::Entry& e : r.entries) {
      if (const auto* received = std::get_if<journal::Received>(&e)) before = received->order;
      if (const auto* updated = std::get_if<journal::OrderUpdated>(&e)) before = updated->order;
    }
  std::vector<std::string> changes =
      order_differences(nlohmann::json::parse(before, nullptr, false), nlohmann::json::parse(prepared.text, nullptr, false));
  if (changes.empty()) {
    Ack ack;
    ack.order_id = order_id;
    ack.status = Ack::Status::Duplicate;
    if (LiveOrder* o = load(order_id)) ack.state = o->stored.state;
    return ack;
  }
  Input original{NewOrder{{}, sent}, source, std::nullopt, {}};
  return on_order(order_id, "update", "the channel's change to the order", "", original, std::nullopt, at,
                  [&](Step& step, LiveOrder& o) {
    const Lifecycle& life = step.life();
    constexpr size_t kShown = 5;
    std::string what = fmt::format("{}{}", fmt::join(changes.begin(), changes.begin() + std::min(changes.size(), kShown), "; "),
                                   changes.size() > kShown ? fmt::format("; and {} more", changes.size() - kShown) : "");
    // Once a parcel has left, what was sent is what the customer gets.
    bool shipped = ever_entered(o.stored, "shipped");
    if (shipped || life.terminal(o.stored.state))
      throw Refusal{fmt::format("order '{}' {}: the channel's change is not applied ({})", order_id,
                                shipped ? fmt::format("has shipped (it is {})", o.stored.state) : "is " + o.stored.state,
                                what)};
    step.append(journal::OrderUpdated{prepared.text, changes});
    step.note("changed by the channel: " + what);
    // Decided again from the start, on the order as it is now: what it
    // had reserved goes back first.
    if (!o.stored.allocations.empty()) step.release_all("");
    o.image.reset();
    nlohmann::json now = nlohmann::json::parse(o.stored.order);
    LineStates lines;
    const nlohmann::json order_lines = now.value("lines", nlohmann::json::array());
    for (size_t i = 0; i < order_lines.size(); ++i) {
      int64_t cancelled = order_lines[i].value("cancelled_quantity", int64_t{0});
      std::vector<LineState> parts{{life.initial(), std::max<int64_t>(order_lines[i].value("quantity", int64_t{0}) - cancelled, 0)}};
      // Units cancelled before stay where they ended.
      for (const LineState& part : i < o.stored.lines.size() ? o.stored.lines[i] : std::vector<LineState>{})
        if (cancelled > 0 && life.terminal(part.state)) {
          parts.push_back({part.state, std::min(part.quantity, cancelled)});
          cancelled -= parts.back().quantity;
        }
      lines.push_back(std::move(parts));
    }
    step.move(life.initial(), "changed by the channel", std::move(lines));
    step.run_policies("by policy");
  });
}

Ack OrderEngine::take_return(const ReturnRequest& input, const std::string& source, std::optional<int64_t> happened,
                             int64_t at) {
  Input original{input, source, happened, {}};
  return on_order(input.order_id, "return", "the return", input.event_id, original, happened, at,
                  [&](Step& step, LiveOrder& o) {
    const check::CheckedBundle& b = step.bundle();
    if (!ever_entered(o.stored, "delivered"))
      throw Refusal{fmt::format("order '{}' has not been delivered (it is {}): a customer returns what was delivered",
                                input.order_id, o.stored.state)};
    std::string id = input.return_id.empty() ? fmt::format("{}-R{}", input.order_id, o.stored.returns.size() + 1)
                                             : input.return_id;
    if (step.find_return(id)) throw Refusal{fmt::format("order '{}' already has a return '{}'", input.order_id, id)};
    nlohmann::json order = nlohmann::json::parse(o.stored.order);
    const nlohmann::json lines = order.value("lines", nlohmann::json::array());
    // Units already on their way back, by line: in every return but those
    // that ended with nothing back and nothing paid (rejected, expired).
    std::map<int64_t, int64_t> returning;
    for (const OrderReturn& r : o.stored.returns)
      if (!step.return_life().terminal(r.state) || !r.units.empty() || !r.refunded.empty() || r.keep_item)
        for (const auto& [line, quantity] : r.lines) returning[line] += quantity;
    // An exchange pays for the items sent instead: no money goes back; a
    // channel that approved the return refunds it itself.
    journal::ReturnRequested requested{id,
                                       "customer",
                                       input.reason,
                                       {},
                                       input.by,
                                       input.event_id,
                                       !input.approved_by.empty() ? kRefundByChannel
                                       : input.exchange.empty()   ? ""
                                                                  : "none",
                                       input.exchange};
    for (size_t i = 0; i < input.lines.size(); ++i) {
      const journal::LineRef& ref = input.lines[i];
      std::optional<size_t> k = find_line(lines, ref);
      if (!k) throw Refusal{fmt::format("$.lines[{}]: no such line in order '{}'", i, input.order_id)};
      const nlohmann::json& line = lines[*k];
      int64_t sold = line.value("quantity", int64_t{0}) - line.value("cancelled_quantity", int64_t{0});
      int64_t left = sold - returning[static_cast<int64_t>(*k)];
      int64_t units = ref.quantity > 0 ? ref.quantity : left;
      if (units <= 0 || units > left)
        throw Refusal{fmt::format("$.lines[{}].quantity: line {} of order '{}' has {} unit(s) that can come back{}", i,
                                  *k + 1, input.order_id, std::max<int64_t>(left, 0),
                                  ref.quantity > 0 ? fmt::format(", not {}", ref.quantity) : "")};
      returning[static_cast<int64_t>(*k)] += units;
      requested.lines.push_back({static_cast<int64_t>(*k), units});
    }
    std::optional<nlohmann::json> value = returned_value(lines, requested.lines);
    if (!value) throw Refusal{"$.lines: the lines' prices cannot be added up (no amount, or two currencies)"};
    nlohmann::json subject = {{"id", id},
                              {"kind", "customer"},
                              {"reason", input.reason},
                              {"lines", returned_lines(lines, requested.lines)},
                              {"value", *value},
                              {"requested_at", model::format_time(happened.value_or(at))},
                              {"exchange", !input.exchange.empty()}};
    model::Arena arena;
    std::byte* image = subject_image(b, b.return_record, subject, arena);
    step.append(std::move(requested));
    if (!input.approved_by.empty()) {
      // Decided on the channel (a marketplace that rules on its returns):
      // recorded as the returns policy's decision, made by the channel.
      journal::Decided d = step.policy_decision(check::PolicyKind::Returns);
      d.decision = "approve";
      d.return_id = id;
      d.decided_by = input.approved_by;
      d.reason = "approved on " + input.approved_by;
      d.refund = kRefundByChannel;
      step.append(std::move(d));
      step.note(fmt::format("return {}: approved on {}", id, input.approved_by));
      step.return_decided(id, verdict_target(Verdict::Approve), "approved on " + input.approved_by);
      step.authorized(id, false, false);
      if (!input.refunded.empty()) step.refunded_by_channel(id, input.refunded, input.approved_by);
      return;
    }
    engine::Outcome out = step.decide_about(check::PolicyKind::Returns, image, id);
    // approve: authorized, reject: rejected, hold: held; nothing decided waits for a person too.
    std::string to = verdict_target(out.verdict);
    if (to.empty()) to = verdict_target(Verdict::Hold);
    step.return_decided(id, to, "by returns");
    if (to == verdict_target(Verdict::Approve)) step.authorized(id, out.refund_timing == check::RefundTiming::Now, out.keep_item);
  });
}

Ack OrderEngine::take_person_decision(const PersonDecision& input, const std::string& source,
                                      std::optional<int64_t> happened, int64_t at) {
  Input original{input, source, happened, {}};
  const char* what = input.about_return ? "return_decision" : "ndr_decision";
  return on_order(input.order_id, what, "a person's decision", input.event_id, original, happened, at,
                  [&](Step& step, LiveOrder& o) {
    journal::Decided d = step.policy_decision(input.about_return ? check::PolicyKind::Returns : check::PolicyKind::Ndr);
    d.reason = input.reason;
    d.decided_by = input.by;
    if (input.about_return) {
      const OrderReturn* r = step.return_for(input.return_id, "review");
      if (!r)
        throw Refusal{input.return_id.empty() ? fmt::format("order '{}' has no return held for a person", input.order_id)
                                              : fmt::format("order '{}' has no return '{}'", input.order_id, input.return_id)};
      if (!step.return_takes(*r, "review"))
        throw Refusal{fmt::format("return '{}' is {}: a person decides a return its policy held", r->id, r->state)};
      std::string id = r->id;
      bool approve = input.decision == "approve";
      d.decision = approve ? "approve" : "reject";
      d.return_id = id;
      if (approve) d.refund = input.refund.empty() ? "after inspection" : input.refund;
      step.append(std::move(d));
      step.note(fmt::format("return {}: {} by {}", id, input.decision, input.by));
      step.return_step(id, "review", "decided by " + input.by,
                       verdict_target(approve ? Verdict::Approve : Verdict::Reject));
      if (approve) step.authorized(id, input.refund == "now", false);
      return;
    }
    if (o.stored.ndr_decision != "hold")
      throw Refusal{fmt::format("order '{}' has no failed delivery held for a person{}", input.order_id,
                                o.stored.ndr_decision.empty() ? "" : " (the last was decided " + o.stored.ndr_decision + ")")};
    Verdict verdict = input.decision == "reattempt"    ? Verdict::Reattempt
                      : input.decision == "reschedule" ? Verdict::Reschedule
                                                       : Verdict::ReturnToOrigin;
    d.decision = engine::verdict_name(verdict);
    d.ndr_attempt = o.stored.ndr_attempts;
    d.reschedule_to = input.reschedule_to;
    step.cancel_timers(kNdrTimeout);
    step.append(std::move(d));
    step.note(fmt::format("failed delivery {}: {} by {}", o.stored.ndr_attempts, engine::verdict_name(verdict), input.by));
    step.act_on_ndr(verdict, std::nullopt, input.by);
  });
}

Ack OrderEngine::take_grade(const GradeInput& input, const std::string& source, std::optional<int64_t> happened,
                            int64_t at) {
  Input original{input, source, happened, {}};
  return on_order(input.order_id, "grade", "the grading", input.event_id, original, happened, at,
                  [&](Step& step, LiveOrder& o) {
    const check::CheckedBundle& b = step.bundle();
    OrderReturn* r = nullptr;
    if (!input.return_id.empty()) {
      r = step.find_return(input.return_id);
      if (!r) throw Refusal{fmt::format("order '{}' has no return '{}'", input.order_id, input.return_id)};
    } else {
      for (OrderReturn& candidate : o.stored.returns)
        if (step.return_takes(candidate, "grade") || step.return_takes(candidate, "receive")) r = &candidate;
      if (!r) throw Refusal{fmt::format("order '{}' has no return waiting to be graded", input.order_id)};
    }
    if (!step.return_takes(*r, "grade"))
      throw Refusal{fmt::format("return '{}' is {}: units are graded once it is received", r->id, r->state)};
    const std::string id = r->id;
    nlohmann::json order = nlohmann::json::parse(o.stored.order);
    const nlohmann::json lines = order.value("lines", nlohmann::json::array());
    std::vector<int64_t> slots;  // each unit of the return, by line
    for (const auto& [line, quantity] : r->lines)
      for (int64_t k = 0; k < quantity; ++k) slots.push_back(line);
    size_t graded = r->units.size();
    if (graded + input.units.size() > slots.size())
      throw Refusal{fmt::format("return '{}' has {} unit(s), {} graded already; {} more cannot be graded", id,
                                slots.size(), graded, input.units.size())};
    std::string return_reason = r->reason;
    for (const auto& [grade, given_reason] : input.units) {
      int64_t line = slots[graded++];
      const nlohmann::json& sold = lines.at(static_cast<size_t>(line));
      std::string sku = sold.value("sku", "");
      std::string reason = given_reason.empty() ? return_reason : given_reason;
      nlohmann::json unit = {{"return_id", id}, {"sku", sku}, {"grade", grade}, {"reason", reason},
                             {"price", sold.at("unit_price")}, {"kind", r->kind.empty() ? "customer" : r->kind}};
      if (sold.contains("id")) unit["line_id"] = line_id_of(sold);
      model::Arena arena;
      std::byte* image = subject_image(b, b.unit_record, unit, arena);
      // As the schema spells them ("a" is grade A).
      model::RecordRef read(b.schema, b.unit_record, image);
      step.append(journal::UnitGraded{id, line, sku, check::print_value(b, read.get("grade")),
                                      check::print_value(b, read.get("reason"))});
      engine::Outcome out = step.decide_about(check::PolicyKind::Disposition, image, id);
      if (out.verdict == Verdict::Restock) {
        std::string node = out.restock_node.empty() ? o.stored.node : std::string(out.restock_node);
        if (node.empty())
          throw Refusal{fmt::format("a unit of {} is to be restocked, but order '{}' was never routed to a node: "
                                    "say where, `restock to \"NODE\"`",
                                    sku, input.order_id)};
        step.stock_change(node, sku, 1, 0, "returned");
      } else if (!o.stored.node.empty()) {
        step.keep_apart(o.stored.node, sku, out.verdict);
      }
      step.return_step(id, "grade", "graded");
    }
    r = step.find_return(id);
    if (r->units.size() < slots.size()) return;
    step.return_step(id, "dispose", "every unit graded");
    step.refund_return(id);  // unless it was refunded before
    r = step.find_return(id);
    if (!r->refunded.empty()) step.return_step(id, "close", "refunded and disposed");
    else if (r->refund == "none")
      step.return_step(id, "close", r->kind == "rto" ? "disposed; nothing was paid, nothing to refund"
                                                      : "disposed; exchanged, nothing to refund");
    else if (r->refund == kRefundByChannel)
      step.return_step(id, "close", "disposed; the channel refunds it");
  });
}

Ack OrderEngine::take_ndr(const NdrInput& input, const std::string& source, std::optional<int64_t> happened,
                          int64_t at) {
  Input original{input, source, happened, {}};
  return on_order(input.order_id, "ndr", "the failed delivery", input.event_id, original, happened, at,
                  [&](Step& step, LiveOrder& o) {
    const check::CheckedBundle& b = step.bundle();
    const Lifecycle& life = step.life();
    int state = life.state(o.stored.state);
    auto takes = [&](const char* name) {
      int event = life.event(name);
      return state >= 0 && event >= 0 && life.on_event(state, event) != nullptr;
    };
    if (!ever_entered(o.stored, "shipped") || !(takes("deliver") || takes("return_to_origin")))
      throw Refusal{fmt::format("order '{}' is {}: a failed delivery is reported for an order that has shipped and is "
                                "not yet delivered",
                                input.order_id, o.stored.state)};
    int64_t attempt = input.attempt.value_or(o.stored.ndr_attempts + 1);
    if (attempt <= o.stored.ndr_attempts)
      throw Refusal{fmt::format("attempt {} of order '{}' was reported already ({} failed so far)", attempt,
                                input.order_id, o.stored.ndr_attempts)};
    nlohmann::json subject = {{"attempt", attempt}, {"reason", input.reason},
                              {"at", model::format_time(happened.value_or(at))}};
    if (!input.carrier.empty()) subject["carrier"] = input.carrier;
    model::Arena arena;
    std::byte* image = subject_image(b, b.ndr_record, subject, arena);
    model::RecordRef read(b.schema, b.ndr_record, image);
    step.cancel_timers(kNdrTimeout);  // a new attempt answers the last one's hold
    step.append(journal::NdrReported{attempt, check::print_value(b, read.get("reason")), input.carrier, input.by,
                                     input.event_id});
    engine::Outcome out = step.decide_about(check::PolicyKind::Ndr, image, "", attempt);
    step.act_on_ndr(out.verdict, out.verdict == Verdict::Hold ? out.hold_for : std::nullopt, input.by);
  });
}

Ack OrderEngine::take_stock(const StockInput& input, const std::string& source, int64_t at) {
  Ack ack;
  auto bad = [&](const std::string& message) {
    return dead_letter(input_text(Input{input, source, std::nullopt, {}}), source, message, at);
  };
  const LoadedDeployment& live = deployment(live_id_);
  if (!live.inventory || !live.inventory->find_node(input.node))
    return bad(fmt::format("$.node: the live deployment has no node '{}'", input.node));
  begin_if_needed();
  if (!input.event_id.empty()) {
    if (claimed({"stock", input.node, input.event_id})) {
      ack.status = Ack::Status::Duplicate;
      return ack;
    }
  }
  StockRow current = stock_.row(input.node, input.sku);
  StockChange c;
  c.at = at;
  c.node = input.node;
  c.sku = input.sku;
  auto cause = [&](const char* what) {
    return input.reason.empty() ? std::string(what) : fmt::format("{}: {}", what, input.reason);
  };
  if (input.on_hand) {
    c.on_hand_change = *input.on_hand - current.on_hand;
    c.cause = cause("count");
  } else if (input.received) {
    c.on_hand_change = *input.received;
    c.cause = cause("receipt");
  } else if (input.adjust) {
    c.on_hand_change = *input.adjust;
    c.cause = cause("adjustment");
  } else {
    c.cause = cause("safety stock");
  }
  c.safety_stock = input.safety_stock;
  if (current.on_hand + c.on_hand_change < current.reserved)
    return bad(fmt::format("{} {} would have {} on hand but {} are reserved for orders; ship or release them first",
                           input.node, input.sku, current.on_hand + c.on_hand_change, current.reserved));
  if (current.on_hand + c.on_hand_change < 0)
    return bad(fmt::format("{} {} would have {} on hand; stock cannot be negative", input.node, input.sku,
                           current.on_hand + c.on_hand_change));
  int64_t before_atp = model::StockLevel{current.on_hand, current.reserved, current.safety_stock}.available(0);
  begin_work();
  work_->at = at;
  if (!input.event_id.empty()) work_->claims.push_back({{"stock", input.node, input.event_id}, ""});
  change_stock(c);
  StockRow after = stock_.row(input.node, input.sku);
  write_work();
  int64_t after_atp = model::StockLevel{after.on_hand, after.reserved, after.safety_stock}.available(0);
  ack.steps.push_back(fmt::format("{} {}: on hand {} -> {}, available {} -> {}", input.node, input.sku,
                                  current.on_hand, after.on_hand, before_atp, after_atp));
  ++uncommitted_;
  if (after_atp > before_atp) wake_backordered(input.sku, input.node, at, ack);
  return ack;
}

bool OrderEngine::waits_for_stock(const LiveOrder& o) const {
  const Lifecycle& life = *o.dep->lifecycle;
  int s = life.state(o.stored.state);
  int restock = life.event("restock");
  return s >= 0 && restock >= 0 && life.on_event(s, restock) && !life.terminal(o.stored.state);
}

void OrderEngine::note_waiting(const LiveOrder& o) {
  if (!backorders_.loaded()) return;  // read whole when first needed
  bool waits = waits_for_stock(o);
  if (waits && !backorders_.waiting(o.stored.order_id))
    backorders_.wait({o.stored.order_id, o.stored.state_since, units_needed(o.stored.order),
                      usable_nodes(o, clock_.now())});
  else if (!waits)
    backorders_.stop_waiting(o.stored.order_id);
}

void OrderEngine::load_waiting() {
  backorders_.clear();
  backorders_.set_loaded();
  // The states that take a restock, in any machine the engine has loaded.
  std::set<std::string> states;
  for (const auto& [id, dep] : deployments_) {
    const Lifecycle& life = *dep->lifecycle;
    int restock = life.event("restock");
    for (size_t s = 0; restock >= 0 && s < life.machine().states.size(); ++s)
      if (life.on_event(static_cast<int>(s), restock)) states.insert(life.state_name(static_cast<int>(s)));
  }
  std::vector<std::string> ids;
  {
    Timed t{store_ms_};
    for (const std::string& state : states)
      for (std::string& id : store_.orders().in_state(state)) ids.push_back(std::move(id));
  }
  for (const std::string& id : ids) {
    if (LiveOrder* o = load(id)) note_waiting(*o);
    trim_cache();
  }
}

std::vector<journal::ExcludedNode> OrderEngine::routing_exclusions(const LiveOrder& o, int64_t at,
                                                                   std::vector<bool>& excluded) {
  std::vector<journal::ExcludedNode> why;
  const LiveInventory& nodes = *o.dep->inventory;
  excluded.assign(nodes.node_count(), false);
  for (const std::string& id : o.stored.excluded_nodes)
    if (auto n = nodes.find_node(id)) {
      excluded[*n] = true;
      why.push_back({id, "excluded: it refused this order before"});
    }
  for (size_t n = 0; n < nodes.node_count(); ++n) {
    std::optional<int64_t> capacity = nodes.daily_capacity(n);
    if (!capacity || excluded[n]) continue;
    int64_t today = stock_.orders_today(nodes.node_id(n), at);
    if (today >= *capacity) {
      excluded[n] = true;
      why.push_back({nodes.node_id(n), fmt::format("excluded: at its daily capacity ({} of {} orders today)", today,
                                                   *capacity)});
    }
  }
  return why;
}

bool OrderEngine::would_route(const LiveOrder& o, int64_t at) {
  const check::CheckedBundle& bundle = *o.dep->bundle;
  if (!bundle.policy(check::PolicyKind::Routing) || !o.dep->inventory) return false;
  DecodeResult decoded = decode_order(bundle, nlohmann::json::parse(o.stored.order, nullptr, false));
  if (std::holds_alternative<DecodeError>(decoded)) return true;  // routing it again says what is wrong
  OrderImage& image = std::get<OrderImage>(decoded);
  stamp_state(bundle, *o.dep->lifecycle, image, o.stored);
  engine::EvalInput input;
  input.order = image.data();
  input.now = at;
  input.inventory = o.dep->inventory.get();
  input.history = history_for(*o.dep);
  std::vector<bool> excluded;
  if (!routing_exclusions(o, at, excluded).empty()) input.excluded_nodes = &excluded;
  engine::Outcome out;
  o.dep->engine->evaluate_into(check::PolicyKind::Routing, input, engine::TraceDetail::Rules, out);
  return out.verdict == engine::Verdict::Route;
}

std::set<std::string> OrderEngine::usable_nodes(const LiveOrder& o, int64_t at) {
  std::set<std::string> nodes;
  const check::CheckedBundle& bundle = *o.dep->bundle;
  if (!bundle.policy(check::PolicyKind::Routing) || !o.dep->inventory) return nodes;
  DecodeResult decoded = decode_order(bundle, nlohmann::json::parse(o.stored.order, nullptr, false));
  if (std::holds_alternative<DecodeError>(decoded)) return nodes;
  OrderImage& image = std::get<OrderImage>(decoded);
  stamp_state(bundle, *o.dep->lifecycle, image, o.stored);
  engine::EvalInput input;
  input.order = image.data();
  input.now = at;
  input.inventory = o.dep->inventory.get();
  input.history = history_for(*o.dep);
  engine::Outcome out;
  o.dep->engine->evaluate_into(check::PolicyKind::Routing, input, engine::TraceDetail::Values, out);
  std::set<std::string> refused(o.stored.excluded_nodes.begin(), o.stored.excluded_nodes.end());
  for (const engine::NodeTrace& n : out.nodes)
    if (n.status != "filtered out" && n.status.rfind("inactive", 0) != 0 && !refused.count(n.node_id))
      nodes.insert(n.node_id);
  return nodes;
}

void OrderEngine::wake_backordered(const std::string& sku, const std::string& node, int64_t at, Ack& ack) {
  if (!backorders_.loaded()) load_waiting();
  const LoadedDeployment& live = deployment(live_id_);
  if (!live.inventory) return;
  const LiveInventory& nodes = *live.inventory;
  std::optional<size_t> where = nodes.find_node(node);
  if (!where) return;
  // What the order's usable nodes have of a SKU, together.
  auto available = [&](const std::string& of, const std::set<std::string>& usable) {
    int64_t total = 0;
    for (size_t n = 0; n < nodes.node_count(); ++n)
      if (nodes.active(n) && (usable.empty() || usable.count(nodes.node_id(n)))) total += nodes.available(n, of);
    return total;
  };
  // Oldest first: the order that has waited longest gets the stock first.
  // Only orders this stock could serve are routed again (their routing may
  // ship from the node, everything they need is there somewhere, and
  // routing would now place them); the rest keep their place, with no new
  // decision on their record.
  Backorders::Place place{INT64_MIN, ""};
  while (backorders_.next(sku, node, place)) {
    // The stock that came in at the node is all promised: the rest wait for more.
    if (nodes.available(*where, sku) <= 0) break;
    const Backorders::Waiting* w = backorders_.find(place.second);
    if (!w) continue;
    bool could = true;
    for (const auto& [needed, units] : w->needs) could = could && units <= available(needed, w->nodes);
    if (!could) continue;
    LiveOrder* o = load(place.second);
    if (!o || !waits_for_stock(*o) || !would_route(*o, at)) continue;
    OrderEvent wake;
    wake.order_id = place.second;
    wake.event = "restock";
    wake.by = "stock";
    Ack woke = take_event(wake, "restock", std::nullopt, at);
    ack.steps.push_back(fmt::format("{}: {}", place.second, woke.state));
  }
}

std::optional<int64_t> OrderEngine::next_timer() {
  Timed t{store_ms_};
  return store_.orders().next_due();
}

std::vector<Ack> OrderEngine::fire_due(int64_t until, bool at_due) {
  std::vector<Ack> out;
  for (;;) {
    std::vector<Timer> due;
    {
      Timed t{store_ms_};
      due = store_.orders().due_timers(until, 256);
    }
    if (due.empty()) return out;
    for (const Timer& timer : due) {
      Ack ack = fire(timer, at_due ? timer.due : until);
      if (!ack.order_id.empty() || ack.status != Ack::Status::Stored) out.push_back(std::move(ack));
    }
  }
}

Ack OrderEngine::fire(const Timer& timer, int64_t at) {
  release_ended();
  latest_applied_ = std::max(latest_applied_, at);
  Ack ack;
  ack.order_id = timer.order_id;
  ack.applied_at = at;
  LiveOrder* o = load(timer.order_id);
  bool pending = o && std::any_of(o->stored.timers.begin(), o->stored.timers.end(),
                                  [&](const Timer& t) { return t.id == timer.id; });
  if (!pending) {
    // Gone from its order already (an earlier firing of this round
    // cancelled it), or its order is: the table lets go of it.
    begin_if_needed();
    {
      Timed t{store_ms_};
      store_.orders().remove_timer(timer);
    }
    if (!o) {
      ack.status = Ack::Status::Refused;
      ack.message = fmt::format("timer {} belongs to an order that is not in the store", timer.id);
      return ack;
    }
    ack.order_id.clear();  // nothing to report
    return ack;
  }
  begin_work();
  work_->at = at;
  bool hold_timed_out = false;
  try {
    Step step(*this, *o, at, ack);
    // A return's timer stands on the return's state (checked when it fires), not the order's.
    bool current = timer.kind.starts_with(kReturnTimer) || timer.state_entry == o->stored.state_entry;
    // Deleted in the same transaction as its effects: a timer never fires twice.
    step.append(journal::TimerFired{timer.id, timer.kind, timer.due, std::max<int64_t>(0, at - timer.due), !current});
    work_->timers.push_back({false, timer});
    step.sync_image();
    if (current && timer.kind == kHoldTimeout) {
      ack.steps.push_back("hold timed out");
      hold_timed_out = true;
    } else if (current && timer.kind == kEscalation) {
      step.escalate();
    } else if (current && timer.kind == kNdrTimeout && o->stored.ndr_decision == "hold") {
      step.ndr_timed_out();
    } else if (timer.kind.starts_with(kReturnTimer)) {
      step.return_timed_out(timer.kind);  // on the return's state, not the order's
    }
    ack.state = o->stored.state;
    write_work();
  } catch (const StoreError&) {
    throw;
  } catch (const std::exception& e) {
    undo_work();
    // The timer stays pending only with its effects; put the failure on record instead.
    return dead_letter(nlohmann::json{{"timer", timer.id}, {"order_id", timer.order_id}}.dump(), "timer",
                       fmt::format("timer {} of order '{}' failed: {}", timer.id, timer.order_id, e.what()), at);
  }
  ++uncommitted_;
  if (hold_timed_out) {
    OrderEvent timeout;
    timeout.order_id = timer.order_id;
    timeout.event = "timeout";
    timeout.by = "timer";
    Ack after = take_event(timeout, "timer", std::nullopt, at);
    after.steps.insert(after.steps.begin(), ack.steps.begin(), ack.steps.end());
    after.applied_at = at;
    return after;
  }
  return ack;
}

int64_t OrderEngine::migrate_to_live(int64_t at) {
  std::vector<std::string> ids;
  store_.orders().scan([&](const StoredOrder& o) {
    if (o.deployment != live_id_) ids.push_back(o.order_id);
  });
  int64_t moved = 0;
  for (const std::string& id : ids) {
    LiveOrder* o = load(id);
    if (!o || o->dep->lifecycle->terminal(o->stored.state)) continue;
    const LoadedDeployment& target = deployment(live_id_);
    if (target.lifecycle->state(o->stored.state) < 0) continue;  // the new machine has no such state
    begin_work();
    work_->at = at;
    Ack ack;
    Step step(*this, *o, at, ack);
    step.append(journal::Migrated{o->stored.deployment, live_id_});
    write_work();
    forget(id);
    ++moved;
    ++uncommitted_;
  }
  return moved;
}

}  // namespace orderflow::runtime
