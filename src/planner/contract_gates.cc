// EvaluateGates: the contract's SQL checks, then the dbt gate.
#include <cctype>
#include <pqxx/pqxx>
#include <string>

#include "planner/contract.h"
#include "planner/contract_values.h"
#include "planner/dbt_gate.h"

namespace backflow {
namespace {

constexpr const char* kCheckTimeout = "5min";
constexpr int kShownRows = 3;
constexpr size_t kMaxShownChars = 80;
constexpr const char* kQueryCanceled = "57014";  // statement_timeout fired

// Check output may well hold the addresses it complains about; they are not shown.
std::string ShowCell(const pqxx::field& f) {
  if (f.is_null()) return "null";
  std::string v = f.c_str();
  if (contract::IsEmail(v)) return "<email>";
  return contract::TruncateUtf8(v, kMaxShownChars);
}

std::string ShowRow(const pqxx::row& row) {
  if (row.size() == 1) return ShowCell(row[0]);
  std::string out = "(";
  for (pqxx::row::size_type i = 0; i < row.size(); ++i) {
    if (i) out += ", ";
    out += ShowCell(row[i]);
  }
  return out + ")";
}

// The check's SQL as a subquery: a trailing ';' would be a syntax error there, and a
// trailing "-- comment" would swallow the closing parenthesis without the newline.
std::string AsSubquery(std::string sql) {
  while (!sql.empty() && (sql.back() == ';' || std::isspace(static_cast<unsigned char>(sql.back()))))
    sql.pop_back();
  return "(\n" + sql + "\n) AS bf_check";
}

// Runs one check. Returns non-OK only when the warehouse itself is in trouble; a check
// that is wrong (syntax, missing table, timeout) is a failed gate, never a pass.
Status RunCheck(PgConnection& conn, const ContractCheck& check,
                std::vector<GateFailure>* failures) {
  const std::string gate = "check:" + check.name;
  const std::string from = AsSubquery(check.sql);
  try {
    pqxx::work tx(conn.raw());
    tx.exec("SET TRANSACTION READ ONLY");
    tx.exec(std::string("SET LOCAL statement_timeout = '") + kCheckTimeout + "'");
    pqxx::result count = tx.exec("SELECT count(*) FROM " + from);
    long long n = count[0][0].as<long long>();
    if (n > 0) {
      pqxx::result first =
          tx.exec("SELECT * FROM " + from + " LIMIT " + std::to_string(kShownRows));
      std::string shown;
      for (const auto& row : first) shown += (shown.empty() ? "" : ", ") + ShowRow(row);
      failures->push_back(GateFailure{
          gate, "returned " + std::to_string(n) + (n == 1 ? " row" : " rows") +
                    (shown.empty() ? "" : " (first: " + shown + ")")});
    }
    tx.abort();  // read-only: nothing to commit
    return Status::Ok();
  } catch (const pqxx::sql_error& e) {
    const std::string state = e.sqlstate();
    Status st = StatusFromPgException("contract check " + check.name);
    if (state == kQueryCanceled) {
      failures->push_back(GateFailure{gate, std::string("did not finish within ") +
                                                kCheckTimeout + " (statement_timeout)"});
      return Status::Ok();
    }
    if (st.code() == StatusCode::kUnavailable) return st;
    failures->push_back(GateFailure{gate, "could not run: " + st.message()});
    return Status::Ok();
  } catch (...) {
    Status st = StatusFromPgException("contract check " + check.name);
    if (st.code() == StatusCode::kUnavailable || !conn.is_open()) {
      return st.code() == StatusCode::kUnavailable ? st : Status::Unavailable(st.message());
    }
    failures->push_back(GateFailure{gate, "could not run: " + st.message()});
    return Status::Ok();
  }
}

}  // namespace

Status EvaluateGates(PgConnection& conn, const ContractConfig& contract,
                     std::vector<GateFailure>* failures) {
  failures->clear();
  for (const ContractCheck& check : contract.checks)
    BF_RETURN_IF_ERROR(RunCheck(conn, check, failures));
  if (contract.dbt_run_results)
    EvaluateDbtGate(*contract.dbt_run_results, contract.dbt_model.value_or(""), failures);
  return Status::Ok();
}

}  // namespace backflow
