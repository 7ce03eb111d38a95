// The comparison's workload: spans from the deterministic checkout generator (what `spanctl gen`
// writes), and the queries every engine answers. Each engine's process regenerates the spans
// itself, batch by batch, so no process holds the whole data set and the parent stays small.

#ifndef SPANSTORE_BENCHMARKS_COMPARE_WORKLOAD_H_
#define SPANSTORE_BENCHMARKS_COMPARE_WORKLOAD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "spanstore/query.h"
#include "spanstore/span.h"
#include "workload/checkout_generator.h"

namespace spanstore::compare {

struct Workload {
  uint64_t seed = 1;
  uint64_t traces = 0;  // generator traces
  uint64_t spans = 0;   // the spans they hold (at least the number asked for)
};

// The fewest generator traces holding at least `spans` spans. The number of spans of a trace
// does not depend on GeneratorOptions::traces, so counting with one setting is exact.
Workload PlanWorkload(uint64_t spans, uint64_t seed);

GeneratorOptions GeneratorOptionsFor(const Workload& workload);

// Generates the workload and calls `write` with consecutive batches of `batch_size` spans (the
// last may be shorter), appending every trace id to *trace_ids. *generate_seconds receives the
// thread CPU time spent generating, so callers can keep it out of what they measure.
absl::Status ForEachBatch(const Workload& workload, size_t batch_size,
                          std::vector<TraceId>* trace_ids, double* generate_seconds,
                          absl::FunctionRef<absl::Status(absl::Span<const Span>)> write);

// `count` trace ids drawn uniformly (with replacement) from `ids` by a fixed-seed generator, so
// every engine looks up the same traces in the same order.
std::vector<TraceId> PickLookups(const std::vector<TraceId>& ids, size_t count);

// The search: one service, a 10-minute window, a duration threshold (Tempo's and Jaeger's UI
// search). Five windows across the generated hour; each is run kSearchRounds times.
constexpr char kSearchFilter[] = R"({ resource.service.name = "frontend" && duration > 1s })";
constexpr size_t kSearchLimit = 20;
constexpr int kSearchRounds = 4;
constexpr char kSearchWindows[] =
    "10-minute windows starting at minutes 5, 15, 25, 35 and 45 of the generated hour";
absl::StatusOr<std::vector<SpanQuery>> SearchQueries(const Workload& workload);

// The full scan: every span, one attribute predicate (the failing requests).
constexpr char kScanFilter[] = R"({ span.http.response.status_code >= 500 })";
absl::StatusOr<SpanQuery> ScanQuery();

}  // namespace spanstore::compare

#endif  // SPANSTORE_BENCHMARKS_COMPARE_WORKLOAD_H_
