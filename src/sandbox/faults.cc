// FaultSpec <-> JSON.
#include <set>
#include <stdexcept>

#include "sandbox/sandbox.h"

namespace backflow::sandbox {
namespace {

using nlohmann::json;

void RefuseUnknown(const json& j, const std::set<std::string>& known, const std::string& where) {
  if (!j.is_object()) throw std::invalid_argument(where + " must be a JSON object");
  for (const auto& [k, v] : j.items())
    if (!known.count(k)) throw std::invalid_argument("unknown key " + where + "." + k);
}

double Probability(const json& v, const std::string& what) {
  if (!v.is_number()) throw std::invalid_argument(what + " must be a number");
  double p = v.get<double>();
  if (p < 0 || p > 1) throw std::invalid_argument(what + " must be within 0..1");
  return p;
}

long long NonNegative(const json& v, const std::string& what) {
  if (!v.is_number_integer() || v.get<long long>() < 0)
    throw std::invalid_argument(what + " must be a whole number >= 0");
  return v.get<long long>();
}

ScriptedAnswer AnswerFromJson(const json& j) {
  RefuseUnknown(j, {"status", "headers", "body", "apply_first"}, "script[]");
  ScriptedAnswer a;
  if (j.contains("status")) a.status = static_cast<int>(NonNegative(j["status"], "script[].status"));
  if (j.contains("headers")) {
    const json& h = j["headers"];
    if (h.is_object()) {
      for (const auto& [k, v] : h.items()) a.headers.emplace_back(k, v.get<std::string>());
    } else if (h.is_array()) {
      for (const json& pair : h) a.headers.emplace_back(pair.at(0).get<std::string>(),
                                                        pair.at(1).get<std::string>());
    } else {
      throw std::invalid_argument("script[].headers must be an object or a list of pairs");
    }
  }
  if (j.contains("body")) a.body = j["body"].is_string() ? j["body"].get<std::string>()
                                                         : j["body"].dump();
  if (j.contains("apply_first")) a.apply_first = j["apply_first"].get<bool>();
  return a;
}

}  // namespace

FaultSpec FaultSpec::FromJson(const json& j) {
  RefuseUnknown(j, {"fail_status", "apply_then_fail", "drop", "latency_ms", "hidden_rate_limit",
                    "script", "seed"}, "faults");
  FaultSpec spec;
  if (j.contains("fail_status")) {
    if (!j["fail_status"].is_object()) throw std::invalid_argument("fail_status must be an object");
    for (const auto& [k, v] : j["fail_status"].items()) {
      size_t used = 0;
      int status = std::stoi(k, &used);
      if (used != k.size() || status < 100 || status > 599)
        throw std::invalid_argument("fail_status keys must be HTTP statuses");
      spec.fail_status[status] = Probability(v, "fail_status." + k);
    }
  }
  if (j.contains("apply_then_fail")) spec.apply_then_fail = Probability(j["apply_then_fail"], "apply_then_fail");
  if (j.contains("drop")) spec.drop = Probability(j["drop"], "drop");
  if (j.contains("latency_ms")) spec.latency = Millis(NonNegative(j["latency_ms"], "latency_ms"));
  if (j.contains("hidden_rate_limit") && !j["hidden_rate_limit"].is_null()) {
    const json& h = j["hidden_rate_limit"];
    RefuseUnknown(h, {"requests", "per_ms"}, "hidden_rate_limit");
    long long requests = NonNegative(h.at("requests"), "hidden_rate_limit.requests");
    long long per = NonNegative(h.at("per_ms"), "hidden_rate_limit.per_ms");
    if (per == 0) throw std::invalid_argument("hidden_rate_limit.per_ms must be > 0");
    spec.hidden_rate_limit = std::make_pair(requests, Millis(per));
  }
  if (j.contains("script")) {
    if (!j["script"].is_array()) throw std::invalid_argument("script must be a list");
    for (const json& a : j["script"]) spec.script.push_back(AnswerFromJson(a));
  }
  if (j.contains("seed")) spec.seed = static_cast<uint64_t>(NonNegative(j["seed"], "seed"));
  return spec;
}

json FaultSpec::ToJson() const {
  json j;
  j["fail_status"] = json::object();
  for (const auto& [status, p] : fail_status) j["fail_status"][std::to_string(status)] = p;
  j["apply_then_fail"] = apply_then_fail;
  j["drop"] = drop;
  j["latency_ms"] = latency.count();
  if (hidden_rate_limit)
    j["hidden_rate_limit"] = {{"requests", hidden_rate_limit->first},
                              {"per_ms", hidden_rate_limit->second.count()}};
  j["script"] = json::array();
  for (const ScriptedAnswer& a : script) {
    json h = json::object();
    for (const auto& [k, v] : a.headers) h[k] = v;
    j["script"].push_back({{"status", a.status}, {"headers", h}, {"body", a.body},
                           {"apply_first", a.apply_first}});
  }
  j["seed"] = seed;
  return j;
}

}  // namespace backflow::sandbox
