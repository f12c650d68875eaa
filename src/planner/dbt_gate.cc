#include "planner/dbt_gate.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "planner/contract_values.h"

namespace backflow {
namespace {

using nlohmann::json;

constexpr size_t kMaxMessageChars = 200;

// Reads and parses a JSON file; on failure, *error says why, naming the file.
std::optional<json> ReadJson(const std::filesystem::path& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read " + path.string() + " (missing or unreadable)";
    return std::nullopt;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  json doc = json::parse(buf.str(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    *error = path.string() + " is not a valid JSON document";
    return std::nullopt;
  }
  return doc;
}

std::string StringAt(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

void EvaluateDbtGate(const std::string& run_results_path, const std::string& dbt_model,
                     std::vector<GateFailure>* failures) {
  const std::string model_gate = "dbt:" + dbt_model;
  auto fail = [&](std::string gate, std::string reason) {
    failures->push_back(GateFailure{std::move(gate), std::move(reason)});
  };
  if (dbt_model.empty()) {
    fail("dbt:", "dbt_run_results is set but dbt_model is not");
    return;
  }
  std::string error;
  const std::filesystem::path results_path(run_results_path);
  auto results = ReadJson(results_path, &error);
  if (!results) return fail(model_gate, error);
  const std::filesystem::path manifest_path = results_path.parent_path() / "manifest.json";
  auto manifest = ReadJson(manifest_path, &error);
  if (!manifest) return fail(model_gate, error);

  auto nodes = manifest->find("nodes");
  if (nodes == manifest->end() || !nodes->is_object())
    return fail(model_gate, manifest_path.string() + " has no \"nodes\" object");
  std::set<std::string> model_ids;
  for (auto it = nodes->begin(); it != nodes->end(); ++it) {
    if (!it->is_object()) continue;
    if (StringAt(*it, "resource_type") == "model" && StringAt(*it, "name") == dbt_model)
      model_ids.insert(it.key());
  }
  if (model_ids.empty())
    return fail(model_gate, "model " + dbt_model + " is not in " + manifest_path.string());

  // unique_id -> test name, for the tests that depend on the model.
  std::map<std::string, std::string> tests;
  for (auto it = nodes->begin(); it != nodes->end(); ++it) {
    if (!it->is_object()) continue;
    const std::string type = StringAt(*it, "resource_type");
    if (type != "test" && type != "unit_test") continue;
    auto dep = it->find("depends_on");
    if (dep == it->end() || !dep->is_object()) continue;
    auto dep_nodes = dep->find("nodes");
    if (dep_nodes == dep->end() || !dep_nodes->is_array()) continue;
    for (const auto& d : *dep_nodes) {
      if (d.is_string() && model_ids.count(d.get<std::string>())) {
        std::string name = StringAt(*it, "name");
        tests[it.key()] = name.empty() ? it.key() : name;
        break;
      }
    }
  }
  if (tests.empty()) return;  // no tests on the model: nothing to gate on

  auto list = results->find("results");
  if (list == results->end() || !list->is_array())
    return fail(model_gate, results_path.string() + " has no \"results\" array");
  std::set<std::string> seen;
  std::vector<GateFailure> found;
  for (const auto& r : *list) {
    if (!r.is_object()) continue;
    const std::string id = StringAt(r, "unique_id");
    auto test = tests.find(id);
    if (test == tests.end()) continue;
    seen.insert(id);
    const std::string status = StringAt(r, "status");
    if (status == "pass" || status == "success" || status == "warn") continue;
    std::string message = StringAt(r, "message");
    std::string reason = "status " + (status.empty() ? std::string("unknown") : status);
    if (!message.empty()) reason += ": " + contract::TruncateUtf8(message, kMaxMessageChars);
    found.push_back(GateFailure{"dbt:" + test->second, std::move(reason)});
  }
  if (seen.empty()) {
    return fail(model_gate, "no dbt test results for model " + dbt_model + " in " +
                                results_path.string() + " (" + std::to_string(tests.size()) +
                                " tests expected)");
  }
  for (auto& f : found) failures->push_back(std::move(f));
  for (const auto& [id, name] : tests)
    if (!seen.count(id))
      fail("dbt:" + name, "no result in " + results_path.string() + " (the test was not run)");
}

}  // namespace backflow
