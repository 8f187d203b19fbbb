#include "compiler/check/builtin_table.h"

#include <array>

namespace orderflow::check {

namespace {

// In the order the reference page lists them.
constexpr std::array kSpecs = {
    BuiltinSpec{Builtin::Count, "count", "count(list)", "how many values the list holds"},
    BuiltinSpec{Builtin::Sum, "sum", "sum(list)", "the total; an empty money sum is missing, other empty sums 0"},
    BuiltinSpec{Builtin::Min, "min", "min(list), min(a, b)", "the smallest value; missing for an empty list"},
    BuiltinSpec{Builtin::Max, "max", "max(list), max(a, b)", "the largest value; missing for an empty list"},
    BuiltinSpec{Builtin::Distinct, "distinct", "distinct(list)",
                "the list with each value once, in first-seen order (values, not records)"},
    BuiltinSpec{Builtin::Prefix, "prefix", "prefix(text, n)", "the first n characters"},
    BuiltinSpec{Builtin::Suffix, "suffix", "suffix(text, n)", "the last n characters"},
    BuiltinSpec{Builtin::Lower, "lower", "lower(text)", "the text in lower case"},
    BuiltinSpec{Builtin::Upper, "upper", "upper(text)", "the text in upper case"},
    BuiltinSpec{Builtin::Length, "length", "length(text)", "how many characters the text has"},
    BuiltinSpec{Builtin::Contains, "contains", "contains(text, part)", "whether the part appears in the text"},
    BuiltinSpec{Builtin::StartsWith, "starts_with", "starts_with(text, part)", "whether the text begins with the part"},
    BuiltinSpec{Builtin::EndsWith, "ends_with", "ends_with(text, part)", "whether the text ends with the part"},
    BuiltinSpec{Builtin::Matches, "matches", "text matches \"regex\"",
                "whether the text matches the regular expression (RE2 syntax, anchored only where written)",
                false},
    BuiltinSpec{Builtin::Hour, "hour", "hour(time [, zone])", "the hour on the local clock, 0 to 23"},
    BuiltinSpec{Builtin::Minute, "minute", "minute(time [, zone])", "the minute on the local clock, 0 to 59"},
    BuiltinSpec{Builtin::Weekday, "weekday", "weekday(time [, zone])",
                "the local day of the week, 1 = Monday to 7 = Sunday"},
    BuiltinSpec{Builtin::Date, "date", "date(time [, zone])", "the local date as text, \"2026-12-25\""},
    BuiltinSpec{Builtin::NextClock, "next", "until next HH:MM", "the next moment the local clock reads HH:MM",
                false},
    BuiltinSpec{Builtin::AddWorkingTime, "add_working_time", "add_working_time(time, duration, hours, node)",
                "the moment that much working time after the time, counting only the node's open hours"},
    BuiltinSpec{Builtin::WorkingTimeBetween, "working_time_between", "working_time_between(a, b, hours, node)",
                "the working time between two moments, counting only the node's open hours"},
    BuiltinSpec{Builtin::Entered, "entered", "order.entered(state), r.entered(state)",
                "when the order (or a return r of order.returns) last entered the state; missing if it never did",
                false},
    BuiltinSpec{Builtin::NodeNamed, "node", "order.node",
                "the node its shipment comes from (the first, for a split); missing until it is allocated", false},
    BuiltinSpec{Builtin::History, "history", "history(key, window)",
                "what the engine journalled about the order's phone, email, address or pincode over the window: "
                "orders, delivered, cancelled, returned, rto, return_rate, rto_rate"},
    BuiltinSpec{Builtin::Abs, "abs", "abs(x)", "the value without its sign"},
    BuiltinSpec{Builtin::Round, "round", "round(x [, digits])", "rounded half away from zero"},
    BuiltinSpec{Builtin::Amount, "amount", "amount(money)", "the amount as a decimal, without the currency"},
    BuiltinSpec{Builtin::Currency, "currency", "currency(money)", "the currency code as text"},
    BuiltinSpec{Builtin::Distance, "distance", "distance(a, b)",
                "the distance between two places (lat/lon, else postal_code); missing when either is not known"},
    BuiltinSpec{Builtin::Stock, "stock", "stock(node, sku)", "the units available to promise at the node"},
    BuiltinSpec{Builtin::TimeOf, "time", "time(\"...\")", "a fixed time, written in ISO 8601"},
};

}  // namespace

std::span<const BuiltinSpec> builtin_specs() { return kSpecs; }

const BuiltinSpec& builtin_spec(Builtin builtin) {
  for (const BuiltinSpec& s : kSpecs)
    if (s.builtin == builtin) return s;
  return kSpecs.front();  // every Builtin has a spec: tests/check holds that
}

const BuiltinSpec* find_builtin(std::string_view name) {
  for (const BuiltinSpec& s : kSpecs)
    if (s.callable && name == s.name) return &s;
  return nullptr;
}

}  // namespace orderflow::check
