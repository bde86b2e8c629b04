// Metric types, name checks and the text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
#include "agent/metrics/metrics.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "common/log.h"

namespace exa::agent {
namespace {

/// Registration mistakes are bugs in our code; the daemon must not start with them.
[[noreturn]] void fatal(const std::string& message) {
  std::fprintf(stderr, "metrics: %s\n", message.c_str());
  std::abort();
}

bool isNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool isNameChar(char c) { return isNameStart(c) || (c >= '0' && c <= '9'); }

bool isValidMetricName(std::string_view name) {
  if (name.empty() || !(isNameStart(name[0]) || name[0] == ':')) return false;
  for (char c : name)
    if (!isNameChar(c) && c != ':') return false;
  return true;
}

/// Colons are for recording rules' metric names only; "__" is reserved for Prometheus itself.
bool isValidLabelName(std::string_view name) {
  if (name.empty() || !isNameStart(name[0]) || name.starts_with("__")) return false;
  for (char c : name)
    if (!isNameChar(c)) return false;
  return true;
}

void appendMetricValue(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else if (value == 0.0) {
    out += '0';  // also for -0, which would print as "-0"
  } else {
    // Fixed notation over the range where it stays short (as printf's %g would), so that
    // counters and bucket bounds read "800000" and "0.0001" rather than "8e+05" and "1e-04".
    double magnitude = std::fabs(value);
    auto format = magnitude >= 1e-4 && magnitude < 1e21 ? std::chars_format::fixed
                                                         : std::chars_format::scientific;
    char buffer[64];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, format);
    out.append(buffer, ec == std::errc() ? end : buffer);
  }
}

/// Label values escape backslash, double quote and newline; HELP text only the first and last.
void appendEscaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void appendLabel(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += "=\"";
  appendEscaped(out, value, true);
  out += '"';
}

/// `name{labels...,le="..."} value`; `le` empty means no extra label.
void appendLine(std::string& out, std::string_view name, std::string_view suffix,
                const LabelNames& names, const LabelValues& values, std::string_view le,
                double value) {
  out += name;
  out += suffix;
  if (!names.empty() || !le.empty()) {
    out += '{';
    for (size_t i = 0; i < names.size(); ++i) {
      if (i > 0) out += ',';
      appendLabel(out, names[i], values[i]);
    }
    if (!le.empty()) {
      if (!names.empty()) out += ',';
      appendLabel(out, "le", le);
    }
    out += '}';
  }
  out += ' ';
  appendMetricValue(out, value);
  out += '\n';
}

const char* typeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

class CallbackFamily final : public FamilyBase {
 public:
  CallbackFamily(std::string name, std::string help, LabelNames label_names,
                 std::function<GaugeSamples()> read)
      : FamilyBase(std::move(name), std::move(help), MetricType::kGauge, std::move(label_names)),
        read_(std::move(read)) {}

 private:
  void renderSamples(std::string& out) const override {
    GaugeSamples samples = read_();
    std::stable_sort(samples.begin(), samples.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [values, value] : samples) {
      if (values.size() != labelNames().size()) {
        LOG_E("metric {}: callback gave {} label values for {} names; sample dropped", name(),
              values.size(), labelNames().size());
        continue;
      }
      appendLine(out, name(), "", labelNames(), values, {}, value);
    }
  }

  std::function<GaugeSamples()> read_;
};

}  // namespace

std::string formatMetricValue(double value) {
  std::string out;
  appendMetricValue(out, value);
  return out;
}

void Counter::inc(double amount) {
  if (!(amount >= 0.0)) return;
  // Whole amounts keep the integer part exact however large the total grows.
  if (amount < 0x1p53 && amount == std::floor(amount)) {
    whole_.fetch_add(static_cast<uint64_t>(amount), std::memory_order_relaxed);
  } else {
    fraction_.fetch_add(amount, std::memory_order_relaxed);
  }
}

double Counter::value() const {
  return static_cast<double>(whole_.load(std::memory_order_relaxed)) +
         fraction_.load(std::memory_order_relaxed);
}

