// TraceQL metrics: a parsed query (traceql_metrics_parser.cc) evaluated with one Scan into
// per-series, per-step accumulators, and the answer in Tempo's JSON.

#include "spanstore/traceql_metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "query/span_matcher.h"
#include "query/traceql_compare.h"
#include "spanstore/analysis.h"
#include "spanstore/formats.h"
#include "spanstore/store.h"

namespace spanstore {
namespace {

constexpr uint64_t kMaxSteps = 11000;

// The attribute `name` (span.x, resource.x, .x) of `span`, or nullptr.
const AnyValue* AttributeValue(const Span& span, std::string_view name) {
  auto find = [](const std::vector<KeyValue>& kvs, std::string_view key) -> const AnyValue* {
    for (const KeyValue& kv : kvs) {
      if (kv.key == key) return &kv.value;
    }
    return nullptr;
  };
  if (name.starts_with("span.")) return find(span.attributes, name.substr(5));
  if (name.starts_with("resource.")) return find(span.resource_attributes, name.substr(9));
  if (name.starts_with(".")) {
    const AnyValue* v = find(span.attributes, name.substr(1));
    return v != nullptr ? v : find(span.resource_attributes, name.substr(1));
  }
  return nullptr;
}

// A JSON number (and a label's text) for a finite double, the shortest text that reads back as the
// same double (as Go's encoder writes Tempo's); protobuf's JSON mapping spells the others as
// strings.
std::string JsonDouble(double v) {
  if (std::isnan(v)) return "\"NaN\"";
  if (std::isinf(v)) return v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, ec == std::errc() ? end : buf);
}

// The by() value `name` of `span`; nullopt (TraceQL's nil) when the span lacks the attribute.
std::optional<std::string> LabelValue(const Span& span, const std::string& name) {
  if (name == "resource.service.name" || name == ".service.name") {
    if (span.service_name.empty()) return std::nullopt;
    return span.service_name;
  }
  if (name == "name") return span.name;
  if (name == "status") return std::string(StatusCodeName(span.status_code));
  if (name == "kind") return std::string(SpanKindName(span.kind));
  const AnyValue* v = AttributeValue(span, name);
  if (v == nullptr) return std::nullopt;
  // A double in its shortest round-trip form, as Tempo's JSON number (115.21).
  if (v->type() == AnyValue::Type::kDouble && std::isfinite(v->double_value())) {
    return JsonDouble(v->double_value());
  }
  return v->ToString();
}

// The type of the by() label `name`'s value on `span`: an attribute's own type, else string.
AnyValue::Type LabelType(const Span& span, const std::string& name) {
  const AnyValue* v = AttributeValue(span, name);
  if (v == nullptr || name == "resource.service.name") return AnyValue::Type::kString;
  switch (v->type()) {
    case AnyValue::Type::kInt:
    case AnyValue::Type::kDouble:
    case AnyValue::Type::kBool:
      return v->type();
    default:
      return AnyValue::Type::kString;
  }
}

// Picks exemplars as Tempo does: at most `limit`, one per trace, spread over the range --
// which is cut into limit/2 equal parts of at most two exemplars each, so a burst in one
// part does not take them all.
class ExemplarSampler {
 public:
  // A huge limit (a library caller's; spanstored caps it at 100) spreads over this many parts.
  static constexpr uint32_t kMaxBuckets = 4096;
  ExemplarSampler(uint32_t limit, uint64_t start, uint64_t end)
      : limit_(limit),
        start_(start),
        end_(end),
        buckets_(std::clamp<uint32_t>(limit / 2, 1, kMaxBuckets), 0) {}

  bool Want(const Span& span) {
    if (taken_ >= limit_) return false;
    const unsigned __int128 offset = span.start_time_unix_nano - start_;
    const size_t bucket = static_cast<size_t>(offset * buckets_.size() / (end_ - start_));
    if (bucket >= buckets_.size() || buckets_[bucket] >= 2) return false;
    if (!traces_.insert(span.trace_id).second) return false;
    ++buckets_[bucket];
    ++taken_;
    return true;
  }

