// Contracts (spec section 5): what a row must satisfy before any API call, and the
// run-level gates (SQL checks, the dbt gate) that block a whole run.
#pragma once

#include <functional>
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
// Returns kOk with *failures filled (empty: all gates passed), or a Status when a gate
// could not be evaluated at all (warehouse down).
[[nodiscard]] Status EvaluateGates(PgConnection& conn, const ContractConfig& contract,
                                   std::vector<GateFailure>* failures);

// Text masking used wherever a PII value would be shown.
std::string MaskPii(const std::string& hashed);

}  // namespace backflow
