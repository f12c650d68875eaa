// ContractValidator: every rule, its edge values, and what a rejection may show.
#include "planner/contract.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace backflow {
namespace {

FieldValue Str(std::string t) { return {ValueKind::kString, std::move(t)}; }
FieldValue Int(std::string t) { return {ValueKind::kInteger, std::move(t)}; }
FieldValue Num(std::string t) { return {ValueKind::kNumber, std::move(t)}; }
FieldValue Null() { return {}; }

std::string FakeHash(const std::string& v) {
  // Deterministic and obviously not the value; the real one is DeliveryStore::HashPii.
  std::string hex;
  unsigned h = 2166136261u;
  for (char c : v) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", h, h ^ 0xdeadbeefu);
  return std::string("sha256:") + buf + "00112233445566778899";
}

// One field "F" with `rule`; Check of a record holding `value`.
std::vector<Rejection> CheckOne(const FieldRule& rule, const FieldValue& value) {
  ContractConfig c;
  c.fields["F"] = rule;
  std::vector<std::string> fields = {"F"};
  ContractValidator v(c, fields, FakeHash);
  Record r;
  r.warehouse_id = "1";
  r.values = {value};
  return v.Check(r);
}

FieldRule Typed(FieldType t) {
  FieldRule r;
  r.type = t;
  return r;
}

bool Passes(const FieldRule& rule, const FieldValue& value) { return CheckOne(rule, value).empty(); }

std::string OnlyRule(const FieldRule& rule, const FieldValue& value) {
  auto out = CheckOne(rule, value);
  if (out.size() != 1) return "<" + std::to_string(out.size()) + " rejections>";
  return out[0].rule;
}

TEST(ContractRequired, NullAndEmptyAreMissing) {
  FieldRule r;
  r.required = true;
  EXPECT_EQ(OnlyRule(r, Null()), "required");
  EXPECT_EQ(OnlyRule(r, Str("")), "required");
  EXPECT_EQ(OnlyRule(r, Str("  \t")), "required");
  EXPECT_TRUE(Passes(r, Str("x")));
  EXPECT_TRUE(Passes(r, Int("0")));
  auto out = CheckOne(r, Null());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].field, "F");
  EXPECT_NE(out[0].detail.find("null"), std::string::npos);
}

TEST(ContractRequired, MissingOptionalValuePassesEveryOtherRule) {
  FieldRule r = Typed(FieldType::kInteger);
  r.min = 5;
  r.pattern = "[0-9]+";
  EXPECT_TRUE(Passes(r, Null()));
  EXPECT_TRUE(Passes(r, Str("")));
}

TEST(ContractType, StringAcceptsAnything) {
  EXPECT_TRUE(Passes(Typed(FieldType::kString), Str("anything at all")));
  EXPECT_TRUE(Passes(Typed(FieldType::kString), Int("12")));
}

TEST(ContractType, Integer) {
  FieldRule r = Typed(FieldType::kInteger);
  EXPECT_TRUE(Passes(r, Int("42")));
  EXPECT_TRUE(Passes(r, Int("-7")));
  EXPECT_TRUE(Passes(r, Str("123456789012345678901234")));
  EXPECT_TRUE(Passes(r, Num("12.000")));  // numeric with a scale, integral
  EXPECT_TRUE(Passes(r, Num("1e+20")));
  EXPECT_EQ(OnlyRule(r, Num("12.5")), "type");
  EXPECT_EQ(OnlyRule(r, Str("12abc")), "type");
  EXPECT_EQ(OnlyRule(r, Str(" 12")), "type");
  EXPECT_EQ(OnlyRule(r, Str("0x1A")), "type");
  EXPECT_EQ(OnlyRule(r, Num("NaN")), "type");
  EXPECT_EQ(OnlyRule(r, Num("Infinity")), "type");
}

TEST(ContractType, NumberMustBeFinite) {
  FieldRule r = Typed(FieldType::kNumber);
  EXPECT_TRUE(Passes(r, Num("3.25")));
  EXPECT_TRUE(Passes(r, Num("-0.5")));
  EXPECT_TRUE(Passes(r, Num("1.5e-7")));
  EXPECT_TRUE(Passes(r, Int("12")));
  EXPECT_EQ(OnlyRule(r, Num("NaN")), "type");
  EXPECT_EQ(OnlyRule(r, Num("Infinity")), "type");
  EXPECT_EQ(OnlyRule(r, Num("-Infinity")), "type");
  EXPECT_EQ(OnlyRule(r, Num("inf")), "type");
  EXPECT_EQ(OnlyRule(r, Str("1e999")), "type");  // overflows a double
  EXPECT_EQ(OnlyRule(r, Str("1,5")), "type");
  EXPECT_EQ(OnlyRule(r, Str(".")), "type");
}

