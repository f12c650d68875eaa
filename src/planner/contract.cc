#include "planner/contract.h"

#include <optional>
#include <regex>
#include <utility>

#include "planner/contract_values.h"

namespace backflow {
namespace {

using contract::FormatBound;

constexpr size_t kMaxShownChars = 80;
constexpr size_t kPiiHashChars = 8;

const char* TypeName(FieldType t) {
  switch (t) {
    case FieldType::kString: return "string";
    case FieldType::kInteger: return "integer";
    case FieldType::kNumber: return "number";
    case FieldType::kBoolean: return "boolean";
    case FieldType::kTimestamp: return "timestamp";
    case FieldType::kDate: return "date";
    case FieldType::kEmail: return "email";
    case FieldType::kEnum: return "enum";
  }
  return "?";
}

// Whether the value satisfies its declared type, and a short phrase when not.
std::optional<std::string> TypeProblem(FieldType type, const FieldValue& v) {
  const std::string& t = v.text;
  switch (type) {
    case FieldType::kString:
    case FieldType::kEnum:  // membership is the "values" rule
      return std::nullopt;
    case FieldType::kInteger:
      if (contract::IsWholeNumber(t)) return std::nullopt;
      return std::string("is not an integer");
    case FieldType::kNumber:
      if (contract::ParseFiniteNumber(t)) return std::nullopt;
      return std::string("is not a finite number");
    case FieldType::kBoolean:
      if (v.kind == ValueKind::kBoolean || contract::IsBooleanText(t)) return std::nullopt;
      return std::string("is not a boolean");
    case FieldType::kTimestamp:
      if (v.kind == ValueKind::kTimestamp || contract::IsTimestampWithZone(t))
        return std::nullopt;
      return std::string("is not a timestamp with a zone");
    case FieldType::kDate:
      if (contract::IsIsoDate(t)) return std::nullopt;
      return std::string("is not a valid YYYY-MM-DD date");
    case FieldType::kEmail:
      if (contract::IsEmail(t)) return std::nullopt;
      return std::string("is not a valid email address");
  }
  return std::nullopt;
}

}  // namespace

struct ContractValidator::Impl {
  struct Compiled {
    std::string field;
    size_t index = 0;
    const FieldRule* rule = nullptr;
    std::optional<std::regex> pattern;
    bool pattern_broken = false;  // a rule that cannot be evaluated rejects, never passes
  };
  std::vector<Compiled> rules;
  PiiHasher hasher;

  std::string Show(const Compiled& c, const std::string& value) const {
    if (!c.rule->pii) return "\"" + contract::TruncateUtf8(value, kMaxShownChars) + "\"";
    return hasher ? MaskPii(hasher(value)) : std::string("<pii>");
  }

  void CheckOne(const Compiled& c, const FieldValue& v, std::vector<Rejection>* out) const {
    const FieldRule& r = *c.rule;
    auto reject = [&](const char* rule, std::string detail) {
      out->push_back(Rejection{c.field, rule, std::move(detail)});
    };
    // Null and blank text are both "no value": an empty string would reach the API as
    // an empty field, which is what `required` exists to prevent. A missing value that
    // is not required passes every other rule — there is nothing to check.
    if (v.is_null() || contract::IsBlank(v.text)) {
      if (r.required) reject("required", v.is_null() ? "value is missing (null)"
                                                     : "value is missing (empty string)");
      return;
    }
    const std::string shown = Show(c, v.text);
    if (r.type) {
      if (auto problem = TypeProblem(*r.type, v))
        reject("type", "value " + shown + " " + *problem + " (type " + TypeName(*r.type) + ")");
    }
    // min/max compare numbers only; a value that is not a number is the type rule's
    // business, so they are skipped for it rather than reported twice.
    if (r.min || r.max) {
      if (auto num = contract::ParseFiniteNumber(v.text)) {
        const std::string n = r.pii ? shown : contract::TruncateUtf8(v.text, kMaxShownChars);
        if (r.min && *num < *r.min) reject("min", "value " + n + " < min " + FormatBound(*r.min));
        if (r.max && *num > *r.max) reject("max", "value " + n + " > max " + FormatBound(*r.max));
      }
    }
    if (r.max_length) {
      size_t len = contract::Utf8Length(v.text);
      if (len > *r.max_length)
        reject("max_length", "value " + shown + " is " + std::to_string(len) +
                                 " characters long (max_length " +
                                 std::to_string(*r.max_length) + ")");
    }
    if (c.pattern_broken) {
      reject("pattern", "the contract's pattern does not compile");
    } else if (c.pattern && !std::regex_match(v.text, *c.pattern)) {
      reject("pattern", "value " + shown + " does not match pattern " + *r.pattern);
    }
    if (!r.values.empty()) {
      bool found = false;
      for (const auto& allowed : r.values) found |= (allowed == v.text);
      if (!found) reject("values", "value " + shown + " is not one of the allowed values");
    }
  }
};

ContractValidator::ContractValidator(const ContractConfig& contract,
                                     const std::vector<std::string>& fields, PiiHasher hasher)
    : impl_(std::make_unique<Impl>()) {
  impl_->hasher = std::move(hasher);
  for (size_t i = 0; i < fields.size(); ++i) {
    auto it = contract.fields.find(fields[i]);
    if (it == contract.fields.end()) continue;
    Impl::Compiled c;
    c.field = fields[i];
    c.index = i;
    c.rule = &it->second;
    if (it->second.pattern) {
      try {
        c.pattern.emplace(*it->second.pattern, std::regex::ECMAScript);
      } catch (const std::regex_error&) {
        c.pattern_broken = true;
      }
    }
    impl_->rules.push_back(std::move(c));
  }
}

ContractValidator::~ContractValidator() = default;

std::vector<Rejection> ContractValidator::Check(const Record& record) const {
  std::vector<Rejection> out;
  static const FieldValue kNull;
  for (const auto& c : impl_->rules) {
    const FieldValue& v = c.index < record.values.size() ? record.values[c.index] : kNull;
    impl_->CheckOne(c, v, &out);
  }
  return out;
}

std::string MaskPii(const std::string& hashed) {
  std::string algo = "sha256";
  std::string hex = hashed;
  size_t colon = hashed.find(':');
  if (colon != std::string::npos) {
    algo = hashed.substr(0, colon);
    hex = hashed.substr(colon + 1);
  }
  if (hex.size() > kPiiHashChars) hex = hex.substr(0, kPiiHashChars) + "…";
  return "<pii " + algo + ":" + hex + ">";
}

}  // namespace backflow
