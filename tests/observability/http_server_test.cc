#include "observability/http_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>

#include "observability/dashboard.h"
#include "observability/metrics.h"
#include "sample_data.h"

namespace backflow {
namespace {

class HttpEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    metrics_.rows_total->Add({"lead_scores", "sfdc", "delivered"}, 4980);
    HttpHandlers h;
    h.metrics = [this] { return metrics_.Render(); };
    h.healthy = [this] { return healthy_.load(); };
    h.runs_json = [] { return DashboardJson(testing::SampleDashboard()); };
    h.dashboard_html = [] { return RenderDashboard(testing::SampleDashboard()); };
    endpoint_ = std::make_unique<HttpEndpoint>(std::move(h));
    ASSERT_TRUE(endpoint_->Start("127.0.0.1:0").ok());
    ASSERT_GT(endpoint_->port(), 0);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", endpoint_->port());
  }

  BackflowMetrics metrics_;
  std::atomic<bool> healthy_{true};
  std::unique_ptr<HttpEndpoint> endpoint_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(HttpEndpointTest, ServesMetrics) {
  auto res = client_->Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u);
  EXPECT_NE(res->body.find("# TYPE backflow_rows_total counter"), std::string::npos);
  EXPECT_NE(res->body.find("backflow_rows_total{sync=\"lead_scores\",destination=\"sfdc\","
                           "outcome=\"delivered\"} 4980"),
            std::string::npos);
}

TEST_F(HttpEndpointTest, HealthzFollowsTheCallback) {
  auto ok = client_->Get("/healthz");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(nlohmann::json::parse(ok->body)["status"], "ok");
  healthy_ = false;
  auto bad = client_->Get("/healthz");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 503);
  EXPECT_NE(nlohmann::json::parse(bad->body)["status"], "ok");
  healthy_ = true;
  EXPECT_EQ(client_->Get("/healthz")->status, 200);
}

TEST_F(HttpEndpointTest, ServesRunsJson) {
  auto res = client_->Get("/api/runs");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  auto j = nlohmann::json::parse(res->body);
  EXPECT_EQ(j["syncs"][1]["runs"][0]["rows_succeeded"], 4980);
}

TEST_F(HttpEndpointTest, ServesTheDashboard) {
  auto res = client_->Get("/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type").rfind("text/html", 0), 0u);
  EXPECT_NE(res->body.find("4,980 of 5,000"), std::string::npos);
  EXPECT_NE(res->body.find("Route high-intent leads to the enterprise queue"), std::string::npos);
  EXPECT_EQ(client_->Get("/nope")->status, 404);
}

TEST_F(HttpEndpointTest, StopsAndRefusesABadAddress) {
  endpoint_->Stop();
  EXPECT_FALSE(client_->Get("/healthz"));
  endpoint_->Stop();  // idempotent
  HttpEndpoint other(HttpHandlers{});
  EXPECT_EQ(other.Start("no-port").code(), StatusCode::kInvalidConfig);
  EXPECT_EQ(other.Start("127.0.0.1:99999").code(), StatusCode::kInvalidConfig);
}

TEST(HttpEndpoint, ThrowingOrMissingProvidersAnswer500And503) {
  HttpHandlers h;
  h.metrics = []() -> std::string { throw std::runtime_error("boom"); };
  h.healthy = []() -> bool { throw std::runtime_error("db down"); };
  HttpEndpoint e(std::move(h));
  ASSERT_TRUE(e.Start("127.0.0.1:0").ok());
  httplib::Client c("127.0.0.1", e.port());
  EXPECT_EQ(c.Get("/metrics")->status, 500);
  EXPECT_EQ(c.Get("/healthz")->status, 503);
  EXPECT_EQ(c.Get("/")->status, 500);
  // The port is taken while it runs.
  HttpEndpoint clash(HttpHandlers{});
  EXPECT_EQ(clash.Start("127.0.0.1:" + std::to_string(e.port())).code(), StatusCode::kUnavailable);
}

TEST(ListenAddress, Parses) {
  std::string host;
  int port = 0;
  ASSERT_TRUE(ParseListenAddress("127.0.0.1:9464", &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 9464);
  ASSERT_TRUE(ParseListenAddress("[::1]:80", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(ParseListenAddress(":80", &host, &port));
  EXPECT_FALSE(ParseListenAddress("host:", &host, &port));
  EXPECT_FALSE(ParseListenAddress("host:8x", &host, &port));
}

}  // namespace
}  // namespace backflow
