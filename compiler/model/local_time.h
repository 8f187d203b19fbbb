#pragma once
// Local time: an instant (milliseconds since 1970-01-01 UTC, as a time
// value holds it) read on the clock and calendar of a place. Zones come
// from the system's tz database (Debian's tzdata, read by Howard Hinnant's
// date/tz), so a change of a country's rules is a package update, not a
// release of orderflow.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace orderflow::model {

constexpr int64_t kMillisPerDay = 86'400'000;

// A day and a time of day on a local clock.
struct LocalTime {
  int64_t day = 0;        // days since 1970-01-01 on the local calendar
  int64_t ms_of_day = 0;  // 0 .. 86'399'999

  int64_t hour() const { return ms_of_day / 3'600'000; }
  int64_t minute() const { return (ms_of_day / 60'000) % 60; }
  // 1 = Monday .. 7 = Sunday (ISO 8601); 1970-01-01 was a Thursday.
  int64_t weekday() const { return ((day % 7) + 7 + 3) % 7 + 1; }
};

// A zone of the tz database, or UTC (the default). Cheap to copy; zones
// live as long as the program.
class TimeZone {
 public:
  TimeZone() = default;  // UTC

  // The zone of that name ("Asia/Kolkata", "UTC"), or nullopt.
  static std::optional<TimeZone> find(std::string_view name);
  // Every zone name the database has, for did-you-mean hints.
  static std::vector<std::string> names();

  bool is_utc() const { return zone_ == nullptr; }
  std::string name() const;

  LocalTime local(int64_t instant) const;
  // The first instant whose local clock reads `ms_of_day` on `day`. Where
  // clocks skip that time (a daylight-saving gap) it is the end of the gap;
  // where they read it twice, the first.
  int64_t instant(int64_t day, int64_t ms_of_day) const;
  // The first instant after `after` at which the local clock reads
  // `ms_of_day` (`until next 07:00`).
  int64_t next_clock(int64_t after, int64_t ms_of_day) const;

 private:
  explicit TimeZone(const void* zone) : zone_(zone) {}
  const void* zone_ = nullptr;  // a date::time_zone
};

// "2026-12-25" for a day number.
std::string format_date(int64_t day);
// The day number of "2026-12-25", or a message saying why it is not a date
// ("2026-02-30": February 2026 has 28 days).
std::variant<int64_t, std::string> parse_date(std::string_view text);
// Why a text that parse_time refused is not a time, for a message: the
// date's own fault when it names no day ("2026-02-30"), else the form.
std::string why_not_a_time(std::string_view text);

}  // namespace orderflow::model
