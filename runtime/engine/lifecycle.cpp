#include "runtime/engine/lifecycle.h"

#include <algorithm>
#include <deque>
#include <stdexcept>

namespace orderflow::runtime {

Lifecycle::Lifecycle(const check::CheckedBundle& bundle) : Lifecycle(bundle, bundle.machine) {}

Lifecycle::Lifecycle(const check::CheckedBundle& bundle, const std::optional<check::Machine>& machine) {
  if (!machine) throw std::runtime_error("the bundle has no lifecycle machine");
  machine_ = &*machine;
  if (machine_->event_enum >= 0) events_ = &bundle.schema.enum_def(machine_->event_enum);
  size_t n = machine_->states.size();
  rank_.assign(n, static_cast<int>(n));
  std::deque<int> queue = {machine_->initial};
  rank_[machine_->initial] = 0;
  while (!queue.empty()) {
    int s = queue.front();
    queue.pop_front();
    for (const check::Transition& t : machine_->transitions) {
      if (std::find(t.sources.begin(), t.sources.end(), s) == t.sources.end()) continue;
      for (int target : t.targets)
        if (rank_[target] > rank_[s] + 1) {
          rank_[target] = rank_[s] + 1;
          queue.push_back(target);
        }
    }
  }
}

bool Lifecycle::terminal(std::string_view name) const {
  int s = state(name);
  return s >= 0 && machine_->terminal[s];
}

int Lifecycle::event(std::string_view name) const { return events_ ? events_->find(name) : -1; }

const std::string& Lifecycle::event_name(int event) const { return events_->values.at(event); }

std::vector<std::string> Lifecycle::event_names() const { return events_ ? events_->values : std::vector<std::string>{}; }

const check::Transition* Lifecycle::on_event(int state, int event) const {
  for (const check::Transition& t : machine_->transitions)
    if (t.event == event && std::find(t.sources.begin(), t.sources.end(), state) != t.sources.end()) return &t;
  return nullptr;
}

const check::Transition* Lifecycle::after(int state) const {
  for (const check::Transition& t : machine_->transitions)
    if (t.after && std::find(t.sources.begin(), t.sources.end(), state) != t.sources.end()) return &t;
  return nullptr;
}

const check::Transition* Lifecycle::by_policy(int state) const {
  for (const check::Transition& t : machine_->transitions)
    if (t.event < 0 && t.by && std::find(t.sources.begin(), t.sources.end(), state) != t.sources.end()) return &t;
  return nullptr;
}

std::vector<std::string> Lifecycle::accepted_events(int state) const {
  std::vector<std::string> out;
  for (const check::Transition& t : machine_->transitions)
    if (t.event >= 0 && std::find(t.sources.begin(), t.sources.end(), state) != t.sources.end()) {
      const std::string& name = event_name(t.event);
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    }
  return out;
}

std::string Lifecycle::derive(const std::vector<std::vector<LineState>>& lines, const std::string& fallback) const {
  int best_open = -1;
  int best_ended = -1;
  int64_t ended_units = -1;
  std::vector<int64_t> units(machine_->states.size(), 0);
  for (const auto& line : lines)
    for (const LineState& part : line) {
      int s = state(part.state);
      if (s >= 0 && part.quantity > 0) units[s] += part.quantity;
    }
  for (size_t s = 0; s < units.size(); ++s) {
    if (units[s] == 0) continue;
    int si = static_cast<int>(s);
    if (machine_->terminal[s]) {
      if (units[s] > ended_units || (units[s] == ended_units && rank_[s] < rank_[best_ended])) {
        best_ended = si;
        ended_units = units[s];
      }
    } else if (best_open < 0 || rank_[s] < rank_[best_open]) {
      best_open = si;
    }
  }
  if (best_open >= 0) return state_name(best_open);
  if (best_ended >= 0) return state_name(best_ended);
  return fallback;
}

void add_units(std::vector<LineState>& line, const std::string& state, int64_t quantity) {
  if (quantity <= 0) return;
  for (LineState& part : line)
    if (part.state == state) {
      part.quantity += quantity;
      return;
    }
  line.push_back({state, quantity});
}

}  // namespace orderflow::runtime
