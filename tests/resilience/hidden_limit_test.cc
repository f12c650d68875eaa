// A real rate limit lower than the configured one (configured 100 per 10 s, the API
// really allows 60 per 10 s, on the shared ManualClock): backflow must learn from the
// 429s (and the rate-limit headers) instead of hammering, and still deliver every row.
#include <iostream>

#include "resilience/in_process.h"

namespace backflow::resilience {
namespace {

constexpr int kRows = 2000;
constexpr int kBatch = 10;  // 200 write requests: the hidden window is hit many times
constexpr long long kWriteBatches = kRows / kBatch;
constexpr int kMaxRuns = 5;

class HiddenLimit : public InProcess {};

TEST_P(HiddenLimit, ConvergesWithABoundedNumberOf429s) {
  const Profile p = ProfileFor(GetParam());
  StartSandbox(/*sandbox_on_manual_clock=*/true, /*seed=*/11);
  if (!DestinationLinked(p)) return;
  SeedPeople(db_, kRows);
  Knobs k;
  k.rate_requests = 100;
  k.rate_per = "10s";
  k.batch_size = kBatch;
  k.max_attempts = 10;
  k.initial_backoff = "1s";
  k.max_backoff = "30s";
  Configure(ConfigYaml(p, k));

  sandbox::FaultSpec faults;
  faults.hidden_rate_limit = std::make_pair(60LL, Millis(10000));
  sandbox_->SetFaults(p.emulator, faults);

  std::chrono::nanoseconds busy{0};  // simulated time spent inside runs
  int runs = 0;
  std::string history;
  bool converged = false;
  while (runs < kMaxRuns && !converged) {
    ++runs;
    const auto before = clock_->Now();
    RunReport r = Sync();
    busy += clock_->Now() - before;
    history += " run" + std::to_string(runs) + ":{exit " + std::to_string(r.exit_code) +
               ", changed " + std::to_string(r.run.counts.rows_changed) + ", ok " +
               std::to_string(r.run.counts.rows_succeeded) + ", failed " +
               std::to_string(r.run.counts.rows_failed) + "}";
    converged = r.exit_code == kExitOk && r.run.counts.rows_changed == 0 &&
                Count("SELECT count(*) FROM backflow.retry_queue") == 0;
    clock_->Advance(std::chrono::minutes(10));
  }
  // Salesforce has no per-second 429: its emulator answers the hidden limit with 503.
  const int limited_status = p.emulator == "salesforce" ? 503 : 429;
  const long long limited = sandbox_->Requests(p.emulator, limited_status);
  const long long writes = sandbox_->WriteRequests(p.emulator);
  const double simulated_s = std::chrono::duration<double>(busy).count();
  std::cout << "[hidden_limit] " << p.emulator << ": " << limited << " x " << limited_status
            << ", " << writes << " writes, " << simulated_s << " s simulated," << history
            << std::endl;
  ASSERT_TRUE(converged) << p.emulator << history;
  ExpectExactlyOnce(db_, p, Records(p), p.emulator + history);

  // It did meet the hidden limit ...
  EXPECT_GT(limited, 0) << history;
  // ... and adapted rather than hammering. Measured (seed 11): HubSpot and Braze 2-3 x 429
  // each (their rate-limit headers say the window is spent, the limiter waits it out);
  // Salesforce 32-36 x 503 (no headers to learn from: backoff alone). Bounds with margin:
  const long long bound = p.emulator == "salesforce" ? 80 : 10;
  EXPECT_LE(limited, bound) << history;
  EXPECT_EQ(writes - limited, kWriteBatches) << "every accepted write was one batch, once";
  // 200 accepted requests at 60 per 10 s need at least ~30 s of (simulated) time.
  EXPECT_GE(simulated_s, 30.0);
}

INSTANTIATE_TEST_SUITE_P(PerDestination, HiddenLimit,
                         ::testing::Values("hubspot", "braze", "salesforce"), ParamName);

}  // namespace
}  // namespace backflow::resilience
