// A real Postgres for tests: never a mock.
//
// Under ctest, one cluster is started for the whole run (the `postgres` fixture) and
// found through BACKFLOW_TEST_PG_DIR; a test binary run by hand starts its own cluster
// and stops it at exit. Each TestDatabase is a fresh database, dropped when it goes.
#pragma once

#include <string>

namespace backflow::testing {

// The maintenance DSN of the running test cluster ("host=127.0.0.1 port=... user=postgres").
const std::string& ClusterDsn();

class TestDatabase {
 public:
  TestDatabase();  // CREATE DATABASE bf_test_<pid>_<n>
  ~TestDatabase(); // DROP DATABASE ... WITH (FORCE)
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& dsn() const { return dsn_; }
  const std::string& name() const { return name_; }
  // Runs SQL (several statements allowed) and throws on error.
  void Exec(const std::string& sql) const;
  // The first column of the first row, as text ("" when NULL or no row).
  std::string Scalar(const std::string& sql) const;
  long long Count(const std::string& sql) const { return std::stoll(Scalar(sql)); }

 private:
  std::string name_;
  std::string dsn_;
};

// Stops the cluster (so a test can see how backflow behaves without its warehouse) and
// starts it again. Only for clusters this process owns or the ctest fixture's.
void StopCluster();
void StartCluster();

}  // namespace backflow::testing
