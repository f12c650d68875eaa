// The resilience suite's view of each destination: the YAML that points backflow at the
// sandbox's emulator, and how to read that emulator's stored records back as
// warehouse_id -> (destination id, lead score, copies), so one set of assertions checks
// "every row exactly once, with its latest values" for HubSpot, Braze and Salesforce.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "support/test_postgres.h"

namespace backflow::resilience {

using nlohmann::json;

struct Profile {
  std::string emulator;     // the sandbox emulator: hubspot | braze | salesforce
  std::string destination;  // the destination's name in the config
  std::string object_type;  // id_mappings.object_type
};

inline Profile ProfileFor(const std::string& emulator) {
  if (emulator == "hubspot") return {"hubspot", "hubspot", "contacts"};
  if (emulator == "braze") return {"braze", "braze", "users"};
  return {"salesforce", "sfdc", "Lead"};
}

// Knobs of one destination + one sync ("people") over analytics.people.
struct Knobs {
  long long rate_requests = 1000;
  std::string rate_per = "10s";
  int batch_size = 0;  // 0: the destination's default
  int max_attempts = 8;
  int max_concurrency = 4;
  std::string initial_backoff = "100ms";
  std::string max_backoff = "2s";
  std::string schedule;  // e.g. "{ every: 1s }"; empty: none
};

// The destinations: block entry for `p` (indented two spaces), ${SANDBOX} for its URL.
inline std::string DestinationYaml(const Profile& p, const Knobs& k) {
  std::string y = "  " + p.destination + ":\n";
  if (p.emulator == "hubspot") {
    y += "    type: hubspot\n    base_url: \"${SANDBOX}\"\n    token: sandbox-hubspot-token\n";
  } else if (p.emulator == "braze") {
    y += "    type: braze\n    base_url: \"${SANDBOX}\"\n    api_key: sandbox-braze-key\n";
  } else {
    y += "    type: salesforce\n    login_url: \"${SANDBOX}\"\n"
         "    auth: { flow: client_credentials, client_id: sandbox-client, "
         "client_secret: sandbox-secret }\n";
  }
  y += "    rate_limit: { requests: " + std::to_string(k.rate_requests) + ", per: " + k.rate_per +
       " }\n";
  y += "    max_concurrency: " + std::to_string(k.max_concurrency) + "\n";
  if (k.batch_size > 0) y += "    batch_size: " + std::to_string(k.batch_size) + "\n";
  y += "    retry: { max_attempts: " + std::to_string(k.max_attempts) +
       ", initial_backoff: " + k.initial_backoff + ", max_backoff: " + k.max_backoff + " }\n";
  return y;
}

// A syncs: block entry named `sync` over `table` into `p` (indented two spaces).
inline std::string SyncYaml(const Profile& p, const Knobs& k, const std::string& sync = "people",
                            const std::string& table = "analytics.people") {
  std::string y = "  " + sync + ":\n";
  y += "    moment: \"Resilience: every row exactly once\"\n";
  y += "    destination: " + p.destination + "\n";
  y += "    object: " + p.object_type + "\n";
  y += "    model: { table: " + table + " }\n";
  y += "    primary_key: user_id\n";
  if (p.emulator == "hubspot") {
    y += "    match: { id_property: warehouse_id }\n";
    y += "    fields: { warehouse_id: user_id, email: email, lead_score: score }\n";
  } else if (p.emulator == "braze") {
    y += "    fields: { email: email, lead_score: score }\n";
  } else {
    y += "    match: { external_id_field: ExternalId__c }\n";
    y += "    fields: { Email: email, Score__c: score }\n";
  }
  y += "    max_change_share: 100%\n";
  if (!k.schedule.empty()) y += "    schedule: " + k.schedule + "\n";
  return y;
}

// A whole config: the warehouse (${DSN}), one destination, one sync named "people".
inline std::string ConfigYaml(const Profile& p, const Knobs& k) {
  return "warehouse:\n  dsn: \"${DSN}\"\nobservability:\n  log_format: json\n"
         "destinations:\n" + DestinationYaml(p, k) + "syncs:\n" + SyncYaml(p, k);
}

// A JSON scalar as the text a warehouse integer would have ("87" for 87, "87" or 87.0).
inline std::string ToText(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<long long>());
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (d == static_cast<double>(static_cast<long long>(d)))
      return std::to_string(static_cast<long long>(d));
    return v.dump();
  }
  if (v.is_null()) return "";
  return v.dump();
}

struct Stored {
  std::string destination_id;
  std::string score;
  int copies = 0;
};

