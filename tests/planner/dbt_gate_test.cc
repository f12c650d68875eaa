// The dbt gate, on run_results.json + manifest.json written by the test.
#include "planner/dbt_gate.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace backflow {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class DbtGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("bf_dbt_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // Two models; lead_scores has two tests, accounts one.
    manifest_ = {{"metadata", {{"dbt_version", "1.7.0"}}},
                 {"nodes",
                  {{"model.shop.lead_scores", {{"resource_type", "model"}, {"name", "lead_scores"}}},
                   {"model.shop.accounts", {{"resource_type", "model"}, {"name", "accounts"}}},
                   {"test.shop.not_null_lead_scores_email.1a", Test("not_null_lead_scores_email",
                                                                   "model.shop.lead_scores")},
                   {"test.shop.unique_lead_scores_user_id.2b",
                    Test("unique_lead_scores_user_id", "model.shop.lead_scores")},
                   {"test.shop.not_null_accounts_id.3c",
                    Test("not_null_accounts_id", "model.shop.accounts")}}}};
    results_ = {{"metadata", {{"dbt_version", "1.7.0"}}},
                {"results",
                 {Result("model.shop.lead_scores", "success", "SELECT 100"),
                  Result("test.shop.not_null_lead_scores_email.1a", "pass", nullptr),
                  Result("test.shop.unique_lead_scores_user_id.2b", "pass", nullptr),
                  Result("test.shop.not_null_accounts_id.3c", "pass", nullptr)}}};
  }
  void TearDown() override { fs::remove_all(dir_); }

  static json Test(const std::string& name, const std::string& model) {
    return {{"resource_type", "test"}, {"name", name}, {"depends_on", {{"nodes", {model}}}}};
  }
  static json Result(const std::string& id, const std::string& status, json message) {
    return {{"unique_id", id}, {"status", status}, {"message", message}, {"failures", 0}};
  }
  void SetStatus(const std::string& id, const std::string& status, const std::string& msg) {
    for (auto& r : results_["results"])
      if (r["unique_id"] == id) r["status"] = status, r["message"] = msg;
  }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::vector<GateFailure> Evaluate(const std::string& model = "lead_scores") {
    if (!fs::exists(dir_ / "run_results.json")) Write("run_results.json", results_.dump());
    if (!fs::exists(dir_ / "manifest.json")) Write("manifest.json", manifest_.dump());
    std::vector<GateFailure> failures;
    EvaluateDbtGate((dir_ / "run_results.json").string(), model, &failures);
    return failures;
  }

  fs::path dir_;
  json manifest_;
  json results_;
};

TEST_F(DbtGateTest, PassingTestsPass) { EXPECT_TRUE(Evaluate().empty()); }

TEST_F(DbtGateTest, WarnPasses) {
  SetStatus("test.shop.unique_lead_scores_user_id.2b", "warn", "Got 1 result");
  EXPECT_TRUE(Evaluate().empty());
}

TEST_F(DbtGateTest, FailedTestOnTheModelBlocks) {
  SetStatus("test.shop.not_null_lead_scores_email.1a", "fail", "Got 3 results, configured to fail if != 0");
  auto failures = Evaluate();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].gate, "dbt:not_null_lead_scores_email");
  EXPECT_EQ(failures[0].reason, "status fail: Got 3 results, configured to fail if != 0");
}

TEST_F(DbtGateTest, ErroredAndSkippedTestsBlock) {
  SetStatus("test.shop.not_null_lead_scores_email.1a", "error", "relation does not exist");
  SetStatus("test.shop.unique_lead_scores_user_id.2b", "skipped", "");
  auto failures = Evaluate();
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_EQ(failures[0].reason, "status error: relation does not exist");
  EXPECT_EQ(failures[1].gate, "dbt:unique_lead_scores_user_id");
  EXPECT_EQ(failures[1].reason, "status skipped");
}

TEST_F(DbtGateTest, FailedTestOnAnotherModelDoesNotBlock) {
  SetStatus("test.shop.not_null_accounts_id.3c", "fail", "Got 1 result");
  EXPECT_TRUE(Evaluate().empty());
  EXPECT_EQ(Evaluate("accounts").size(), 1u);
}

TEST_F(DbtGateTest, MissingRunResultsFailsNamingTheFile) {
  Write("manifest.json", manifest_.dump());
  std::vector<GateFailure> failures;
  EvaluateDbtGate((dir_ / "run_results.json").string(), "lead_scores", &failures);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].gate, "dbt:lead_scores");
  EXPECT_NE(failures[0].reason.find("run_results.json"), std::string::npos);
  EXPECT_NE(failures[0].reason.find("missing or unreadable"), std::string::npos);
}

TEST_F(DbtGateTest, MissingManifestFails) {
  Write("run_results.json", results_.dump());
  std::vector<GateFailure> failures;
  EvaluateDbtGate((dir_ / "run_results.json").string(), "lead_scores", &failures);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].reason.find("manifest.json"), std::string::npos);
}

TEST_F(DbtGateTest, MalformedJsonFails) {
  Write("run_results.json", "{\"results\": [ {\"unique_id\": ");
  auto failures = Evaluate();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].reason.find("run_results.json is not a valid JSON document"),
            std::string::npos);
}

TEST_F(DbtGateTest, ModelMissingFromManifestFails) {
  auto failures = Evaluate("no_such_model");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].gate, "dbt:no_such_model");
  EXPECT_NE(failures[0].reason.find("not in"), std::string::npos);
}

TEST_F(DbtGateTest, ModelWithoutTestsPasses) {
  manifest_["nodes"]["model.shop.raw_events"] = {{"resource_type", "model"},
                                                 {"name", "raw_events"}};
  EXPECT_TRUE(Evaluate("raw_events").empty());
}

TEST_F(DbtGateTest, AbsentResultsBlock) {
  // dbt ran only the accounts tests: nothing vouches for lead_scores.
  json only = json::array();
  for (auto& r : results_["results"])
    if (r["unique_id"] == "test.shop.not_null_accounts_id.3c") only.push_back(r);
  results_["results"] = only;
  auto failures = Evaluate();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].gate, "dbt:lead_scores");
  EXPECT_NE(failures[0].reason.find("no dbt test results for model lead_scores"),
            std::string::npos);
}

TEST_F(DbtGateTest, OneTestNotRunBlocks) {
  json kept = json::array();
  for (auto& r : results_["results"])
    if (r["unique_id"] != "test.shop.unique_lead_scores_user_id.2b") kept.push_back(r);
  results_["results"] = kept;
  auto failures = Evaluate();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].gate, "dbt:unique_lead_scores_user_id");
  EXPECT_NE(failures[0].reason.find("not run"), std::string::npos);
}

}  // namespace
}  // namespace backflow
