#pragma once
// A decision's explanation (every rule considered, with the values behind
// it; every node routing looked at), derived again from what determined it:
// the deployment that decided, the order as it stood then (its journal up
// to the decision), the moment, and what the decision kept of the stock it
// saw and the nodes it could not use. The reference interpreter evaluates
// it, so `audit --explain` shows what `explain` would have shown then,
// without the journal keeping the text of every fact.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "compiler/engine/engine.h"
#include "runtime/canonical/order_json.h"
#include "runtime/engine/customer_history.h"
#include "runtime/engine/deployments.h"
#include "runtime/store/store.h"

namespace orderflow::runtime {

// Writes what the engine keeps of the order (its state, since when, when it
// entered each state, the node it ships from), not the channel's, into the
// image policies read.
void stamp_state(const check::CheckedBundle& bundle, const Lifecycle& lifecycle, OrderImage& image,
                 const StoredOrder& order);
// Writes the order's returns (order.returns), each with its state and when
// it entered each, into the image.
void stamp_returns(const check::CheckedBundle& bundle, OrderImage& image, const StoredOrder& order);

struct Explanation {
  bool available = false;
  std::string why_not;  // when it is not available
  engine::Outcome outcome;  // evaluated with TraceDetail::Values
  // When the derived decision differs from the recorded one (it should
  // not: the deployment and the order are what they were), what differs.
  std::string mismatch;
};

class Explainer {
 public:
  explicit Explainer(Store& store) : store_(store) {}
  // The explanation of the decision that is entry `entry` of record
  // `record` in an order's history (its journal, in order).
  Explanation explain(const std::vector<journal::Record>& history, size_t record, size_t entry);

 private:
  const LoadedDeployment& deployment(int64_t id);

  Store& store_;
  std::map<int64_t, std::unique_ptr<LoadedDeployment>> deployments_;
  // history() as the engine saw it: read from the journal when a decision
  // that calls it is first explained.
  std::unique_ptr<CustomerHistory> history_;
};

}  // namespace orderflow::runtime
