// A sync's model as Postgres sees it: its columns and their kinds.
//
// `validate` uses DescribeModel + CheckModelColumns to report every mapped column, the
// primary key, the updated_at column and the consent column that the model lacks; the
// delta reader uses KindFromTypeOid to type the values it streams.
#pragma once

#include <string>
#include <vector>

#include "backflow/config.h"
#include "backflow/record.h"
#include "backflow/status.h"
#include "source/postgres.h"

namespace backflow {

struct ModelColumn {
  std::string name;
  unsigned int type_oid = 0;
  ValueKind kind = ValueKind::kString;
};

// int2/int4/int8 -> kInteger; numeric/float4/float8 -> kNumber; bool -> kBoolean;
// timestamp/timestamptz -> kTimestamp; date -> kDate; json/jsonb -> kJson; else kString.
ValueKind KindFromTypeOid(unsigned int oid);

// The model's columns, in order, from `SELECT * FROM <model> AS m LIMIT 0`.
// kInvalidArgument when the model's SQL is wrong (syntax, unknown relation or column,
// no privilege); kUnavailable when the warehouse cannot be reached.
[[nodiscard]] Result<std::vector<ModelColumn>> DescribeModel(PgConnection& conn,
                                                             const SyncConfig& sync);

struct ModelProblem {
  std::string path;     // "syncs.lead_scores.fields.Email"
  std::string message;  // "column \"email\" is not in the model"
};

// Every column the sync names (primary_key, fields, change_detection.column,
// consent_column) that is not among `columns`. Empty when all exist.
std::vector<ModelProblem> CheckModelColumns(const SyncConfig& sync,
                                            const std::vector<ModelColumn>& columns);

}  // namespace backflow