 private:
  uint32_t limit_;
  uint64_t start_, end_;
  uint32_t taken_ = 0;
  std::vector<uint8_t> buckets_;
  absl::flat_hash_set<TraceId> traces_;
};

// The number sum/min/max/avg_over_time aggregate for `span`: its duration in seconds, or the
// int or double attribute `name`; false when the span has no such number.
bool NumericValue(const Span& span, const std::string& name, double* out) {
  if (name == "duration") {
    *out = static_cast<double>(span.duration_nanos()) / 1e9;
    return true;
  }
  const AnyValue* v = AttributeValue(span, name);
  if (v == nullptr) return false;
  if (v->type() == AnyValue::Type::kInt) {
    *out = static_cast<double>(v->int_value());
    return true;
  }
  if (v->type() == AnyValue::Type::kDouble && !std::isnan(v->double_value())) {
    *out = v->double_value();
    return true;
  }
  return false;
}

// Whether `value` names the span's duration: "duration", or unset (a MetricsQuery built in
// code before quantile_over_time and histogram_over_time took attributes).
bool IsDuration(const std::string& value) { return value.empty() || value == "duration"; }

// The sample quantile_over_time and histogram_over_time take from `span`: its duration in
// nanoseconds, or the attribute `name` when it is an int >= 0 (the sketch and the log2
// buckets are over unsigned integers, as Tempo's buckets are over ints); false otherwise.
bool SampleOf(const Span& span, const std::string& name, uint64_t* out) {
  if (IsDuration(name)) {
    *out = span.duration_nanos();
    return true;
  }
  const AnyValue* v = AttributeValue(span, name);
  if (v == nullptr || v->type() != AnyValue::Type::kInt || v->int_value() < 0) return false;
  *out = static_cast<uint64_t>(v->int_value());
  return true;
}

bool IsValueFunction(MetricsQuery::Function f) {
  return f == MetricsQuery::Function::kSumOverTime || f == MetricsQuery::Function::kMinOverTime ||
         f == MetricsQuery::Function::kMaxOverTime || f == MetricsQuery::Function::kAvgOverTime;
}

// An empty step of `result`: NaN, or 0 for the functions whose 0 means no span (counts, rates,
// quantiles, histograms).
bool IsEmptyPoint(const MetricsResult& result, double v) {
  return std::isnan(v) || (result.zero_is_empty && v == 0);
}
double EmptyPoint(const MetricsResult& result) {
  return result.zero_is_empty ? 0.0 : std::numeric_limits<double>::quiet_NaN();
}

// Keeps the points for which keep(series index, step) is true, empties the others, and drops
// the series left with none.
template <typename Keep>
void KeepPoints(MetricsResult* result, Keep keep) {
  std::vector<MetricsSeries> out;
  for (size_t j = 0; j < result->series.size(); ++j) {
    MetricsSeries& s = result->series[j];
    bool any = false;
    for (size_t i = 0; i < s.values.size(); ++i) {
      if (IsEmptyPoint(*result, s.values[i])) continue;
      if (keep(j, i)) {
        any = true;
      } else {
        s.values[i] = EmptyPoint(*result);
      }
    }
    if (any) out.push_back(std::move(s));
  }
  result->series = std::move(out);
}

// topk(k) / bottomk(k), as Tempo evaluates them: at each step the k series with the largest
// (smallest) values there -- ties to the series whose labels sort first -- keep that value;
// a series kept at no step is dropped, and its values at the steps it was not kept at become
// empty. Empty steps (NaN; 0 where zero_is_empty) take no part.
void KeepExtremeSeries(MetricsResult* result, uint32_t k, bool largest) {
  if (result->series.size() <= k) return;
  size_t steps = 0;
  for (const MetricsSeries& s : result->series) steps = std::max(steps, s.values.size());
  std::vector<std::vector<bool>> kept(result->series.size(), std::vector<bool>(steps, false));
  std::vector<std::pair<double, size_t>> present;
  for (size_t i = 0; i < steps; ++i) {
    present.clear();
    for (size_t j = 0; j < result->series.size(); ++j) {
      const std::vector<double>& v = result->series[j].values;
      if (i < v.size() && !IsEmptyPoint(*result, v[i])) present.emplace_back(v[i], j);
    }
    const size_t n = std::min<size_t>(k, present.size());
    std::partial_sort(present.begin(), present.begin() + n, present.end(),
                      [&](const auto& a, const auto& b) {
                        if (a.first != b.first) {
                          return largest ? a.first > b.first : a.first < b.first;
                        }
                        return a.second < b.second;  // series are sorted by labels
                      });
    for (size_t r = 0; r < n; ++r) kept[present[r].second][i] = true;
  }
  KeepPoints(result, [&](size_t series, size_t step) { return kept[series][step]; });
}

// "... > 10": a data point that does not meet the threshold becomes empty; a series left with
// none is dropped.
void KeepPointsMeeting(MetricsResult* result, CompareOp op, double threshold) {
  KeepPoints(result, [&](size_t series, size_t step) {
    return CompareNumbers(result->series[series].values[step], op, threshold);
  });
}

// Tempo's histogram buckets: powers of two (of nanoseconds for durations), labelled by the
// upper bound (in seconds for durations).
int Log2Bucket(uint64_t value) {
  int b = 0;
  while (b < 63 && (uint64_t{1} << b) < value) ++b;
  return b;
}

}  // namespace

