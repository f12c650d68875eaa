// bulk_jobs: the BulkJobJournal (delivery/bulk_journal.h) over Postgres, table
// {state_schema}.bulk_jobs (migration 3).
//
// The journal is written from delivery's worker threads while the run's own connection is
// busy on the runner's thread, so it keeps a connection of its own, opened on first use
// and reopened once when it broke. One journal serves every sync of a process.
// Thread-safe: one mutex over the connection.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backflow/secret.h"
#include "delivery/bulk_journal.h"
#include "source/postgres.h"

namespace backflow {

class PgBulkJobJournal final : public BulkJobJournal {
 public:
  // REQUIRES: Migrate() has run (or will, before the first call).
  PgBulkJobJournal(Secret dsn, std::string state_schema);
  ~PgBulkJobJournal() override;

  Status Save(const BulkJobEntry& entry) override;
  // Writes the records where they are, withholding values as it goes (no copy).
  Status SaveRecords(const BulkJobEntry& entry, std::span<const Record> records,
                     const std::vector<size_t>& withheld) override;
  Status Finish(const std::string& job_id, BulkJobState state) override;
  Result<std::vector<BulkJobEntry>> ListUnfinished(const std::string& sync_name,
                                                   const std::string& destination) override;

 private:
  // REQUIRES: mu_ held. Runs `fn` in a transaction, (re)connecting as needed.
  Status Run(const std::string& what, const std::function<void(pqxx::work&)>& fn);

  const Secret dsn_;
  const std::string schema_;
  std::mutex mu_;
  std::unique_ptr<PgConnection> conn_;
};

// "UploadComplete" -> kUploadComplete (see BulkJobStateName); nullopt when unknown.
std::optional<BulkJobState> ParseBulkJobState(const std::string& name);

}  // namespace backflow
