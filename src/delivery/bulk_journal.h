// BulkJobJournal: where delivery notes the bulk jobs it has handed to a destination, so a
// daemon stopped mid-job (crash, SIGTERM, a poll that never ended) resumes polling that
// job on restart instead of uploading its rows again.
//
// DeliverBulk saves a job (SaveRecords) once its upload is complete (the close was
// accepted) and Finishes it once its results are read or it can never give any (Aborted,
// unknown to the destination). ResumeBulkJobs lists the unfinished ones of a sync.
// Delivery does not depend on Postgres: the state stage implements this over its own
// connection (state/bulk_jobs.h). Implementations are thread-safe.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "backflow/bulk.h"
#include "backflow/record.h"
#include "backflow/status.h"

namespace backflow {

struct BulkJobEntry {
  std::string job_id;
  std::string sync_name;
  std::string destination;  // DestinationConfig::name
  BulkJobState state = BulkJobState::kUploadComplete;
  std::vector<std::string> fields;  // destination field names, value order
  // The records the job's upload carried, as sent (warehouse_id, destination_id, row_hash,
  // values, changed_fields), so their outcomes commit exactly as a live job's would. The
  // values of the sync's PII fields are never kept: they come back null.
  std::vector<Record> records;
};

class BulkJobJournal {
 public:
  virtual ~BulkJobJournal() = default;
  // Records a job (insert, or update when the job id is known).
  [[nodiscard]] virtual Status Save(const BulkJobEntry& entry) = 0;
  // Records a job as Save does, its records taken from `records` (entry.records is not
  // read) with the values at the positions `withheld` (the sync's PII fields) left null,
  // in values and previous_values. An implementation may write them where they are; this
  // one copies them into an entry for Save.
  [[nodiscard]] virtual Status SaveRecords(const BulkJobEntry& entry,
                                           std::span<const Record> records,
                                           const std::vector<size_t>& withheld) {
    BulkJobEntry copy = entry;
    copy.records = WithheldCopy(records, withheld);
    return Save(copy);
  }
  // Marks a job finished with its last state. Unknown ids are not an error.
  [[nodiscard]] virtual Status Finish(const std::string& job_id, BulkJobState state) = 0;
  // The unfinished jobs of a sync on a destination, oldest first.
  [[nodiscard]] virtual Result<std::vector<BulkJobEntry>> ListUnfinished(
      const std::string& sync_name, const std::string& destination) = 0;

  // `records` with the values at the positions `withheld` null (see SaveRecords).
  static std::vector<Record> WithheldCopy(std::span<const Record> records,
                                          const std::vector<size_t>& withheld) {
    std::vector<Record> out(records.begin(), records.end());
    for (Record& r : out) {
      for (size_t j : withheld) {
        if (j < r.values.size()) r.values[j] = FieldValue{};
        if (j < r.previous_values.size()) r.previous_values[j].reset();
      }
    }
    return out;
  }
};

}  // namespace backflow
