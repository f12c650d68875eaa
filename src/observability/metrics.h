// A small Prometheus registry: counters, gauges and histograms with labels, rendered in
// the text exposition format (version 0.0.4) for GET /metrics.
//
// A family is registered once with its name, help and label names; a series is addressed
// by its label values, in the same order as the names (a wrong count is a programming
// error and the call is ignored). Families are owned by their registry and live as long as
// it does. Everything here is thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace backflow {

using LabelValues = std::vector<std::string>;

class MetricFamily {
 public:
  enum class Type { kCounter, kGauge, kHistogram };
  virtual ~MetricFamily() = default;
  const std::string& name() const { return name_; }
  Type type() const { return type_; }
  // Appends this family's "# HELP", "# TYPE" and sample lines to `out`.
  virtual void Render(std::string* out) const = 0;

 protected:
  MetricFamily(std::string name, std::string help, std::vector<std::string> labels, Type type)
      : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)), type_(type) {}
  void RenderHeader(std::string* out) const;
  // `{a="x",b="y"}` (empty when there are no labels); `extra` is appended as is (le="...").
  std::string LabelText(const LabelValues& values, const std::string& extra = "") const;
  bool Valid(const LabelValues& values) const { return values.size() == labels_.size(); }

  std::string name_;
  std::string help_;
  std::vector<std::string> labels_;
  Type type_;
  mutable std::mutex mu_;
};

// A value that only goes up (Add with a negative delta is ignored).
class CounterFamily final : public MetricFamily {
 public:
  CounterFamily(std::string name, std::string help, std::vector<std::string> labels)
      : MetricFamily(std::move(name), std::move(help), std::move(labels), Type::kCounter) {}
  void Add(const LabelValues& values, double delta = 1);
  // 0 for a series never touched.
  double Value(const LabelValues& values) const;
  void Render(std::string* out) const override;

 private:
  std::map<LabelValues, double> series_;
};

class GaugeFamily final : public MetricFamily {
 public:
  GaugeFamily(std::string name, std::string help, std::vector<std::string> labels)
      : MetricFamily(std::move(name), std::move(help), std::move(labels), Type::kGauge) {}
  void Set(const LabelValues& values, double value);
  void Add(const LabelValues& values, double delta);
  double Value(const LabelValues& values) const;
  void Render(std::string* out) const override;

 private:
  std::map<LabelValues, double> series_;
};

class HistogramFamily final : public MetricFamily {
 public:
  // `bounds`: the upper bounds of the buckets, ascending; +Inf is implied.
  HistogramFamily(std::string name, std::string help, std::vector<std::string> labels,
                  std::vector<double> bounds);
  void Observe(const LabelValues& values, double value);
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<unsigned long long> cumulative;  // per bound, then +Inf (== count)
    double sum = 0;
    unsigned long long count = 0;
  };
  Snapshot Get(const LabelValues& values) const;
  void Render(std::string* out) const override;

  // Request latencies, in seconds: 5ms .. 60s.
  static std::vector<double> LatencyBuckets();

 private:
  struct Series {
    std::vector<unsigned long long> counts;  // per bucket, not cumulative; last is +Inf
    double sum = 0;
    unsigned long long count = 0;
  };
  std::vector<double> bounds_;
  std::map<LabelValues, Series> series_;
};

class MetricsRegistry {
 public:
  // Registering a name twice returns the family registered first (when the type matches;
  // otherwise nullptr).
  CounterFamily* Counter(const std::string& name, const std::string& help,
                         std::vector<std::string> labels);
  GaugeFamily* Gauge(const std::string& name, const std::string& help,
                     std::vector<std::string> labels);
  HistogramFamily* Histogram(const std::string& name, const std::string& help,
                             std::vector<std::string> labels, std::vector<double> bounds);
  // Every family in registration order, in the text exposition format.
  std::string Render() const;

 private:
  MetricFamily* Find(const std::string& name) const;  // REQUIRES: mu_ held
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<MetricFamily>> families_;
};

// backflow's own metrics (spec section 6), registered in one registry.
struct BackflowMetrics {
  BackflowMetrics();
  BackflowMetrics(const BackflowMetrics&) = delete;
  BackflowMetrics& operator=(const BackflowMetrics&) = delete;

  MetricsRegistry registry;
  CounterFamily* rows_total;                 // sync, destination, outcome
  CounterFamily* api_requests_total;         // destination, code
  HistogramFamily* api_request_duration;     // destination
  GaugeFamily* retry_queue_rows;             // sync, status
  CounterFamily* rate_limit_wait_seconds;    // destination
  CounterFamily* retries_total;              // destination, category
  GaugeFamily* last_success_timestamp;       // sync
  CounterFamily* runs_total;                 // sync, status
  GaugeFamily* destination_paused;           // destination

  std::string Render() const { return registry.Render(); }
};

// Exposition-format helpers (exposed for tests).
std::string EscapeLabelValue(const std::string& value);  // \ " and newline
std::string FormatMetricValue(double value);             // 3, 0.25, +Inf, NaN

}  // namespace backflow
