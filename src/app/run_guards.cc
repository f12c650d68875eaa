#include "app/run_guards.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>

namespace backflow {
namespace {

std::string Pct(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", share * 100.0);
  return buf;
}

}  // namespace

long long DeliveredRowsNeeded(const SyncConfig& sync, const DeltaSummary& s) {
  constexpr long long kAll = std::numeric_limits<long long>::max();
  // part / delivered > max_share fails only while delivered <= part / max_share.
  auto needed = [](long long part, double max_share) -> long long {
    if (part <= 0) return 1;
    if (!(max_share > 0)) return kAll;  // any part fails: the message quotes the count
    const double bound = std::floor(static_cast<double>(part) / max_share) + 1;
    return bound >= 9e18 ? kAll : static_cast<long long>(bound);
  };
  long long n = needed(s.rows_changed_delivered, sync.max_change_share);
  if (sync.on_delete == OnDelete::kDelete)
    n = std::max(n, needed(s.rows_deleted, sync.max_delete_share));
  return n;
}

std::optional<std::string> GuardDelta(const SyncConfig& sync, const DeltaSummary& s) {
  if (s.null_keys > 0)
    return std::to_string(s.null_keys) + " rows have a null primary key (" + sync.primary_key +
           ")";
  if (s.duplicate_keys > 0)
    return std::to_string(s.duplicate_keys) + " primary-key values occur more than once (" +
           sync.primary_key + ")";
  if (s.previously_delivered > 0) {
    double change = static_cast<double>(s.rows_changed_delivered) /
                    static_cast<double>(s.previously_delivered);
    if (change > sync.max_change_share)
      return "the run would change " + Pct(change) + " of the " +
             std::to_string(s.previously_delivered) + " rows already delivered (max_change_share " +
             Pct(sync.max_change_share) + ")";
    double deleted = static_cast<double>(s.rows_deleted) /
                     static_cast<double>(s.previously_delivered);
    if (sync.on_delete == OnDelete::kDelete && deleted > sync.max_delete_share)
      return "the run would delete " + Pct(deleted) + " of the " +
             std::to_string(s.previously_delivered) + " rows already delivered (max_delete_share " +
             Pct(sync.max_delete_share) + ")";
  }
  return std::nullopt;
}

std::optional<std::string> GuardRejections(const SyncConfig& sync, const DeltaSummary& s,
                                           long long rejected) {
  if (rejected == 0 || !sync.contract) return std::nullopt;
  double share = s.rows_changed > 0
                     ? static_cast<double>(rejected) / static_cast<double>(s.rows_changed)
                     : 0.0;
  if (share > sync.contract->max_invalid)
    return std::to_string(rejected) + " of " + std::to_string(s.rows_changed) +
           " changed rows (" + Pct(share) + ") break the contract (max_invalid " +
           Pct(sync.contract->max_invalid) + ")";
  return std::nullopt;
}

Result<long long> CountRejections(DeltaReader& reader, const ContractValidator& validator,
                                  PgConnection& conn, const std::string& state_schema,
                                  long long run_id, const std::string& sync_name,
                                  std::map<std::string, long long>* error_summary) {
  long long rejected = 0;
  std::vector<Record> page;
  const std::string sql =
      "INSERT INTO " + QuoteIdent(state_schema) +
      ".rejected_rows (run_id, sync_name, warehouse_id, reasons) "
      "SELECT $1, $2, x.warehouse_id, x.reasons FROM jsonb_to_recordset($3::jsonb) "
      "AS x(warehouse_id text, reasons jsonb)";
  while (true) {
    page.clear();
    auto more = reader.Next(5000, &page);
    if (!more.ok()) return more.status();
    nlohmann::json rows = nlohmann::json::array();
    for (const Record& r : page) {
      std::vector<Rejection> why = validator.Check(r);
      if (why.empty()) continue;
      ++rejected;
      nlohmann::json reasons = nlohmann::json::array();
      for (const Rejection& j : why) {
        reasons.push_back({{"field", j.field}, {"rule", j.rule}, {"detail", j.detail}});
        (*error_summary)["contract:" + j.field + ":" + j.rule] += 1;
      }
      rows.push_back({{"warehouse_id", r.warehouse_id}, {"reasons", reasons}});
    }
    if (!rows.empty()) {
      Status st = conn.InTransaction("record rejected rows", [&](pqxx::work& tx) {
        tx.exec_params(sql, run_id, sync_name, rows.dump());
      });
      if (!st.ok()) return st;
    }
    if (!*more) break;
  }
  return rejected;
}

}  // namespace backflow
