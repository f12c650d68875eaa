// The dbt gate: a sync runs only when the latest dbt run's tests on its model passed.
//
// Reads dbt's artifacts (https://docs.getdbt.com/reference/artifacts/dbt-artifacts):
// `run_results.json` (the path configured as `dbt_run_results`) and `manifest.json` from
// the same directory. The manifest says which tests depend on the model — nodes of
// resource_type "test" or "unit_test" whose depends_on.nodes holds a model node named
// `dbt_model` — and run_results says how each of them ended.
//
// What blocks (one GateFailure each, gate "dbt:<test name>"):
//   - a test on the model with status "fail", "error" or "skipped" (a skipped test could
//     not verify anything; "warn" passes, as it does for dbt itself);
//   - a test on the model that has no result in run_results.json (the latest run did not
//     run it): absent results cannot vouch for the data. When none of the model's tests
//     has a result, one failure "dbt:<model>" says so instead of one per test;
//   - either file missing, unreadable or not valid JSON, or the model absent from the
//     manifest (gate "dbt:<model>", the reason names the file).
// A model that has no tests at all in the manifest passes: there is nothing to gate on.
#pragma once

#include <string>
#include <vector>

#include "planner/contract.h"

namespace backflow {

// Appends the dbt gate's failures to *failures (nothing when it passes).
void EvaluateDbtGate(const std::string& run_results_path, const std::string& dbt_model,
                     std::vector<GateFailure>* failures);

}  // namespace backflow
