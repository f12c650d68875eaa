// The sandbox core (faults, hidden rate limit, request log, admin API), exercised
// through the HubSpot emulator.
#include <gtest/gtest.h>

#include <cstdlib>
#include <sys/wait.h>

#include "destinations/hubspot/emulator_test_util.h"

namespace backflow::hubspot {
namespace {

using nlohmann::json;
using sandbox::FaultSpec;
using sandbox::ScriptedAnswer;
using SandboxFaultsTest = testing::SandboxTest;

FaultSpec Spec(const json& j) { return FaultSpec::FromJson(j); }

TEST_F(SandboxFaultsTest, ScriptedAnswersComeFirstAndInOrder) {
  sandbox_->SetFaults("hubspot", Spec({{"script",
                                        {{{"status", 503}, {"body", "busy"},
                                          {"headers", {{"Retry-After", "2"}}}},
                                         {{"status", 502}, {"apply_first", true}}}}}));
  auto first = Upsert({Input("u1", json::object())});
  EXPECT_EQ(first->status, 503);
  EXPECT_EQ(first->body, "busy");
  EXPECT_EQ(first->get_header_value("Retry-After"), "2");
  EXPECT_TRUE(Contacts().empty());  // not applied

  EXPECT_EQ(Upsert({Input("u2", json::object())})->status, 502);
  EXPECT_EQ(Contacts().size(), 1u);  // apply_first: applied, then answered 502

  EXPECT_EQ(Upsert({Input("u3", json::object())})->status, 200);
  EXPECT_EQ(sandbox_->WriteRequests("hubspot"), 3);
  EXPECT_EQ(sandbox_->Requests("hubspot", 503), 1);
}

TEST_F(SandboxFaultsTest, FailStatusAnswersBeforeApplying) {
  sandbox_->SetFaults("hubspot", Spec({{"fail_status", {{"503", 1.0}}}}));
  EXPECT_EQ(Upsert({Input("u1", json::object())})->status, 503);
  EXPECT_TRUE(Contacts().empty());
  EXPECT_EQ(sandbox_->Requests("hubspot", 503), 1);
}

TEST_F(SandboxFaultsTest, ApplyThenFailApplies) {
  sandbox_->SetFaults("hubspot", Spec({{"apply_then_fail", 1.0}}));
  EXPECT_EQ(Upsert({Input("u1", json::object())})->status, 500);
  EXPECT_EQ(Contacts().size(), 1u);
}

TEST_F(SandboxFaultsTest, FaultsSkipReads) {
  sandbox_->SetFaults("hubspot", Spec({{"fail_status", {{"500", 1.0}}}}));
  auto res = client_->Get("/crm/v3/objects/contacts/1001",
                          {{"Authorization", "Bearer sandbox-hubspot-token"}});
  EXPECT_EQ(res->status, 404);  // the real answer, no fault
}

TEST_F(SandboxFaultsTest, HiddenRateLimitAnswersTheApisOwn429) {
  sandbox_->SetFaults("hubspot", Spec({{"hidden_rate_limit", {{"requests", 2}, {"per_ms", 1000}}}}));
  EXPECT_EQ(Upsert({Input("u1", json::object())})->status, 200);
  EXPECT_EQ(Upsert({Input("u2", json::object())})->status, 200);
  auto limited = Upsert({Input("u3", json::object())});
  ASSERT_EQ(limited->status, 429);
  json body = json::parse(limited->body);
  EXPECT_EQ(body["policyName"], "TEN_SECONDLY_ROLLING");
  EXPECT_EQ(body["message"], "You have reached your ten_secondly_rolling limit.");
  EXPECT_EQ(limited->get_header_value("X-HubSpot-RateLimit-Remaining"), "0");
  EXPECT_EQ(Contacts().size(), 2u);
  clock_.Advance(std::chrono::milliseconds(1000));
  EXPECT_EQ(Upsert({Input("u3", json::object())})->status, 200);
}

TEST_F(SandboxFaultsTest, DropAppliesThenBreaksTheConnection) {
  sandbox_->SetFaults("hubspot", Spec({{"drop", 1.0}}));
  auto res = Upsert({Input("u1", json::object())});
  EXPECT_FALSE(res);  // httplib saw no complete answer
  // libcurl (through the curl tool) reports a transfer error, e.g. 18 PARTIAL_FILE.
  std::string cmd = "curl -s -o /dev/null -X POST -H 'Authorization: Bearer sandbox-hubspot-token' "
                    "-d '{\"inputs\":[{\"id\":\"u2\",\"idProperty\":\"warehouse_id\"}]}' " +
                    sandbox_->base_url() + "/crm/v3/objects/contacts/batch/upsert";
  int rc = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(rc));
  int code = WEXITSTATUS(rc);
  EXPECT_TRUE(code == 18 || code == 52 || code == 56) << "curl exit " << code;
  EXPECT_EQ(Contacts().size(), 2u);  // both were applied
  json log = sandbox_->RequestLog("hubspot");
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0]["fault"], "drop");
  EXPECT_EQ(log[0]["status"], 0);
}

