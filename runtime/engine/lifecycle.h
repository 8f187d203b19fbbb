#pragma once
// The bundle's lifecycle machine as the runtime drives it: which transition
// an event or a policy takes from a state, and the order's state derived
// from where its units are.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/check/bundle.h"
#include "runtime/store/store.h"

namespace orderflow::runtime {

class Lifecycle {
 public:
  // The order's machine.
  explicit Lifecycle(const check::CheckedBundle& bundle);
  // Another of the bundle's machines (its return_machine).
  Lifecycle(const check::CheckedBundle& bundle, const std::optional<check::Machine>& machine);

  const check::Machine& machine() const { return *machine_; }
  int state(std::string_view name) const { return machine_->find_state(name); }
  const std::string& state_name(int state) const { return machine_->states.at(state); }
  const std::string& initial() const { return state_name(machine_->initial); }
  bool terminal(std::string_view state) const;
  // Index of an event (a value of OrderEvent), or -1.
  int event(std::string_view name) const;
  const std::string& event_name(int event) const;
  std::vector<std::string> event_names() const;

  // The transition that `event` takes from `state`, or null.
  const check::Transition* on_event(int state, int event) const;
  // The transition `after` a time from `state` (the first), or null.
  const check::Transition* after(int state) const;
  // The `by` transition without an event from `state` (taken when the
  // order enters it), or null.
  const check::Transition* by_policy(int state) const;
  // Events that `state` accepts, for error messages.
  std::vector<std::string> accepted_events(int state) const;

  // The order's state from its lines: the least advanced state that still
  // holds units, not counting units that have ended (terminal states) while
  // others go on; when every unit has ended, the terminal state holding the
  // most. `fallback` when the order has no units at all.
  std::string derive(const std::vector<std::vector<LineState>>& lines, const std::string& fallback) const;

 private:
  const check::Machine* machine_;
  const model::EnumDef* events_ = nullptr;
  std::vector<int> rank_;  // distance from the initial state, by state
};

// Puts `quantity` units into `state` on a line, merging with units already there.
void add_units(std::vector<LineState>& line, const std::string& state, int64_t quantity);

}  // namespace orderflow::runtime