// The emulator's records by warehouse_id. `copies` > 1 means a duplicate record.
inline std::map<std::string, Stored> ParseRecords(const std::string& emulator,
                                                  const json& records) {
  std::map<std::string, Stored> out;
  auto add = [&out](const std::string& wid, const std::string& id, const json& score) {
    Stored& s = out[wid];
    s.copies++;
    s.destination_id = id;
    s.score = ToText(score);
  };
  if (emulator == "hubspot") {
    if (!records.contains("contacts")) return out;
    for (const json& o : records["contacts"]) {
      const json& props = o["properties"];
      add(props.value("warehouse_id", std::string()), ToText(o["id"]),
          props.contains("lead_score") ? props["lead_score"] : json());
    }
  } else if (emulator == "braze") {
    for (const auto& [external_id, attrs] : records.items())
      add(external_id, external_id, attrs.contains("lead_score") ? attrs["lead_score"] : json());
  } else {
    if (!records.contains("Lead")) return out;
    for (const json& o : records["Lead"])
      add(o.value("ExternalId__c", std::string()), o.value("Id", std::string()),
          o.contains("Score__c") ? o["Score__c"] : json());
  }
  return out;
}

// analytics.people: user_id 'user_1'..'user_N', score = i % 100.
inline void SeedPeople(const testing::TestDatabase& db, int n,
                       const std::string& table = "analytics.people") {
  db.Exec("CREATE SCHEMA IF NOT EXISTS analytics; CREATE TABLE " + table +
          " (user_id text PRIMARY KEY, email text, score int, "
          "updated_at timestamptz NOT NULL DEFAULT now());"
          "INSERT INTO " + table + " SELECT 'user_' || i, 'u' || i || '@example.com', i % 100, "
          "now() - interval '2 hours' FROM generate_series(1, " + std::to_string(n) + ") i;");
}

// Rows of a two-column query as a map (first column -> second, NULL as "").
inline std::map<std::string, std::string> QueryMap(const std::string& dsn,
                                                   const std::string& sql) {
  std::map<std::string, std::string> out;
  pqxx::connection c(dsn);
  pqxx::nontransaction tx(c);
  for (const auto& row : tx.exec(sql))
    out[row[0].c_str()] = row[1].is_null() ? "" : row[1].c_str();
  return out;
}

// The whole promise, checked: the emulator holds exactly the model's rows, each once,
// each with the model's current score, and id_mappings names the same destination ids.
// `where` goes into every failure message (seed, destination, run).
inline void ExpectExactlyOnce(const testing::TestDatabase& db, const Profile& p,
                              const json& records, const std::string& where,
                              const std::string& table = "analytics.people",
                              const std::string& state_schema = "backflow") {
  const auto model = QueryMap(db.dsn(), "SELECT user_id, score::text FROM " + table);
  const auto stored = ParseRecords(p.emulator, records);
  const auto mappings = QueryMap(
      db.dsn(), "SELECT warehouse_id, destination_id FROM " + state_schema +
                    ".id_mappings WHERE destination_system = '" + p.destination +
                    "' AND object_type = '" + p.object_type + "' AND sync_status = 'success'");
  size_t total = 0;
  for (const auto& [wid, s] : stored) total += static_cast<size_t>(s.copies);
  EXPECT_EQ(total, model.size()) << where << ": records in " << p.emulator;
  EXPECT_EQ(stored.size(), model.size()) << where << ": distinct warehouse ids in " << p.emulator;
  EXPECT_EQ(mappings.size(), model.size()) << where << ": successful id_mappings rows";
  int missing = 0, duplicated = 0, stale = 0, mismatched = 0;
  std::string example;
  for (const auto& [wid, score] : model) {
    auto s = stored.find(wid);
    if (s == stored.end()) {
      if (missing++ == 0) example += " missing:" + wid;
      continue;
    }
    if (s->second.copies != 1 && duplicated++ == 0) example += " duplicated:" + wid;
    if (s->second.score != score && stale++ == 0)
      example += " stale:" + wid + "(" + s->second.score + "!=" + score + ")";
    auto m = mappings.find(wid);
    if ((m == mappings.end() || m->second != s->second.destination_id) && mismatched++ == 0)
      example += " mapping:" + wid;
  }
  EXPECT_EQ(missing, 0) << where << example;
  EXPECT_EQ(duplicated, 0) << where << example;
  EXPECT_EQ(stale, 0) << where << example;
  EXPECT_EQ(mismatched, 0) << where << example;
}

}  // namespace backflow::resilience
