#pragma once
// When does a condition over an order and `now` become true? The engine
// sets one timer for that moment instead of polling every order.
#include <cstdint>
#include <optional>

#include "compiler/engine/engine.h"

namespace orderflow::runtime {

// The first moment in (from, from + horizon] at which `condition` holds for
// the order, supposing the order itself does not change meanwhile; nullopt
// when there is none. A condition on the clock face may turn true at any
// later boundary, so for it the answer is at the latest the next boundary,
// where the caller looks again.
//
// Each atom of the condition that reads the clock (`now`, or a field whose
// computed default does, such as `order.time_in_state`) is monotone in it
// (`order.dispatch_by - now < 2h` turns true once and stays true), so its
// turning point is found to the millisecond: solved where the difference
// of a comparison's sides moves at the clock's pace, bisected where it does
// not; atoms on the clock
// face (`hour(now)`, `minute(now)`, `weekday(now)`) turn at the next
// boundary. Between turning points nothing changes, so the condition is
// tried at each of them in order.
std::optional<int64_t> next_moment_true(const engine::PolicyEngine& engine, const check::Expr& condition, int slots,
                                        const std::byte* order, int64_t from, int64_t horizon);

// Whether an expression reads the clock at all.
bool reads_clock(const check::Expr& expr);

}  // namespace orderflow::runtime
