// Small helpers shared by the state stores: how times and lists cross into SQL.
//
// Times go to Postgres as ISO-8601 text in UTC (cast with ::timestamptz) and come back as
// microseconds since the epoch (EpochMicros(column)), so no libpq time parsing is needed.
// Internal to src/state/ and src/mapping/.
#pragma once

#include <string>
#include <vector>

#include "backflow/clock.h"
#include "state/run_store.h"

namespace pqxx {
class row;
class transaction_base;
}

namespace backflow::sql {

// "2026-01-02 03:04:05.123456+00" for a ::timestamptz cast.
std::string Timestamp(WallTime t);
// From microseconds since the epoch.
WallTime FromMicros(long long micros);
// SQL that yields `column` as bigint microseconds since the epoch (NULL stays NULL).
std::string EpochMicros(const std::string& column);
// A Postgres text[] literal ({"a","b\"c"}) for a `$1::text[]` parameter.
std::string TextArray(const std::vector<std::string>& values);
// Parses a text[] rendering ({a,"b c"}) as Postgres prints it.
std::vector<std::string> ParseTextArray(const std::string& literal);

// Rows in COPY's text format, built field by field and copied into a table in one
// piece: one buffer per COPY instead of a string per field and a message per row.
class CopyText {
 public:
  CopyText& Text(const std::string& value);  // escaped for COPY (\\, \t, \n, \r)
  CopyText& Null();                          // \N
  CopyText& Raw(const char* value);          // REQUIRES: nothing to escape
  void EndRow();
  bool empty() const { return text_.empty(); }
  // COPY table (columns) FROM STDIN with every row ended so far; empties the buffer.
  void CopyInto(pqxx::transaction_base& tx, const std::string& table,
                const std::vector<std::string>& columns);

 private:
  void Separate();
  std::string text_;
  bool row_open_ = false;
};

// The sync_runs columns RunFromRow expects, in order, qualified by `alias` (may be empty).
std::string RunColumns(const std::string& alias = "");
// REQUIRES: row was selected with RunColumns().
RunRecord RunFromRow(const pqxx::row& row);

}  // namespace backflow::sql
