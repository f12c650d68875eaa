#include "observability/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

namespace backflow {
namespace {

std::string EscapeHelp(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

const char* TypeName(MetricFamily::Type t) {
  switch (t) {
    case MetricFamily::Type::kCounter: return "counter";
    case MetricFamily::Type::kGauge: return "gauge";
    case MetricFamily::Type::kHistogram: return "histogram";
  }
  return "untyped";
}

void RenderSimple(const std::string& name, const std::map<LabelValues, double>& series,
                  const std::function<std::string(const LabelValues&)>& labels,
                  std::string* out) {
  for (const auto& [values, v] : series) {
    *out += name + labels(values) + " " + FormatMetricValue(v) + "\n";
  }
}

}  // namespace

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // Whole numbers print without an exponent or a fraction so counters read naturally.
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", value);
  } else {
    std::snprintf(buf, sizeof buf, "%.17g", value);
  }
  return buf;
}

void MetricFamily::RenderHeader(std::string* out) const {
  *out += "# HELP " + name_ + " " + EscapeHelp(help_) + "\n";
  *out += "# TYPE " + name_ + " " + TypeName(type_) + "\n";
}

std::string MetricFamily::LabelText(const LabelValues& values, const std::string& extra) const {
  if (labels_.empty() && extra.empty()) return "";
  std::string s = "{";
  for (size_t i = 0; i < labels_.size(); ++i) {
    if (i) s += ",";
    s += labels_[i] + "=\"" + EscapeLabelValue(values[i]) + "\"";
  }
  if (!extra.empty()) s += (labels_.empty() ? "" : ",") + extra;
  return s + "}";
}

void CounterFamily::Add(const LabelValues& values, double delta) {
  if (!Valid(values) || !(delta >= 0)) return;
  std::lock_guard<std::mutex> lock(mu_);
  series_[values] += delta;
}

double CounterFamily::Value(const LabelValues& values) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(values);
  return it == series_.end() ? 0 : it->second;
}

void CounterFamily::Render(std::string* out) const {
  RenderHeader(out);
  std::lock_guard<std::mutex> lock(mu_);
  RenderSimple(name_, series_, [this](const LabelValues& v) { return LabelText(v); }, out);
}

void GaugeFamily::Set(const LabelValues& values, double value) {
  if (!Valid(values)) return;
  std::lock_guard<std::mutex> lock(mu_);
  series_[values] = value;
}

void GaugeFamily::Add(const LabelValues& values, double delta) {
  if (!Valid(values)) return;
  std::lock_guard<std::mutex> lock(mu_);
  series_[values] += delta;
}

double GaugeFamily::Value(const LabelValues& values) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(values);
  return it == series_.end() ? 0 : it->second;
}

void GaugeFamily::Render(std::string* out) const {
  RenderHeader(out);
  std::lock_guard<std::mutex> lock(mu_);
  RenderSimple(name_, series_, [this](const LabelValues& v) { return LabelText(v); }, out);
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> labels, std::vector<double> bounds)
    : MetricFamily(std::move(name), std::move(help), std::move(labels), Type::kHistogram),
      bounds_(std::move(bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  if (!bounds_.empty() && std::isinf(bounds_.back())) bounds_.pop_back();
}

std::vector<double> HistogramFamily::LatencyBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

void HistogramFamily::Observe(const LabelValues& values, double value) {
  if (!Valid(values) || std::isnan(value)) return;
  size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  std::lock_guard<std::mutex> lock(mu_);
  Series& s = series_[values];
  if (s.counts.empty()) s.counts.assign(bounds_.size() + 1, 0);
  s.counts[bucket]++;
  s.sum += value;
  s.count++;
}

HistogramFamily::Snapshot HistogramFamily::Get(const LabelValues& values) const {
  Snapshot snap;
  snap.bounds = bounds_;
  snap.cumulative.assign(bounds_.size() + 1, 0);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(values);
  if (it == series_.end()) return snap;
  unsigned long long running = 0;
  for (size_t i = 0; i < it->second.counts.size(); ++i) {
    running += it->second.counts[i];
    snap.cumulative[i] = running;
  }
  snap.sum = it->second.sum;
  snap.count = it->second.count;
  return snap;
}

void HistogramFamily::Render(std::string* out) const {
  RenderHeader(out);
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [values, s] : series_) {
    unsigned long long running = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      running += s.counts[i];
      std::string le = i < bounds_.size() ? FormatMetricValue(bounds_[i]) : "+Inf";
      *out += name_ + "_bucket" + LabelText(values, "le=\"" + le + "\"") + " " +
              std::to_string(running) + "\n";
    }
    *out += name_ + "_sum" + LabelText(values) + " " + FormatMetricValue(s.sum) + "\n";
    *out += name_ + "_count" + LabelText(values) + " " + std::to_string(s.count) + "\n";
  }
}

