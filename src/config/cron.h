// Cron schedules (five fields, UTC) and the next-run computation for a Schedule.
//
// Fields: minute (0-59) hour (0-23) day-of-month (1-31) month (1-12 or JAN-DEC)
// day-of-week (0-7 or SUN-SAT; 0 and 7 are Sunday). Each field is `*`, a number, a
// range `a-b`, a step `*/n` or `a-b/n` (also `a/n`: from a to the field's maximum),
// or a comma-separated list of those. As in Vixie cron, when both day fields are
// restricted a day matches if either one does. Times are computed in UTC.
// Pure functions; thread-safe.
#pragma once

#include <bitset>
#include <optional>
#include <string>

#include "backflow/clock.h"
#include "backflow/config.h"

namespace backflow {

struct CronSpec {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days_of_month;  // bit 0 unused
  std::bitset<13> months;         // bit 0 unused
  std::bitset<7> days_of_week;    // 0 = Sunday
  bool day_of_month_star = false;  // the field was written as `*` (or `*/n`)
  bool day_of_week_star = false;
};

// nullopt when `text` is not a valid five-field expression, or can never match
// (e.g. "0 0 31 2 *").
[[nodiscard]] std::optional<CronSpec> ParseCron(const std::string& text);

// The first whole minute strictly after `after` that the spec matches (UTC).
WallTime NextCronTime(const CronSpec& spec, WallTime after);

// When a sync with `schedule` runs next, given its last start (or now, when it never
// ran): last + every, or the next cron time after it. WallTime::max() when the
// schedule is empty (the sync only runs when asked) or its cron does not parse.
WallTime NextRunTime(const Schedule& schedule, WallTime last_start_or_now);

}  // namespace backflow
