// Prometheus metrics in the text exposition format 0.0.4, without a third-party library (zero
// runtime deps). The hot path (inc / set / observe) is a few relaxed atomics; a labelled child is
// found under a shared lock, and the unique lock is taken only the first time a label set is
// seen. Children are never removed or moved, so hot-path callers may keep the reference
// labels() returns and skip the lookup altogether.
//
// Programming errors abort with a message on stderr (they are bugs, not runtime conditions):
// a metric name outside [a-zA-Z_:][a-zA-Z0-9_:]*, a label name outside [a-zA-Z_][a-zA-Z0-9_]* or
// starting with "__", a duplicate family or sample name, a histogram label named "le", bucket
// bounds not strictly increasing, and labels() with the wrong number of values.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace exa::agent {

/// Monotonic total. Whole increments go to an integer (exact, one atomic add); fractional ones
/// (seconds, say) to a double, so that `inc()` never pays for a compare-and-swap loop.
class Counter {
 public:
  void inc() { whole_.fetch_add(1, std::memory_order_relaxed); }
  /// Negative and NaN amounts are ignored: a counter only goes up.
  void inc(double amount);
  double value() const;

 private:
  std::atomic<uint64_t> whole_{0};
  std::atomic<double> fraction_{0.0};
};

class Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void add(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
  void inc() { add(1.0); }
  void dec() { add(-1.0); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

/// Fixed buckets chosen at construction. The count is not stored apart: it is the sum of the
/// buckets, so a scrape always shows `_count` equal to the `le="+Inf"` bucket.
class Histogram {
 public:
  /// `bounds`: upper bounds, finite and strictly increasing; a trailing +Inf is dropped (that
  /// bucket always exists). Aborts otherwise.
  explicit Histogram(std::vector<double> bounds);

  /// NaN lands in the +Inf bucket and makes the sum NaN, as in the Go client.
  void observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  ///< one per bound, then +Inf
    double sum = 0.0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

  /// The check the constructor applies, for registering a family before any child exists.
  static std::vector<double> checkedBounds(std::vector<double> bounds);

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  ///< bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0.0};
};

enum class MetricType { kCounter, kGauge, kHistogram };

using LabelNames = std::vector<std::string>;
using LabelValues = std::vector<std::string>;

/// What every family shares: name, help, type, label names, and the HELP/TYPE header.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, MetricType type, LabelNames label_names);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const { return name_; }
  MetricType type() const { return type_; }
  const LabelNames& labelNames() const { return label_names_; }
  /// The names its sample lines use (a histogram's _bucket, _sum, _count), for collisions.
  std::vector<std::string> sampleNames() const;
  /// Appends HELP, TYPE and the samples; nothing at all while there is no sample.
  void render(std::string& out) const;

 protected:
  virtual void renderSamples(std::string& out) const = 0;
  [[noreturn]] void wrongArity(size_t given) const;

 private:
  std::string name_;
  std::string help_;
  MetricType type_;
  LabelNames label_names_;
};

namespace metrics_detail {
void appendSamples(std::string& out, const FamilyBase& family, const LabelValues& values,
                   const Counter& metric);
void appendSamples(std::string& out, const FamilyBase& family, const LabelValues& values,
                   const Gauge& metric);
void appendSamples(std::string& out, const FamilyBase& family, const LabelValues& values,
                   const Histogram& metric);
}  // namespace metrics_detail

/// One metric per label set, created on first use and kept (at a stable address) for good.
template <class M>
class Family final : public FamilyBase {
 public:
  Family(std::string name, std::string help, MetricType type, LabelNames label_names,
         std::function<std::unique_ptr<M>()> make)
      : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
        make_(std::move(make)) {
    // An unlabelled metric is exposed at zero from the start, so rate() has a baseline.
    if (labelNames().empty()) labels({});
  }

  /// Values in the order of the label names. Aborts on a wrong count.
  M& labels(std::initializer_list<std::string_view> values) {
    return labels(std::span<const std::string_view>(values.begin(), values.size()));
  }
  M& labels(std::span<const std::string_view> values) {
    if (values.size() != labelNames().size()) wrongArity(values.size());
    {
      std::shared_lock lock(mutex_);
      auto it = children_.find(values);
      if (it != children_.end()) return *it->second;
    }
    std::unique_lock lock(mutex_);
    auto [it, inserted] = children_.try_emplace(LabelValues(values.begin(), values.end()));
    if (inserted) it->second = make_();
    return *it->second;
  }

 private:
  /// Compares label value lists of any string type, so lookups need no allocation.
  struct KeyLess {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return std::lexicographical_compare(
          a.begin(), a.end(), b.begin(), b.end(),
          [](std::string_view x, std::string_view y) { return x < y; });
    }
  };

  void renderSamples(std::string& out) const override {
    std::shared_lock lock(mutex_);
    for (const auto& [values, metric] : children_)
      metrics_detail::appendSamples(out, *this, values, *metric);
  }

  std::function<std::unique_ptr<M>()> make_;
  mutable std::shared_mutex mutex_;
  std::map<LabelValues, std::unique_ptr<M>, KeyLess> children_;
};

/// Samples of a gauge read at scrape time: label values (in label-name order) and the value.
using GaugeSamples = std::vector<std::pair<LabelValues, double>>;

/// Owns the families; `render()` is the body of GET /metrics. Families and samples come out
/// sorted (by name, then by label values), so successive scrapes diff cleanly.
class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Family<Counter>& counter(std::string name, std::string help, LabelNames label_names = {});
  Family<Gauge>& gauge(std::string name, std::string help, LabelNames label_names = {});
  Family<Histogram>& histogram(std::string name, std::string help, LabelNames label_names,
                               std::vector<double> buckets);
  /// `read` runs on every scrape, on the scraping thread and without any registry lock held
  /// (it may take its own locks); it must be thread-safe. A sample with the wrong number of
  /// label values is dropped with an error log rather than aborting a running daemon.
  void gaugeCallback(std::string name, std::string help, LabelNames label_names,
                     std::function<GaugeSamples()> read);

  std::string render() const;

 private:
  FamilyBase& insert(std::unique_ptr<FamilyBase> family);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<FamilyBase>, std::less<>> families_;
  std::set<std::string, std::less<>> sample_names_;
};

/// Request and execution latency buckets, in seconds: 100 µs to 30 s.
std::vector<double> latencyBuckets();

/// A sample value as Prometheus writes it: integers without exponent, "+Inf", "-Inf", "NaN",
/// otherwise the shortest text that reads back to the same double.
std::string formatMetricValue(double value);

}  // namespace exa::agent
