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

}  // namespace

Workload PlanWorkload(uint64_t spans, uint64_t seed) {
  Workload w;
  w.seed = seed;
  GeneratorOptions o;
  o.seed = seed;
  o.traces = spans;  // an upper bound: every trace has at least one span
  CheckoutGenerator gen(o);
  std::vector<Span> trace;
  while (w.spans < spans && gen.NextTrace(&trace)) {
    ++w.traces;
    w.spans += trace.size();
  }
  return w;
}

GeneratorOptions GeneratorOptionsFor(const Workload& workload) {
  GeneratorOptions o;
  o.seed = workload.seed;
  o.traces = workload.traces;
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

}  // namespace spanstore::compare
