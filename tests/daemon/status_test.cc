// `backflow status --json` after the daemon's runs says what the state schema says: the
// last run id, its status and counts, failure reasons and retry-queue depth, per sync.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "daemon/daemon_fixture.h"

namespace backflow::daemon_test {
namespace {

TEST_F(DaemonTest, StatusJsonMatchesTheStateSchema) {
  backflow::testing::TestDatabase db;
  SeedContacts(db.dsn(), 120, {7, 8}, "contacts");
  SeedContacts(db.dsn(), 40, {}, "leads");
  WriteConfig(db.dsn(),
              ContactSync("contacts", "Score-based routing", "contacts", "{ every: 1h }") +
                  ContactSync("leads", "Enterprise lead queue", "leads", "{ every: 1h }"));
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  ASSERT_TRUE(WaitForFinishedRuns(db.dsn(), "contacts", 1)) << DaemonLog();
  ASSERT_TRUE(WaitForFinishedRuns(db.dsn(), "leads", 1)) << DaemonLog();
  ASSERT_NO_FATAL_FAILURE(StopDaemon());  // nothing changes the state from here on

  Finished status = RunToEnd({BACKFLOW_BINARY_DIR "/backflow", "--config", config_path_,
                              "status", "--json"},
                             dir_, "status");
  ASSERT_EQ(status.exit_code, 0) << ReadFile(dir_ + "/status.log");
  const nlohmann::json j = nlohmann::json::parse(status.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << status.out;
  ASSERT_TRUE(j.contains("syncs")) << status.out;
  EXPECT_EQ(status.out.find("sandbox-hubspot-token"), std::string::npos);

  std::map<std::string, nlohmann::json> by_name;
  for (const auto& s : j["syncs"]) by_name[s.value("name", "")] = s;
  ASSERT_EQ(by_name.size(), 2u) << status.out;
  for (const std::string name : {"contacts", "leads"}) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(by_name.count(name)) << status.out;
    const nlohmann::json& s = by_name[name];
    EXPECT_EQ(s["destination"], "hubspot");
    ASSERT_FALSE(s["runs"].empty()) << s.dump(2);
    const nlohmann::json& last = s["runs"][0];
    const std::string where = " FROM backflow.sync_runs WHERE run_id = (SELECT max(run_id) FROM "
                              "backflow.sync_runs WHERE sync_name = '" + name + "')";
    EXPECT_EQ(last["run_id"].get<long long>(), db.Count("SELECT run_id" + where));
    EXPECT_EQ(last["status"].get<std::string>(), db.Scalar("SELECT status" + where));
    for (const std::string col : {"rows_read", "rows_changed", "rows_attempted", "rows_succeeded",
                                  "rows_failed", "rows_rejected", "api_requests"})
      EXPECT_EQ(last[col].get<long long>(), db.Count("SELECT " + col + where)) << col;
    EXPECT_EQ(static_cast<long long>(s["runs"].size()),
              std::min(5LL, db.Count("SELECT count(*) FROM backflow.sync_runs WHERE sync_name = '" +
                                     name + "'")));
    EXPECT_EQ(s["retry_queue"]["pending"].get<long long>(),
              db.Count("SELECT count(*) FROM backflow.retry_queue WHERE status = 'pending' AND "
                       "sync_name = '" + name + "'"));
  }
  // The facts themselves, so a status that agreed with an empty schema would not pass.
  const nlohmann::json& contacts = by_name["contacts"]["runs"][0];
  EXPECT_EQ(contacts["status"], "partial");
  EXPECT_EQ(contacts["rows_succeeded"], 118);
  EXPECT_EQ(contacts["rows_failed"], 2);
  EXPECT_EQ(by_name["leads"]["runs"][0]["status"], "succeeded");
  EXPECT_EQ(by_name["leads"]["runs"][0]["rows_succeeded"], 40);
  EXPECT_EQ(by_name["contacts"]["retry_queue"]["pending"], 2);
  ASSERT_FALSE(by_name["contacts"]["top_failures"].empty()) << status.out;
  EXPECT_EQ(by_name["contacts"]["top_failures"][0]["count"], 2);
  EXPECT_TRUE(by_name["leads"]["top_failures"].empty()) << status.out;
}

}  // namespace
}  // namespace backflow::daemon_test
