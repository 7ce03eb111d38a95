// TraceQL metrics' compare(): the attribute values of a selection of spans against those of
// the rest (the baseline), per step -- what Grafana's Traces Drilldown shows in its
// "Comparison" view. EvaluateMetricsQuery calls it for MetricsQuery::Function::kCompare.
//
// Thread safety: reentrant; Store calls follow Store's rules.

#ifndef SPANSTORE_QUERY_TRACEQL_COMPARE_H_
#define SPANSTORE_QUERY_TRACEQL_COMPARE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "spanstore/query.h"
#include "spanstore/traceql_metrics.h"

namespace spanstore {

class Store;

// Scans `scan` (the query's filter within the window that starts at `start_unix_nano` and has
// `steps` steps of `step_nanos`) and fills result->series and result->spans. Memory grows with
// the distinct attribute values seen -- at most 100,000 per attribute and side (later new values
// count only in the attribute's total) and 10,000 attributes per side (later new ones are not
// counted) -- and per value with at most min(its spans, steps)
// counters: a value unique to each span costs one 4-byte step index, not a row of steps.
absl::Status EvaluateCompare(Store& store, const MetricsQuery& query, const SpanQuery& scan,
                             uint64_t start_unix_nano, uint64_t steps, uint64_t step_nanos,
                             MetricsResult* result);

}  // namespace spanstore

#endif  // SPANSTORE_QUERY_TRACEQL_COMPARE_H_
