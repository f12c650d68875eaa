#include "observability/metrics.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

namespace backflow {
namespace {

// The text exposition format, line by line (comments, TYPE, samples).
const std::regex kHelp(R"re(^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$)re");
const std::regex kType(R"re(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)re");
const std::regex kSample(
    R"re(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\\\|\\"|\\n)*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\\\|\\"|\\n)*")*\})? (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|\+Inf|-Inf|NaN)$)re");

// Checks every line; returns the TYPE of each family name.
std::map<std::string, std::string> CheckExposition(const std::string& text) {
  std::map<std::string, std::string> types;
  std::istringstream in(text);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP", 0) == 0) {
      EXPECT_TRUE(std::regex_match(line, kHelp)) << line;
    } else if (line.rfind("# TYPE", 0) == 0) {
      EXPECT_TRUE(std::regex_match(line, m, kType)) << line;
      EXPECT_EQ(types.count(m[1]), 0u) << "TYPE twice: " << line;
      types[m[1]] = m[2];
    } else {
      if (!std::regex_match(line, m, kSample)) {
        ADD_FAILURE() << "not a sample line: " << line;
        continue;
      }
      std::string name = m[1];
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        std::string s = suffix;
        if (!types.count(name) && name.size() > s.size() &&
            name.compare(name.size() - s.size(), s.size(), s) == 0)
          name = name.substr(0, name.size() - s.size());
      }
      EXPECT_TRUE(types.count(name)) << "sample before its TYPE: " << line;
    }
  }
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  return types;
}

