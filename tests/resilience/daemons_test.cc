// Two `backflow run` daemons on one state schema (spec §4 and daemon.h: a sync runs
// wherever its lease is free). Each record must be written once — the sandbox's write
// counters show exactly one batch request per batch of rows, never two daemons sending
// the same rows — and when one daemon is killed with SIGKILL the other keeps delivering
// its syncs. SIGTERM stops a daemon with exit 0, promptly.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>

#include "resilience/process.h"
#include "resilience/profiles.h"

namespace backflow::resilience {
namespace {

constexpr int kRows = 3000;
constexpr long long kHubSpotBatch = 100;
constexpr long long kBrazeBatch = 75;

long long Batches(long long rows, long long per) { return (rows + per - 1) / per; }

class Daemons : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("bf-daemons-");
    ASSERT_FALSE(dir_.empty());
    sandbox_ = std::make_unique<SandboxProcess>(dir_, 5);
    ASSERT_TRUE(sandbox_->ready()) << Tail(sandbox_->process().Log());
    for (const char* e : {"hubspot", "braze"})
      ASSERT_TRUE(sandbox_->SetFaults(e, {{"latency_ms", 3}}));
    SeedPeople(db_, kRows);
    Knobs k;
    k.rate_requests = 100000;
    k.schedule = "{ every: 1s }";
    const std::string yaml =
        "warehouse:\n  dsn: \"${DSN}\"\nobservability:\n  log_format: json\n"
        "destinations:\n" + DestinationYaml(hubspot_, k) + DestinationYaml(braze_, k) +
        "syncs:\n" + SyncYaml(hubspot_, k, "people_hubspot") + SyncYaml(braze_, k, "people_braze");
    config_ = dir_ + "/backflow.yaml";
    WriteFile(config_, Substitute(yaml, db_.dsn(), sandbox_->base_url()));
  }

  void TearDown() override {
    sandbox_.reset();
    if (!HasFailure() && !dir_.empty()) std::filesystem::remove_all(dir_);  // else: evidence
  }

  std::unique_ptr<ChildProcess> StartDaemon(const std::string& name) {
    auto d = StartBackflow(config_, {"run"}, dir_ + "/" + name + ".log");
    EXPECT_TRUE(d->started());
    return d;
  }

  // -1 until the first daemon has created the state schema.
  long long CountOrMinusOne(const std::string& sql) {
    try {
      return db_.Count(sql);
    } catch (const std::exception&) {
      return -1;
    }
  }
  long long Delivered(const Profile& p) {
    return CountOrMinusOne("SELECT count(*) FROM backflow.id_mappings WHERE destination_system = '" +
                     p.destination + "' AND sync_status = 'success'");
  }
  long long FinishedRuns() {
    return CountOrMinusOne("SELECT count(*) FROM backflow.sync_runs WHERE status <> 'running'");
  }
  bool ScoreIs(const Profile& p, const std::string& wid, const std::string& score) {
    const auto stored = ParseRecords(p.emulator, sandbox_->Records(p.emulator));
    auto it = stored.find(wid);
    return it != stored.end() && it->second.score == score;
  }
  // Changes `rows` rows and waits until both destinations show the change.
  bool ChangeAndAwait(int step, int rows) {
    db_.Exec("UPDATE analytics.people SET score = 10000 * " + std::to_string(step) +
             " WHERE substr(user_id, 6)::int <= " + std::to_string(rows));
    const std::string want = std::to_string(10000 * step);
    const std::string last = "user_" + std::to_string(rows);
    return WaitFor([&] { return ScoreIs(hubspot_, "user_1", want) &&
                                ScoreIs(hubspot_, last, want) && ScoreIs(braze_, "user_1", want) &&
                                ScoreIs(braze_, last, want); },
                   std::chrono::seconds(40), std::chrono::milliseconds(100));
  }
  // Lets both daemons run every sync again (nothing to send), so a double send shows.
  void LetThemIdle() {
    const long long runs = FinishedRuns();
    EXPECT_TRUE(WaitFor([&] { return FinishedRuns() >= runs + 4; }, std::chrono::seconds(30),
                        std::chrono::milliseconds(50)))
        << Logs();
  }
  std::string Logs() const {
    return " logs in " + dir_ + "\nA: " + Tail(ReadFile(dir_ + "/a.log"), 1500) +
           "\nB: " + Tail(ReadFile(dir_ + "/b.log"), 1500);
  }

