#include "runtime/engine/explain.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "runtime/engine/refunds.h"
#include "runtime/store/projection.h"

namespace orderflow::runtime {

namespace {

// The deployment's nodes, with the stock levels a decision saw.
class SeenInventory final : public model::Inventory {
 public:
  SeenInventory(const model::StaticInventory& nodes, const std::vector<journal::StockSeen>& seen) : nodes_(nodes) {
    for (const journal::StockSeen& s : seen) {
      std::optional<size_t> n = nodes.find_node(s.node);
      if (!n) continue;
      std::vector<model::StockLevel>& levels = levels_[s.sku];
      levels.resize(nodes.node_count());
      levels[*n] = {s.on_hand, s.reserved, s.safety};
    }
  }
  size_t node_count() const override { return nodes_.node_count(); }
  const std::byte* const* node_images() const override { return nodes_.node_images(); }
  const model::StockLevel* sku_stock(std::string_view sku) const override {
    auto it = levels_.find(std::string(sku));
    if (it != levels_.end()) return it->second.data();
    // Looked at and found empty everywhere: nothing was kept for it.
    auto& empty = empty_[std::string(sku)];
    empty.resize(nodes_.node_count());
    return empty.data();
  }
  const uint8_t* inactive() const override { return nodes_.inactive(); }

