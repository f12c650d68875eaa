#include "observability/status_format.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>
#include <vector>

#include "sample_data.h"

namespace backflow {
namespace {

using testing::SampleDashboard;

std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

TEST(StatusFormat, TableIsAlignedAndPlainWithoutATty) {
  const std::string out = FormatStatusTable(SampleDashboard());
  EXPECT_EQ(out.find('\033'), std::string::npos);
  auto lines = SplitLines(out);
  // The runs table of lead_scores: header + 2 runs; right-aligned numbers end together.
  std::vector<std::string> table;
  bool in_sync = false, in_table = false;
  for (const auto& l : lines) {
    if (l.rfind("lead_scores ->", 0) == 0) in_sync = true;
    if (in_sync && l.find("  RUN ") == 0) in_table = true;
    if (in_table && l.empty()) break;
    if (in_table) table.push_back(l);
  }
  ASSERT_GE(table.size(), 3u) << out;
  for (const auto& l : table) EXPECT_EQ(l.size(), table[0].size()) << "\n" << out;
  const size_t status_col = table[0].find("STATUS");
  EXPECT_EQ(table[1].find("partial"), status_col);
  EXPECT_EQ(table[2].find("succeeded"), status_col);
  EXPECT_NE(table[1].find("5,000"), std::string::npos);
  EXPECT_NE(table[1].find("4,980"), std::string::npos);
  EXPECT_EQ(table[1].find("4,980") + 5, table[0].find("SUCCEEDED") + 9);  // right-aligned

  EXPECT_NE(out.find("lead_scores -> sfdc (Salesforce Lead)"), std::string::npos);
  EXPECT_NE(out.find("  next run:    2024-05-01T10:15:00Z"), std::string::npos);
  EXPECT_NE(out.find("  retry queue: 18 pending, 2 dead"), std::string::npos);
  EXPECT_NE(out.find("top failure reasons:"), std::string::npos);
  EXPECT_NE(out.find("       15  INVALID_EMAIL_ADDRESS   u_17\n"), std::string::npos) << out;
  EXPECT_NE(out.find("why:         900 of 1,000 rows broke the contract"), std::string::npos);
  EXPECT_NE(out.find("next run:    not scheduled"), std::string::npos);
  for (const auto& l : lines) EXPECT_TRUE(l.empty() || l.back() != ' ') << "[" << l << "]";
}

TEST(StatusFormat, ColoursOnlyOnATtyAndKeepsAlignment) {
  StatusFormatOptions o;
  o.tty = true;
  const std::string coloured = FormatStatusTable(SampleDashboard(), o);
  EXPECT_NE(coloured.find("\033[33mpartial\033[0m"), std::string::npos);
  EXPECT_NE(coloured.find("\033[31mblocked\033[0m"), std::string::npos);
  // Without the escapes it is the plain output.
  std::string stripped;
  for (size_t i = 0; i < coloured.size(); ++i) {
    if (coloured[i] == '\033') {
      while (i < coloured.size() && coloured[i] != 'm') ++i;
      continue;
    }
    stripped += coloured[i];
  }
  EXPECT_EQ(stripped, FormatStatusTable(SampleDashboard()));
}

TEST(StatusFormat, JsonParsesAndMatchesTheInput) {
  const DashboardData data = SampleDashboard();
  const auto j = nlohmann::json::parse(FormatStatusJson(data));
  ASSERT_EQ(j["syncs"].size(), 2u);
  const auto& churn = j["syncs"][0];
  EXPECT_EQ(churn["name"], "churn_risk");
  EXPECT_EQ(churn["destination_paused"], true);
  EXPECT_EQ(churn["runs"][0]["status"], "blocked");
  EXPECT_EQ(churn["runs"][0]["message"], data.destinations[0].syncs[0].recent_runs[0].message);
  EXPECT_TRUE(churn["next_run"].is_null());
  const auto& leads = j["syncs"][1];
  EXPECT_EQ(leads["name"], "lead_scores");
  EXPECT_EQ(leads["destination"], "sfdc");
  EXPECT_EQ(leads["destination_type"], "salesforce");
  EXPECT_EQ(leads["moment"], "Route high-intent leads to the enterprise queue");
  EXPECT_EQ(leads["next_run"], "2024-05-01T10:15:00Z");
  EXPECT_EQ(leads["retry_queue"]["pending"], 18);
  EXPECT_EQ(leads["retry_queue"]["dead"], 2);
  ASSERT_EQ(leads["runs"].size(), 2u);
  EXPECT_EQ(leads["runs"][0]["run_id"], 42);
  EXPECT_EQ(leads["runs"][0]["started_at"], "2024-05-01T10:00:00Z");
  EXPECT_EQ(leads["runs"][0]["finished_at"], "2024-05-01T10:01:00Z");
  EXPECT_EQ(leads["runs"][0]["rows_attempted"], 5000);
  EXPECT_EQ(leads["runs"][0]["rows_succeeded"], 4980);
  EXPECT_EQ(leads["runs"][0]["rows_failed"], 20);
  EXPECT_EQ(leads["runs"][0]["rows_rejected"], 3);
  EXPECT_TRUE(leads["runs"][1]["finished_at"].is_null());
  ASSERT_EQ(leads["top_failures"].size(), 2u);
  EXPECT_EQ(leads["top_failures"][0]["reason"], "INVALID_EMAIL_ADDRESS");
  EXPECT_EQ(leads["top_failures"][0]["count"], 15);
  EXPECT_EQ(leads["top_failures"][0]["example_warehouse_id"], "u_17");
  EXPECT_FALSE(leads["top_failures"][1].contains("example_warehouse_id"));
}

TEST(StatusFormat, NoSyncs) {
  EXPECT_EQ(FormatStatusTable(DashboardData{}), "No syncs are configured.\n");
}

}  // namespace
}  // namespace backflow
