// TraceQL metrics queries, as Tempo documents them: a span filter, then one metrics function
// over a start/end/step, optionally by attributes:
//
//   { resource.service.name = "checkout" } | rate() by (span.http.route)
//   { status = error } | count_over_time()
//   { } | quantile_over_time(duration, .5, .99) by (resource.service.name)
//   { kind = server } | histogram_over_time(duration)
//   { kind = client } | max_over_time(span.http.response.size) by (resource.service.name)
//   { } | avg_over_time(duration)
//   { } | rate() by (resource.service.name) | topk(5)
//
// The filter is ParseQuery's language; this file parses the pipeline after it. Evaluated by
// one Store::Scan of the window: every matching span lands in the step its start time falls
// in.
//
// Thread safety: reentrant; Store calls follow Store's rules.

#ifndef SPANSTORE_TRACEQL_METRICS_H_
#define SPANSTORE_TRACEQL_METRICS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "spanstore/export.h"
#include "spanstore/query.h"

namespace spanstore {

class Store;

struct SPANSTORE_EXPORT MetricsQuery {
  enum class Function : uint8_t {
    kRate,
    kCountOverTime,
    kQuantileOverTime,
    kHistogramOverTime,
    // Per step, over the matching spans that have a numeric `value` (an int or a double
    // attribute; spans without one are left out); durations in seconds, as Tempo answers.
    kSumOverTime,
    kMinOverTime,
    kMaxOverTime,
    kAvgOverTime,
  };
  SpanQuery filter;
  Function function = Function::kRate;
  std::vector<double> quantiles;  // quantile_over_time's, each in [0, 1]
  // What the function aggregates: "duration", or an attribute as TraceQL spells it (span.x,
  // resource.x, .x: a span's own attribute first, then its resource's). sum/min/max/avg take
  // int and double attributes; quantile_over_time and histogram_over_time ints >= 0 (their
  // sketch and log2 buckets are over unsigned integers). Durations are answered in seconds,
  // attributes in their own unit. Empty means "duration".
  std::string value;
  // by(...): attribute names as TraceQL spells them (resource.service.name, span.http.route,
  // .http.route, name, status, kind).
  std::vector<std::string> by;
  // A second stage, "| topk(k)" or "| bottomk(k)": at each step only the k series with the
  // largest (smallest) values keep theirs; series never among them are dropped.
  enum class SecondStage : uint8_t { kNone, kTopK, kBottomK };
  // A threshold, "... > 10" (before any second stage): data points that do not meet it are
  // left out (made empty), and series left with none are dropped.
  bool has_threshold = false;
  CompareOp threshold_op = CompareOp::kGt;  // kGt, kGe, kLt, kLe, kEq or kNe
  double threshold = 0;
  SecondStage second_stage = SecondStage::kNone;
  uint32_t k = 0;
};

// Parses "{ filter } | function(...) [by (attr, ...)] [> number] [| topk(k) | bottomk(k)]" (any
// of >, >=, <, <=, =, !=). Errors are InvalidArgument naming the column (1-based, in the whole
// text) and what was expected.
SPANSTORE_EXPORT absl::StatusOr<MetricsQuery> ParseMetricsQuery(std::string_view text);

struct SPANSTORE_EXPORT MetricsSeries {
  // (name, value) pairs: the by() attributes, then "p" for a quantile or "le" for a histogram
  // bucket (its upper bound in seconds, a power of two, as Tempo labels them).
  std::vector<std::pair<std::string, std::string>> labels;
  // One per step. Steps with no span are 0 for rate, counts, quantiles and histograms, and NaN
  // for sum/min/max/avg_over_time (whose 0 is a value).
  std::vector<double> values;
};

struct SPANSTORE_EXPORT MetricsResult {
  uint64_t start_unix_nano = 0;
  uint64_t step_nanos = 0;
  std::vector<MetricsSeries> series;  // sorted by labels
  uint64_t spans = 0;                 // spans that matched (and had the value aggregated)
  // False for sum/min/max/avg_over_time: a 0 there is a value, not an empty step.
  bool zero_is_empty = true;
};

// Evaluates over [start, end) in steps of `step` (the last step may be partial). At most
// 11,000 steps (Prometheus's limit), so a mistyped step is an error rather than an OOM.
SPANSTORE_EXPORT absl::StatusOr<MetricsResult> EvaluateMetricsQuery(Store& store,
                                                                    const MetricsQuery& query,
                                                                    uint64_t start_unix_nano,
                                                                    uint64_t end_unix_nano,
                                                                    uint64_t step_nanos);

// Tempo's query_range JSON: {"series":[{"labels":[{"key":k,"value":{"stringValue":v}}],
// "samples":[{"timestampMs":"...","value":x}]}]}. Steps with no span are left out (a 0 of a
// count-like function, a NaN).
SPANSTORE_EXPORT std::string MetricsResultJson(const MetricsResult& result);

}  // namespace spanstore

#endif  // SPANSTORE_TRACEQL_METRICS_H_