TEST_F(SandboxFaultsTest, LatencyUsesTheClock) {
  sandbox_->SetFaults("hubspot", Spec({{"latency_ms", 250}}));
  EXPECT_EQ(Upsert({Input("u1", json::object())})->status, 200);
  EXPECT_GE(clock_.slept(), std::chrono::milliseconds(250));
}

TEST_F(SandboxFaultsTest, SeededFaultsRepeat) {
  auto pattern = [&] {
    sandbox_->Reset();
    sandbox_->SetFaults("hubspot", Spec({{"fail_status", {{"503", 0.5}}}, {"seed", 42}}));
    std::string seen;
    for (int i = 0; i < 40; ++i)
      seen += Upsert({Input("u" + std::to_string(i), json::object())})->status == 503 ? 'x' : '.';
    return seen;
  };
  std::string a = pattern();
  EXPECT_EQ(a, pattern());
  EXPECT_NE(a.find('x'), std::string::npos);
  EXPECT_NE(a.find('.'), std::string::npos);
}

TEST_F(SandboxFaultsTest, RequestLogRecordsEachCall) {
  ASSERT_EQ(Upsert({Input("u1", json::object())})->status, 200);
  json log = sandbox_->RequestLog("hubspot");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["method"], "POST");
  EXPECT_EQ(log[0]["path"], "/crm/v3/objects/contacts/batch/upsert");
  EXPECT_EQ(log[0]["status"], 200);
  EXPECT_GT(log[0]["request_bytes"].get<long long>(), 10);
  EXPECT_TRUE(log[0].contains("at"));
}

TEST_F(SandboxFaultsTest, AdminApi) {
  ASSERT_EQ(Upsert({Input("u1", {{"a", "1"}})})->status, 200);
  auto records = client_->Get("/_admin/hubspot/records");
  ASSERT_EQ(records->status, 200);
  EXPECT_EQ(json::parse(records->body)["contacts"][0]["properties"]["a"], "1");

  auto requests = client_->Get("/_admin/hubspot/requests");
  ASSERT_EQ(requests->status, 200);
  EXPECT_EQ(json::parse(requests->body).size(), 1u);

  auto counters = json::parse(client_->Get("/_admin/hubspot/counters")->body);
  EXPECT_EQ(counters["requests"], 1);
  EXPECT_EQ(counters["writes"], 1);
  EXPECT_EQ(counters["status"]["200"], 1);

  auto set = client_->Post("/_admin/hubspot/faults", R"({"fail_status":{"503":1}})",
                           "application/json");
  ASSERT_EQ(set->status, 200);
  EXPECT_EQ(Upsert({Input("u2", json::object())})->status, 503);
  EXPECT_EQ(client_->Post("/_admin/hubspot/faults", R"({"nonsense":1})", "application/json")->status,
            400);
  EXPECT_EQ(client_->Post("/_admin/hubspot/faults", "{", "application/json")->status, 400);
  EXPECT_EQ(client_->Get("/_admin/nobody/records")->status, 404);

  ASSERT_EQ(client_->Post("/_admin/reset", "", "application/json")->status, 200);
  EXPECT_TRUE(Contacts().empty());
  EXPECT_EQ(sandbox_->Requests("hubspot"), 0);
  EXPECT_EQ(Upsert({Input("u3", json::object())})->status, 200);  // faults were forgotten
  EXPECT_EQ(json::parse(Upsert({Input("u4", json::object())})->body)["results"][0]["id"], "1002");
}

TEST(FaultSpecJson, RoundTripsAndRefusesMalformed) {
  json j = {{"fail_status", {{"503", 0.25}}}, {"apply_then_fail", 0.1}, {"drop", 0.05},
            {"latency_ms", 20}, {"hidden_rate_limit", {{"requests", 10}, {"per_ms", 1000}}},
            {"script", {{{"status", 429}, {"headers", {{"Retry-After", "1"}}}, {"body", "x"},
                         {"apply_first", false}}}},
            {"seed", 9}};
  FaultSpec spec = FaultSpec::FromJson(j);
  EXPECT_EQ(spec.fail_status.at(503), 0.25);
  EXPECT_EQ(spec.latency, std::chrono::milliseconds(20));
  ASSERT_TRUE(spec.hidden_rate_limit.has_value());
  EXPECT_EQ(spec.hidden_rate_limit->first, 10);
  ASSERT_EQ(spec.script.size(), 1u);
  EXPECT_EQ(spec.script[0].status, 429);
  EXPECT_EQ(spec.seed, 9u);
  EXPECT_EQ(FaultSpec::FromJson(spec.ToJson()).ToJson(), spec.ToJson());

  EXPECT_THROW(FaultSpec::FromJson({{"drop", 2.0}}), std::exception);
  EXPECT_THROW(FaultSpec::FromJson({{"fail_status", {{"abc", 0.1}}}}), std::exception);
  EXPECT_THROW(FaultSpec::FromJson({{"unknown", 1}}), std::exception);
  EXPECT_THROW(FaultSpec::FromJson(json::array()), std::exception);
}

}  // namespace
}  // namespace backflow::hubspot
