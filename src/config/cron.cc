#include "config/cron.h"

#include <array>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace backflow {
namespace {

using namespace std::chrono;

constexpr std::array<const char*, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                     "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<const char*, 7> kDayNames = {"sun", "mon", "tue", "wed",
                                                  "thu", "fri", "sat"};

struct FieldRange {
  int min;
  int max;
  const char* const* names;  // nullptr, or names for min..min+count-1
  int name_count;
};

std::optional<int> ParseValue(const std::string& text, const FieldRange& range) {
  if (text.empty()) return std::nullopt;
  if (range.names != nullptr && std::isalpha(static_cast<unsigned char>(text[0]))) {
    std::string lower;
    for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (int i = 0; i < range.name_count; ++i)
      if (lower == range.names[i]) return range.min + i;
    return std::nullopt;
  }
  for (char c : text)
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  if (text.size() > 3) return std::nullopt;
  int v = std::atoi(text.c_str());
  if (v < range.min || v > range.max) return std::nullopt;
  return v;
}

// Sets bits of `out` (indexed by value) for one field; `star` is set when the field
// is unrestricted in the cron sense (`*` or `*/n`).
bool ParseField(const std::string& field, const FieldRange& range, std::vector<bool>* out,
                bool* star) {
  if (field.empty()) return false;
  *star = field[0] == '*';
  std::stringstream items(field);
  std::string item;
  size_t commas = 0;
  for (char c : field) commas += c == ',';
  size_t parsed = 0;
  while (std::getline(items, item, ',')) {
    ++parsed;
    int step = 1;
    size_t slash = item.find('/');
    std::string base = item.substr(0, slash);
    if (slash != std::string::npos) {
      std::string s = item.substr(slash + 1);
      if (s.empty() || s.size() > 3) return false;
      for (char c : s)
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
      step = std::atoi(s.c_str());
      if (step <= 0) return false;
    }
    int lo, hi;
    if (base == "*") {
      lo = range.min;
      hi = range.max;
    } else {
      size_t dash = base.find('-');
      auto a = ParseValue(base.substr(0, dash), range);
      if (!a) return false;
      lo = *a;
      if (dash != std::string::npos) {
        auto b = ParseValue(base.substr(dash + 1), range);
        if (!b || *b < lo) return false;
        hi = *b;
      } else {
        hi = slash != std::string::npos ? range.max : lo;
      }
    }
    for (int v = lo; v <= hi; v += step) (*out)[v] = true;
  }
  if (parsed != commas + 1) return false;  // empty item ("1,,2" or trailing comma)
  if (commas > 0) *star = false;
  return true;
}

int DaysInMonth(int year, int month) {
  return static_cast<int>(
      static_cast<unsigned>((std::chrono::year(year) / month / last).day()));
}

}  // namespace

std::optional<CronSpec> ParseCron(const std::string& text) {
  std::stringstream in(text);
  std::vector<std::string> fields;
  std::string f;
  while (in >> f) fields.push_back(f);
  if (fields.size() != 5) return std::nullopt;

  const FieldRange kRanges[5] = {{0, 59, nullptr, 0},
                                 {0, 23, nullptr, 0},
                                 {1, 31, nullptr, 0},
                                 {1, 12, kMonthNames.data(), 12},
                                 {0, 7, kDayNames.data(), 7}};
  std::vector<bool> bits[5];
  bool stars[5];
  for (int i = 0; i < 5; ++i) {
    bits[i].assign(kRanges[i].max + 1, false);
    if (!ParseField(fields[i], kRanges[i], &bits[i], &stars[i])) return std::nullopt;
  }
  CronSpec spec;
  for (int v = 0; v < 60; ++v) spec.minutes[v] = bits[0][v];
  for (int v = 0; v < 24; ++v) spec.hours[v] = bits[1][v];
  for (int v = 1; v <= 31; ++v) spec.days_of_month[v] = bits[2][v];
  for (int v = 1; v <= 12; ++v) spec.months[v] = bits[3][v];
  for (int v = 0; v <= 7; ++v)
    if (bits[4][v]) spec.days_of_week[v % 7] = true;
  spec.day_of_month_star = stars[2];
  spec.day_of_week_star = stars[4];

  // Reject specs that never fire: only day-of-month restricts the day, and none of its
  // days exists in any chosen month (February counts 29 days).
  if (!spec.day_of_month_star && spec.day_of_week_star) {
    static constexpr int kMaxDays[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool possible = false;
    for (int m = 1; m <= 12 && !possible; ++m) {
      if (!spec.months[m]) continue;
      for (int d = 1; d <= kMaxDays[m]; ++d)
        if (spec.days_of_month[d]) possible = true;
    }
    if (!possible) return std::nullopt;
  }
  return spec;
}

WallTime NextCronTime(const CronSpec& spec, WallTime after) {
  sys_seconds t = floor<minutes>(time_point_cast<seconds>(after)) + minutes(1);
  // Each step moves to the next candidate month, day, hour or minute; the spec was
  // checked to fire, so this ends within a few leap years' worth of steps.
  for (int guard = 0; guard < 100000; ++guard) {
    sys_days day = floor<days>(t);
    year_month_day ymd(day);
    int y = static_cast<int>(ymd.year());
    int mon = static_cast<int>(static_cast<unsigned>(ymd.month()));
    int dom = static_cast<int>(static_cast<unsigned>(ymd.day()));
    if (!spec.months[mon]) {
      t = mon == 12 ? sys_days(std::chrono::year(y + 1) / 1 / 1)
                    : sys_days(ymd.year() / std::chrono::month(mon + 1) / 1);
      continue;
    }
    int dow = static_cast<int>(weekday(day).c_encoding());
    bool dom_ok = spec.days_of_month[dom] && dom <= DaysInMonth(y, mon);
    bool dow_ok = spec.days_of_week[dow];
    bool day_ok;
    if (spec.day_of_month_star && spec.day_of_week_star) day_ok = true;
    else if (spec.day_of_month_star) day_ok = dow_ok;
    else if (spec.day_of_week_star) day_ok = dom_ok;
    else day_ok = dom_ok || dow_ok;
    if (!day_ok) {
      t = day + days(1);
      continue;
    }
    hh_mm_ss<seconds> tod(t - day);
    int hour = static_cast<int>(tod.hours().count());
    int minute = static_cast<int>(tod.minutes().count());
    if (!spec.hours[hour]) {
      t = day + hours(hour + 1);
      continue;
    }
    if (!spec.minutes[minute]) {
      t += minutes(1);
      continue;
    }
    return time_point_cast<WallTime::duration>(t);
  }
  return WallTime::max();
}

WallTime NextRunTime(const Schedule& schedule, WallTime last_start_or_now) {
  if (schedule.every) return last_start_or_now + *schedule.every;
  if (schedule.cron) {
    auto spec = ParseCron(*schedule.cron);
    if (spec) return NextCronTime(*spec, last_start_or_now);
  }
  return WallTime::max();
}

}  // namespace backflow
