#include "support/test_postgres.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <pqxx/pqxx>
#include <stdexcept>

namespace backflow::testing {
namespace {

struct Cluster {
  std::string dir;
  bool owned = false;
  std::string dsn;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

void RunScript(const std::string& verb, const std::string& dir) {
  std::string cmd = std::string(BACKFLOW_PG_CLUSTER_SCRIPT) + " " + verb + " '" + dir + "'";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("test postgres: " + cmd + " failed");
}

Cluster& TheCluster() {
  static Cluster* cluster = [] {
    auto* c = new Cluster;
    if (const char* dsn = std::getenv("BACKFLOW_TEST_DSN")) {
      c->dsn = dsn;
      return c;
    }
    if (const char* dir = std::getenv("BACKFLOW_TEST_PG_DIR")) {
      c->dir = dir;
      std::string dsn = ReadFile(c->dir + "/dsn");
      if (!dsn.empty()) {
        c->dsn = dsn;
        return c;
      }
    }
    c->dir = "/tmp/backflow-test-pg-" + std::to_string(::getpid());
    c->owned = true;
    RunScript("start", c->dir);
    c->dsn = ReadFile(c->dir + "/dsn");
    std::atexit([] {
      Cluster& cl = TheCluster();
      if (cl.owned) RunScript("stop", cl.dir);
    });
    return c;
  }();
  return *cluster;
}

std::atomic<int> g_counter{0};

}  // namespace

const std::string& ClusterDsn() { return TheCluster().dsn; }

TestDatabase::TestDatabase() {
  name_ = "bf_test_" + std::to_string(::getpid()) + "_" + std::to_string(g_counter++);
  pqxx::connection c(ClusterDsn());
  pqxx::nontransaction tx(c);
  tx.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  tx.exec("CREATE DATABASE " + name_ + " TEMPLATE template0 ENCODING 'UTF8'");
  std::string base = ClusterDsn();
  auto pos = base.find("dbname=");
  if (pos != std::string::npos) base = base.substr(0, pos);
  dsn_ = base + "dbname=" + name_;
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection c(ClusterDsn());
    pqxx::nontransaction tx(c);
    tx.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (...) {
  }
}

void TestDatabase::Exec(const std::string& sql) const {
  pqxx::connection c(dsn_);
  pqxx::nontransaction tx(c);
  tx.exec(sql);
}

std::string TestDatabase::Scalar(const std::string& sql) const {
  pqxx::connection c(dsn_);
  pqxx::nontransaction tx(c);
  pqxx::result r = tx.exec(sql);
  if (r.empty() || r[0][0].is_null()) return "";
  return r[0][0].c_str();
}

void StopCluster() {
  Cluster& c = TheCluster();
  if (c.dir.empty()) throw std::runtime_error("StopCluster: cluster is not ours");
  RunScript("halt", c.dir);
}

void StartCluster() {
  Cluster& c = TheCluster();
  if (c.dir.empty()) throw std::runtime_error("StartCluster: cluster is not ours");
  RunScript("resume", c.dir);
}

}  // namespace backflow::testing
