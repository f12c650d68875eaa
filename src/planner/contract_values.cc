#include "planner/contract_values.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace backflow::contract {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Consumes `n` digits at text[*pos] into *out.
bool Digits(std::string_view text, size_t* pos, size_t n, int* out) {
  if (*pos + n > text.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = text[*pos + i];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

bool ValidDate(int y, int m, int d) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1 || m < 1 || m > 12 || d < 1) return false;
  int max = kDays[m - 1] + (m == 2 && IsLeap(y) ? 1 : 0);
  return d <= max;
}

// "YYYY-MM-DD" at text[*pos].
bool DateAt(std::string_view text, size_t* pos) {
  int y = 0, m = 0, d = 0;
  if (!Digits(text, pos, 4, &y)) return false;
  if (*pos >= text.size() || text[*pos] != '-') return false;
  ++*pos;
  if (!Digits(text, pos, 2, &m)) return false;
  if (*pos >= text.size() || text[*pos] != '-') return false;
  ++*pos;
  if (!Digits(text, pos, 2, &d)) return false;
  return ValidDate(y, m, d);
}

// The decimal grammar strtod must not be given anything beyond: it would accept hex,
// "inf", "nan" and leading spaces.
bool DecimalGrammar(std::string_view t) {
  size_t i = 0;
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
  size_t int_digits = 0, frac_digits = 0;
  while (i < t.size() && IsDigit(t[i])) ++i, ++int_digits;
  if (i < t.size() && t[i] == '.') {
    ++i;
    while (i < t.size() && IsDigit(t[i])) ++i, ++frac_digits;
  }
  if (int_digits + frac_digits == 0) return false;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < t.size() && IsDigit(t[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == t.size();
}

}  // namespace

std::optional<double> ParseFiniteNumber(std::string_view text) {
  if (!DecimalGrammar(text)) return std::nullopt;
  std::string copy(text);
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(v)) return std::nullopt;
  // Underflow (1e-400) is still a finite number; only overflow is refused above.
  return v;
}

bool IsWholeNumber(std::string_view text) {
  if (!DecimalGrammar(text)) return false;
  size_t e = text.find_first_of("eE");
  std::string_view mantissa = text.substr(0, e);
  if (e == std::string_view::npos) {
    // Exact on the text, so 20-digit integers are not judged through a double.
    size_t dot = mantissa.find('.');
    if (dot == std::string_view::npos) return true;
    if (dot == 0 || !IsDigit(mantissa[dot - 1])) return false;  // ".0"/"-.0" are odd; refuse
    for (size_t i = dot + 1; i < mantissa.size(); ++i)
      if (mantissa[i] != '0') return false;
    return true;
  }
  auto v = ParseFiniteNumber(text);
  return v && std::floor(*v) == *v;
}

bool IsBooleanText(std::string_view text) {
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "t" || lower == "f" || lower == "true" || lower == "false";
}

bool IsIsoDate(std::string_view text) {
  size_t pos = 0;
  return DateAt(text, &pos) && pos == text.size();
}

bool IsTimestampWithZone(std::string_view t) {
  size_t pos = 0;
  if (!DateAt(t, &pos)) return false;
  if (pos >= t.size() || (t[pos] != 'T' && t[pos] != ' ')) return false;
  ++pos;
  int hh = 0, mm = 0, ss = 0;
  if (!Digits(t, &pos, 2, &hh) || pos >= t.size() || t[pos] != ':') return false;
  ++pos;
  if (!Digits(t, &pos, 2, &mm)) return false;
  if (pos < t.size() && t[pos] == ':') {
    ++pos;
    if (!Digits(t, &pos, 2, &ss)) return false;
    if (pos < t.size() && t[pos] == '.') {
      ++pos;
      size_t start = pos;
      while (pos < t.size() && IsDigit(t[pos])) ++pos;
      if (pos == start) return false;
    }
  }
  // 24:00:00 is ISO-8601's end of day; 60 seconds is a leap second. Both are rare enough
  // in warehouse data that accepting them would hide more bugs than it serves.
  if (hh > 23 || mm > 59 || ss > 59) return false;
  if (pos >= t.size()) return false;  // no zone
  if (t[pos] == 'Z' || t[pos] == 'z') return pos + 1 == t.size();
  if (t[pos] != '+' && t[pos] != '-') return false;
  ++pos;
  int zh = 0, zm = 0;
  if (!Digits(t, &pos, 2, &zh)) return false;
  if (pos < t.size()) {
    if (t[pos] == ':') ++pos;
    if (!Digits(t, &pos, 2, &zm)) return false;
  }
  return pos == t.size() && zh <= 23 && zm <= 59;
}

bool IsEmail(std::string_view text) {
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
  }
  size_t at = text.find('@');
  if (at == std::string_view::npos || text.find('@', at + 1) != std::string_view::npos)
    return false;
  std::string_view local = text.substr(0, at);
  std::string_view domain = text.substr(at + 1);
  if (local.empty() || local.size() > 64) return false;
  if (domain.find('.') == std::string_view::npos) return false;
  size_t start = 0;
  while (start <= domain.size()) {
    size_t dot = domain.find('.', start);
    std::string_view label =
        domain.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

size_t Utf8Length(std::string_view text) {
  size_t n = 0;
  for (char c : text)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

std::string TruncateUtf8(std::string_view text, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (chars == max_chars) return std::string(text.substr(0, i)) + "…";
      ++chars;
    }
  }
  return std::string(text);
}

bool IsBlank(std::string_view text) {
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) return false;
  return true;
}

std::string FormatBound(double value) {
  char buf[64];
  if (std::floor(value) == value && std::fabs(value) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", value);
  else
    std::snprintf(buf, sizeof buf, "%.15g", value);
  return buf;
}

}  // namespace backflow::contract
