// TraceQL search speed per feature class: spans of the store per second of a search (the store's
// size divided by one search's time), over checkout traces compacted into blocks. The baseline
// is the single-filter path (FindTraces) that existed before Store::Search; "single filter via
// Search" is the same query through Store::Search.
//
//   build/benchmarks/traceql_bench [--benchmark_filter=...]
//   SPANSTORE_TRACEQL_BENCH_TRACES=20000 (default 10000, ~170k spans) sets the store's size.

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "spanstore/spanstore.h"
#include "workload/checkout_generator.h"

namespace spanstore {
namespace {

struct Fixture {
  std::string dir;
  std::unique_ptr<Store> store;
  uint64_t spans = 0;
};

// One store for every benchmark of the run, built on first use and kept (benchmarks only read).
Fixture& SharedStore() {
  static Fixture* f = [] {
    auto* fx = new Fixture;
    char tmpl[] = "/tmp/traceql_bench.XXXXXX";
    fx->dir = ::mkdtemp(tmpl);
    Options o;
    o.sync = SyncPolicy::kNone;
    o.background_compaction = false;
    fx->store = *Store::Open(o, fx->dir);
    GeneratorOptions g;
    const char* n = std::getenv("SPANSTORE_TRACEQL_BENCH_TRACES");
    g.traces = n != nullptr ? std::strtoull(n, nullptr, 10) : 10000;
    g.error_rate = 0.05;
    g.plant_gap_trace = true;  // the one span with http.host "payments.staging.internal"
    CheckoutGenerator gen(g);
    std::vector<Span> trace, batch;
    while (gen.NextTrace(&trace)) {
      batch.insert(batch.end(), trace.begin(), trace.end());
      if (batch.size() >= 4096) {
        fx->spans += batch.size();
        (void)fx->store->Append(batch);
        batch.clear();
      }
    }
    fx->spans += batch.size();
    (void)fx->store->Append(batch);
    (void)fx->store->CompactAll();
    return fx;
  }();
  return *f;
}

void Report(benchmark::State& state, size_t found) {
  const Fixture& f = SharedStore();
  state.counters["spans/s"] = benchmark::Counter(static_cast<double>(f.spans) * state.iterations(),
                                                 benchmark::Counter::kIsRate);
  state.counters["traces"] = static_cast<double>(found);
}

// The pre-TraceQL path: ParseQuery + FindTraces.
void BM_FindTraces(benchmark::State& state, const char* text) {
  Fixture& f = SharedStore();
  const SpanQuery q = *ParseQuery(text);
  size_t found = 0;
  for (auto _ : state) {
    auto r = f.store->FindTraces(q, 20);
    if (!r.ok()) state.SkipWithError(std::string(r.status().message()).c_str());
    found = r.ok() ? r->size() : 0;
  }
  Report(state, found);
}

void BM_Search(benchmark::State& state, const char* text) {
  Fixture& f = SharedStore();
  auto q = ParseTraceQuery(text);
  if (!q.ok()) {
    state.SkipWithError(std::string(q.status().message()).c_str());
    return;
  }
  SearchOptions options;
  options.limit = 20;
  size_t found = 0;
  for (auto _ : state) {
    auto r = f.store->Search(*q, options);
    if (!r.ok()) state.SkipWithError(std::string(r.status().message()).c_str());
    found = r.ok() ? r->size() : 0;
  }
  Report(state, found);
}

// Attribute equality on a value few row groups hold (the seed's incident, an id no span has):
// answered from the row groups' value filters.
BENCHMARK_CAPTURE(BM_FindTraces, attribute_needle_string,
                  "{ span.http.host = \"payments.staging.internal\" }")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Search, attribute_needle_string,
                  "{ span.http.host = \"payments.staging.internal\" }")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Search, attribute_absent_string, "{ span.app.user.id = \"nobody\" }")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Search, attribute_absent_int, "{ span.network.peer.port = 1 }")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_FindTraces, single_filter_status, "{ status = error }")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Search, single_filter_status, "{ status = error }")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_FindTraces, single_filter_attribute,
                  "{ span.http.response.status_code >= 500 }")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Search, single_filter_attribute, "{ span.http.response.status_code >= 500 }")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Search, scope_resource_and_instrumentation,
                  "{ resource.cloud.region = \"eu-west-1\" && instrumentation:name = "
                  "\"io.opentelemetry.http\" && status = error }")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Search, scope_event, "{ event:name = \"exception\" }")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Search, spanset_and,
                  "{ resource.service.name = \"payment\" } && { status = error }")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Search, spanset_or, "{ status = error } || { duration > 500ms }")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Search, structural_descendant,
                  "{ resource.service.name = \"frontend\" } >> { status = error }")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Search, structural_child, "{ kind = server } > { status = error }")
    ->Unit(benchmark::kMillisecond);
// The lazy plan's worst shape: a narrow left side under a broad right side.
BENCHMARK_CAPTURE(BM_Search, structural_narrow_left, "{ status = error } > { kind = client }")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Search, structural_negated, "{ status = error } !< { status = error }")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Search, pipeline_count, "{ status = error } | count() > 2")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Search, pipeline_by_avg,
                  "{ status = error } | by(resource.service.name) | avg(duration) > 1ms")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Search, trace_intrinsic, "{ trace:duration > 20ms && status = error }")
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace spanstore
