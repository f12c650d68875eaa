// PlanWriter: what `backflow plan` reports — counts (would create / would update /
// unchanged / rejected / skipped / would delete, blocked and why) and, per record, the
// fields that would change with old -> new values (PII masked). Records stream to the
// JSON file (--output) so a plan of a million rows does not sit in memory; the terminal
// table shows the first kTableRecords.
#pragma once

#include <cstdio>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "backflow/record.h"
#include "backflow/status.h"

namespace backflow {

struct PlanChange {
  std::string field;
  std::optional<std::string> old_value;  // nullopt: not delivered before (or null)
  std::optional<std::string> new_value;
};

struct PlanRecord {
  std::string warehouse_id;
  std::string operation;  // create | update | skip | reject | delete
  std::vector<PlanChange> changes;
  std::vector<std::string> reasons;  // reject/skip reasons
};

struct PlanTotals {
  long long would_create = 0, would_update = 0, unchanged = 0, rejected = 0, skipped = 0,
            would_delete = 0, held = 0;
  bool blocked = false;
  std::string blocked_reason;
};

class PlanWriter {
 public:
  static constexpr size_t kTableRecords = 50;
  // output_path empty: no JSON file.
  [[nodiscard]] Status Open(const std::string& output_path, const std::string& sync_name);
  void Add(PlanRecord record);
  PlanTotals& totals() { return totals_; }
  // Closes the JSON document (with totals) and prints the table.
  [[nodiscard]] Status Finish(std::ostream& terminal, long long run_id);
  ~PlanWriter();

 private:
  std::FILE* json_ = nullptr;
  bool first_ = true;
  std::string sync_name_;
  std::vector<PlanRecord> head_;
  long long total_records_ = 0;
  PlanTotals totals_;
};

}  // namespace backflow
