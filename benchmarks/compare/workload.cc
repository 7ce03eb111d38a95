#include "benchmarks/compare/workload.h"

#include <time.h>

#include <random>
#include <utility>

#include "absl/strings/str_format.h"

namespace spanstore::compare {
namespace {

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

constexpr uint64_t kMinute = 60'000'000'000ull;

uint64_t CountSpans(const GeneratorOptions& options) {
  CheckoutGenerator gen(options);
  std::vector<Span> trace;
  uint64_t spans = 0;
  while (gen.NextTrace(&trace)) spans += trace.size();
  return spans;
}

}  // namespace

Workload PlanWorkload(uint64_t spans, uint64_t seed) {
  Workload w;
  w.seed = seed;
  // First estimate without the plant: the fewest traces holding `spans` spans.
  GeneratorOptions o;
  o.seed = seed;
  o.traces = spans;  // an upper bound: every trace has at least one span
  CheckoutGenerator gen(o);
  std::vector<Span> trace;
  uint64_t estimate = 0;
  while (estimate < spans && gen.NextTrace(&trace)) {
    ++w.traces;
    estimate += trace.size();
  }
  // Then the exact count with the options the engines use. The planted trace may hold fewer
  // spans than the one it replaces, so add traces until the request is covered (one or two).
  for (;;) {
    w.spans = CountSpans(GeneratorOptionsFor(w));
    if (w.spans >= spans) return w;
    ++w.traces;
  }
}

GeneratorOptions GeneratorOptionsFor(const Workload& workload) {
  GeneratorOptions o;
  o.seed = workload.seed;
  o.traces = workload.traces;
  o.plant_gap_trace = true;
  return o;
}

absl::Status ForEachBatch(const Workload& workload, size_t batch_size,
                          std::vector<TraceId>* trace_ids, double* generate_seconds,
                          absl::FunctionRef<absl::Status(absl::Span<const Span>)> write) {
  CheckoutGenerator gen(GeneratorOptionsFor(workload));
  std::vector<Span> batch, trace;
  batch.reserve(batch_size);
  *generate_seconds = 0;
  double t0 = ThreadCpuSeconds();
  while (gen.NextTrace(&trace)) {
    if (!trace.empty()) trace_ids->push_back(trace[0].trace_id);
    for (Span& span : trace) {
      batch.push_back(std::move(span));
      if (batch.size() == batch_size) {
        *generate_seconds += ThreadCpuSeconds() - t0;
        if (absl::Status s = write(batch); !s.ok()) return s;
        batch.clear();
        t0 = ThreadCpuSeconds();
      }
    }
  }
  *generate_seconds += ThreadCpuSeconds() - t0;
  if (!batch.empty()) return write(batch);
  return absl::OkStatus();
}

std::vector<TraceId> PickLookups(const std::vector<TraceId>& ids, size_t count) {
  std::vector<TraceId> out;
  if (ids.empty()) return out;
  std::mt19937_64 rng(7);
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) out.push_back(ids[rng() % ids.size()]);
  return out;
}

absl::StatusOr<std::vector<SpanQuery>> SearchQueries(const Workload& workload) {
  auto parsed = ParseQuery(kSearchFilter);
  if (!parsed.ok()) return parsed.status();
  const GeneratorOptions o = GeneratorOptionsFor(workload);
  std::vector<SpanQuery> out;
  for (uint64_t minute : {5, 15, 25, 35, 45}) {
    SpanQuery q = *parsed;
    q.start_min = o.start_time_unix_nano + minute * kMinute;
    q.start_max = q.start_min + 10 * kMinute - 1;
    out.push_back(std::move(q));
  }
  return out;
}

absl::StatusOr<SpanQuery> ScanQuery() { return ParseQuery(kScanFilter); }

absl::StatusOr<SpanQuery> NeedleQuery() { return ParseQuery(kNeedleFilter); }

absl::StatusOr<std::vector<SpanQuery>> CommonValueQueries(const Workload& workload) {
  auto parsed = ParseQuery(kCommonFilter);
  if (!parsed.ok()) return parsed.status();
  auto windows = SearchQueries(workload);
  if (!windows.ok()) return windows.status();
  std::vector<SpanQuery> out;
  for (const SpanQuery& w : *windows) {
    SpanQuery q = *parsed;
    q.start_min = w.start_min;
    q.start_max = w.start_max;
    out.push_back(std::move(q));
  }
  return out;
}

}  // namespace spanstore::compare
