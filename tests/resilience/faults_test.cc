// Spec §4 under injected faults, per destination: 503s before anything is applied,
// applied-then-500 and applied-then-dropped connections (seeded) on a 2,000-row sync,
// with rows changing between runs. Whatever the faults did, the runs converge to every
// row in the destination exactly once with its latest values, id_mappings naming the
// same records, and an empty retry queue.
#include <iostream>

#include "resilience/in_process.h"

namespace backflow::resilience {
namespace {

constexpr int kRows = 2000;
constexpr int kMaxRuns = 10;
constexpr uint64_t kSeed = 20240605;

struct Outcome {
  bool converged = false;
  int runs = 0;
  long long rows_sent = 0;
  long long max_queued = 0;
  std::string history;
};

class Faults : public InProcess {
 protected:
  // Runs the sync until a run on unchanged data is clean (exit 0, nothing changed, an
  // empty retry queue), at most kMaxRuns times; rows change after runs 1 and 2.
  Outcome RunUntilConverged() {
    Outcome o;
    while (o.runs < kMaxRuns && !o.converged) {
      ++o.runs;
      RunReport r = Sync();
      o.rows_sent += r.run.counts.rows_attempted;
      const long long queued = Count("SELECT count(*) FROM backflow.retry_queue");
      o.max_queued = std::max(o.max_queued, queued);
      o.history += " run" + std::to_string(o.runs) + ":{exit " + std::to_string(r.exit_code) +
                   ", changed " + std::to_string(r.run.counts.rows_changed) + ", ok " +
                   std::to_string(r.run.counts.rows_succeeded) + ", failed " +
                   std::to_string(r.run.counts.rows_failed) + ", queued " +
                   std::to_string(queued) + (r.status.ok() ? "" : ", " + r.status.ToString()) +
                   "}";
      EXPECT_NE(r.exit_code, kExitBlocked) << o.history;
      EXPECT_NE(r.exit_code, kExitUsage) << o.history;
      if (r.exit_code == kExitBlocked || r.exit_code == kExitUsage) break;
      clock_->Advance(std::chrono::hours(1));  // every queued row is due on the next run
      // Rows change upstream while the faults go on: the newer versions must win.
      if (o.runs <= 2) {
        db_.Exec("UPDATE analytics.people SET score = score + 1000 * " + std::to_string(o.runs) +
                 " WHERE (substr(user_id, 6)::int) % 37 = " + std::to_string(o.runs));
        continue;
      }
      o.converged = r.exit_code == kExitOk && r.run.counts.rows_changed == 0 && queued == 0;
    }
    return o;
  }

  void ExpectConverged(const Profile& p, const Outcome& o) {
    const std::string where =
        p.emulator + " seed " + std::to_string(kSeed) + o.history + "; retry_queue by " +
        "status/category/attempts: " +
        db_.Scalar("SELECT string_agg(n || ' x ' || k, ', ') FROM (SELECT status || '/' || "
                   "error_category || '/' || attempts AS k, count(*) AS n FROM "
                   "backflow.retry_queue GROUP BY 1) q");
    ASSERT_TRUE(o.converged) << "no convergence after " << kMaxRuns << " runs: " << where;
    std::cout << "[faults] " << p.emulator << " converged after " << o.runs
              << " runs:" << o.history << std::endl;
    // The faults really happened, and were survived.
    const json counters = sandbox_->Counters(p.emulator);
    EXPECT_GT(counters["status"].value("503", 0LL), 0) << counters.dump();
    EXPECT_GT(counters["status"].value("500", 0LL), 0) << counters.dump();
    EXPECT_GT(counters["status"].value("0", 0LL), 0) << "no dropped connection: "
                                                     << counters.dump();
    EXPECT_GE(o.rows_sent, kRows) << where;

    ExpectExactlyOnce(db_, p, Records(p), where);
    EXPECT_EQ(Count("SELECT count(*) FROM backflow.retry_queue"), 0) << where;
    EXPECT_EQ(Count("SELECT count(*) FROM backflow.sync_runs WHERE status = 'running'"), 0);

    // Converged means converged: one more run on unchanged data writes nothing.
    sandbox_->SetFaults(p.emulator, sandbox::FaultSpec{});
    const long long writes = sandbox_->WriteRequests(p.emulator);
    RunReport quiet = Sync();
    EXPECT_EQ(quiet.exit_code, kExitOk) << quiet.status.ToString();
    EXPECT_EQ(quiet.run.counts.rows_changed, 0);
    EXPECT_EQ(sandbox_->WriteRequests(p.emulator), writes) << where;
  }

  void InjectFaults(const Profile& p, double fail_503) {
    sandbox::FaultSpec faults;
    faults.fail_status = {{503, fail_503}};
    faults.apply_then_fail = 0.05;
    faults.drop = 0.03;
    faults.seed = kSeed;
    sandbox_->SetFaults(p.emulator, faults);
    std::cout << "[faults] " << p.emulator << " seed " << kSeed << std::endl;
  }
};

TEST_P(Faults, EveryRowExactlyOnceWithItsLatestValues) {
  const Profile p = ProfileFor(GetParam());
  StartSandbox(/*sandbox_on_manual_clock=*/false, kSeed);
  if (!DestinationLinked(p)) return;
  SeedPeople(db_, kRows);
  Knobs k;
  k.batch_size = 20;   // ~100 batches: enough write requests for every kind of fault
  k.max_attempts = 6;  // a batch fails all six (~0.28^6) rarely; the retry queue catches it
  Configure(ConfigYaml(p, k));
  InjectFaults(p, 0.20);
  ExpectConverged(p, RunUntilConverged());
}

// Few attempts per request: whole batches give up inside a run, so their rows travel
// through retry_queue to later runs — and still arrive once, newest version first.
// One request at a time keeps the seeded faults in a repeatable order.
TEST_P(Faults, RowsThatGiveUpTravelThroughTheRetryQueue) {
  const Profile p = ProfileFor(GetParam());
  StartSandbox(/*sandbox_on_manual_clock=*/false, kSeed);
  if (!DestinationLinked(p)) return;
  SeedPeople(db_, kRows);
  Knobs k;
  k.batch_size = 20;
  k.max_attempts = 3;
  k.max_concurrency = 1;
  Configure(ConfigYaml(p, k));
  InjectFaults(p, 0.40);
  Outcome o = RunUntilConverged();
  EXPECT_GT(o.max_queued, 0) << "the faults never sent a row to the retry queue:" << o.history;
  ExpectConverged(p, o);
}

INSTANTIATE_TEST_SUITE_P(PerDestination, Faults,
                         ::testing::Values("hubspot", "braze", "salesforce"), ParamName);

}  // namespace
}  // namespace backflow::resilience