  testing::TestDatabase db_;
  Profile hubspot_ = ProfileFor("hubspot");
  Profile braze_ = ProfileFor("braze");
  std::string dir_, config_;
  std::unique_ptr<SandboxProcess> sandbox_;
};

TEST_F(Daemons, TwoDaemonsWriteEachRecordOnceAndOneTakesOverWhenTheOtherDies) {
  auto a = StartDaemon("a");
  auto b = StartDaemon("b");
  ASSERT_TRUE(WaitFor([&] { return Delivered(hubspot_) == kRows && Delivered(braze_) == kRows; },
                      std::chrono::seconds(60), std::chrono::milliseconds(50)))
      << "hubspot " << Delivered(hubspot_) << ", braze " << Delivered(braze_) << Logs();
  LetThemIdle();
  // One request per batch of rows: no daemon ever sent rows the other was sending.
  EXPECT_EQ(sandbox_->Writes("hubspot"), Batches(kRows, kHubSpotBatch)) << Logs();
  EXPECT_EQ(sandbox_->Writes("braze"), Batches(kRows, kBrazeBatch)) << Logs();
  EXPECT_EQ(db_.Count("SELECT count(*) FROM backflow.change_log WHERE operation = 'create'"),
            2 * kRows);
  ExpectExactlyOnce(db_, hubspot_, sandbox_->Records("hubspot"), "two daemons" + Logs());
  ExpectExactlyOnce(db_, braze_, sandbox_->Records("braze"), "two daemons" + Logs());

  // A dies without a word; B delivers what changes next.
  a->Signal(SIGKILL);
  ASSERT_EQ(a->Wait(std::chrono::seconds(10)), 128 + SIGKILL);
  ASSERT_TRUE(ChangeAndAwait(1, 100)) << "the surviving daemon did not deliver a change"
                                      << Logs();
  LetThemIdle();
  EXPECT_EQ(sandbox_->Writes("hubspot"), Batches(kRows, kHubSpotBatch) + 1) << Logs();
  EXPECT_EQ(sandbox_->Writes("braze"), Batches(kRows, kBrazeBatch) + Batches(100, kBrazeBatch))
      << Logs();
  ASSERT_TRUE(b->Running()) << Logs();

  // A comes back; both run again, then both stop on SIGTERM.
  auto a2 = StartDaemon("a2");
  ASSERT_TRUE(ChangeAndAwait(2, 150)) << Logs();
  LetThemIdle();
  const auto signalled = SteadyClock::now();
  a2->Signal(SIGTERM);
  b->Signal(SIGTERM);
  auto a2_code = a2->Wait(std::chrono::seconds(20));
  auto b_code = b->Wait(std::chrono::seconds(20));
  const double took = std::chrono::duration<double>(SteadyClock::now() - signalled).count();
  std::cout << "[daemons] both stopped " << took << " s after SIGTERM" << std::endl;
  ASSERT_TRUE(a2_code.has_value() && b_code.has_value()) << "still running 20 s after SIGTERM"
                                                         << Logs();
  EXPECT_EQ(*a2_code, 0) << Tail(a2->Log());
  EXPECT_EQ(*b_code, 0) << Logs();

  EXPECT_EQ(db_.Count("SELECT count(*) FROM backflow.sync_runs WHERE status = 'running'"), 0)
      << "the run A was killed in is closed by whoever runs the sync next" << Logs();
  ExpectExactlyOnce(db_, hubspot_, sandbox_->Records("hubspot"), "end" + Logs());
  ExpectExactlyOnce(db_, braze_, sandbox_->Records("braze"), "end" + Logs());
  EXPECT_EQ(db_.Count("SELECT count(*) FROM backflow.retry_queue"), 0);
}

}  // namespace
}  // namespace backflow::resilience
