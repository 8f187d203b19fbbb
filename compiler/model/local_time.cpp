#include "compiler/model/local_time.h"

#include <date/tz.h>
#include <fmt/format.h>

#include <chrono>

namespace orderflow::model {

namespace {

using Millis = std::chrono::milliseconds;

const date::time_zone* zone_of(const void* z) { return static_cast<const date::time_zone*>(z); }

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

std::optional<TimeZone> TimeZone::find(std::string_view name) {
  if (name == "UTC" || name == "Etc/UTC") return TimeZone{};
  try {
    return TimeZone{date::locate_zone(name)};
  } catch (const std::exception&) {
    return std::nullopt;  // not in the database, or no database
  }
}

std::vector<std::string> TimeZone::names() {
  std::vector<std::string> out;
  try {
    for (const date::time_zone& z : date::get_tzdb().zones) out.push_back(z.name());
  } catch (const std::exception&) {
  }
  return out;
}

std::string TimeZone::name() const { return zone_ ? zone_of(zone_)->name() : "UTC"; }

LocalTime TimeZone::local(int64_t instant) const {
  int64_t local_ms = instant;
  if (zone_) {
    date::sys_time<Millis> t{Millis{instant}};
    local_ms += std::chrono::duration_cast<Millis>(zone_of(zone_)->get_info(t).offset).count();
  }
  int64_t day = floor_div(local_ms, kMillisPerDay);
  return {day, local_ms - day * kMillisPerDay};
}

int64_t TimeZone::instant(int64_t day, int64_t ms_of_day) const {
  int64_t local_ms = day * kMillisPerDay + ms_of_day;
  if (!zone_) return local_ms;
  date::local_time<Millis> t{Millis{local_ms}};
  date::local_info info = zone_of(zone_)->get_info(t);
  switch (info.result) {
    case date::local_info::unique:
    case date::local_info::ambiguous:
      return local_ms - std::chrono::duration_cast<Millis>(info.first.offset).count();
    case date::local_info::nonexistent:
      // The clocks jumped over this time: the moment they jumped.
      return std::chrono::duration_cast<Millis>(info.first.end.time_since_epoch()).count();
  }
  return local_ms;
}

int64_t TimeZone::next_clock(int64_t after, int64_t ms_of_day) const {
  LocalTime now = local(after);
  for (int64_t day = now.day; day <= now.day + 3; ++day) {
    int64_t t = instant(day, ms_of_day);
    if (t > after) return t;
  }
  return after + kMillisPerDay;  // unreachable with real zones
}

std::string format_date(int64_t day) {
  date::year_month_day ymd{date::sys_days{date::days{day}}};
  return fmt::format("{:04d}-{:02d}-{:02d}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

std::variant<int64_t, std::string> parse_date(std::string_view text) {
  auto digits = [&](size_t from, size_t count, int& out) {
    out = 0;
    for (size_t i = from; i < from + count; ++i) {
      if (i >= text.size() || text[i] < '0' || text[i] > '9') return false;
      out = out * 10 + (text[i] - '0');
    }
    return true;
  };
  int year, month, day;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !digits(0, 4, year) || !digits(5, 2, month) ||
      !digits(8, 2, day))
    return std::string("a date is written year-month-day, as in 2026-12-25");
  if (month < 1 || month > 12) return fmt::format("there is no month {} (months run from 01 to 12)", month);
  date::year_month_day_last last{date::year{year} / date::month{static_cast<unsigned>(month)} / date::last};
  unsigned days_in_month = static_cast<unsigned>(last.day());
  if (day < 1 || static_cast<unsigned>(day) > days_in_month) {
    static const char* const months[] = {"January", "February", "March",     "April",   "May",      "June",
                                         "July",    "August",   "September", "October", "November", "December"};
    return fmt::format("there is no such day: {} {} has {} days", months[month - 1], year, days_in_month);
  }
  date::year_month_day ymd{date::year{year}, date::month{static_cast<unsigned>(month)},
                           date::day{static_cast<unsigned>(day)}};
  return static_cast<int64_t>(date::sys_days(ymd).time_since_epoch().count());
}

std::string why_not_a_time(std::string_view text) {
  std::string_view day = text.substr(0, 10);
  bool date_shaped = day.size() == 10 && day[4] == '-' && day[7] == '-';
  if (date_shaped) {
    auto parsed = parse_date(day);
    if (auto* why = std::get_if<std::string>(&parsed); why && why->starts_with("there is no")) return *why;
  }
  return "expected an ISO 8601 time such as 2026-11-20T10:15:00Z or 2026-11-20T15:45:00+05:30";
}

}  // namespace orderflow::model
