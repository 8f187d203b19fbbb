#include "runtime/engine/deadline.h"

#include <algorithm>
#include <functional>
#include <vector>

#include "compiler/model/local_time.h"

namespace orderflow::runtime {

namespace {

using check::Expr;
using check::ExprKind;

constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

// The next moment after `from` at which an expression that reads the clock
// face (hour(now), date(now, "Asia/Kolkata")) may read differently, or
// nullopt when it reads none.
std::optional<int64_t> next_clock_face_change(const Expr& e, int64_t from) {
  std::optional<int64_t> next;
  auto sooner = [&](std::optional<int64_t> t) {
    if (t && (!next || *t < *next)) next = t;
  };
  bool face = e.builtin == check::Builtin::Minute || e.builtin == check::Builtin::Hour ||
              e.builtin == check::Builtin::Weekday || e.builtin == check::Builtin::Date;
  if (e.kind == ExprKind::Call && face && !e.args.empty() && reads_clock(*e.args[0])) {
    std::optional<model::TimeZone> zone = model::TimeZone{};
    if (e.args.size() > 1)
      zone = e.args[1]->kind == ExprKind::Literal ? model::TimeZone::find(e.args[1]->value.as_string()) : std::nullopt;
    if (e.builtin == check::Builtin::Minute) {
      sooner((from / kMinute + 1) * kMinute);  // every zone's offset is whole minutes
    } else if (!zone) {
      // A zone read from the order or a node: every offset in use is a
      // multiple of a quarter of an hour.
      sooner((from / (15 * kMinute) + 1) * 15 * kMinute);
    } else {
      model::LocalTime local = zone->local(from);
      if (e.builtin == check::Builtin::Hour)
        sooner(local.hour() == 23 ? zone->instant(local.day + 1, 0) : zone->instant(local.day, (local.hour() + 1) * kHour));
      else
        sooner(zone->instant(local.day + 1, 0));
    }
  }
  for (const auto& a : e.args) sooner(next_clock_face_change(*a, from));
  if (e.computed_default) sooner(next_clock_face_change(*e.computed_default, from));
  if (next && *next <= from) next = from + kMinute;  // a clock that stands still at a gap
  return next;
}

// The condition's value when every atom that does not read the clock is
// fixed at its present value and the clock atoms are unknown: nullopt when
// the clock could still make a difference.
std::optional<bool> without_clock(const Expr& e, const std::function<bool(const Expr&)>& holds) {
  switch (e.kind) {
    case ExprKind::Not:
      // `not missing` is missing, which a yes/no test cannot tell from
      // false: leave negations unsettled rather than guess.
      return std::nullopt;
    case ExprKind::And:
    case ExprKind::Or: {
      bool is_and = e.kind == ExprKind::And;
      bool unknown = false;
      for (const auto& a : e.args) {
        auto v = without_clock(*a, holds);
        if (!v)
          unknown = true;
        else if (*v != is_and)
          return !is_and;  // false in an and, true in an or, decides
      }
      if (unknown) return std::nullopt;
      return is_and;
    }
    default:
      if (reads_clock(e)) return std::nullopt;
      return holds(e);
  }
}

void collect_atoms(const Expr& e, std::vector<const Expr*>& atoms) {
  if (e.kind == ExprKind::And || e.kind == ExprKind::Or || e.kind == ExprKind::Not) {
    for (const auto& a : e.args) collect_atoms(*a, atoms);
    return;
  }
  if (reads_clock(e)) atoms.push_back(&e);
}

// The order as it stands, at the moment `t`.
engine::EvalInput at_moment(const std::byte* order, int64_t t) {
  engine::EvalInput input;
  input.order = order;
  input.now = t;
  return input;
}

// Where a comparison of times or durations that moves with the clock at
// its own pace (order.dispatch_by - now < 2h, now > order.placed_at + 12h)
// turns: where the difference of its sides crosses zero, found from two
// values of it and checked at that moment and the one before. Bisecting
// the same took 35 evaluations of it over the horizon, most of what an
// order's escalation rules cost the engine. nullopt: not such a comparison
// (the caller bisects).

template <typename HoldsAt>
std::optional<int64_t> solve_crossing(const engine::PolicyEngine& engine, const Expr& atom, int slots,
                                      const std::byte* order, int64_t from, int64_t end, bool first,
                                      const HoldsAt& holds_at) {
  if (atom.kind != ExprKind::Compare || atom.args.size() != 2) return std::nullopt;
  if (atom.compare != model::CompareForm::Time && atom.compare != model::CompareForm::Duration) return std::nullopt;
  auto difference = [&](int64_t t) -> std::optional<int64_t> {
    auto left = engine.milliseconds_of(*atom.args[0], slots, at_moment(order, t));
    auto right = engine.milliseconds_of(*atom.args[1], slots, at_moment(order, t));
    if (!left || !right) return std::nullopt;
    return *left - *right;
  };
  int64_t step = std::min(kDay, end - from);
  auto at_from = difference(from), later = difference(from + step);
  if (!at_from || !later) return std::nullopt;
  int64_t pace = *later - *at_from;
  if (pace != step && pace != -step) return std::nullopt;  // not the clock's own pace
  int64_t zero = pace > 0 ? from - *at_from : from + *at_from;
  for (int64_t t = std::max(from + 1, zero - 2); t <= std::min(end, zero + 2); ++t)
    if (holds_at(atom, t) != first && holds_at(atom, t - 1) == first) return t;
  return std::nullopt;
}

}  // namespace

bool reads_clock(const Expr& e) {
  if (e.kind == ExprKind::Now) return true;
  if (e.computed_default && reads_clock(*e.computed_default)) return true;
  for (const auto& a : e.args)
    if (reads_clock(*a)) return true;
  return false;
}

std::optional<int64_t> next_moment_true(const engine::PolicyEngine& engine, const Expr& condition, int slots,
                                        const std::byte* order, int64_t from, int64_t horizon) {
  auto holds_at = [&](const Expr& e, int64_t t) { return engine.condition_holds(e, slots, at_moment(order, t)); };
  // A condition that the order's own fields already settle (a rule for
  // held orders, for an order that is not held) turns true at no time.
  auto settled = without_clock(condition, [&](const Expr& e) { return holds_at(e, from); });
  if (settled) return std::nullopt;
  std::vector<const Expr*> atoms;
  collect_atoms(condition, atoms);
  std::vector<int64_t> turning;
  const int64_t end = from + horizon;
  std::optional<int64_t> look_again;
  for (const Expr* atom : atoms) {
    if (auto boundary = next_clock_face_change(*atom, from)) {
      if (!look_again || *boundary < *look_again) look_again = boundary;
      continue;
    }
    bool first = holds_at(*atom, from);
    if (holds_at(*atom, end) == first) continue;
    if (auto solved = solve_crossing(engine, *atom, slots, order, from, end, first, holds_at)) {
      turning.push_back(*solved);
      continue;
    }
    int64_t lo = from, hi = end;  // holds_at(lo) == first, holds_at(hi) != first
    while (hi - lo > 1) {
      int64_t mid = lo + (hi - lo) / 2;
      if (holds_at(*atom, mid) == first)
        lo = mid;
      else
        hi = mid;
    }
    turning.push_back(hi);
  }
  std::sort(turning.begin(), turning.end());
  turning.erase(std::unique(turning.begin(), turning.end()), turning.end());
  for (int64_t t : turning) {
    if (look_again && t >= *look_again) break;
    if (t > from && t <= end && holds_at(condition, t)) return t;
  }
  return look_again;
}

}  // namespace orderflow::runtime