absl::StatusOr<MetricsResult> EvaluateMetricsQuery(Store& store, const MetricsQuery& query,
                                                   uint64_t start_unix_nano, uint64_t end_unix_nano,
                                                   uint64_t step_nanos) {
  if (end_unix_nano <= start_unix_nano) {
    return absl::InvalidArgumentError("the time range is empty (start is not before end)");
  }
  if (step_nanos == 0) return absl::InvalidArgumentError("the step must be longer than 0");
  const uint64_t steps = (end_unix_nano - start_unix_nano + step_nanos - 1) / step_nanos;
  if (steps > kMaxSteps) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%d steps is more than %d: use a longer step or a shorter range", steps, kMaxSteps));
  }
  SpanQuery q = query.filter;
  q.start_min = std::max(q.start_min, start_unix_nano);
  q.start_max = std::min(q.start_max, end_unix_nano - 1);
  const bool by_value = IsValueFunction(query.function);
  MetricsResult result;
  result.start_unix_nano = start_unix_nano;
  result.step_nanos = step_nanos;
  result.zero_is_empty = !by_value;
  if (query.function == MetricsQuery::Function::kCompare) {
    absl::Status s = EvaluateCompare(store, query, q, start_unix_nano, steps, step_nanos, &result);
    if (!s.ok()) return s;
    return result;
  }
  struct Series {
    std::vector<uint64_t> counts;
    std::vector<double> sums, mins, maxs;            // sum/min/max/avg_over_time, with counts
    std::vector<QuantileSketch> sketches;            // quantile_over_time
    std::map<int, std::vector<uint64_t>> histogram;  // histogram_over_time: bucket -> counts
    // (histogram bucket or -1, exemplar); a count-like exemplar's value is set at the end.
    std::vector<std::pair<int, MetricsExemplar>> exemplars;
    std::vector<AnyValue::Type> label_types;  // of the by() values, from the first span
  };
  std::map<std::vector<std::optional<std::string>>, Series> series;
  ExemplarSampler exemplars(query.exemplars, start_unix_nano, end_unix_nano);
  absl::Status s = store.Scan(q, [&](const Span& span) {
    double number = 0;
    if (by_value && !NumericValue(span, query.value, &number)) return true;
    uint64_t sample = 0;
    if ((query.function == MetricsQuery::Function::kQuantileOverTime ||
         query.function == MetricsQuery::Function::kHistogramOverTime) &&
        !SampleOf(span, query.value, &sample)) {
      return true;
    }
    std::vector<std::optional<std::string>> key;
    key.reserve(query.by.size());
    for (const std::string& name : query.by) key.push_back(LabelValue(span, name));
    auto [it, added] = series.try_emplace(std::move(key));
    Series& out = it->second;
    if (added) {
      for (const std::string& name : query.by) out.label_types.push_back(LabelType(span, name));
    }
    const size_t step = (span.start_time_unix_nano - start_unix_nano) / step_nanos;
    if (exemplars.Want(span)) {
      MetricsExemplar e{span.trace_id, span.span_id, span.start_time_unix_nano, 0};
      int bucket = -1;
      if (by_value) {
        e.value = number;
      } else if (query.function == MetricsQuery::Function::kQuantileOverTime) {
        e.value = static_cast<double>(sample) / (IsDuration(query.value) ? 1e9 : 1.0);
      } else if (query.function == MetricsQuery::Function::kHistogramOverTime) {
        bucket = Log2Bucket(sample);
      }
      out.exemplars.emplace_back(bucket, e);
    }
    switch (query.function) {
      case MetricsQuery::Function::kRate:
      case MetricsQuery::Function::kCountOverTime:
        if (out.counts.empty()) out.counts.resize(steps, 0);
        ++out.counts[step];
        break;
      case MetricsQuery::Function::kQuantileOverTime:
        if (out.sketches.empty()) out.sketches.resize(steps);
        out.sketches[step].Add(sample);
        break;
      case MetricsQuery::Function::kHistogramOverTime: {
        auto& counts = out.histogram[Log2Bucket(sample)];
        if (counts.empty()) counts.resize(steps, 0);
        ++counts[step];
        break;
      }
      case MetricsQuery::Function::kSumOverTime:
      case MetricsQuery::Function::kMinOverTime:
      case MetricsQuery::Function::kMaxOverTime:
      case MetricsQuery::Function::kAvgOverTime:
        if (out.counts.empty()) {
          out.counts.resize(steps, 0);
          out.sums.resize(steps, 0);
          out.mins.resize(steps, std::numeric_limits<double>::infinity());
          out.maxs.resize(steps, -std::numeric_limits<double>::infinity());
        }
        ++out.counts[step];
        out.sums[step] += number;
        out.mins[step] = std::min(out.mins[step], number);
        out.maxs[step] = std::max(out.maxs[step], number);
        break;
      case MetricsQuery::Function::kCompare:  // EvaluateCompare's
        break;
    }
    ++result.spans;
    return true;
  });
  if (!s.ok()) return s;
  const double step_seconds = static_cast<double>(step_nanos) / 1e9;
  // Durations are answered in seconds; attributes in their own unit.
  const double value_scale = IsDuration(query.value) ? 1e9 : 1.0;
  for (auto& [key, acc] : series) {
    // As Tempo labels them: a by() attribute the spans lack (nil) is left out, and when all
    // are, the first is kept with the value "nil".
    std::vector<std::pair<std::string, std::string>> labels;
    std::vector<AnyValue::Type> label_types;
    for (size_t i = 0; i < key.size(); ++i) {
      if (!key[i].has_value()) continue;
      labels.push_back({query.by[i], *key[i]});
      label_types.push_back(acc.label_types[i]);
    }
    if (labels.empty() && !query.by.empty()) {
      labels.push_back({query.by[0], "nil"});
      label_types.push_back(AnyValue::Type::kString);
    }
    acc.label_types = std::move(label_types);
    const size_t first = result.series.size();
    switch (query.function) {
      case MetricsQuery::Function::kRate:
      case MetricsQuery::Function::kCountOverTime: {
        MetricsSeries m;
        m.labels = labels;
        for (uint64_t n : acc.counts) {
          m.values.push_back(query.function == MetricsQuery::Function::kRate
                                 ? static_cast<double>(n) / step_seconds
                                 : static_cast<double>(n));
        }
        result.series.push_back(std::move(m));
        break;
      }
      case MetricsQuery::Function::kQuantileOverTime:
        for (double quantile : query.quantiles) {
          MetricsSeries m;
          m.labels = labels;
          m.labels.push_back({"p", JsonDouble(quantile)});
          // Seconds for durations, as Tempo answers them; an attribute's own unit.
          for (const QuantileSketch& sk : acc.sketches) {
            m.values.push_back(static_cast<double>(sk.Quantile(quantile)) / value_scale);
          }
          result.series.push_back(std::move(m));
        }
        break;
      case MetricsQuery::Function::kSumOverTime:
      case MetricsQuery::Function::kMinOverTime:
      case MetricsQuery::Function::kMaxOverTime:
      case MetricsQuery::Function::kAvgOverTime: {
        MetricsSeries m;
        m.labels = labels;
        for (size_t k = 0; k < acc.counts.size(); ++k) {
          double v = std::numeric_limits<double>::quiet_NaN();
          if (acc.counts[k] != 0) {
            switch (query.function) {
              case MetricsQuery::Function::kSumOverTime:
                v = acc.sums[k];
                break;
              case MetricsQuery::Function::kMinOverTime:
                v = acc.mins[k];
                break;
              case MetricsQuery::Function::kMaxOverTime:
                v = acc.maxs[k];
                break;
              default:
                v = acc.sums[k] / static_cast<double>(acc.counts[k]);
                break;
            }
          }
          m.values.push_back(v);
        }
        result.series.push_back(std::move(m));
        break;
      }
      case MetricsQuery::Function::kHistogramOverTime:
        for (const auto& [bucket, counts] : acc.histogram) {
          MetricsSeries m;
          m.labels = labels;
          m.labels.push_back(
              {"le", JsonDouble(static_cast<double>(uint64_t{1} << bucket) / value_scale)});
          for (uint64_t n : counts) m.values.push_back(static_cast<double>(n));
          for (const auto& [b, e] : acc.exemplars) {
            if (b == bucket) m.exemplars.push_back(e);
          }
          result.series.push_back(std::move(m));
        }
        break;
      case MetricsQuery::Function::kCompare:  // EvaluateCompare's
        break;
    }
    for (size_t i = first; i < result.series.size(); ++i) {
      MetricsSeries& m = result.series[i];
      m.label_types = acc.label_types;
      if (query.function != MetricsQuery::Function::kHistogramOverTime) {
        for (const auto& [b, e] : acc.exemplars) m.exemplars.push_back(e);
      }
      // Count-like points: an exemplar sits on its series' line.
      const bool counts = query.function == MetricsQuery::Function::kRate ||
                          query.function == MetricsQuery::Function::kCountOverTime ||
                          query.function == MetricsQuery::Function::kHistogramOverTime;
      for (MetricsExemplar& e : m.exemplars) {
        if (counts) e.value = m.values[(e.time_unix_nano - start_unix_nano) / step_nanos];
      }
      std::sort(m.exemplars.begin(), m.exemplars.end(),
                [](const MetricsExemplar& a, const MetricsExemplar& b) {
                  return a.time_unix_nano < b.time_unix_nano;
                });
    }
  }
  // Sorted by the by() labels (nil ones left out changed the map's order); a key's quantile or
  // bucket series stay in their order.
  const bool extra_label = query.function == MetricsQuery::Function::kQuantileOverTime ||
                           query.function == MetricsQuery::Function::kHistogramOverTime;
  std::stable_sort(result.series.begin(), result.series.end(),
                   [&](const MetricsSeries& a, const MetricsSeries& b) {
                     const size_t na = a.labels.size() - (extra_label ? 1 : 0);
                     const size_t nb = b.labels.size() - (extra_label ? 1 : 0);
                     return std::lexicographical_compare(a.labels.begin(), a.labels.begin() + na,
                                                         b.labels.begin(), b.labels.begin() + nb);
                   });
  if (query.has_threshold) KeepPointsMeeting(&result, query.threshold_op, query.threshold);
  if (query.second_stage != MetricsQuery::SecondStage::kNone) {
    KeepExtremeSeries(&result, query.k, query.second_stage == MetricsQuery::SecondStage::kTopK);
  }
  return result;
}