TEST(ContractType, Boolean) {
  FieldRule r = Typed(FieldType::kBoolean);
  EXPECT_TRUE(Passes(r, {ValueKind::kBoolean, "t"}));
  EXPECT_TRUE(Passes(r, Str("f")));
  EXPECT_TRUE(Passes(r, Str("true")));
  EXPECT_TRUE(Passes(r, Str("FALSE")));
  EXPECT_EQ(OnlyRule(r, Str("yes")), "type");
  EXPECT_EQ(OnlyRule(r, Int("1")), "type");
}

TEST(ContractType, TimestampNeedsAZone) {
  FieldRule r = Typed(FieldType::kTimestamp);
  EXPECT_TRUE(Passes(r, Str("2026-01-02 03:04:05+00")));  // Postgres timestamptz
  EXPECT_TRUE(Passes(r, Str("2026-01-02T03:04:05Z")));
  EXPECT_TRUE(Passes(r, Str("2026-01-02T03:04:05.123456+05:30")));
  EXPECT_TRUE(Passes(r, Str("2026-01-02T03:04-0800")));
  EXPECT_TRUE(Passes(r, {ValueKind::kTimestamp, "2026-01-02 03:04:05"}));  // typed by Postgres
  EXPECT_EQ(OnlyRule(r, Str("2026-01-02 03:04:05")), "type");  // no zone
  EXPECT_EQ(OnlyRule(r, Str("2026-01-02T03:04:05")), "type");
  EXPECT_EQ(OnlyRule(r, Str("2026-02-30T03:04:05Z")), "type");
  EXPECT_EQ(OnlyRule(r, Str("2026-01-02T25:04:05Z")), "type");
  EXPECT_EQ(OnlyRule(r, Str("2026-01-02")), "type");
  EXPECT_EQ(OnlyRule(r, Str("2026-01-02T03:04:05+5")), "type");
  EXPECT_EQ(OnlyRule(r, Str("yesterday")), "type");
}

TEST(ContractType, DateIsACalendarDate) {
  FieldRule r = Typed(FieldType::kDate);
  EXPECT_TRUE(Passes(r, {ValueKind::kDate, "2026-01-31"}));
  EXPECT_TRUE(Passes(r, Str("2024-02-29")));  // leap year
  EXPECT_TRUE(Passes(r, Str("2000-02-29")));
  EXPECT_EQ(OnlyRule(r, Str("2026-02-30")), "type");
  EXPECT_EQ(OnlyRule(r, Str("2025-02-29")), "type");
  EXPECT_EQ(OnlyRule(r, Str("1900-02-29")), "type");
  EXPECT_EQ(OnlyRule(r, Str("2026-13-01")), "type");
  EXPECT_EQ(OnlyRule(r, Str("2026-04-31")), "type");
  EXPECT_EQ(OnlyRule(r, Str("2026-1-5")), "type");
  EXPECT_EQ(OnlyRule(r, Str("2026-01-02 00:00:00")), "type");
  EXPECT_EQ(OnlyRule(r, {ValueKind::kDate, "infinity"}), "type");
}

TEST(ContractType, Email) {
  FieldRule r = Typed(FieldType::kEmail);
  for (const char* good : {"a@b.io", "first.last+tag@sub.example.co.uk", "x_y@d-1.org"})
    EXPECT_TRUE(Passes(r, Str(good))) << good;
  for (const char* bad : {"plainaddress", "@example.com", "a@b", "a@@b.io", "a@b@c.io",
                          "a b@c.io", "a@b .io", "a@.b.io", "a@b.io.", "a@b..io", "a@-b.io",
                          "a@b.io\n"})
    EXPECT_EQ(OnlyRule(r, Str(bad)), "type") << bad;
}

TEST(ContractValues, EnumMembership) {
  FieldRule r = Typed(FieldType::kEnum);
  r.values = {"free", "pro", "enterprise"};
  EXPECT_TRUE(Passes(r, Str("pro")));
  EXPECT_EQ(OnlyRule(r, Str("Pro")), "values");  // case matters
  EXPECT_EQ(OnlyRule(r, Str("gold")), "values");
}

TEST(ContractBounds, MinMaxOnNumbers) {
  FieldRule r = Typed(FieldType::kInteger);
  r.min = 0;
  r.max = 100;
  EXPECT_TRUE(Passes(r, Int("0")));
  EXPECT_TRUE(Passes(r, Int("100")));
  EXPECT_EQ(OnlyRule(r, Int("-1")), "min");
  auto out = CheckOne(r, Int("104"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].rule, "max");
  EXPECT_EQ(out[0].detail, "value 104 > max 100");
  FieldRule f = Typed(FieldType::kNumber);
  f.max = 0.5;
  EXPECT_EQ(CheckOne(f, Num("0.75"))[0].detail, "value 0.75 > max 0.5");
  // Not a number: the type rule says so, min/max stay quiet.
  EXPECT_EQ(OnlyRule(r, Str("lots")), "type");
}

