// Contracts (spec section 5): what a row must satisfy before any API call, and the
// run-level gates (SQL checks, the dbt gate) that block a whole run.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backflow/config.h"
#include "backflow/record.h"
#include "backflow/status.h"
#include "source/postgres.h"

namespace backflow {

// One broken rule of one row. `detail` never holds a PII value in clear (the value's
// salted hash instead).
struct Rejection {
  std::string field;   // destination field
  std::string rule;    // "required", "type", "min", "max", "max_length", "pattern", "values"
  std::string detail;  // "value 104 > max 100"
};

// Hashes a PII value for display ("sha256:ab12...").
using PiiHasher = std::function<std::string(const std::string&)>;

// How the rules read a value (Postgres' text rendering plus its kind):
//   required    null, "" and whitespace-only text are all missing. A missing value that is
//               not required passes every other rule.
//   type        string: anything. integer: a whole number ("12.000" and "1e+20" are; "12.5"
//               is not). number: finite (NaN/Infinity rejected). boolean: a boolean column
//               or t/f/true/false. timestamp: a timestamp column, or ISO-8601 text with a
//               zone ("Z", "+05:30", Postgres' "+00"); text without a zone is rejected.
//               date: a valid calendar YYYY-MM-DD. email: see contract_values.h. enum: the
//               membership test is the "values" rule.
//   min/max     numeric comparison, only for values that are numbers (a non-number is the
//               type rule's to report).
//   max_length  UTF-8 code points, not bytes.
//   pattern     ECMAScript, must match the whole value; compiled once. A pattern that does
//               not compile rejects every value (a rule that cannot be checked never passes).
//   values      exact, case-sensitive membership.
// Every broken rule is reported. Details show non-PII values (quoted, at most 80
// characters) and, for pii fields, MaskPii(hasher(value)) only.
class ContractValidator {
 public:
  // REQUIRES: contract and fields outlive the validator. `fields` are the destination
  // fields in Record::values order.
  ContractValidator(const ContractConfig& contract, const std::vector<std::string>& fields,
                    PiiHasher hasher);
  ~ContractValidator();
  // Every broken rule of the record; empty when it satisfies the contract.
  std::vector<Rejection> Check(const Record& record) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A failed run-level gate: which, and why.
struct GateFailure {
  std::string gate;    // "check:no_enterprise_without_owner", "dbt:not_null_lead_scores_email"
  std::string reason;  // "returned 3 rows (first: user_17)"
};

// Runs each contract check (SQL that must return no rows) in the warehouse, and the dbt
// gate when configured. A missing or unreadable dbt file is a failure, never a pass.
// Each check runs as `SELECT count(*) FROM (<sql>)` in a READ ONLY transaction with
// statement_timeout 5min; rows, an SQL error or a timeout are failures ("returned 3 rows
// (first: ...)", email-looking values hidden). The dbt gate's rules are in dbt_gate.h.
// Returns kOk with *failures filled (empty: all gates passed), or a Status when a gate
// could not be evaluated at all (warehouse down).
[[nodiscard]] Status EvaluateGates(PgConnection& conn, const ContractConfig& contract,
                                   std::vector<GateFailure>* failures);

// Text masking used wherever a PII value would be shown: "sha256:1a2b3c4d5e..." becomes
// "<pii sha256:1a2b3c4d…>".
std::string MaskPii(const std::string& hashed);

}  // namespace backflow
