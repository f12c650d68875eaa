// The Salesforce emulator's stores (internal to emulator*.cc).
#pragma once

#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "destinations/salesforce/csv.h"
#include "destinations/salesforce/emulator.h"

namespace backflow::salesforce {

struct SalesforceEmulator::Options {
  std::string client_id = "sandbox-client";
  std::string client_secret = "sandbox-secret";
  std::string refresh_token = "sandbox-refresh";
  std::string username = "integration@example.com";
  std::string public_key_pem;
  std::chrono::seconds token_ttl{7200};
  long long daily_limit = 100000;
  std::map<std::string, std::set<std::string>> rejected_fields;  // by sObject
  size_t max_upload_bytes = 100u * 1024 * 1024;
  uint64_t seed = 1;
};

struct SalesforceEmulator::Job {
  std::string id;
  std::string object;
  std::string operation;        // insert | upsert | update
  std::string external_id_field;
  std::string state = "Open";
  std::vector<std::string> uploads;  // raw CSV documents
  long long processed = 0;
  long long failed = 0;
  std::string error_message;
  CsvRow successful_header, failed_header;
  std::vector<CsvRow> successful, failed_rows;  // already shuffled
  int number = 0;
};

struct SalesforceEmulator::Store {
  // Hashed: a composite upsert looks up 200 records under the emulator's lock. Records()
  // sorts by Id, the order the admin API has always listed records in.
  struct Object {
    using ById = std::unordered_map<std::string, nlohmann::json>;
    ById by_id;  // Id -> fields (with "Id")
    // external id field -> value -> its record in by_id (which never drops one, and a node's
    // address is stable).
    std::map<std::string, std::unordered_map<std::string, ById::value_type*>> by_external;
  };
  std::map<std::string, Object> objects;  // by sObject
  std::map<std::string, SteadyTime> tokens;  // -> expiry
  std::map<std::string, Job> jobs;
  long long api_used = 0;
  long long tokens_issued = 0;
  int jobs_created = 0;
};

// A Salesforce-shaped 18-character Id: the object's key prefix, then 15 characters
// derived from `seed_text` (stable: the same record always gets the same Id).
std::string EmulatorRecordId(const std::string& object, const std::string& seed_text);

// The error {"statusCode","message","fields"} Salesforce gives a record with these fields,
// or null when it takes them; `rejected`: the fields the object refuses (nullptr: none).
nlohmann::json CheckRecordFields(const std::string& object, const nlohmann::json& fields,
                                 const std::set<std::string>* rejected);

// [{"message": message, "errorCode": code}]
nlohmann::json ErrorArray(const std::string& code, const std::string& message);

}  // namespace backflow::salesforce
