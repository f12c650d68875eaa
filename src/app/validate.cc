// `backflow validate`: every problem, each with its YAML path, before a run finds it.
#include <iostream>

#include "app/commands.h"
#include "app/sync_runner.h"
#include "config/config.h"
#include "planner/contract.h"
#include "source/model.h"
#include "source/postgres.h"

namespace backflow {

int CommandValidate(const GlobalOptions& g) {
  ConfigErrors errors;
  Result<Config> config = LoadConfig(g.config_path, ProcessEnv(), &errors);
  std::vector<std::string> problems;
  for (const auto& e : errors) problems.push_back(e.ToString());
  if (!config.ok() && errors.empty()) problems.push_back(config.status().message());

  bool warehouse_down = false;
  if (config.ok()) {
    // A contract must cover exactly the mapped fields.
    for (const auto& [name, sync] : config->syncs) {
      if (!sync.contract || sync.contract->fields.empty()) continue;
      for (const auto& f : sync.fields)
        if (!sync.contract->fields.count(f.destination_field))
          problems.push_back("syncs." + name + ".contract.fields: the mapped field " +
                             f.destination_field + " has no rule (a contract covers every mapped field)");
    }
    auto conn = PgConnection::Open(config->warehouse.dsn);
    if (!conn.ok()) {
      warehouse_down = true;
      problems.push_back("warehouse.dsn: cannot connect: " + conn.status().message());
    } else {
      for (const auto& [name, sync] : config->syncs) {
        auto columns = DescribeModel(**conn, sync);
        if (!columns.ok()) {
          problems.push_back("syncs." + name + ".model: " + columns.status().message());
          continue;
        }
        for (const auto& p : CheckModelColumns(sync, *columns))
          problems.push_back(p.path + ": " + p.message);
        if (sync.contract) {
          for (const auto& check : sync.contract->checks) {
            Status st = (*conn)->NonTransaction("explain check", [&](pqxx::nontransaction& tx) {
              tx.exec("EXPLAIN " + check.sql);
            });
            if (!st.ok())
              problems.push_back("syncs." + name + ".contract.checks." + check.name +
                                 ": the query does not run: " + st.message());
          }
        }
      }
    }
  }
  if (problems.empty()) {
    std::cout << "Configuration OK: " << config->destinations.size() << " destinations, "
              << config->syncs.size() << " syncs; the warehouse is reachable and every mapped "
              << "column exists.\n";
    return kExitOk;
  }
  std::cerr << problems.size() << (problems.size() == 1 ? " problem" : " problems") << ":\n";
  for (const auto& p : problems) std::cerr << "  " << p << "\n";
  return (warehouse_down && errors.empty()) ? kExitFailure : kExitUsage;
}

}  // namespace backflow