namespace {

// A label as Tempo's JSON has it: "p" (a quantile) and "__bucket" (a histogram bucket, our
// "le") are doubles; a by() or compare() value has its attribute's type.
void AppendLabels(const MetricsSeries& s, std::string* out) {
  *out += "\"labels\":[";
  for (size_t j = 0; j < s.labels.size(); ++j) {
    const auto& [key, value] = s.labels[j];
    const AnyValue::Type type =
        j < s.label_types.size() ? s.label_types[j] : AnyValue::Type::kString;
    double number = 0;
    int64_t integer = 0;
    *out += j ? ",{\"key\":" : "{\"key\":";
    AppendJsonString(key == "le" ? "__bucket" : key, out);
    if ((key == "p" || key == "le" || type == AnyValue::Type::kDouble) &&
        absl::SimpleAtod(value, &number) && std::isfinite(number)) {
      absl::StrAppend(out, ",\"value\":{\"doubleValue\":", JsonDouble(number), "}}");
    } else if (type == AnyValue::Type::kInt && absl::SimpleAtoi(value, &integer)) {
      // int64 is a string in protobuf's JSON mapping.
      absl::StrAppend(out, ",\"value\":{\"intValue\":\"", integer, "\"}}");
    } else if (type == AnyValue::Type::kBool && (value == "true" || value == "false")) {
      absl::StrAppend(out, ",\"value\":{\"boolValue\":", value, "}}");
    } else {
      *out += ",\"value\":{\"stringValue\":";
      AppendJsonString(value, out);
      *out += "}}";
    }
  }
  *out += "]";
}

}  // namespace

