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

// Enough generator traces to hold at least `spans` spans, and exactly how many spans they hold
// with the options the engines generate with (GeneratorOptionsFor: the planted trace included).
// Without the plant a trace's span count would not depend on GeneratorOptions::traces; the
// planted trace sits at traces / 2 and draws from the shared generator differently, which
// changes every later trace, so the count is taken again with the final options.
Workload PlanWorkload(uint64_t spans, uint64_t seed);

// The checkout generator with one planted incident trace (GeneratorOptions::plant_gap_trace):
// its checkout -> payment call has http.host "payments.staging.internal"; every other payment
// call has "payment.shop-prod.svc.cluster.local". The attribute questions below search for both.
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

// Attribute equality, the question issue 16 measured 4,000x slower than RocksDB's tag index.
// The needle ("find the trace that called the staging host", the planted incident) over the
// whole store, which exactly one trace answers; and the common value with a limit in the
// search's 10-minute windows, what a Tempo user types into Grafana's search (Jaeger's UI puts
// the same tag in its Tags box). Each question runs once to warm up (reported apart), then
// for 20 timed samples each: the needle kNeedleRounds times, the five windows kCommonRounds
// times.
constexpr char kNeedleFilter[] = R"({ span.http.host = "payments.staging.internal" })";
constexpr char kCommonFilter[] = R"({ span.http.host = "payment.shop-prod.svc.cluster.local" })";
constexpr size_t kAttributeLimit = 20;
constexpr int kNeedleRounds = 20;
constexpr int kCommonRounds = 4;
absl::StatusOr<SpanQuery> NeedleQuery();
// One query per search window (SearchQueries' windows).
absl::StatusOr<std::vector<SpanQuery>> CommonValueQueries(const Workload& workload);

}  // namespace spanstore::compare

#endif  // SPANSTORE_BENCHMARKS_COMPARE_WORKLOAD_H_