TEST(ContractLength, CountsCodePointsNotBytes) {
  FieldRule r;
  r.max_length = 3;
  EXPECT_TRUE(Passes(r, Str("ÅÄÖ")));  // 6 bytes, 3 characters
  EXPECT_TRUE(Passes(r, Str("😀😀😀")));  // 12 bytes, 3 characters
  EXPECT_EQ(OnlyRule(r, Str("ÅÄÖx")), "max_length");
  EXPECT_EQ(OnlyRule(r, Str("abcd")), "max_length");
  FieldRule one;
  one.max_length = 1;
  EXPECT_TRUE(Passes(one, Str("🎉")));
  auto out = CheckOne(one, Str("ab"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].detail.find("2 characters"), std::string::npos);
}

TEST(ContractPattern, WholeValueMatch) {
  FieldRule r;
  r.pattern = "[A-Z]{2}-[0-9]+";
  EXPECT_TRUE(Passes(r, Str("AB-123")));
  EXPECT_EQ(OnlyRule(r, Str("xAB-123")), "pattern");  // anchored at the start
  EXPECT_EQ(OnlyRule(r, Str("AB-123x")), "pattern");  // and at the end
  FieldRule broken;
  broken.pattern = "([a-z";
  EXPECT_EQ(OnlyRule(broken, Str("abc")), "pattern");  // cannot be evaluated: rejects
}

TEST(ContractCheck, EveryBrokenRuleIsReported) {
  FieldRule r = Typed(FieldType::kInteger);
  r.max = 10;
  r.max_length = 2;
  r.pattern = "[0-5]+";
  r.values = {"1", "2"};
  auto out = CheckOne(r, Num("99.5"));
  std::vector<std::string> rules;
  for (const auto& j : out) rules.push_back(j.rule);
  EXPECT_EQ(rules, (std::vector<std::string>{"type", "max", "max_length", "pattern", "values"}));
}

TEST(ContractCheck, FieldsFollowRecordOrderAndUnruledFieldsAreIgnored) {
  ContractConfig c;
  FieldRule req;
  req.required = true;
  c.fields["B"] = req;
  c.fields["D"] = Typed(FieldType::kEmail);
  std::vector<std::string> fields = {"A", "B", "C", "D"};
  ContractValidator v(c, fields, FakeHash);
  Record r;
  r.values = {Null(), Null(), Str("whatever"), Str("nope")};
  auto out = v.Check(r);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].field, "B");
  EXPECT_EQ(out[0].rule, "required");
  EXPECT_EQ(out[1].field, "D");
  EXPECT_EQ(out[1].rule, "type");
  r.values = {Null(), Str("x"), Null(), Str("d@e.io")};
  EXPECT_TRUE(v.Check(r).empty());
  // A record shorter than the field list reads as nulls.
  r.values = {Null()};
  ASSERT_EQ(v.Check(r).size(), 1u);
}

TEST(ContractDetail, PiiValuesAreHashedNeverShown) {
  FieldRule r = Typed(FieldType::kEmail);
  r.pii = true;
  r.max_length = 5;
  r.pattern = "[a-z]+";
  r.values = {"a@b.io"};
  const std::string secret = "not an email secret@example";
  auto out = CheckOne(r, Str(secret));
  ASSERT_EQ(out.size(), 4u);
  const std::string masked = MaskPii(FakeHash(secret));
  for (const auto& j : out) {
    EXPECT_EQ(j.detail.find("secret"), std::string::npos) << j.detail;
    EXPECT_EQ(j.detail.find("example"), std::string::npos) << j.detail;
    EXPECT_NE(j.detail.find(masked), std::string::npos) << j.detail;
  }
  FieldRule n = Typed(FieldType::kInteger);
  n.pii = true;
  n.max = 10;
  auto big = CheckOne(n, Int("987654"));
  ASSERT_EQ(big.size(), 1u);
  EXPECT_EQ(big[0].detail.find("987654"), std::string::npos) << big[0].detail;
}

TEST(ContractDetail, NonPiiValuesAreShownTruncated) {
  FieldRule r = Typed(FieldType::kInteger);
  std::string longv(200, 'z');
  auto out = CheckOne(r, Str(longv));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].detail.find("\"" + std::string(80, 'z') + "…\""), std::string::npos);
  EXPECT_EQ(out[0].detail.find(std::string(81, 'z')), std::string::npos);
  auto shown = CheckOne(r, Str("abc"));
  EXPECT_EQ(shown[0].detail, "value \"abc\" is not an integer (type integer)");
}

TEST(MaskPii, ShowsAShortHashPrefix) {
  EXPECT_EQ(MaskPii("sha256:1a2b3c4d5e6f7a8b9c0d"), "<pii sha256:1a2b3c4d…>");
  EXPECT_EQ(MaskPii("1a2b3c4d5e6f"), "<pii sha256:1a2b3c4d…>");
  EXPECT_EQ(MaskPii("sha256:abcd"), "<pii sha256:abcd>");
}

}  // namespace
}  // namespace backflow