MetricFamily* MetricsRegistry::Find(const std::string& name) const {
  for (const auto& f : families_)
    if (f->name() == name) return f.get();
  return nullptr;
}

CounterFamily* MetricsRegistry::Counter(const std::string& name, const std::string& help,
                                        std::vector<std::string> labels) {
  std::lock_guard<std::mutex> lock(mu_);
  if (MetricFamily* f = Find(name)) return dynamic_cast<CounterFamily*>(f);
  families_.push_back(std::make_unique<CounterFamily>(name, help, std::move(labels)));
  return static_cast<CounterFamily*>(families_.back().get());
}

GaugeFamily* MetricsRegistry::Gauge(const std::string& name, const std::string& help,
                                    std::vector<std::string> labels) {
  std::lock_guard<std::mutex> lock(mu_);
  if (MetricFamily* f = Find(name)) return dynamic_cast<GaugeFamily*>(f);
  families_.push_back(std::make_unique<GaugeFamily>(name, help, std::move(labels)));
  return static_cast<GaugeFamily*>(families_.back().get());
}

HistogramFamily* MetricsRegistry::Histogram(const std::string& name, const std::string& help,
                                            std::vector<std::string> labels,
                                            std::vector<double> bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  if (MetricFamily* f = Find(name)) return dynamic_cast<HistogramFamily*>(f);
  families_.push_back(
      std::make_unique<HistogramFamily>(name, help, std::move(labels), std::move(bounds)));
  return static_cast<HistogramFamily*>(families_.back().get());
}

std::string MetricsRegistry::Render() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& f : families_) f->Render(&out);
  return out;
}

BackflowMetrics::BackflowMetrics()
    : rows_total(registry.Counter("backflow_rows_total",
                                  "Rows by outcome: delivered, failed, rejected, skipped, deleted.",
                                  {"sync", "destination", "outcome"})),
      api_requests_total(registry.Counter(
          "backflow_api_requests_total",
          "Destination API requests by HTTP status code (0: no answer).", {"destination", "code"})),
      api_request_duration(registry.Histogram("backflow_api_request_duration_seconds",
                                              "Destination API request latency.",
                                              {"destination"}, HistogramFamily::LatencyBuckets())),
      retry_queue_rows(registry.Gauge("backflow_retry_queue_rows",
                                      "Rows in the retry queue, pending or dead.",
                                      {"sync", "status"})),
      rate_limit_wait_seconds(registry.Counter("backflow_rate_limit_wait_seconds_total",
                                               "Time requests waited for the rate limiter.",
                                               {"destination"})),
      retries_total(registry.Counter("backflow_retries_total",
                                     "Requests retried, by failure category.",
                                     {"destination", "category"})),
      last_success_timestamp(registry.Gauge("backflow_last_success_timestamp_seconds",
                                            "When a run of the sync last finished delivering.",
                                            {"sync"})),
      runs_total(registry.Counter("backflow_runs_total", "Runs by final status.",
                                  {"sync", "status"})),
      destination_paused(registry.Gauge("backflow_destination_paused",
                                        "1 while a destination takes no requests (quota).",
                                        {"destination"})) {}

}  // namespace backflow