std::vector<double> Histogram::checkedBounds(std::vector<double> bounds) {
  if (!bounds.empty() && bounds.back() == std::numeric_limits<double>::infinity())
    bounds.pop_back();
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
      fatal("histogram bucket bounds must be finite and strictly increasing");
  }
  return bounds;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(checkedBounds(std::move(bounds))),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double value) {
  // Bucket i holds bounds_[i-1] < value <= bounds_[i]: the first bound not below the value.
  size_t index = std::isnan(value) ? bounds_.size()
                                   : static_cast<size_t>(std::lower_bound(bounds_.begin(),
                                                                          bounds_.end(), value) -
                                                         bounds_.begin());
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snapshot;
  snapshot.cumulative.reserve(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    snapshot.count += buckets_[i].load(std::memory_order_relaxed);
    snapshot.cumulative.push_back(snapshot.count);
  }
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

FamilyBase::FamilyBase(std::string name, std::string help, MetricType type,
                       LabelNames label_names)
    : name_(std::move(name)), help_(std::move(help)), type_(type),
      label_names_(std::move(label_names)) {
  if (!isValidMetricName(name_)) fatal("invalid metric name \"" + name_ + "\"");
  std::set<std::string_view> seen;
  for (const auto& label : label_names_) {
    if (!isValidLabelName(label) || (type_ == MetricType::kHistogram && label == "le"))
      fatal("metric " + name_ + ": invalid label name \"" + label + "\"");
    if (!seen.insert(label).second) fatal("metric " + name_ + ": duplicate label " + label);
  }
}

std::vector<std::string> FamilyBase::sampleNames() const {
  if (type_ != MetricType::kHistogram) return {name_};
  return {name_ + "_bucket", name_ + "_sum", name_ + "_count"};
}

void FamilyBase::render(std::string& out) const {
  size_t start = out.size();
  out += "# HELP ";
  out += name_;
  out += ' ';
  appendEscaped(out, help_, false);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += typeName(type_);
  out += '\n';
  size_t header_end = out.size();
  renderSamples(out);
  if (out.size() == header_end) out.resize(start);
}

void FamilyBase::wrongArity(size_t given) const {
  fatal("metric " + name_ + ": " + std::to_string(given) + " label values given for " +
        std::to_string(label_names_.size()) + " label names");
}

namespace metrics_detail {

void appendSamples(std::string& out, const FamilyBase& family, const LabelValues& values,
                   const Counter& metric) {
  appendLine(out, family.name(), "", family.labelNames(), values, {}, metric.value());
}

void appendSamples(std::string& out, const FamilyBase& family, const LabelValues& values,
                   const Gauge& metric) {
  appendLine(out, family.name(), "", family.labelNames(), values, {}, metric.value());
}

void appendSamples(std::string& out, const FamilyBase& family, const LabelValues& values,
                   const Histogram& metric) {
  Histogram::Snapshot snapshot = metric.snapshot();
  const auto& bounds = metric.bounds();
  for (size_t i = 0; i < snapshot.cumulative.size(); ++i) {
    std::string le = i < bounds.size() ? formatMetricValue(bounds[i]) : "+Inf";
    appendLine(out, family.name(), "_bucket", family.labelNames(), values, le,
               static_cast<double>(snapshot.cumulative[i]));
  }
  appendLine(out, family.name(), "_sum", family.labelNames(), values, {}, snapshot.sum);
  appendLine(out, family.name(), "_count", family.labelNames(), values, {},
             static_cast<double>(snapshot.count));
}

}  // namespace metrics_detail

Family<Counter>& MetricsRegistry::counter(std::string name, std::string help,
                                          LabelNames label_names) {
  return static_cast<Family<Counter>&>(insert(std::make_unique<Family<Counter>>(
      std::move(name), std::move(help), MetricType::kCounter, std::move(label_names),
      [] { return std::make_unique<Counter>(); })));
}

Family<Gauge>& MetricsRegistry::gauge(std::string name, std::string help, LabelNames label_names) {
  return static_cast<Family<Gauge>&>(insert(std::make_unique<Family<Gauge>>(
      std::move(name), std::move(help), MetricType::kGauge, std::move(label_names),
      [] { return std::make_unique<Gauge>(); })));
}

Family<Histogram>& MetricsRegistry::histogram(std::string name, std::string help,
                                              LabelNames label_names,
                                              std::vector<double> buckets) {
  // Checked now, not at the first labels() call, so a bad list fails at startup.
  auto bounds = std::make_shared<const std::vector<double>>(
      Histogram::checkedBounds(std::move(buckets)));
  return static_cast<Family<Histogram>&>(insert(std::make_unique<Family<Histogram>>(
      std::move(name), std::move(help), MetricType::kHistogram, std::move(label_names),
      [bounds] { return std::make_unique<Histogram>(*bounds); })));
}

void MetricsRegistry::gaugeCallback(std::string name, std::string help, LabelNames label_names,
                                    std::function<GaugeSamples()> read) {
  insert(std::make_unique<CallbackFamily>(std::move(name), std::move(help),
                                          std::move(label_names), std::move(read)));
}

FamilyBase& MetricsRegistry::insert(std::unique_ptr<FamilyBase> family) {
  std::lock_guard lock(mutex_);
  std::vector<std::string> samples = family->sampleNames();
  bool taken = families_.contains(family->name());
  for (const auto& sample : samples) taken = taken || sample_names_.contains(sample);
  if (taken) fatal("metric " + family->name() + " collides with one already registered");
  sample_names_.insert(samples.begin(), samples.end());
  std::string name = family->name();
  return *families_.emplace(std::move(name), std::move(family)).first->second;
}

std::string MetricsRegistry::render() const {
  // Families are never removed: render them after letting go of the lock, so that a slow
  // gauge callback does not hold up registration or other scrapes.
  std::vector<const FamilyBase*> families;
  {
    std::lock_guard lock(mutex_);
    families.reserve(families_.size());
    for (const auto& [name, family] : families_) families.push_back(family.get());
  }
  std::string out;
  for (const FamilyBase* family : families) family->render(out);
  return out;
}

std::vector<double> latencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30};
}

}  // namespace exa::agent
