// The value predicates behind a contract's `type` rules, on Postgres' text rendering.
//
// Pure functions, no state: ContractValidator composes them, and tests pin each one's
// edge cases. Text is UTF-8.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace backflow::contract {

// A finite decimal number: "-12", "3.5", ".5", "1e+20". Rejects NaN, Infinity, hex,
// surrounding spaces and values that overflow a double. Returns its value.
std::optional<double> ParseFiniteNumber(std::string_view text);

// A whole number: "42", "-7", numeric's "12.000" and float's "1e+20" (integral values
// rendered with a scale or exponent); rejects "12.5".
bool IsWholeNumber(std::string_view text);

// "t", "f", "true", "false" (any case).
bool IsBooleanText(std::string_view text);

// A valid calendar date "YYYY-MM-DD" (2026-02-30 and 2025-02-29 are not).
bool IsIsoDate(std::string_view text);

// An instant: a valid date, 'T' or ' ', HH:MM[:SS[.fraction]] and a zone ("Z", "+00",
// "+05:30", "-0800"). A timestamp without a zone is not an instant — which moment it means
// depends on a timezone nobody wrote down — so it is rejected.
bool IsTimestampWithZone(std::string_view text);

// A pragmatic address check: exactly one '@', a non-empty local part of at most 64
// bytes, a domain with at least one dot whose labels are non-empty and do not start or
// end with '-', and no whitespace or control characters anywhere.
bool IsEmail(std::string_view text);

// Number of UTF-8 code points ("ÅÄÖ" is 3, one emoji is 1). Invalid bytes count as one each.
size_t Utf8Length(std::string_view text);

// The first `max_chars` code points of `text`, with "…" appended when anything was cut.
std::string TruncateUtf8(std::string_view text, size_t max_chars);

// True when the value is absent for `required`: empty or only ASCII whitespace.
bool IsBlank(std::string_view text);

// "100", "0.5", "1e+30": how a rule's bound is shown.
std::string FormatBound(double value);

}  // namespace backflow::contract
