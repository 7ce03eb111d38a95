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
//   { resource.service.name = "checkout" } | compare({ status = error })
//   { } | rate() with(exemplars=true)
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
    // compare({ selection }, top_n, start, end), as Grafana's Traces Drilldown sends it: the
    // spans the filter matches are split into the selection (those the second filter also
    // matches, and, when start and end are given, that start in [start, end)) and the
    // baseline (the rest). Per side, every attribute of the spans -- name, status, kind,
    // statusMessage, resource.x, span.x -- gets a count per step for each of its top_n values
    // (by total count), labelled {__meta_type="selection"|"baseline", <attribute>=<value>},
    // and a total per step over all its values, {__meta_type="selection_total"|
    // "baseline_total", <attribute>="nil"}: the two distributions side by side.
    kCompare,
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
  // compare()'s arguments (Function::kCompare). A selection filter with trace-level
  // intrinsics (trace:duration, ...) is refused by the parser: a span alone cannot decide it.
  SpanQuery selection;
  uint32_t top_n = 10;
  uint64_t selection_start_unix_nano = 0;  // both 0: no time bound on the selection
  uint64_t selection_end_unix_nano = 0;
  // Exemplars: up to this many spans (one per trace, spread over the range) are kept with the
  // series they counted in, so a chart links to traces. 0: none. "with(exemplars=true)" sets
  // kDefaultExemplars, "with(exemplars=false)" 0; spanstored's `exemplars` parameter sets it.
  uint32_t exemplars = 0;
  static constexpr uint32_t kDefaultExemplars = 100;
};

// Parses "{ filter } | function(...) [by (attr, ...)] [> number] [| topk(k) | bottomk(k)]
// [with(hint=value, ...)]" (any of >, >=, <, <=, =, !=). Of the hints, exemplars=true|false is
// honoured; others (sample, ...) are accepted and have no effect: the answer is always exact.
// Errors are InvalidArgument naming the column (1-based, in the whole text) and what was expected.
SPANSTORE_EXPORT absl::StatusOr<MetricsQuery> ParseMetricsQuery(std::string_view text);

// A span a series counted, to link a chart to a trace.
struct SPANSTORE_EXPORT MetricsExemplar {
  TraceId trace_id;
  SpanId span_id;
  uint64_t time_unix_nano = 0;  // the span's start
  // The span's value for the function: its duration in seconds (or the attribute) for
  // quantile_over_time and sum/min/max/avg_over_time; for rate, count_over_time and
  // histogram_over_time, whose points are counts, the series' value at the exemplar's step.
  double value = 0;
};

struct SPANSTORE_EXPORT MetricsSeries {
  // (name, value) pairs: the by() attributes, then "p" for a quantile or "le" for a histogram
  // bucket (its upper bound in seconds, a power of two; Tempo's JSON calls it "__bucket").
  std::vector<std::pair<std::string, std::string>> labels;
  // One per step. Steps with no span are 0 for rate, counts, quantiles and histograms, and NaN
  // for sum/min/max/avg_over_time (whose 0 is a value).
  std::vector<double> values;
  // The type of each label's value where it came from a typed attribute (an int status code
  // is labelled "200" with kInt here), so Tempo's JSON can say intValue; empty when every
  // label is a string. "p" and "le" are numbers whatever this says.
  std::vector<AnyValue::Type> label_types = {};
  std::vector<MetricsExemplar> exemplars = {};  // in time order; see MetricsQuery::exemplars
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
// "samples":[{"timestampMs":"...","value":x}],"exemplars":[{"labels":[{"key":"trace:id",
// ...},{"key":"span:id",...}],"value":x,"timestampMs":"..."}]}]}. Steps with no span are left
// out (a 0 of a count-like function, a NaN); compare()'s zero counts are values. Label values
// are typed as Tempo types them: "p" and "__bucket" (our "le") as doubleValue, ints as
// intValue, doubles as doubleValue, bools as boolValue.
SPANSTORE_EXPORT std::string MetricsResultJson(const MetricsResult& result);

// Tempo's /api/metrics/query JSON for a result of one step (start to end):
// {"series":[{"labels":[...],"value":x}]}; a series without a value there is left out.
SPANSTORE_EXPORT std::string MetricsInstantJson(const MetricsResult& result);

}  // namespace spanstore

#endif  // SPANSTORE_TRACEQL_METRICS_H_
