// GET /healthz follows the warehouse: 200 while the daemon can reach it, 503 once it
// cannot (the daemon checks about every 10 s), 200 again when it is back — and the syncs
// then run again. Uses a private Postgres cluster, since it stops it.
#include <gtest/gtest.h>

#include "daemon/daemon_fixture.h"

namespace backflow::daemon_test {
namespace {

TEST_F(DaemonTest, HealthzTurns503WhileTheWarehouseIsDownAnd200WhenItIsBack) {
  PrivateCluster pg;
  ASSERT_TRUE(pg.ok()) << "pg_cluster.sh start failed";
  SeedContacts(pg.dsn(), 50);
  WriteConfig(pg.dsn(), ContactSync("contacts", "Lead routing", "contacts", "{ every: 2s }"));
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  EXPECT_TRUE(WaitFor([&] { return HealthStatus() == 200; }, seconds(10)))
      << HealthStatus() << "\n" << DaemonLog();
  ASSERT_TRUE(WaitForFinishedRuns(pg.dsn(), "contacts", 1)) << DaemonLog();
  auto healthy = Get("/healthz");
  ASSERT_TRUE(healthy.has_value());
  EXPECT_NE(healthy->body.find("ok"), std::string::npos) << healthy->body;

  ASSERT_TRUE(pg.Stop());
  const auto stopped_at = SteadyClock::now();
  EXPECT_TRUE(WaitFor([&] { return HealthStatus() == 503; }, seconds(30), milliseconds(250)))
      << "still " << HealthStatus() << " 30 s after Postgres stopped\n" << DaemonLog();
  const auto flip = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - stopped_at);
  std::cerr << "healthz turned 503 after " << flip.count() << " ms\n";
  EXPECT_TRUE(daemon_->Running()) << DaemonLog();
  EXPECT_TRUE(daemon_->LogContains("Warehouse unreachable")) << DaemonLog();

  ASSERT_TRUE(pg.Start());
  const std::string back_at = Scalar(pg.dsn(), "SELECT now()");
  EXPECT_TRUE(WaitFor([&] { return HealthStatus() == 200; }, seconds(30), milliseconds(250)))
      << "still " << HealthStatus() << " 30 s after Postgres came back\n" << DaemonLog();
  EXPECT_GE(Occurrences(daemon_->Log(), "Warehouse reachable."), 2u) << DaemonLog();
  // And it syncs again: a run that started after the restart finishes as succeeded.
  EXPECT_TRUE(WaitFor([&] {
    return FinishedRuns(pg.dsn(), "contacts",
                        " AND status = 'succeeded' AND started_at > '" + back_at + "'") >= 1;
  }, seconds(20), milliseconds(200))) << DaemonLog();

  ASSERT_NO_FATAL_FAILURE(StopDaemon());
}

}  // namespace
}  // namespace backflow::daemon_test
