// The daemon tests' warehouse: SQL against any DSN, a private Postgres cluster a test may
// stop and start, and the seeded model (analytics.<table> of contacts).
#pragma once

#include <cstdlib>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "daemon/process.h"

namespace backflow::daemon_test {

// A fresh connection per call: the server may have been restarted in between.
// Throws on error, like TestDatabase.
inline std::string Scalar(const std::string& dsn, const std::string& sql) {
  pqxx::connection c(dsn);
  pqxx::nontransaction tx(c);
  pqxx::result r = tx.exec(sql);
  if (r.empty() || r[0][0].is_null()) return "";
  return r[0][0].c_str();
}
inline void Exec(const std::string& dsn, const std::string& sql) {
  pqxx::connection c(dsn);
  pqxx::nontransaction tx(c);
  tx.exec(sql);
}
// -1 while the query fails (e.g. before the daemon has created its state schema).
inline long long CountOr(const std::string& dsn, const std::string& sql) {
  try {
    const std::string v = Scalar(dsn, sql);
    return v.empty() ? 0 : std::stoll(v);
  } catch (const std::exception&) {
    return -1;
  }
}

// A Postgres cluster of this test alone (tests/support/pg_cluster.sh), so stopping it
// cannot break the test binaries that share the ctest cluster.
class PrivateCluster {
 public:
  PrivateCluster() : dir_(MakeTempDir("bf-daemon-pg-")) {
    if (dir_.empty() || !Script("start")) return;
    std::string line = ReadFile(dir_ + "/dsn");
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    const size_t at = line.find("port=");
    if (at == std::string::npos) return;
    dsn_ = line;
  }
  ~PrivateCluster() {
    if (!dir_.empty()) (void)Script("stop");  // stops it and removes the dir
  }
  PrivateCluster(const PrivateCluster&) = delete;
  PrivateCluster& operator=(const PrivateCluster&) = delete;

  bool ok() const { return !dsn_.empty(); }
  const std::string& dsn() const { return dsn_; }

  [[nodiscard]] bool Stop() { return Script("halt"); }
  // Again, on the same port, so the daemon's DSN still points at it.
  [[nodiscard]] bool Start() { return Script("resume"); }

 private:
  [[nodiscard]] bool Script(const std::string& verb) const {
    const std::string cmd = std::string(BACKFLOW_SOURCE_DIR "/tests/support/pg_cluster.sh ") +
                            verb + " '" + dir_ + "' >/dev/null";
    return std::system(cmd.c_str()) == 0;
  }
  std::string dir_;
  std::string dsn_;
};

// analytics.<table>: user_1..user_N with email, score, stage. Rows whose number is in
// `rejected` carry a stage the HubSpot emulator refuses per record ("__reject__").
inline void SeedContacts(const std::string& dsn, int rows, const std::vector<int>& rejected = {},
                         const std::string& table = "contacts") {
  std::string sql = "CREATE SCHEMA IF NOT EXISTS analytics; CREATE TABLE analytics." + table +
                    " (user_id text PRIMARY KEY, email text, score int, stage text, "
                    "updated_at timestamptz NOT NULL DEFAULT now()); INSERT INTO analytics." +
                    table +
                    " SELECT 'user_' || i, 'u' || i || '@example.com', i % 100, 'lead', now() "
                    "FROM generate_series(1, " + std::to_string(rows) + ") i;";
  for (int r : rejected)
    sql += "UPDATE analytics." + table + " SET stage = '__reject__' WHERE user_id = 'user_" +
           std::to_string(r) + "';";
  Exec(dsn, sql);
}

}  // namespace backflow::daemon_test