 private:
  const model::StaticInventory& nodes_;
  std::map<std::string, std::vector<model::StockLevel>> levels_;
  mutable std::map<std::string, std::vector<model::StockLevel>> empty_;
};

}  // namespace

void stamp_state(const check::CheckedBundle& bundle, const Lifecycle& lifecycle, OrderImage& image,
                 const StoredOrder& order) {
  const model::RecordDef& rec = bundle.schema.record_def(bundle.order_record);
  int state_field = rec.find("state");
  int state_enum = lifecycle.machine().state_enum;
  auto state_value = [&](const std::string& state) -> std::optional<model::Value> {
    int ordinal = state_enum >= 0 ? bundle.schema.enum_def(state_enum).find(state) : -1;
    if (ordinal < 0) return std::nullopt;
    return model::Value::enumeration(static_cast<uint32_t>(state_enum), ordinal);
  };
  if (state_field >= 0)
    if (auto v = state_value(order.state)) set_field(bundle, image, {{bundle.order_record, state_field}}, *v);
  int since_field = rec.find("state_since");
  if (since_field >= 0)
    set_field(bundle, image, {{bundle.order_record, since_field}}, model::Value::time(order.state_since));
  int node_field = rec.find("node_id");
  if (node_field >= 0 && !order.node.empty())
    set_field(bundle, image, {{bundle.order_record, node_field}},
              model::Value::string(image.arena().copy(order.node)));
  int entered_field = rec.find("state_entered");
  if (entered_field >= 0 && !order.entered.empty()) {
    model::Type entry = bundle.schema.element_type(rec.fields[entered_field].type);
    const model::RecordDef& def = bundle.schema.record_def(entry.ref);
    const model::FieldDef& state = def.fields[def.find("state")];
    const model::FieldDef& at = def.fields[def.find("at")];
    std::byte* data = image.arena().allocate(def.size * order.entered.size());
    uint64_t count = 0;
    for (const auto& [name, when] : order.entered) {
      auto v = state_value(name);
      if (!v) continue;  // a state the deployment's machine does not have
      std::byte* record = data + count++ * def.size;
      model::write_slot(state.type, record + state.offset, *v);
      model::set_presence_bit(record, state.index);
      model::write_slot(at.type, record + at.offset, model::Value::time(when));
      model::set_presence_bit(record, at.index);
    }
    set_field(bundle, image, {{bundle.order_record, entered_field}},
              model::Value::list(model::pack_type(entry), data, count));
  }
  stamp_returns(bundle, image, order);
}

void stamp_returns(const check::CheckedBundle& bundle, OrderImage& image, const StoredOrder& order) {
  if (order.returns.empty() || bundle.return_record < 0) return;  // most orders: nothing to look up
  const model::RecordDef& rec = bundle.schema.record_def(bundle.order_record);
  int returns_field = rec.find("returns");
  if (returns_field < 0) return;
  model::Type element = bundle.schema.element_type(rec.fields[returns_field].type);
  if (element.kind != model::TypeKind::Record || element.ref != bundle.return_record) return;
  nlohmann::json sold = nlohmann::json::parse(order.order, nullptr, false);
  const nlohmann::json lines = sold.is_object() ? sold.value("lines", nlohmann::json::array()) : nlohmann::json::array();
  const model::RecordDef& def = bundle.schema.record_def(bundle.return_record);
  std::byte* data = image.arena().allocate(def.size * order.returns.size());
  uint64_t count = 0;
  for (const OrderReturn& r : order.returns) {
    nlohmann::json entered = nlohmann::json::array();
    std::optional<int64_t> requested_at;
    for (const ReturnEntered& e : order.return_entered) {
      if (e.return_id != r.id) continue;
      if (!requested_at) requested_at = e.at;  // the first state it entered, as it was asked for
      entered.push_back({{"state", e.state}, {"at", model::format_time(e.at)}});
    }
    bool exchange = std::any_of(order.exchanges.begin(), order.exchanges.end(),
                                [&](const Exchange& x) { return x.return_id == r.id; });
    nlohmann::json json = {{"id", r.id}, {"kind", r.kind.empty() ? "customer" : r.kind}, {"reason", r.reason},
                           {"lines", returned_lines(lines, r.lines)}, {"exchange", exchange},
                           {"state", r.state}, {"state_entered", entered}};
    if (auto value = returned_value(lines, r.lines)) json["value"] = *value;
    if (requested_at) json["requested_at"] = model::format_time(*requested_at);
    auto decoded = decode_record(bundle, bundle.return_record, json, image.arena());
    // A return the deployment's schema cannot read (a state its machine
    // does not have) is left out rather than misread.
    if (!std::holds_alternative<std::byte*>(decoded)) continue;
    std::memcpy(data + count++ * def.size, std::get<std::byte*>(decoded), def.size);
  }
  set_field(bundle, image, {{bundle.order_record, returns_field}},
            model::Value::list(model::pack_type(element), data, count));
}

const LoadedDeployment& Explainer::deployment(int64_t id) {
  auto it = deployments_.find(id);
  if (it == deployments_.end()) {
    EngineChoice interp;
    interp.kind = "interp";
    it = deployments_.emplace(id, load_deployment(store_, id, interp)).first;
  }
  return *it->second;
}

Explanation Explainer::explain(const std::vector<journal::Record>& history, size_t record, size_t entry) {
  Explanation out;
  const journal::Record& r = history.at(record);
  const auto* decided = std::get_if<journal::Decided>(&r.entries.at(entry));
  if (!decided) {
    out.why_not = "not a decision";
    return out;
  }
  if (!decided->explainable) {
    out.why_not = "this decision was recorded without what explaining it needs (`run --trace rules`)";
    return out;
  }
  // The order as it stood when asked.
  StoredOrder order;
  for (size_t i = 0; i <= record; ++i) {
    const journal::Record& before = history[i];
    size_t end = i == record ? entry : before.entries.size();
    for (size_t e = 0; e < end; ++e) apply_entry(before, before.entries[e], order);
  }
  const LoadedDeployment* dep = nullptr;
  try {
    dep = &deployment(decided->deployment);
  } catch (const std::exception& e) {
    out.why_not = fmt::format("deployment {} cannot be loaded: {}", decided->deployment, e.what());
    return out;
  }
  const check::CheckedBundle& bundle = *dep->bundle;
  std::optional<check::PolicyKind> kind;
  for (check::PolicyKind k : {check::PolicyKind::Acceptance, check::PolicyKind::Routing, check::PolicyKind::Escalation})
    if (decided->policy == check::policy_kind_name(k)) kind = k;
  if (!kind) {
    out.why_not = fmt::format("no policy kind '{}'", decided->policy);
    return out;
  }
  nlohmann::json json = nlohmann::json::parse(order.order, nullptr, false);
  DecodeResult decoded = decode_order(bundle, json);
  if (auto* error = std::get_if<DecodeError>(&decoded)) {
    out.why_not = fmt::format("the order no longer decodes: {}", error->text());
    return out;
  }
  OrderImage& image = std::get<OrderImage>(decoded);
  stamp_state(bundle, *dep->lifecycle, image, order);

  engine::EvalInput input;
  input.order = image.data();
  input.now = r.at;
  if (bundle.uses_history) {
    if (!history_) {
      history_ = std::make_unique<CustomerHistory>();
      history_->load(store_);
    }
    input.history = history_.get();
  }
  std::optional<SeenInventory> seen;
  std::vector<bool> excluded;
  if (bundle.inventory) {
    seen.emplace(*bundle.inventory, decided->stock_seen);
    input.inventory = &*seen;
    excluded.assign(bundle.inventory->node_count(), false);
    for (const journal::ExcludedNode& x : decided->excluded)
      if (auto n = bundle.inventory->find_node(x.node)) excluded[*n] = true;
    if (!decided->excluded.empty()) input.excluded_nodes = &excluded;
  }
  dep->engine->evaluate_into(*kind, input, engine::TraceDetail::Values, out.outcome);
  for (engine::NodeTrace& n : out.outcome.nodes)
    for (const journal::ExcludedNode& x : decided->excluded)
      if (x.node == n.node_id) n.status = x.why;
  out.available = true;

  // It decides as it did, or the explanation says where it parts.
  std::vector<std::string> differences;
  if (decided->decision != engine::verdict_name(out.outcome.verdict))
    differences.push_back(fmt::format("decision {} then, {} now", decided->decision,
                                      engine::verdict_name(out.outcome.verdict)));
  std::optional<std::string> rule;
  if (out.outcome.deciding_rule != -2) rule = std::string(out.outcome.deciding_rule_name);
  if (decided->rule != rule)
    differences.push_back(fmt::format("rule \"{}\" then, \"{}\" now", decided->rule.value_or("-"), rule.value_or("-")));
  if (decided->matched != engine::matched_rule_names(bundle, out.outcome))
    differences.push_back("the rules that matched differ");
  if (!differences.empty())
    out.mismatch = fmt::format("derived again, the decision differs from the recorded one: {}",
                               fmt::join(differences, "; "));
  return out;
}

}  // namespace orderflow::runtime
