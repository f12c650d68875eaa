#include "source/model.h"

#include <set>

namespace backflow {
namespace {

// pg_type oids (stable since Postgres 7).
constexpr unsigned int kBoolOid = 16, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23;
constexpr unsigned int kJsonOid = 114, kFloat4Oid = 700, kFloat8Oid = 701;
constexpr unsigned int kDateOid = 1082, kTimestampOid = 1114, kTimestampTzOid = 1184;
constexpr unsigned int kNumericOid = 1700, kJsonbOid = 3802;

}  // namespace

ValueKind KindFromTypeOid(unsigned int oid) {
  switch (oid) {
    case kInt2Oid: case kInt4Oid: case kInt8Oid: return ValueKind::kInteger;
    case kNumericOid: case kFloat4Oid: case kFloat8Oid: return ValueKind::kNumber;
    case kBoolOid: return ValueKind::kBoolean;
    case kTimestampOid: case kTimestampTzOid: return ValueKind::kTimestamp;
    case kDateOid: return ValueKind::kDate;
    case kJsonOid: case kJsonbOid: return ValueKind::kJson;
    default: return ValueKind::kString;
  }
}

Result<std::vector<ModelColumn>> DescribeModel(PgConnection& conn, const SyncConfig& sync) {
  const std::string relation = sync.ModelRelation();
  if (relation.empty() || relation == "()")
    return Status::InvalidConfig("syncs." + sync.name + ".model: no sql or table");
  std::vector<ModelColumn> columns;
  Status st = conn.InTransaction("describe the model of sync " + sync.name, [&](pqxx::work& tx) {
    // A model must never write: describe it read-only.
    tx.exec("SET TRANSACTION READ ONLY");
    pqxx::result r = tx.exec("SELECT * FROM " + relation + " AS m LIMIT 0");
    for (pqxx::row::size_type i = 0; i < r.columns(); ++i) {
      ModelColumn c;
      c.name = r.column_name(i);
      c.type_oid = static_cast<unsigned int>(r.column_type(i));
      c.kind = KindFromTypeOid(c.type_oid);
      columns.push_back(std::move(c));
    }
  });
  if (!st.ok()) {
    // SQLSTATE class 42: syntax error or access rule violation, i.e. the model is wrong.
    if (st.code() == StatusCode::kFailed && st.message().find("SQLSTATE 42") != std::string::npos)
      return Status::InvalidArgument(st.message());
    return st;
  }
  return columns;
}

std::vector<ModelProblem> CheckModelColumns(const SyncConfig& sync,
                                            const std::vector<ModelColumn>& columns) {
  std::set<std::string> have;
  for (const auto& c : columns) have.insert(c.name);
  std::vector<ModelProblem> problems;
  const std::string base = "syncs." + sync.name;
  auto need = [&](const std::string& path, const std::string& column) {
    if (!have.count(column))
      problems.push_back({path, "column \"" + column + "\" is not in the model"});
  };
  need(base + ".primary_key", sync.primary_key);
  for (const auto& f : sync.fields) need(base + ".fields." + f.destination_field, f.column);
  if (sync.strategy == ChangeStrategy::kUpdatedAt && sync.updated_at_column)
    need(base + ".change_detection.column", *sync.updated_at_column);
  if (sync.consent_column) need(base + ".consent_column", *sync.consent_column);
  return problems;
}

}  // namespace backflow