TEST(Metrics, BackflowMetricsRenderValidExposition) {
  BackflowMetrics m;
  m.rows_total->Add({"lead_scores", "sfdc", "delivered"}, 4980);
  m.rows_total->Add({"lead_scores", "sfdc", "failed"}, 20);
  m.api_requests_total->Add({"sfdc", "200"});
  m.api_requests_total->Add({"sfdc", "429"});
  m.api_request_duration->Observe({"sfdc"}, 0.042);
  m.api_request_duration->Observe({"sfdc"}, 3.5);
  m.retry_queue_rows->Set({"lead_scores", "pending"}, 20);
  m.rate_limit_wait_seconds->Add({"sfdc"}, 1.25);
  m.retries_total->Add({"sfdc", "rate_limited"});
  m.last_success_timestamp->Set({"lead_scores"}, 1714557600);
  m.runs_total->Add({"lead_scores", "partial"});
  m.destination_paused->Set({"sfdc"}, 1);

  const std::string text = m.Render();
  auto types = CheckExposition(text);
  EXPECT_EQ(types["backflow_rows_total"], "counter");
  EXPECT_EQ(types["backflow_api_requests_total"], "counter");
  EXPECT_EQ(types["backflow_api_request_duration_seconds"], "histogram");
  EXPECT_EQ(types["backflow_retry_queue_rows"], "gauge");
  EXPECT_EQ(types["backflow_rate_limit_wait_seconds_total"], "counter");
  EXPECT_EQ(types["backflow_retries_total"], "counter");
  EXPECT_EQ(types["backflow_last_success_timestamp_seconds"], "gauge");
  EXPECT_EQ(types["backflow_runs_total"], "counter");
  EXPECT_EQ(types["backflow_destination_paused"], "gauge");
  EXPECT_NE(text.find("backflow_rows_total{sync=\"lead_scores\",destination=\"sfdc\","
                      "outcome=\"delivered\"} 4980\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("backflow_rate_limit_wait_seconds_total{destination=\"sfdc\"} 1.25\n"),
            std::string::npos);
  EXPECT_NE(text.find("backflow_last_success_timestamp_seconds{sync=\"lead_scores\"} 1714557600\n"),
            std::string::npos);
}

TEST(Metrics, HistogramBucketsAreCumulativeAndEndWithInf) {
  MetricsRegistry r;
  HistogramFamily* h = r.Histogram("lat_seconds", "Latency.", {"d"}, {0.5, 1, 10});
  for (double v : {0.25, 0.5, 0.75, 2.0, 20.0, 30.0}) h->Observe({"x"}, v);
  auto snap = h->Get({"x"});
  ASSERT_EQ(snap.cumulative.size(), 4u);
  EXPECT_EQ(snap.cumulative[0], 2u);  // 0.25 and 0.5 (le is inclusive)
  EXPECT_EQ(snap.cumulative[1], 3u);
  EXPECT_EQ(snap.cumulative[2], 4u);
  EXPECT_EQ(snap.cumulative[3], 6u);
  EXPECT_EQ(snap.count, 6u);
  EXPECT_DOUBLE_EQ(snap.sum, 53.5);

  const std::string text = r.Render();
  CheckExposition(text);
  std::istringstream in(text);
  std::string line;
  long long prev = -1;
  int buckets = 0;
  std::string last_le;
  const std::regex bucket(R"re(^lat_seconds_bucket\{d="x",le="([^"]+)"\} ([0-9]+)$)re");
  std::smatch m;
  while (std::getline(in, line)) {
    if (!std::regex_match(line, m, bucket)) continue;
    long long v = std::stoll(m[2]);
    EXPECT_GE(v, prev) << line;
    prev = v;
    last_le = m[1];
    ++buckets;
  }
  EXPECT_EQ(buckets, 4);
  EXPECT_EQ(last_le, "+Inf");
  EXPECT_EQ(prev, 6);
  EXPECT_NE(text.find("lat_seconds_count{d=\"x\"} 6\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_sum{d=\"x\"} 53.5\n"), std::string::npos);
}

TEST(Metrics, LabelValuesAreEscaped) {
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  MetricsRegistry r;
  r.Counter("c_total", "Help with \\ and\nnewline.", {"reason"})
      ->Add({"bad \"email\"\\\nnext"}, 2);
  const std::string text = r.Render();
  CheckExposition(text);
  EXPECT_NE(text.find("c_total{reason=\"bad \\\"email\\\"\\\\\\nnext\"} 2\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("# HELP c_total Help with \\\\ and\\nnewline.\n"), std::string::npos);
}

TEST(Metrics, CountersOnlyGoUpAndWrongLabelCountsAreIgnored) {
  MetricsRegistry r;
  CounterFamily* c = r.Counter("c_total", "C.", {"a", "b"});
  c->Add({"x", "y"}, 3);
  c->Add({"x", "y"}, -1);
  c->Add({"x"}, 5);
  EXPECT_EQ(c->Value({"x", "y"}), 3);
  EXPECT_EQ(c->Value({"x"}), 0);
  EXPECT_EQ(r.Counter("c_total", "again", {"a", "b"}), c);
  EXPECT_EQ(r.Gauge("c_total", "wrong type", {}), nullptr);
}

TEST(Metrics, TheGrammarCheckCatchesBadLines) {
  EXPECT_NONFATAL_FAILURE(CheckExposition("# TYPE a counter\na{x=\"un\"escaped\"} 1\n"),
                          "not a sample line");
  EXPECT_NONFATAL_FAILURE(CheckExposition("b 1\n"), "sample before its TYPE");
}

TEST(Metrics, ValuesFormat) {
  EXPECT_EQ(FormatMetricValue(3), "3");
  EXPECT_EQ(FormatMetricValue(0.25), "0.25");
  EXPECT_EQ(FormatMetricValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(FormatMetricValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(FormatMetricValue(std::nan("")), "NaN");
}

TEST(Metrics, ConcurrentUpdatesAreAllCounted) {
  BackflowMetrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        m.api_requests_total->Add({"sfdc", "200"});
        m.api_request_duration->Observe({"sfdc"}, 0.01);
        if (i % 100 == 0) (void)m.Render();
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(m.api_requests_total->Value({"sfdc", "200"}), 4000);
  EXPECT_EQ(m.api_request_duration->Get({"sfdc"}).count, 4000u);
}

}  // namespace
}  // namespace backflow
