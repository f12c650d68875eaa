#include <filesystem>

#include "config/cron.h"
#include "config/sections.h"
#include "destinations/registry.h"

namespace backflow::config_internal {
namespace {

void ParseModel(YamlReader& sync, SyncConfig* out) {
  auto model = sync.Map("model", /*required=*/true);
  if (!model) return;
  out->model_sql = model->String("sql");
  out->model_table = model->String("table");
  if (out->model_sql && out->model_table)
    model->ErrorHere("set exactly one of sql and table, not both");
  else if (!out->model_sql && !out->model_table)
    model->ErrorHere("set exactly one of sql and table");
  if (out->model_sql && out->model_sql->find_first_not_of(" \t\r\n") == std::string::npos)
    model->Error("sql", "must not be empty");
  if (out->model_table && out->model_table->empty()) model->Error("table", "must not be empty");
  model->Finish();
}

void ParseFields(YamlReader& sync, SyncConfig* out) {
  auto fields = sync.Map("fields", /*required=*/true);
  if (!fields) return;
  std::set<std::string> seen;
  for (const std::string& dest_field : fields->Keys()) {
    if (!seen.insert(dest_field).second) {
      fields->Error(dest_field, "is mapped twice");
      continue;
    }
    auto column = fields->String(dest_field, /*required=*/true);
    if (!column) continue;
    if (column->empty()) {
      fields->Error(dest_field, "must name a model column");
      continue;
    }
    out->fields.push_back({dest_field, *column});
  }
  if (fields->Keys().empty()) fields->ErrorHere("must map at least one field");
  fields->Finish();
}

void ParseChangeDetection(YamlReader& sync, SyncConfig* out) {
  auto cd = sync.Map("change_detection");
  if (!cd) return;
  if (auto s = cd->OneOf("strategy", {"hash", "updated_at"}))
    out->strategy = *s == "hash" ? ChangeStrategy::kHash : ChangeStrategy::kUpdatedAt;
  bool needs_column = out->strategy == ChangeStrategy::kUpdatedAt;
  out->updated_at_column = cd->String("column", needs_column);
  if (out->updated_at_column && out->updated_at_column->empty())
    cd->Error("column", "must name a model column");
  if (auto l = cd->Duration("lookback")) out->lookback = *l;
  cd->Finish();
}

void ParseSchedule(YamlReader& sync, SyncConfig* out) {
  auto s = sync.Map("schedule");
  if (!s) return;
  out->schedule.every = s->Duration("every");
  out->schedule.cron = s->String("cron");
  if (out->schedule.every && out->schedule.cron)
    s->ErrorHere("set exactly one of every and cron, not both");
  else if (!s->Has("every") && !s->Has("cron"))
    s->ErrorHere("set one of every and cron");
  if (out->schedule.every && out->schedule.every->count() == 0)
    s->Error("every", "must be longer than 0ms");
  if (out->schedule.cron && !ParseCron(*out->schedule.cron))
    s->Error("cron", "expected five fields (minute hour day-of-month month day-of-week) such as "
                     "\"*/15 * * * *\", got '" + *out->schedule.cron + "'");
  s->Finish();
}

void ParseContractKey(YamlReader& sync, const std::string& base_dir, SyncConfig* out,
                      std::vector<std::string>* contract_files) {
  auto node = sync.Raw("contract");
  if (!node) return;
  if (node->IsMap()) {
    YamlReader r(*node, sync.PathOf("contract"), sync.errors(), sync.env(), sync.file());
    out->contract = ParseContract(r);
    return;
  }
  if (!node->IsScalar()) {
    sync.Error("contract", "expected a mapping or the path of a contract file");
    return;
  }
  auto rel = sync.String("contract");
  if (!rel) return;
  std::filesystem::path p(*rel);
  if (p.is_relative() && !base_dir.empty()) p = std::filesystem::path(base_dir) / p;
  std::string file = p.lexically_normal().string();
  auto root = LoadYamlFile(file, sync.PathOf("contract"), sync.errors());
  if (!root) return;
  if (!root->IsMap()) {
    sync.errors()->push_back({sync.PathOf("contract"), "the contract file must hold a mapping",
                              file});
    return;
  }
  contract_files->push_back(file);
  YamlReader r(*root, sync.PathOf("contract"), sync.errors(), sync.env(), file);
  out->contract = ParseContract(r);
  out->contract->source_file = file;
}

bool IsName(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

}  // namespace

std::optional<SyncConfig> ParseSync(const std::string& name, YamlReader& reader,
                                    const std::map<std::string, DestinationConfig>& destinations,
                                    const std::set<std::string>& declared,
                                    const std::string& base_dir,
                                    std::vector<std::string>* contract_files) {
  SyncConfig out;
  out.name = name;
  if (!IsName(name)) reader.ErrorHere("a sync name may use only letters, digits, _ and -");
  if (auto m = reader.String("moment")) out.moment = *m;
  auto dest = reader.String("destination", /*required=*/true);
  const DestinationConfig* destination = nullptr;
  if (dest) {
    out.destination = *dest;
    auto it = destinations.find(*dest);
    if (it != destinations.end()) destination = &it->second;
    else if (!declared.count(*dest))
      reader.Error("destination", "names no destination under destinations: ('" + *dest + "')");
  }
  if (auto o = reader.String("object", /*required=*/true)) {
    if (o->empty()) reader.Error("object", "must not be empty");
    out.object = *o;
  }
  ParseModel(reader, &out);
  if (auto pk = reader.String("primary_key", /*required=*/true)) {
    if (pk->empty()) reader.Error("primary_key", "must name a model column");
    out.primary_key = *pk;
  }
  if (auto match = reader.Map("match")) {
    out.external_id_field = match->String("external_id_field");
    out.id_property = match->String("id_property");
    if (out.external_id_field && out.id_property)
      match->ErrorHere("set external_id_field (salesforce) or id_property (hubspot), not both");
    match->Finish();
  }
  ParseFields(reader, &out);
  ParseChangeDetection(reader, &out);
  if (auto m = reader.OneOf("mode", {"upsert", "update"}))
    out.mode = *m == "upsert" ? SyncMode::kUpsert : SyncMode::kUpdate;
  ParseSchedule(reader, &out);
  ParseContractKey(reader, base_dir, &out, contract_files);
  if (auto p = reader.Percent("max_change_share")) out.max_change_share = *p;
  if (auto d = reader.OneOf("on_delete", {"ignore", "delete"}))
    out.on_delete = *d == "ignore" ? OnDelete::kIgnore : OnDelete::kDelete;
  if (auto p = reader.Percent("max_delete_share")) out.max_delete_share = *p;
  if (auto p = reader.Percent("sample")) {
    if (*p <= 0) reader.Error("sample", "must be more than 0%");
    else out.sample = *p;
  }
  out.consent_column = reader.String("consent_column");
  if (out.consent_column && out.consent_column->empty())
    reader.Error("consent_column", "must name a model column");
  reader.Finish();

  if (out.contract) {
    for (const auto& [field, rule] : out.contract->fields) {
      bool mapped = false;
      for (const auto& f : out.fields) mapped |= f.destination_field == field;
      if (!mapped)
        reader.errors()->push_back(
            {reader.PathOf("contract.fields." + field),
             "is not a mapped field of this sync (add it under fields:)",
             out.contract->source_file.empty() ? reader.file() : out.contract->source_file});
    }
  }
  if (destination != nullptr) {
    const DestinationType* type = FindDestinationType(destination->type);
    if (type != nullptr) {
      size_t before = reader.errors()->size();
      type->ValidateSync(*destination, out, reader.path(), reader.errors());
      for (size_t i = before; i < reader.errors()->size(); ++i)
        if ((*reader.errors())[i].file.empty()) (*reader.errors())[i].file = reader.file();
    }
  }
  return out;
}

}  // namespace backflow::config_internal
