#include "runtime/engine/order_engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "runtime/engine/deadline.h"
#include "runtime/store/projection.h"

namespace orderflow::runtime {

namespace {

using engine::Verdict;
using Clocked = std::chrono::steady_clock;

const char* kHoldTimeout = "hold_timeout";
const char* kEscalation = "escalation";

// The state a policy's verdict moves an order to.
std::string verdict_target(Verdict v) {
  switch (v) {
    case Verdict::Accept: return check::decision_target_state(check::DecisionKind::Accept, false);
    case Verdict::Route: return check::decision_target_state(check::DecisionKind::Accept, true);
    case Verdict::Hold: return check::decision_target_state(check::DecisionKind::Hold, false);
    case Verdict::Reject: return check::decision_target_state(check::DecisionKind::Reject, false);
    case Verdict::Cancel: return check::decision_target_state(check::DecisionKind::Cancel, false);
    case Verdict::Backorder: return check::decision_target_state(check::DecisionKind::Backorder, false);
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

nlohmann::json lines_json(const std::vector<std::vector<LineState>>& lines) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& line : lines) {
    nlohmann::json parts = nlohmann::json::array();
    for (const LineState& part : line)
      if (part.quantity > 0) parts.push_back({part.state, part.quantity});
    out.push_back(std::move(parts));
  }
  return out;
}

// Adds the time spent in its scope to a counter.
struct Timed {
  double& total;
  Clocked::time_point start = Clocked::now();
  ~Timed() { total += std::chrono::duration<double, std::milli>(Clocked::now() - start).count(); }
};

// Why a policy decided as it did, for the auditor: every rule considered
// with the values behind it, and every node routing looked at.
nlohmann::json trace_json(const engine::Outcome& out) {
  nlohmann::json rules = nlohmann::json::array();
  for (const engine::RuleTrace& t : out.trace) {
    nlohmann::json r = {{"rule", t.name}, {"matched", t.matched}, {"decided", t.decided}, {"facts", t.facts}};
    if (!t.error.empty()) r["error"] = t.error;
    rules.push_back(std::move(r));
  }
  nlohmann::json trace = {{"rules", std::move(rules)}};
  if (!out.nodes.empty()) {
    nlohmann::json nodes = nlohmann::json::array();
    for (const engine::NodeTrace& n : out.nodes)
      nodes.push_back({{"node", n.node_id}, {"status", n.status}, {"facts", n.facts}});
    trace["nodes"] = std::move(nodes);
  }
  return trace;
}

// Refused inputs leave by this exception; the engine undoes what the input wrote.
struct Refusal {
  std::string message;
};

}  // namespace

const char* status_name(Ack::Status status) {
  switch (status) {
    case Ack::Status::Stored: return "stored";
    case Ack::Status::Duplicate: return "duplicate";
    case Ack::Status::Refused: return "refused";
    case Ack::Status::Invalid: return "invalid";
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
  return j;
}

struct OrderEngine::LiveOrder {
  StoredOrder stored;
  std::optional<OrderImage> image;
  const LoadedDeployment* dep = nullptr;
  // Its pending timers, once read from the store (a new order has none).
  std::optional<std::vector<Timer>> timers;
};

// One input's work on one order: every journal entry goes through here, so
// that the in-memory order, the store's projection and the journal stay one.
class OrderEngine::Step {
 public:
  Step(OrderEngine& engine, LiveOrder& order, int64_t at, Ack& ack)
      : engine_(engine), o_(order), at_(at), ack_(ack), dep_(*order.dep), bundle_(*dep_.bundle),
        life_(*dep_.lifecycle) {}

  void append(const char* kind, nlohmann::json body) {
    JournalEntry e;
    e.order_id = o_.stored.order_id.empty() ? ack_.order_id : o_.stored.order_id;
    e.at = at_;
    e.kind = kind;
    e.body = std::move(body);
    {
      Timed t{engine_.store_ms_};
      engine_.store_.append(e);
    }
    apply_entry(e, o_.stored);
    changed_ = true;
  }

  // Moves units to `target` (every unit in a state `sources` lists, or all
  // when `sources` is empty), then records the order's new state.
  void move(const std::vector<int>& sources, const std::string& target, const std::string& cause,
            std::vector<std::vector<LineState>> lines, const std::string& event = "") {
    if (!o_.stored.allocations.empty()) settle_stock(o_.stored.lines, lines, event);
    std::string from = o_.stored.state;
    std::string to = life_.derive(lines, target);
    bool entered = to != from;
    if (!entered && lines == o_.stored.lines) return;
    nlohmann::json body = {{"from", from}, {"to", to}, {"entered", entered}, {"cause", cause}};
    body["entry"] = entered ? o_.stored.state_entry + 1 : o_.stored.state_entry;
    body["lines"] = lines_json(lines);
    if (entered && !from.empty()) cancel_timers();
    append("state", std::move(body));
    ack_.steps.push_back(from.empty() ? fmt::format("-> {}", to) : fmt::format("{} -> {}", from, to));
    sync_image();
  }

  // Every unit from the states a transition leaves to `target`.
  std::vector<std::vector<LineState>> all_units_to(const check::Transition* t, const std::string& target) const {
    std::vector<std::vector<LineState>> lines = o_.stored.lines;
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

  // Evaluates a policy and records the decision; returns the state it picks.
  std::string decide(check::PolicyKind kind) {
    engine::Outcome out;
    engine::EvalInput input;
    input.order = o_.image->data();
    input.now = at_;
    std::vector<bool> excluded;
    std::map<std::string, std::string> why_excluded;  // node id -> the reason, for the trace
    bool routing = kind == check::PolicyKind::Routing;
    if (routing && dep_.inventory) {
      const LiveInventory& nodes = *dep_.inventory;
      input.inventory = &nodes;
      excluded.assign(nodes.node_count(), false);
      for (const std::string& id : o_.stored.excluded_nodes)
        if (auto n = nodes.find_node(id)) {
          excluded[*n] = true;
          why_excluded[id] = "excluded: it refused this order before";
        }
      for (size_t n = 0; n < nodes.node_count(); ++n) {
        std::optional<int64_t> capacity = nodes.daily_capacity(n);
        if (!capacity || excluded[n]) continue;
        Timed timed{engine_.store_ms_};
        int64_t today = engine_.stock_.orders_today(nodes.node_id(n), at_);
        if (today >= *capacity) {
          excluded[n] = true;
          why_excluded[nodes.node_id(n)] =
              fmt::format("excluded: at its daily capacity ({} of {} orders today)", today, *capacity);
        }
      }
      if (!why_excluded.empty()) input.excluded_nodes = &excluded;
    }
    nlohmann::json reserved;
    for (int attempt = 0;; ++attempt) {
      dep_.engine->evaluate_into(kind, input, engine_.options_.trace, out);
      if (out.verdict != Verdict::Route || reserve(out, reserved)) break;
      // Another engine took the stock since this one last looked: route again on what is there now.
      if (attempt == 2) throw std::runtime_error("the stock kept changing while the order was being routed");
    }
    if (out.verdict == Verdict::None && routing && !bundle_.policy(kind)) {
      // A bundle without routing leaves accepted orders where they are.
      return "";
    }
    for (engine::NodeTrace& n : out.nodes)
      if (auto why = why_excluded.find(n.node_id); why != why_excluded.end()) n.status = why->second;
    nlohmann::json body(engine::outcome_to_json(bundle_, out, o_.image->data()));
    body.erase("order");
    body["deployment"] = dep_.meta.id;
    body["content_hash"] = dep_.meta.content_hash;
    body["matched"] = engine::matched_rule_names(bundle_, out);
    if (!out.trace.empty()) body["trace"] = trace_json(out);
    if (out.hold_for) body["until"] = model::format_time(at_ + *out.hold_for);
    append("decision", std::move(body));
    ack_.steps.push_back(engine::summary(bundle_, out));
    if (!reserved.empty()) {
      std::set<std::string> shipping;
      for (const auto& r : reserved) shipping.insert(r["node"].get<std::string>());
      for (const std::string& node : shipping) engine_.stock_.count_order(node, at_);
      append("allocation", {{"reserved", reserved}});
      for (const auto& r : reserved) advertise(r["sku"].get<std::string>());
    }
    hold_for_ = out.verdict == Verdict::Hold ? out.hold_for : std::nullopt;
    return verdict_target(out.verdict);
  }

  // Reserves what a route allocates, all or nothing.
  bool reserve(const engine::Outcome& out, nlohmann::json& reserved) {
    reserved = nlohmann::json::array();
    const nlohmann::json& lines = o_.stored.order.at("lines");
    for (uint32_t s = 0; s < out.shipments.size(); ++s)
      for (const engine::ShipmentLine& l : out.lines_of(s)) {
        std::string node(out.shipments[s].node_id);
        std::string sku = lines.at(l.line).value("sku", "");
        Timed timed{engine_.store_ms_};
        stock_touched_ = true;
        if (!engine_.stock_.reserve(node, sku, l.quantity, o_.stored.order_id, at_)) {
          for (const auto& r : reserved)
            stock_change(r["node"], r["sku"], 0, -r["quantity"].get<int64_t>(), "released: routed again");
          reserved = nlohmann::json::array();
          return false;
        }
        reserved.push_back({{"line", l.line}, {"sku", sku}, {"node", node}, {"quantity", l.quantity}});
      }
    return true;
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
    Timed timed{engine_.store_ms_};
    stock_touched_ = true;
    engine_.stock_.change(std::move(c));
  }

  void advertise(const std::string& sku) {
    const LoadedDeployment& live = engine_.deployment(engine_.live_id_);
    if (!live.inventory) return;
    Timed timed{engine_.store_ms_};
    engine_.stock_.advertise(live.channels, *live.inventory, sku, at_);
  }

  // Units that ship consume their reservation; units that end (cancelled,
  // rejected) or go back to routing release it.
  void settle_stock(const std::vector<std::vector<LineState>>& before,
                    const std::vector<std::vector<LineState>>& after, const std::string& event) {
    nlohmann::json released = nlohmann::json::array(), consumed = nlohmann::json::array();
    for (size_t i = 0; i < after.size() && i < before.size(); ++i) {
      std::map<std::string, int64_t> change;
      for (const LineState& p : before[i]) change[p.state] -= p.quantity;
      for (const LineState& p : after[i]) change[p.state] += p.quantity;
      int64_t leaving = 0, ending = 0;
      for (const auto& [state, delta] : change) {
        if (delta < 0) leaving -= delta;
        if (delta > 0 && life_.terminal(state)) ending += delta;
      }
      bool ships = event == "ship";
      int64_t settle = ships ? leaving : ending;
      for (const auto& a : o_.stored.allocations) {
        if (settle == 0) break;
        if (a["line"].get<size_t>() != i) continue;
        int64_t q = std::min(settle, a["quantity"].get<int64_t>());
        settle -= q;
        nlohmann::json part = {{"line", i}, {"sku", a["sku"]}, {"node", a["node"]}, {"quantity", q}};
        (ships ? consumed : released).push_back(part);
      }
    }
    if (!released.empty() || !consumed.empty()) record_stock(released, consumed, {});
  }

  // Writes released and consumed units to the stock and the order's journal.
  void record_stock(const nlohmann::json& released, const nlohmann::json& consumed, const std::string& exclude) {
    std::vector<std::string> skus;
    for (const auto& r : released)
      stock_change(r["node"], r["sku"], 0, -r["quantity"].get<int64_t>(), "released");
    for (const auto& c : consumed)
      stock_change(c["node"], c["sku"], -c["quantity"].get<int64_t>(), -c["quantity"].get<int64_t>(), "shipped");
    nlohmann::json body = nlohmann::json::object();
    if (!released.empty()) body["released"] = released;
    if (!consumed.empty()) body["consumed"] = consumed;
    if (!exclude.empty()) body["exclude_node"] = exclude;
    append("stock", std::move(body));
    for (const auto& list : {released, consumed})
      for (const auto& x : list) advertise(x["sku"].get<std::string>());
  }

  // Every reservation of the order given back, the node that refused it
  // kept out of its next routing.
  void release_all(const std::string& refusing_node) {
    nlohmann::json released = nlohmann::json::array();
    for (const auto& a : o_.stored.allocations) released.push_back(a);
    record_stock(released, nlohmann::json::array(), refusing_node);
  }

  bool stock_touched() const { return stock_touched_; }

  // Takes transition `t` to `target`; false when the machine has no such
  // move (recorded, and the order stays).
  bool take(const check::Transition* t, const std::string& target, const std::string& cause,
            const std::string& event = "") {
    if (target.empty()) return false;
    int ts = life_.state(target);
    if (ts < 0 || std::find(t->targets.begin(), t->targets.end(), ts) == t->targets.end()) {
      append("refused", {{"error", fmt::format("machine {} has no transition from '{}' to '{}' {}",
                                               life_.machine().name, o_.stored.state, target, cause)}});
      return false;
    }
    std::string before = o_.stored.state;
    move(t->sources, target, cause, all_units_to(t, target), event);
    if (o_.stored.state == "held" && hold_for_) set_timer(kHoldTimeout, at_ + *hold_for_);
    hold_for_.reset();
    return o_.stored.state != before;
  }

  // Checks the escalation policy: notifies for rules that newly hold, then
  // sets a timer for the next moment one of the others will.
  void escalate() {
    const check::Policy* p = bundle_.policy(check::PolicyKind::Escalation);
    if (!p) return;
    if (life_.terminal(o_.stored.state)) {
      cancel_timers(kEscalation);
      return;
    }
    engine::Outcome out;
    engine::EvalInput input;
    input.order = o_.image->data();
    input.now = at_;
    dep_.engine->evaluate_into(check::PolicyKind::Escalation, input, engine::TraceDetail::Rules, out);
    std::vector<std::string> fired;
    for (size_t i = 0; i < p->rules.size(); ++i) {
      const std::string& name = p->rules[i].name;
      if (out.rule_matched(static_cast<int>(i)) &&
          std::find(o_.stored.fired.begin(), o_.stored.fired.end(), name) == o_.stored.fired.end())
        fired.push_back(name);
    }
    if (!fired.empty()) {
      nlohmann::json body(engine::outcome_to_json(bundle_, out, o_.image->data()));
      nlohmann::json notifications = nlohmann::json::array();
      for (const auto& n : body.value("notifications", nlohmann::json::array()))
        if (std::find(fired.begin(), fired.end(), n.value("rule", "")) != fired.end()) notifications.push_back(n);
      nlohmann::json entry = {{"rules", fired}, {"notifications", notifications}, {"deployment", dep_.meta.id}};
      if (body.contains("tags")) entry["tags"] = body["tags"];
      if (body.contains("priority")) entry["priority"] = body["priority"];
      if (body.contains("error")) entry["error"] = body["error"];
      append("escalation", std::move(entry));
      for (const auto& n : notifications)
        ack_.steps.push_back(fmt::format("{} {} (rule \"{}\")", n.value("kind", ""), n.value("to", ""),
                                         n.value("rule", "")));
    }
    std::optional<int64_t> next;
    for (const check::Rule& r : p->rules) {
      if (!r.when || !reads_clock(*r.when)) continue;
      if (std::find(o_.stored.fired.begin(), o_.stored.fired.end(), r.name) != o_.stored.fired.end()) continue;
      auto t = next_moment_true(*dep_.engine, *r.when, p->slot_count, o_.image->data(), at_,
                                engine_.options_.escalation_horizon_ms);
      if (t && (!next || *t < *next)) next = t;
    }
    std::vector<Timer> armed = timers(kEscalation);
    if (armed.size() == 1 && next && armed[0].due == *next) return;
    cancel_timers(kEscalation);
    if (next) set_timer(kEscalation, *next);
  }

  void set_timer(const char* kind, int64_t due) {
    Timer t;
    t.order_id = o_.stored.order_id;
    t.due = due;
    t.kind = kind;
    t.state_entry = o_.stored.state_entry;
    {
      Timed timed{engine_.store_ms_};
      t.id = engine_.store_.add_timer(t);
    }
    if (o_.timers) o_.timers->push_back(t);
    append("timer_set", {{"id", t.id}, {"kind", kind}, {"due", due}, {"due_time", model::format_time(due)},
                         {"state_entry", t.state_entry}});
  }

  std::vector<Timer> timers(const char* kind = nullptr) {
    if (!o_.timers) {
      Timed timed{engine_.store_ms_};
      o_.timers = engine_.store_.timers_of(o_.stored.order_id);
    }
    std::vector<Timer> out;
    for (const Timer& t : *o_.timers)
      if (!kind || t.kind == kind) out.push_back(t);
    return out;
  }

  void cancel_timers(const char* kind = nullptr) {
    for (const Timer& t : timers(kind)) {
      {
        Timed timed{engine_.store_ms_};
        engine_.store_.delete_timer(t.id);
      }
      std::erase_if(*o_.timers, [&](const Timer& x) { return x.id == t.id; });
      append("timer_cancelled", {{"id", t.id}, {"kind", t.kind}});
    }
  }

  // Writes what the engine keeps in the order (its state and since when)
  // into the image that policies read.
  void sync_image() {
    const model::RecordDef& rec = bundle_.schema.record_def(bundle_.order_record);
    int state_field = rec.find("state");
    int state_enum = life_.machine().state_enum;
    if (state_field >= 0 && state_enum >= 0) {
      int ordinal = bundle_.schema.enum_def(state_enum).find(o_.stored.state);
      if (ordinal >= 0)
        set_field(bundle_, *o_.image, {{bundle_.order_record, state_field}},
                  model::Value::enumeration(static_cast<uint32_t>(state_enum), ordinal));
    }
    int since_field = rec.find("state_since");
    if (since_field >= 0)
      set_field(bundle_, *o_.image, {{bundle_.order_record, since_field}}, model::Value::time(o_.stored.state_since));
  }

  void save() {
    if (!changed_) return;
    Timed timed{engine_.store_ms_};
    engine_.store_.put_order(o_.stored);
  }

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
  bool changed_ = false;
  bool stock_touched_ = false;
};

// ------------------------------------------------------------ engine

OrderEngine::OrderEngine(Store& store, const Clock& clock, EngineOptions options)
    : store_(store), clock_(clock), options_(std::move(options)), stock_(store) {
  std::optional<int64_t> live = store_.live();
  if (!live) throw std::runtime_error("nothing is deployed in this database yet; run `orderflow deploy BUNDLE_DIR`");
  live_id_ = *live;
  stock_.load();
  const LoadedDeployment& dep = deployment(live_id_);
  if (stock_.empty() && dep.bundle->inventory) {
    // The first engine on a database starts the stock from the bundle's `use stock` file.
    store_.begin();
    try {
      stock_.seed(*dep.bundle, clock_.now(), fmt::format("seeded from deployment {}", live_id_));
      for (const std::string& sku : stock_.book().skus())
        stock_.advertise(dep.channels, *dep.inventory, sku, clock_.now());
      store_.commit();
    } catch (...) {
      store_.rollback();
      stock_.reload();
      throw;
    }
  }
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

void OrderEngine::begin_if_needed() {
  if (store_.in_transaction()) return;
  Timed t{store_ms_};
  store_.begin();
}

void OrderEngine::commit() {
  std::lock_guard lock(mutex_);
  if (!store_.in_transaction()) return;
  Timed t{store_ms_};
  store_.commit();
  uncommitted_ = 0;
}

void OrderEngine::abort() {
  std::lock_guard lock(mutex_);
  store_.rollback();
  orders_.clear();
  stock_.reload();
  uncommitted_ = 0;
  ++aborts_;
}

OrderEngine::LiveOrder* OrderEngine::load(const std::string& order_id) {
  auto it = orders_.find(order_id);
  if (it != orders_.end()) return it->second.get();
  std::optional<StoredOrder> stored;
  {
    Timed t{store_ms_};
    stored = store_.get_order(order_id);
  }
  if (!stored) return nullptr;
  auto live = std::make_unique<LiveOrder>();
  live->dep = &deployment(stored->deployment);
  DecodeResult decoded = decode_order(*live->dep->bundle, stored->order);
  if (auto* error = std::get_if<DecodeError>(&decoded))
    throw std::runtime_error(fmt::format("order '{}' in the store no longer decodes: {}", order_id, error->text()));
  live->image.emplace(std::move(std::get<OrderImage>(decoded)));
  live->stored = std::move(*stored);
  // A long-running engine keeps only so many orders in memory; the store has them all.
  if (orders_.size() >= 200'000) orders_.clear();
  LiveOrder* raw = live.get();
  orders_.emplace(order_id, std::move(live));
  return raw;
}

Ack OrderEngine::dead_letter(const std::string& raw, const std::string& source, const std::string& error,
                             int64_t at) {
  begin_if_needed();
  {
    Timed t{store_ms_};
    store_.add_dead_letter({0, at, source, raw, error});
  }
  ++uncommitted_;
  Ack ack;
  ack.status = Ack::Status::Invalid;
  ack.message = error;
  return ack;
}

Ack OrderEngine::reject_unparsable(const std::string& raw, const std::string& source, const std::string& error) {
  std::lock_guard lock(mutex_);
  return dead_letter(raw, source, error, clock_.now());
}

Ack OrderEngine::submit(const nlohmann::json& input, const std::string& source, std::optional<int64_t> at) {
  std::lock_guard lock(mutex_);
  int64_t when = at ? *at : clock_.now();
  if (!input.is_object()) return dead_letter(input.dump(), source, "$: expected a JSON object", when);
  std::string type = input.value("type", "order");
  if (type == "event") return submit_event(input, source, when);
  if (type == "order") return submit_order(input.contains("order") ? input["order"] : input, source, when);
  if (type == "stock") return submit_stock(input, source, when);
  return dead_letter(input.dump(), source,
                     fmt::format("$.type: unknown input type '{}'; expected \"order\", \"event\" or \"stock\"", type),
                     when);
}

Ack OrderEngine::submit_order(const nlohmann::json& given, const std::string& source, int64_t at) {
  const LoadedDeployment& dep = deployment(live_id_);
  // What the engine keeps (the state and since when) is not the channel's to say.
  nlohmann::json order = given;
  if (order.is_object()) {
    order.erase("state");
    order.erase("state_since");
  }
  DecodeResult decoded = decode_order(*dep.bundle, order);
  if (auto* error = std::get_if<DecodeError>(&decoded)) return dead_letter(order.dump(), source, error->text(), at);
  auto live = std::make_unique<LiveOrder>();
  live->dep = &dep;
  live->image.emplace(std::move(std::get<OrderImage>(decoded)));
  live->timers.emplace();
  Ack ack;
  ack.order_id = order_id(*dep.bundle, live->image->data());
  IntakeKey key{order.value("channel", ""), order.value("external_id", ack.order_id), "order"};

  begin_if_needed();
  {
    Timed t{store_ms_};
    store_.mark();
  }
  try {
    bool fresh;
    {
      Timed t{store_ms_};
      fresh = store_.claim(key, ack.order_id);
    }
    if (!fresh) {
      store_.undo_to_mark();
      ack.status = Ack::Status::Duplicate;
      if (LiveOrder* existing = load(ack.order_id)) ack.state = existing->stored.state;
      return ack;
    }
    if (LiveOrder* existing = load(ack.order_id)) {
      store_.undo_to_mark();
      ack.status = Ack::Status::Refused;
      ack.state = existing->stored.state;
      ack.message = fmt::format("order '{}' exists already (from {} order '{}'); changes to an order come as events",
                                ack.order_id, existing->stored.channel, existing->stored.external_id);
      return ack;
    }
    Step step(*this, *live, at, ack);
    step.append("received", {{"channel", key.channel},
                             {"external_id", key.external_id},
                             {"deployment", dep.meta.id},
                             {"version", dep.meta.version},
                             {"source", source},
                             {"order", order}});
    std::vector<std::vector<LineState>> lines;
    if (auto* items = order.contains("lines") ? &order["lines"] : nullptr; items && items->is_array())
      for (const auto& line : *items) lines.push_back({{step.life().initial(), line.value("quantity", int64_t{0})}});
    step.move({}, step.life().initial(), "received", std::move(lines));
    step.run_policies("by policy");
    step.escalate();
    step.save();
    {
      Timed t{store_ms_};
      store_.release_mark();
    }
    ack.state = live->stored.state;
    LiveOrder* raw = live.get();
    if (!step.life().terminal(raw->stored.state)) orders_[ack.order_id] = std::move(live);
  } catch (const StoreError&) {
    throw;  // the store is failing: the batch is lost as a whole
  } catch (const std::exception& e) {
    store_.undo_to_mark();
    stock_.reload();
    orders_.erase(ack.order_id);
    return dead_letter(order.dump(), source, fmt::format("could not process order '{}': {}", ack.order_id, e.what()),
                       at);
  }
  ++uncommitted_;
  return ack;
}

Ack OrderEngine::submit_event(const nlohmann::json& input, const std::string& source, int64_t at) {
  Ack ack;
  auto bad = [&](const std::string& message) { return dead_letter(input.dump(), source, message, at); };
  if (!input.contains("order_id") || !input["order_id"].is_string()) return bad("$.order_id: expected the order's id");
  if (!input.contains("event") || !input["event"].is_string()) return bad("$.event: expected the event's name");
  ack.order_id = input["order_id"].get<std::string>();
  std::string event_name = input["event"].get<std::string>();
  std::string event_id = input.contains("event_id") && input["event_id"].is_string()
                             ? input["event_id"].get<std::string>()
                             : "";
  begin_if_needed();
  LiveOrder* o = load(ack.order_id);
  if (!o) return bad(fmt::format("$.order_id: there is no order '{}'", ack.order_id));
  {
    Timed t{store_ms_};
    store_.mark();
  }
  Step step(*this, *o, at, ack);
  try {
    if (!event_id.empty()) {
      Timed t{store_ms_};
      if (!store_.claim({o->stored.channel, o->stored.external_id, event_id}, ack.order_id)) {
        store_.undo_to_mark();
        ack.status = Ack::Status::Duplicate;
        ack.state = o->stored.state;
        return ack;
      }
    }
    const Lifecycle& life = step.life();
    int event = life.event(event_name);
    if (event < 0 && event_name == "reject_allocation") {
      // Built in, for machines without such an event: a node refuses what it
      // was allocated; the stock goes back and the order is routed again
      // without that node, from the state routing starts from.
      if (o->stored.allocations.empty())
        throw Refusal{fmt::format("order '{}' has no allocation to reject", ack.order_id)};
      const check::Transition* routing = nullptr;
      for (const check::Transition& t : life.machine().transitions)
        if (!routing && t.event < 0 && t.by == check::PolicyKind::Routing) routing = &t;
      if (!routing) throw Refusal{"the machine has no `by routing` transition to route the order again"};
      std::string node = input.value("node", o->stored.allocations[0].value("node", ""));
      nlohmann::json record = {{"event", event_name}, {"node", node}};
      for (const char* key : {"by", "reason", "at"})
        if (input.contains(key)) record[key] = input[key];
      step.append("event", std::move(record));
      step.release_all(node);
      const std::string& again = life.state_name(routing->sources.front());
      step.move({}, again, fmt::format("{} refused the allocation", node), step.all_units_to(nullptr, again));
      step.run_policies("by policy");
      step.escalate();
      step.save();
      {
        Timed t{store_ms_};
        store_.release_mark();
      }
      ack.state = o->stored.state;
      ++uncommitted_;
      return ack;
    }
    if (event < 0)
      throw Refusal{fmt::format("unknown event '{}'; the events are {}", event_name,
                                fmt::join(life.event_names(), ", "))};
    nlohmann::json record = {{"event", event_name}};
    if (!event_id.empty()) record["event_id"] = event_id;
    for (const char* key : {"by", "reason", "lines", "at"})
      if (input.contains(key)) record[key] = input[key];

    // Fields the event sets on the order, checked against the schema first.
    nlohmann::json set = input.value("set", nlohmann::json::object());
    if (!set.is_object()) throw Refusal{"$.set: expected an object of order fields"};
    if (event_name == "deliver" && !set.contains("delivered_at") && !o->stored.order.contains("delivered_at") &&
        step.bundle().schema.record_def(step.bundle().order_record).find("delivered_at") >= 0)
      set["delivered_at"] = model::format_time(at);
    if (!set.empty()) {
      nlohmann::json changed = o->stored.order;
      for (const auto& [field, value] : set.items()) changed[field] = value;
      DecodeResult decoded = decode_order(step.bundle(), changed);
      if (auto* error = std::get_if<DecodeError>(&decoded))
        throw Refusal{fmt::format("$.set: the order would not be valid: {}", error->text())};
      record["set"] = set;
    }

    int current = life.state(o->stored.state);
    // Which units move: the lines named, or every unit whose state takes the event.
    const check::Transition* transition = nullptr;
    std::vector<std::vector<LineState>> lines = o->stored.lines;
    std::vector<std::pair<size_t, int64_t>> wanted;  // line, quantity
    if (input.contains("lines")) {
      const nlohmann::json& given = input["lines"];
      if (!given.is_array()) throw Refusal{"$.lines: expected a list of {\"line\" or \"sku\", \"quantity\"}"};
      const nlohmann::json& order_lines = o->stored.order.value("lines", nlohmann::json::array());
      for (size_t i = 0; i < given.size(); ++i) {
        const nlohmann::json& g = given[i];
        std::optional<size_t> index;
        if (g.contains("line") && g["line"].is_number_integer() && g["line"].get<int64_t>() >= 0)
          index = g["line"].get<size_t>();
        for (size_t k = 0; !index && k < order_lines.size(); ++k) {
          if (g.contains("sku") && order_lines[k].value("sku", "") == g.value("sku", "")) index = k;
          if (g.contains("id") && order_lines[k].contains("id") && order_lines[k]["id"] == g["id"]) index = k;
        }
        if (!index || *index >= lines.size())
          throw Refusal{fmt::format("$.lines[{}]: no such line in order '{}'", i, ack.order_id)};
        int64_t quantity = g.value("quantity", int64_t{0});
        if (quantity <= 0) throw Refusal{fmt::format("$.lines[{}].quantity: expected a positive number", i)};
        wanted.push_back({*index, quantity});
      }
    }
    // Guards and targets are per transition; with lines, units may come from several states.
    std::vector<std::pair<const check::Transition*, std::string>> moves;  // transition, target
    auto accepts = [&](const std::string& state) -> const check::Transition* {
      int s = life.state(state);
      return s >= 0 ? life.on_event(s, event) : nullptr;
    };
    auto target_for = [&](const check::Transition* t) -> std::string {
      if (t->guard) {
        engine::EvalInput in;
        in.order = o->image->data();
        in.now = at;
        if (!o->dep->engine->condition_holds(*t->guard, life.machine().slot_count, in))
          throw Refusal{fmt::format("order '{}' does not take '{}' now: the condition `{}` does not hold",
                                    ack.order_id, event_name, step.bundle().source_text(t->guard->range))};
      }
      if (t->targets.size() == 1) return life.state_name(t->targets[0]);
      if (event_name == "timeout" && o->stored.hold.is_object() && o->stored.hold.contains("on_timeout"))
        return target_of_verdict_name(o->stored.hold["on_timeout"].value("decision", ""));
      if (t->by) return "";  // the policy decides
      throw Refusal{fmt::format("the transition on '{}' from '{}' has several targets and nothing picks one",
                                event_name, o->stored.state)};
    };
    if (wanted.empty()) {
      for (const auto& line : lines)
        for (const LineState& part : line)
          if (part.quantity > 0 && accepts(part.state) && !transition) transition = accepts(part.state);
      if (!transition && lines.empty() && current >= 0) transition = life.on_event(current, event);
      if (!transition) {
        std::vector<std::string> takes = current >= 0 ? life.accepted_events(current) : std::vector<std::string>{};
        throw Refusal{fmt::format("order '{}' is {}, which does not take the event '{}'{}", ack.order_id,
                                  o->stored.state, event_name,
                                  takes.empty() ? std::string(" (it takes no events)")
                                                : fmt::format(" (it takes {})", fmt::join(takes, ", ")))};
      }
      moves.push_back({transition, target_for(transition)});
    } else {
      std::vector<std::vector<LineState>> after = lines;
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
                                    ack.order_id, quantity - left, event_name)};
        for (const LineState& m : moved) add_units(line, m.state, m.quantity);
        std::erase_if(line, [](const LineState& p) { return p.quantity == 0; });
      }
      lines = std::move(after);
    }

    if (event_name == "cancel" && !wanted.empty()) {
      // Cancelled units are no longer the order's to ship: policies read
      // them in line.cancelled_quantity.
      nlohmann::json cancelled = nlohmann::json::array();
      for (auto [index, quantity] : wanted) cancelled.push_back({{"line", index}, {"quantity", quantity}});
      record["cancelled_units"] = std::move(cancelled);
    }
    bool order_changes = record.contains("set") || record.contains("cancelled_units");
    step.append("event", std::move(record));
    if (order_changes) {
      DecodeResult decoded = decode_order(step.bundle(), o->stored.order);
      if (auto* error = std::get_if<DecodeError>(&decoded)) throw Refusal{error->text()};
      o->image.emplace(std::move(std::get<OrderImage>(decoded)));
    }
    step.sync_image();
    std::string cause = fmt::format("on {}", event_name);
    if (event_name == "reject_allocation" && !o->stored.allocations.empty()) {
      // A machine with its own reject_allocation event: the stock goes back all the same.
      step.release_all(input.value("node", o->stored.allocations[0].value("node", "")));
    }
    if (wanted.empty()) {
      auto [t, target] = moves.front();
      if (target.empty() && t->by) target = step.decide(*t->by);
      if (!target.empty()) step.take(t, target, cause, event_name);
    } else {
      step.move({}, o->stored.state, cause, std::move(lines), event_name);
    }
    step.run_policies("by policy");
    step.escalate();
    step.save();
    {
      Timed t{store_ms_};
      store_.release_mark();
    }
  } catch (const Refusal& r) {
    store_.undo_to_mark();
    stock_.reload();
    orders_.erase(ack.order_id);
    // The refusal itself is part of the order's history.
    o = load(ack.order_id);
    Ack refused;
    Step note(*this, *o, at, refused);
    nlohmann::json body = {{"event", event_name}, {"error", r.message}};
    if (!event_id.empty()) body["event_id"] = event_id;
    note.append("refused", std::move(body));
    note.save();
    ++uncommitted_;
    ack.status = Ack::Status::Refused;
    ack.message = r.message;
    ack.state = o->stored.state;
    ack.steps.clear();
    return ack;
  } catch (const StoreError&) {
    throw;
  } catch (const std::exception& e) {
    store_.undo_to_mark();
    stock_.reload();
    orders_.erase(ack.order_id);
    return bad(fmt::format("could not process the event for order '{}': {}", ack.order_id, e.what()));
  }
  ack.state = o->stored.state;
  if (o->dep->lifecycle->terminal(o->stored.state)) orders_.erase(ack.order_id);
  ++uncommitted_;
  return ack;
}

Ack OrderEngine::submit_stock(const nlohmann::json& input, const std::string& source, int64_t at) {
  Ack ack;
  auto bad = [&](const std::string& message) { return dead_letter(input.dump(), source, message, at); };
  std::string node = input.value("node", "");
  std::string sku = input.value("sku", "");
  if (node.empty()) return bad("$.node: expected the node's id");
  if (sku.empty()) return bad("$.sku: expected the SKU");
  const LoadedDeployment& live = deployment(live_id_);
  if (!live.inventory || !live.inventory->find_node(node))
    return bad(fmt::format("$.node: the live deployment has no node '{}'", node));
  auto whole = [&](const char* key) -> std::optional<int64_t> {
    if (!input.contains(key)) return std::nullopt;
    if (!input[key].is_number_integer()) throw Refusal{fmt::format("$.{}: expected a whole number", key)};
    return input[key].get<int64_t>();
  };
  begin_if_needed();
  {
    Timed t{store_ms_};
    store_.mark();
  }
  int64_t before_atp = 0, after_atp = 0;
  try {
    std::string event_id = input.value("event_id", "");
    if (!event_id.empty()) {
      Timed t{store_ms_};
      if (!store_.claim({"stock", node, event_id}, "")) {
        store_.undo_to_mark();
        ack.status = Ack::Status::Duplicate;
        return ack;
      }
    }
    std::optional<StockRow> row;
    {
      Timed t{store_ms_};
      row = store_.stock(node, sku);
    }
    StockRow current = row.value_or(StockRow{node, sku, 0, 0, 0});
    StockChange c;
    c.at = at;
    c.node = node;
    c.sku = sku;
    std::string reason = input.value("reason", "");
    auto cause = [&](const char* what) { return reason.empty() ? std::string(what) : fmt::format("{}: {}", what, reason); };
    if (auto on_hand = whole("on_hand")) {
      if (*on_hand < 0) throw Refusal{"$.on_hand: cannot be negative"};
      c.on_hand_change = *on_hand - current.on_hand;
      c.cause = cause("count");
    } else if (auto received = whole("received")) {
      if (*received <= 0) throw Refusal{"$.received: expected a positive number of units"};
      c.on_hand_change = *received;
      c.cause = cause("receipt");
    } else if (auto adjust = whole("adjust")) {
      c.on_hand_change = *adjust;
      c.cause = cause("adjustment");
    } else if (!input.contains("safety_stock")) {
      throw Refusal{"expected one of on_hand, received, adjust or safety_stock"};
    } else {
      c.cause = cause("safety stock");
    }
    if (auto safety = whole("safety_stock")) {
      if (*safety < 0) throw Refusal{"$.safety_stock: cannot be negative"};
      c.safety_stock = *safety;
    }
    if (current.on_hand + c.on_hand_change < current.reserved)
      throw Refusal{fmt::format("{} {} would have {} on hand but {} are reserved for orders; ship or release them "
                                "first",
                                node, sku, current.on_hand + c.on_hand_change, current.reserved)};
    before_atp = model::StockLevel{current.on_hand, current.reserved, current.safety_stock}.available(0);
    StockRow after;
    {
      Timed t{store_ms_};
      after = stock_.change(c);
      stock_.advertise(live.channels, *live.inventory, sku, at);
      store_.release_mark();
    }
    after_atp = model::StockLevel{after.on_hand, after.reserved, after.safety_stock}.available(0);
    ack.steps.push_back(fmt::format("{} {}: on hand {} -> {}, available {} -> {}", node, sku, current.on_hand,
                                    after.on_hand, before_atp, after_atp));
  } catch (const Refusal& r) {
    store_.undo_to_mark();
    stock_.reload();
    return bad(r.message);
  } catch (const StoreError&) {
    throw;
  }
  ++uncommitted_;
  if (after_atp > before_atp) wake_backordered(sku, at, ack);
  return ack;
}

void OrderEngine::wake_backordered(const std::string& sku, int64_t at, Ack& ack) {
  std::vector<std::string> waiting;
  {
    Timed t{store_ms_};
    for (const std::string& state : {std::string("backordered")})
      for (std::string& id : store_.orders_in_state(state)) waiting.push_back(std::move(id));
  }
  // Oldest first: the order that has waited longest gets the stock first.
  for (const std::string& id : waiting) {
    LiveOrder* o = load(id);
    if (!o) continue;
    bool needs = false;
    for (const auto& line : o->stored.order.value("lines", nlohmann::json::array()))
      needs |= line.value("sku", "") == sku;
    if (!needs) continue;
    int s = o->dep->lifecycle->state(o->stored.state);
    int restock = o->dep->lifecycle->event("restock");
    if (s < 0 || restock < 0 || !o->dep->lifecycle->on_event(s, restock)) continue;
    Ack woke = submit_event({{"type", "event"}, {"order_id", id}, {"event", "restock"}, {"by", "stock"}}, "restock",
                            at);
    ack.steps.push_back(fmt::format("{}: {}", id, woke.state));
  }
}

std::optional<int64_t> OrderEngine::next_timer() {
  std::lock_guard lock(mutex_);
  Timed t{store_ms_};
  return store_.next_due();
}

std::vector<Ack> OrderEngine::fire_due(int64_t until, bool at_due) {
  std::lock_guard lock(mutex_);
  std::vector<Ack> out;
  for (;;) {
    std::vector<Timer> due;
    {
      Timed t{store_ms_};
      due = store_.due_timers(until, 256);
    }
    if (due.empty()) return out;
    for (const Timer& timer : due)
      if (std::optional<Ack> ack = fire(timer, at_due ? timer.due : until)) out.push_back(std::move(*ack));
  }
}

std::optional<Ack> OrderEngine::fire(const Timer& timer, int64_t at) {
  begin_if_needed();
  Ack ack;
  ack.order_id = timer.order_id;
  LiveOrder* o = load(timer.order_id);
  {
    Timed t{store_ms_};
    store_.mark();
    // Deleted in the same transaction as its effects: a timer never fires
    // twice. One that an earlier firing of this round cancelled is gone.
    if (!store_.delete_timer(timer.id)) {
      store_.release_mark();
      return std::nullopt;
    }
  }
  if (o && o->timers) std::erase_if(*o->timers, [&](const Timer& x) { return x.id == timer.id; });
  if (!o) {
    store_.release_mark();
    ack.status = Ack::Status::Refused;
    ack.message = fmt::format("timer {} belongs to an order that is not in the store", timer.id);
    return ack;
  }
  try {
    Step step(*this, *o, at, ack);
    nlohmann::json body = {{"id", timer.id}, {"kind", timer.kind}, {"due", timer.due},
                           {"due_time", model::format_time(timer.due)}};
    if (at > timer.due) body["late_ms"] = at - timer.due;
    bool current = timer.state_entry == o->stored.state_entry;
    if (!current) body["stale"] = true;
    step.append("timer_fired", std::move(body));
    step.sync_image();
    if (current && timer.kind == kHoldTimeout) {
      ack.steps.push_back("hold timed out");
      step.save();
      store_.release_mark();
      return submit_event({{"type", "event"}, {"order_id", timer.order_id}, {"event", "timeout"}, {"by", "timer"}},
                          "timer", at);
    }
    if (current && timer.kind == kEscalation) step.escalate();
    step.save();
    store_.release_mark();
  } catch (const StoreError&) {
    throw;
  } catch (const std::exception& e) {
    store_.undo_to_mark();
    stock_.reload();
    orders_.erase(timer.order_id);
    // The timer stays deleted only with its effects; put the failure on record instead.
    return dead_letter(nlohmann::json{{"timer", timer.id}, {"order_id", timer.order_id}}.dump(), "timer",
                       fmt::format("timer {} of order '{}' failed: {}", timer.id, timer.order_id, e.what()), at);
  }
  ack.state = o->stored.state;
  ++uncommitted_;
  return ack;
}

int64_t OrderEngine::migrate_to_live(int64_t at) {
  std::lock_guard lock(mutex_);
  std::vector<std::string> ids;
  store_.scan_orders([&](const StoredOrder& o) {
    if (o.deployment != live_id_) ids.push_back(o.order_id);
  });
  int64_t moved = 0;
  begin_if_needed();
  for (const std::string& id : ids) {
    LiveOrder* o = load(id);
    if (!o || o->dep->lifecycle->terminal(o->stored.state)) continue;
    const LoadedDeployment& target = deployment(live_id_);
    if (target.lifecycle->state(o->stored.state) < 0) continue;  // the new machine has no such state
    Ack ack;
    Step step(*this, *o, at, ack);
    step.append("migrated", {{"from", o->stored.deployment}, {"to", live_id_}});
    step.save();
    orders_.erase(id);
    ++moved;
  }
  return moved;
}

}  // namespace orderflow::runtime