std::string MetricsResultJson(const MetricsResult& result) {
  std::string out = "{\"series\":[";
  bool first_series = true;
  for (const MetricsSeries& s : result.series) {
    std::string samples;
    for (size_t k = 0; k < s.values.size(); ++k) {
      if (std::isnan(s.values[k]) || (result.zero_is_empty && s.values[k] == 0)) continue;
      const uint64_t ms = (result.start_unix_nano + k * result.step_nanos) / 1'000'000;
      absl::StrAppend(&samples, samples.empty() ? "" : ",", "{\"timestampMs\":\"", ms,
                      "\",\"value\":", JsonDouble(s.values[k]), "}");
    }
    if (samples.empty()) continue;  // as Tempo: a series without a sample is not sent
    out += first_series ? "{" : ",{";
    first_series = false;
    AppendLabels(s, &out);
    absl::StrAppend(&out, ",\"samples\":[", samples, "]");
    // An exemplar at a step left empty (by a threshold or topk) goes with it, as in Tempo.
    std::vector<const MetricsExemplar*> exemplars;
    for (const MetricsExemplar& e : s.exemplars) {
      if (result.step_nanos == 0 || e.time_unix_nano < result.start_unix_nano) continue;
      const uint64_t k = (e.time_unix_nano - result.start_unix_nano) / result.step_nanos;
      if (k < s.values.size() && !std::isnan(s.values[k]) &&
          !(result.zero_is_empty && s.values[k] == 0)) {
        exemplars.push_back(&e);
      }
    }
    if (!exemplars.empty()) {
      out += ",\"exemplars\":[";
      for (size_t k = 0; k < exemplars.size(); ++k) {
        const MetricsExemplar& e = *exemplars[k];
        absl::StrAppend(&out, k ? "," : "",
                        "{\"labels\":[{\"key\":\"trace:id\",\"value\":", "{\"stringValue\":\"",
                        e.trace_id.ToHex(),
                        "\"}},{\"key\":\"span:id\",\"value\":{\"stringValue\":\"",
                        e.span_id.ToHex(), "\"}}],\"value\":", JsonDouble(e.value),
                        ",\"timestampMs\":\"", e.time_unix_nano / 1'000'000, "\"}");
      }
      out += "]";
    }
    out += "}";
  }
  out += "]}";
  return out;
}

std::string MetricsInstantJson(const MetricsResult& result) {
  std::string out = "{\"series\":[";
  bool first = true;
  for (const MetricsSeries& s : result.series) {
    // NaN (sum/min/max/avg_over_time over a range without the value) is no value.
    if (s.values.empty() || std::isnan(s.values[0])) continue;
    out += first ? "{" : ",{";
    first = false;
    AppendLabels(s, &out);
    absl::StrAppend(&out, ",\"value\":", JsonDouble(s.values[0]), "}");
  }
  out += "]}";
  return out;
}

}  // namespace spanstore
