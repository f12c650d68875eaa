#include "observability/dashboard.h"

#include <gtest/gtest.h>

#include "sample_data.h"

namespace backflow {
namespace {

using testing::SampleDashboard;

TEST(Dashboard, ShowsTheFiguresInPlainWords) {
  const std::string html = RenderDashboard(SampleDashboard());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("Route high-intent leads to the enterprise queue"), std::string::npos);
  EXPECT_NE(html.find("Leads sent to Salesforce: <strong>4,980 of 5,000</strong> delivered."),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("INVALID_EMAIL_ADDRESS"), std::string::npos);
  EXPECT_NE(html.find(">15<"), std::string::npos);
  EXPECT_NE(html.find("u_17"), std::string::npos);
  EXPECT_NE(html.find("18 records waiting to be retried, 2 given up"), std::string::npos);
  EXPECT_NE(html.find("Records changed: 5,000"), std::string::npos);
  EXPECT_NE(html.find("Some records failed"), std::string::npos);
  EXPECT_NE(html.find("s-partial"), std::string::npos);
  EXPECT_NE(html.find("2024-05-01 10:00 UTC (5 min ago)"), std::string::npos);
  EXPECT_NE(html.find("Next run 2024-05-01 10:15 UTC (in 10 min)"), std::string::npos);
  // Blocked runs say why; paused destinations say so.
  EXPECT_NE(html.find("Blocked: nothing was sent in the last run."), std::string::npos);
  EXPECT_NE(html.find("900 of 1,000 rows broke the contract; max_invalid is 1%."),
            std::string::npos);
  EXPECT_NE(html.find("s-blocked"), std::string::npos);
  EXPECT_NE(html.find("Sending to Braze is paused: rate limit: 3,000 requests per 3s"),
            std::string::npos);
}

TEST(Dashboard, ChartHasOneAttemptedAndOneDeliveredBarPerRun) {
  const std::string html = RenderDashboard(SampleDashboard());
  EXPECT_NE(html.find("<svg"), std::string::npos);
  size_t bars = 0;
  for (size_t p = html.find("<rect"); p != std::string::npos; p = html.find("<rect", p + 1)) ++bars;
  EXPECT_EQ(bars, 2u * 3u);  // 2 runs of lead_scores + 1 of churn_risk
  EXPECT_NE(html.find("5,000 attempted, 4,980 delivered"), std::string::npos);
}

TEST(Dashboard, IsSelfContained) {
  const std::string html = RenderDashboard(SampleDashboard());
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_NE(html.find("<style>"), std::string::npos);
}

TEST(Dashboard, EscapesEverythingFromTheData) {
  DashboardData d = SampleDashboard();
  SyncView& s = d.destinations[1].syncs[0];
  s.moment = "<script>alert('x')</script> & \"friends\"";
  s.top_failures = {{"<img src=x onerror=alert(1)>", 1, "<b>id</b>"}};
  s.name = "a<b";
  d.destinations[0].paused_reason = "</div><script>";
  const std::string html = RenderDashboard(d);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<b>id</b>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;friends&quot;"),
            std::string::npos);
  EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_NE(html.find("a&lt;b"), std::string::npos);
}

TEST(Dashboard, PlainNames) {
  EXPECT_EQ(ObjectDisplayName("Lead"), "Leads");
  EXPECT_EQ(ObjectDisplayName("contacts"), "Contacts");
  EXPECT_EQ(ObjectDisplayName("Account_Score__c"), "Account Scores");
  EXPECT_EQ(DestinationDisplayName("hubspot"), "HubSpot");
  EXPECT_EQ(FormatCount(1234567), "1,234,567");
  EXPECT_EQ(FormatCount(999), "999");
  EXPECT_EQ(FormatCount(0), "0");
  EXPECT_EQ(FormatWallTime(testing::At(1714557600)), "2024-05-01T10:00:00Z");
}

TEST(Dashboard, SyncWithoutRunsSaysSo) {
  DashboardData d;
  d.generated_at = testing::At(1714557600);
  DestinationView h{"hubspot", "hubspot", false, "", {}};
  SyncView s;
  s.name = "contacts_ltv";
  s.moment = "Suppress low-LTV contacts from paid campaigns";
  s.object = "contacts";
  h.syncs.push_back(s);
  d.destinations.push_back(h);
  const std::string html = RenderDashboard(d);
  EXPECT_NE(html.find("Contacts sent to HubSpot: no runs yet."), std::string::npos);
  EXPECT_EQ(html.find("<svg"), std::string::npos);
}

}  // namespace
}  // namespace backflow
