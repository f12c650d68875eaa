// The daemon's signals: SIGHUP reloads a good config (a new sync starts running) and
// refuses a bad one (the old config keeps syncing, /healthz stays 200); SIGTERM drains and
// exits 0 promptly, losing and duplicating nothing.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "daemon/daemon_fixture.h"

namespace backflow::daemon_test {
namespace {

TEST_F(DaemonTest, SighupReloadsAGoodConfigAndRefusesABadOne) {
  backflow::testing::TestDatabase db;
  SeedContacts(db.dsn(), 100, {}, "contacts");
  SeedContacts(db.dsn(), 60, {}, "leads");
  const std::string contacts = ContactSync("contacts", "Lead routing", "contacts", "{ every: 1s }");
  WriteConfig(db.dsn(), contacts);
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  ASSERT_TRUE(WaitForFinishedRuns(db.dsn(), "contacts", 1)) << DaemonLog();
  EXPECT_EQ(FinishedRuns(db.dsn(), "leads"), 0);

  // A good config with a second sync: reloaded, and the new sync runs.
  WriteConfig(db.dsn(), contacts + ContactSync("leads", "Enterprise queue", "leads", "{ every: 1s }"));
  daemon_->Signal(SIGHUP);
  EXPECT_TRUE(WaitFor([&] { return daemon_->LogContains("Config reloaded."); }, seconds(15)))
      << DaemonLog();
  ASSERT_TRUE(WaitForFinishedRuns(db.dsn(), "leads", 1)) << DaemonLog();
  EXPECT_EQ(db.Count("SELECT sum(rows_succeeded) FROM backflow.sync_runs WHERE sync_name = 'leads'"),
            60);

  // A syntax error: refused, and the running config goes on.
  WriteFile(config_path_, ConfigYaml(db.dsn(), contacts) + "  broken: [unclosed\n");
  const long long before = FinishedRuns(db.dsn(), "contacts");
  daemon_->Signal(SIGHUP);
  EXPECT_TRUE(WaitFor([&] { return daemon_->LogContains("Config reload refused"); }, seconds(15)))
      << DaemonLog();
  EXPECT_TRUE(daemon_->Running()) << DaemonLog();
  EXPECT_EQ(HealthStatus(), 200) << DaemonLog();
  EXPECT_TRUE(WaitFor([&] { return FinishedRuns(db.dsn(), "contacts") > before + 1; }, seconds(15),
                      milliseconds(100)))
      << "contacts stopped syncing after a refused reload\n" << DaemonLog();
  const long long leads_before = FinishedRuns(db.dsn(), "leads");
  EXPECT_TRUE(WaitFor([&] { return FinishedRuns(db.dsn(), "leads") > leads_before; }, seconds(15),
                      milliseconds(100)))
      << "the reloaded sync stopped after a refused reload\n" << DaemonLog();

  // Valid YAML that breaks the schema (an unknown key) is refused the same way.
  WriteConfig(db.dsn(), contacts + "    colour: blue\n");
  daemon_->Signal(SIGHUP);
  EXPECT_TRUE(WaitFor([&] { return Occurrences(daemon_->Log(), "Config reload refused") >= 2; },
                      seconds(15)))
      << DaemonLog();
  EXPECT_EQ(HealthStatus(), 200) << DaemonLog();
  EXPECT_EQ(Occurrences(daemon_->Log(), "Config reloaded."), 1u) << DaemonLog();
  EXPECT_EQ(daemon_->Log().find("sandbox-hubspot-token"), std::string::npos);

  ASSERT_NO_FATAL_FAILURE(StopDaemon());
}

TEST_F(DaemonTest, SigtermMidRunDrainsAndExitsZeroWithinSeconds) {
  backflow::testing::TestDatabase db;
  SeedContacts(db.dsn(), 5000);
  // Slow HubSpot: the run is still sending when SIGTERM arrives.
  ASSERT_TRUE(sandbox_->SetFaults("hubspot", {{"latency_ms", 300}}));
  WriteConfig(db.dsn(), ContactSync("contacts", "Lead routing", "contacts", "{ every: 1h }"));
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  const std::string delivered =
      "SELECT count(*) FROM backflow.id_mappings WHERE sync_status = 'success'";
  ASSERT_TRUE(WaitFor([&] { return CountOr(db.dsn(), delivered) > 0; }, seconds(30),
                      milliseconds(20)))
      << DaemonLog();
  ASSERT_LT(CountOr(db.dsn(), delivered), 5000) << "the run ended before SIGTERM; nothing tested";

  ASSERT_NO_FATAL_FAILURE(StopDaemon(seconds(10)));
  std::cerr << "SIGTERM to exit: " << stop_took_.count() << " ms\n";
  EXPECT_LT(stop_took_, seconds(5)) << DaemonLog();
  EXPECT_TRUE(daemon_->LogContains("Stopping: finishing in-flight batches.")) << DaemonLog();
  // Nothing left half-done, nothing lost: every record HubSpot holds is mapped as
  // delivered, and no run row is left `running`.
  EXPECT_EQ(db.Count("SELECT count(*) FROM backflow.sync_runs WHERE status = 'running'"), 0);
  const nlohmann::json records = sandbox_->Records("hubspot");
  ASSERT_TRUE(records.is_object()) << records.dump();
  const long long stored = records.contains("contacts") ? records["contacts"].size() : 0;
  EXPECT_EQ(db.Count(delivered), stored);
  EXPECT_GT(stored, 0);
}

}  // namespace
}  // namespace backflow::daemon_test
