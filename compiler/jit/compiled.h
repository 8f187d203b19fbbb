#pragma once
// What compiled code and its helpers share at run time. Internal to the jit
// library.
#include <llvm/ExecutionEngine/Orc/LLJIT.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/engine/allocation.h"
#include "compiler/engine/engine.h"
#include "compiler/lower/abi.h"
#include "compiler/lower/lower.h"
#include "compiler/model/record.h"

namespace orderflow::jit {

using PolicyFunction = void (*)(lower::JitFrame*);

// One compiled variant of the bundle's policies: the plain one (which
// rules matched) or the explaining one (every fact).
struct CompiledVariant {
  std::vector<lower::Atom> atoms;  // the same for every tier: lowering is deterministic
  // By PolicyKind; null where the interpreter serves. A later tier replaces
  // an earlier one's pointer while evaluations run.
  std::atomic<PolicyFunction> functions[check::kPolicyKindCount] = {};
};

struct CompiledPolicies {
  std::shared_ptr<const check::CheckedBundle> bundle;
  std::optional<engine::RoutingFields> routing_fields;
  // Own the code the functions point into: the baseline tier's (which also
  // holds the explaining variant), then the optimised tier's. Code of an
  // earlier tier stays alive, as an evaluation may still be running it.
  std::vector<std::unique_ptr<llvm::orc::LLJIT>> jits;
  const check::Policy* policies[check::kPolicyKindCount] = {};
  CompiledVariant plain;
  // Compiled after the plain variant; published when ready.
  CompiledVariant explain;
  std::atomic<bool> explain_ready{false};
};

// Per evaluation: everything helpers keep between calls. Lives on the
// evaluating thread's stack, reached through JitFrame::driver.
struct FrameState {
  const CompiledPolicies* compiled = nullptr;
  const std::vector<lower::Atom>* atoms = nullptr;  // of the variant running
  const check::Policy* policy = nullptr;
  engine::Outcome* outcome = nullptr;
  engine::TraceDetail detail = engine::TraceDetail::Rules;
  const model::Inventory* inventory = nullptr;
  const engine::HistorySource* history = nullptr;
  std::string pending_error;
  std::vector<std::string>* rule_facts = nullptr;  // the current rule's facts, when explaining
  std::vector<std::string>* fact_target = nullptr;
  std::vector<std::string> node_facts;
  // routing
  const check::Route* route = nullptr;
  engine::Demands demands;
  std::vector<const void*> demand_rows;
  std::vector<int64_t> demand_quantities;
  std::optional<engine::RouteSelection> selection;
  // stock(): the last SKU's stock row, as the same SKU is asked of every node.
  const void* stock_sku = nullptr;
  int64_t stock_sku_length = -1;
  const model::StockLevel* stock_row = nullptr;
  std::vector<uint8_t> excluded;  // one byte per node, when the input excludes some
  // Text made while evaluating (lower(), joined texts): allocated only when used.
  std::optional<model::Arena> scratch;

  model::Arena& arena() {
    if (!scratch) scratch.emplace();
    return *scratch;
  }
  // Ready for another evaluation; capacity is kept.
  void reset() {
    if (!pending_error.empty()) pending_error.clear();
    rule_facts = nullptr;
    fact_target = nullptr;
    if (!node_facts.empty()) node_facts.clear();
    route = nullptr;
    if (selection) selection.reset();
    if (scratch) scratch.reset();
    stock_sku = nullptr;
    stock_sku_length = -1;
  }
  const check::CheckedBundle& bundle() const { return *compiled->bundle; }
};

inline FrameState& state_of(lower::JitFrame* frame) { return *static_cast<FrameState*>(frame->driver); }

}  // namespace orderflow::jit
