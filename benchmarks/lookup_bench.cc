// The lookups a trace UI makes, on a compacted checkout store: GetTrace through the cache of
// decompressed pages (Options::page_cache_bytes) against no cache, and FindTraces for one
// service and a duration in 10-minute windows (what spanstore_compare asks), in one process.
//
//   SPANSTORE_GET_TRACE_BENCH_SPANS=10000000 build/benchmarks/lookup_bench
//
// The store (checkout generator, seed 1, ~19 spans per trace over one hour, SyncPolicy::kNone,
// then CompactAll) is generated once into $SPANSTORE_GET_TRACE_BENCH_DIR (default
// $TMPDIR/spanstore_get_trace_bench_<spans>) and reused. Every benchmark opens it with its own
// cache budget (the argument, MiB; 0 = off) and looks up trace ids drawn uniformly at random
// (fixed seed) from every trace of the store -- the cache's worst case: no trace is more popular
// than another. Counters: the cache's hit rate and the bytes it holds at the end. The OS page
// cache is warm (every file was read before the timed loop).

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "spanstore/spanstore.h"
#include "workload/checkout_generator.h"

namespace spanstore {
namespace {

namespace fs = std::filesystem;

uint64_t TargetSpans() {
  const char* v = std::getenv("SPANSTORE_GET_TRACE_BENCH_SPANS");
  return v ? std::strtoull(v, nullptr, 10) : 1'000'000;
}

std::string StoreDir() {
  if (const char* d = std::getenv("SPANSTORE_GET_TRACE_BENCH_DIR")) return d;
  const char* tmp = std::getenv("TMPDIR");
  return absl::StrCat(tmp ? tmp : "/tmp", "/spanstore_get_trace_bench_", TargetSpans());
}

Options BenchOptions(uint64_t cache_bytes) {
  Options o;
  o.sync = SyncPolicy::kNone;
  o.background_compaction = false;
  o.page_cache_bytes = cache_bytes;
  return o;
}

// Builds the store unless a previous run left it complete (the marker is written last), and
// returns the ids of its traces.
std::vector<TraceId> EnsureStore() {
  const std::string dir = StoreDir();
  const bool complete = fs::exists(dir + "/BENCH_COMPLETE");
  if (!complete) fs::remove_all(dir);
  std::unique_ptr<Store> store;
  if (!complete) {
    auto opened = Store::Open(BenchOptions(0), dir);
    if (!opened.ok()) std::abort();
    store = std::move(*opened);
  }
  GeneratorOptions g;
  g.traces = TargetSpans() / 19 + 1;
  CheckoutGenerator gen(g);
  std::vector<Span> trace, batch;
  std::vector<TraceId> ids;
  uint64_t spans = 0;
  while (spans < TargetSpans() && gen.NextTrace(&trace)) {
    ids.push_back(trace.front().trace_id);
    spans += trace.size();
    if (complete) continue;
    batch.insert(batch.end(), trace.begin(), trace.end());
    if (batch.size() >= 5000) {
      if (!store->Append(batch).ok()) std::abort();
      batch.clear();
    }
  }
  if (!complete) {
    if (!batch.empty() && !store->Append(batch).ok()) std::abort();
    if (!store->CompactAll().ok() || !store->Close().ok()) std::abort();
    std::FILE* f = std::fopen((dir + "/BENCH_COMPLETE").c_str(), "w");
    if (f != nullptr) std::fclose(f);
  }
  return ids;
}

// Untimed lookups, once per process before the first benchmark's loop: whichever GetTrace
// variant ran first used to run 25-45 % slower than the same variant run later (the process's
// first pass over the store, the allocator's first arenas), random interleaving or not.
void WarmUp(const std::vector<TraceId>& ids) {
  auto store = Store::Open(BenchOptions(64 << 20), StoreDir());
  if (!store.ok()) std::abort();
  std::mt19937_64 rng(11);
  for (int i = 0; i < 30000; ++i) {
    if (!(*store)->GetTrace(ids[rng() % ids.size()]).ok()) std::abort();
  }
  if (!(*store)->Close().ok()) std::abort();
}

const std::vector<TraceId>& TraceIds() {
  static const std::vector<TraceId>* ids = [] {
    auto* v = new std::vector<TraceId>(EnsureStore());
    WarmUp(*v);
    return v;
  }();
  return *ids;
}

// Opens the store with `options` and reads every span once, which warms the OS page cache (not
// the caches under test, which start empty either way).
std::unique_ptr<Store> OpenWarm(const Options& options) {
  auto store = Store::Open(options, StoreDir());
  if (!store.ok()) std::abort();
  if (!(*store)->Scan(SpanQuery{}, [](const Span&) { return true; }).ok()) std::abort();
  return std::move(*store);
}

// The timed loop: GetTrace of trace ids drawn uniformly (fixed seed). Returns the spans read.
uint64_t LookUpUniformly(benchmark::State& state, Store* store) {
  const std::vector<TraceId>& ids = TraceIds();
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<size_t> pick(0, ids.size() - 1);
  uint64_t spans = 0;
  for (auto _ : state) {
    auto trace = store->GetTrace(ids[pick(rng)]);
    if (!trace.ok()) std::abort();
    spans += trace->spans.size();
    benchmark::DoNotOptimize(trace->spans.data());
  }
  return spans;
}

void BM_GetTrace(benchmark::State& state) {
  TraceIds();  // the store exists, outside the timed loop
  const uint64_t cache_bytes = static_cast<uint64_t>(state.range(0)) << 20;
  const std::unique_ptr<Store> store = OpenWarm(BenchOptions(cache_bytes));
  const uint64_t spans = LookUpUniformly(state, store.get());
  const StoreStats st = store->Stats();
  const double lookups = static_cast<double>(st.page_cache_hits + st.page_cache_misses);
  state.counters["hit_rate"] = lookups > 0 ? static_cast<double>(st.page_cache_hits) / lookups : 0;
  state.counters["cache_MiB"] = static_cast<double>(st.page_cache_bytes) / (1 << 20);
  state.counters["spans_per_trace"] =
      static_cast<double>(spans) / static_cast<double>(state.iterations());
  if (!store->Close().ok()) std::abort();
}

// GetTrace (page cache at its default) under a budget for the blocks' trace indexes
// (Options::trace_index_cache_bytes, the argument in MiB): 256, the default, holds every index
// of a 100M-span store; 1 holds none of a 1M-span store's blocks, so every lookup reads and
// parses its block's index again -- what a lookup costs once the indexes outgrow the budget.
void BM_GetTraceIndexBudget(benchmark::State& state) {
  TraceIds();  // the store exists, outside the timed loop
  Options options = BenchOptions(64 << 20);
  options.trace_index_cache_bytes = static_cast<uint64_t>(state.range(0)) << 20;
  const std::unique_ptr<Store> store = OpenWarm(options);
  LookUpUniformly(state, store.get());
  const StoreStats st = store->Stats();
  state.counters["index_MiB"] = static_cast<double>(st.trace_index_cache_bytes) / (1 << 20);
  state.counters["blocks"] = static_cast<double>(st.blocks);
  if (!store->Close().ok()) std::abort();
}

// FindTraces `{ resource.service.name = "frontend" && duration > 1s }`, limit 20, over the
// 10-minute windows starting at minutes 5, 15, 25, 35 and 45 of the generated hour, in turn;
// the argument is the cache budget in MiB as above.
void BM_FindTraces(benchmark::State& state) {
  TraceIds();  // the store exists
  auto store = Store::Open(BenchOptions(static_cast<uint64_t>(state.range(0)) << 20), StoreDir());
  if (!store.ok()) std::abort();
  if (!(*store)->Scan(SpanQuery{}, [](const Span&) { return true; }).ok()) std::abort();
  auto parsed = ParseQuery(R"({ resource.service.name = "frontend" && duration > 1s })");
  if (!parsed.ok()) std::abort();
  std::vector<SpanQuery> windows;
  const GeneratorOptions g;
  for (uint64_t minute : {5, 15, 25, 35, 45}) {
    SpanQuery q = *parsed;
    q.start_min = g.start_time_unix_nano + minute * 60'000'000'000ull;
    q.start_max = q.start_min + 10 * 60'000'000'000ull - 1;
    windows.push_back(std::move(q));
  }
  size_t next = 0;
  uint64_t found = 0;
  for (auto _ : state) {
    auto result = (*store)->FindTraces(windows[next++ % windows.size()], 20);
    if (!result.ok()) std::abort();
    found += result->size();
  }
  state.counters["traces"] = static_cast<double>(found) / static_cast<double>(state.iterations());
  if (!(*store)->Close().ok()) std::abort();
}

// The needle `{ span.http.host = "payments.staging.internal" }` over the whole store, limit 20.
// The store holds no such span (the generator plants none here), so every row group's value
// filter is probed: the cost of the per-group filters alone.
void BM_NeedleFindTraces(benchmark::State& state) {
  TraceIds();  // the store exists
  auto store = Store::Open(BenchOptions(64 << 20), StoreDir());
  if (!store.ok()) std::abort();
  auto query = ParseQuery(R"({ span.http.host = "payments.staging.internal" })");
  if (!query.ok()) std::abort();
  for (auto _ : state) {
    auto result = (*store)->FindTraces(*query, 20);
    if (!result.ok() || !result->empty()) std::abort();
  }
  const StoreStats st = (*store)->Stats();
  state.counters["blocks"] = static_cast<double>(st.blocks);
  if (!(*store)->Close().ok()) std::abort();
}

// A user's traces, `{ span.app.user.id = "u-..." }` (a user of the middle trace), limit 20:
// app.user.id has ~5M values, too many for the block value filter's budget, so every block's
// row-group filters are probed. The argument is Options::value_filter_cache_bytes in MiB: 256
// (the default) keeps every block's filters after the first search; 0 keeps none, so each
// search reads and checks every block's filters again -- the cost of a filter cache too small
// for the store. Counter: the filter bytes held at the end.
void BM_UserFindTraces(benchmark::State& state) {
  const std::vector<TraceId>& ids = TraceIds();
  Options options = BenchOptions(64 << 20);
  options.value_filter_cache_bytes = static_cast<uint64_t>(state.range(0)) << 20;
  auto store = Store::Open(options, StoreDir());
  if (!store.ok()) std::abort();
  auto trace = (*store)->GetTrace(ids[ids.size() / 2]);
  if (!trace.ok()) std::abort();
  std::string user;
  for (const Span& span : trace->spans) {
    const AnyValue* v = FindAttribute(span.attributes, "app.user.id");
    if (v != nullptr && v->type() == AnyValue::Type::kString) user = v->string_value();
  }
  if (user.empty()) std::abort();
  auto query = ParseQuery(absl::StrCat(R"({ span.app.user.id = ")", user, R"(" })"));
  if (!query.ok()) std::abort();
  for (auto _ : state) {
    auto result = (*store)->FindTraces(*query, 20);
    if (!result.ok() || result->empty()) std::abort();
  }
  const StoreStats st = (*store)->Stats();
  state.counters["filters_MiB"] = static_cast<double>(st.value_filter_cache_bytes) / (1 << 20);
  state.counters["blocks"] = static_cast<double>(st.blocks);
  if (!(*store)->Close().ok()) std::abort();
}

// 0: off; 64: the default; 1024: every decompressed page of a 1M-span store fits.
BENCHMARK(BM_GetTrace)
    ->Arg(0)
    ->Arg(64)
    ->Arg(1024)
    ->Unit(benchmark::kMicrosecond)
    ->Iterations(100000);
BENCHMARK(BM_GetTraceIndexBudget)
    ->Arg(256)
    ->Arg(1)
    ->Unit(benchmark::kMicrosecond)
    ->Iterations(20000);
BENCHMARK(BM_FindTraces)->Arg(0)->Arg(64)->Unit(benchmark::kMillisecond)->Iterations(200);
BENCHMARK(BM_NeedleFindTraces)->Unit(benchmark::kMillisecond)->Iterations(100);
BENCHMARK(BM_UserFindTraces)->Arg(256)->Arg(0)->Unit(benchmark::kMillisecond)->Iterations(50);

}  // namespace
}  // namespace spanstore
