#include <regex>

#include "config/sections.h"

namespace backflow::config_internal {
namespace {

const std::vector<std::pair<std::string, FieldType>> kFieldTypes = {
    {"string", FieldType::kString},       {"integer", FieldType::kInteger},
    {"number", FieldType::kNumber},       {"boolean", FieldType::kBoolean},
    {"timestamp", FieldType::kTimestamp}, {"date", FieldType::kDate},
    {"email", FieldType::kEmail},         {"enum", FieldType::kEnum},
};

FieldRule ParseFieldRule(YamlReader& r) {
  FieldRule rule;
  std::vector<std::string> names;
  for (const auto& [n, t] : kFieldTypes) names.push_back(n);
  if (auto t = r.OneOf("type", names)) {
    for (const auto& [n, ft] : kFieldTypes)
      if (n == *t) rule.type = ft;
  }
  if (auto req = r.Bool("required")) rule.required = *req;
  rule.min = r.Number("min");
  rule.max = r.Number("max");
  if (rule.min && rule.max && *rule.min > *rule.max) r.ErrorHere("min must not exceed max");
  if (auto len = r.Int("max_length", 1, 1000000000)) rule.max_length = static_cast<size_t>(*len);
  if (auto pattern = r.String("pattern")) {
    try {
      std::regex compiled(*pattern, std::regex::ECMAScript);
      rule.pattern = *pattern;
    } catch (const std::regex_error& e) {
      r.Error("pattern", std::string("is not a valid regular expression: ") + e.what());
    }
  }
  if (auto values = r.StringList("values")) rule.values = *values;
  if (rule.type == FieldType::kEnum && rule.values.empty())
    r.Error("values", "is required for type enum (the allowed values)");
  if (!rule.values.empty() && rule.type && rule.type != FieldType::kEnum &&
      rule.type != FieldType::kString)
    r.Error("values", "only applies to type enum or string");
  if (auto pii = r.Bool("pii")) rule.pii = *pii;
  r.Finish();
  return rule;
}

}  // namespace

ContractConfig ParseContract(YamlReader& reader) {
  ContractConfig out;
  if (auto fields = reader.Map("fields")) {
    for (const std::string& name : fields->Keys()) {
      auto rule = fields->Map(name, /*required=*/true);
      if (rule) out.fields[name] = ParseFieldRule(*rule);
    }
    fields->Finish();
  }
  if (auto p = reader.Percent("max_invalid")) out.max_invalid = *p;
  if (auto checks = reader.Raw("checks")) {
    if (!checks->IsSequence()) {
      reader.Error("checks", "expected a list of {name, sql}");
    } else {
      for (size_t i = 0; i < checks->size(); ++i) {
        YamlReader c = reader.Child((*checks)[i], ".checks[" + std::to_string(i) + "]");
        if (!c.IsMap()) {
          c.ErrorHere("expected a mapping with name and sql");
          continue;
        }
        auto name = c.String("name", /*required=*/true);
        auto sql = c.String("sql", /*required=*/true);
        c.Finish();
        if (name && sql) out.checks.push_back({*name, *sql});
      }
    }
  }
  out.dbt_run_results = reader.String("dbt_run_results");
  out.dbt_model = reader.String("dbt_model");
  if (out.dbt_run_results.has_value() != out.dbt_model.has_value())
    reader.ErrorHere("set both dbt_run_results and dbt_model, or neither");
  reader.Finish();
  return out;
}

}  // namespace backflow::config_internal
