// `red` and `graph` (ComputeRed, ComputeServiceGraph) over a compacted checkout store, cold and
// warm.
//
//   SPANSTORE_ANALYSIS_BENCH_SPANS=10000000 build/benchmarks/analysis_bench
//
// The store is generated once into $SPANSTORE_ANALYSIS_BENCH_DIR (default
// $TMPDIR/spanstore_analysis_bench_<spans>) with the checkout generator (seed 1, ~19 spans per
// trace over one hour, SyncPolicy::kNone, then CompactAll) and reused by later runs.
//   warm: the store stays open and its files stay in the page cache; every iteration one
//         analysis over the whole store.
//   cold: before each iteration (not timed) the store is closed, every file of it is dropped
//         from the page cache (posix_fadvise DONTNEED; the pages are clean, so the kernel lets
//         them go) and the store reopened; the timed part reads the blocks from disk.
// Both analyses scan every span of the window: there is no per-block summary yet (README).

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "spanstore/spanstore.h"
#include "workload/checkout_generator.h"

namespace spanstore {
namespace {

namespace fs = std::filesystem;

uint64_t TargetSpans() {
  const char* v = std::getenv("SPANSTORE_ANALYSIS_BENCH_SPANS");
  return v ? std::strtoull(v, nullptr, 10) : 1'000'000;
}

std::string StoreDir() {
  if (const char* d = std::getenv("SPANSTORE_ANALYSIS_BENCH_DIR")) return d;
  const char* tmp = std::getenv("TMPDIR");
  return absl::StrCat(tmp ? tmp : "/tmp", "/spanstore_analysis_bench_", TargetSpans());
}

Options BenchOptions() {
  Options o;
  o.sync = SyncPolicy::kNone;
  o.background_compaction = false;
  return o;
}

// Builds the store unless a previous run left it complete (the marker is written last).
void EnsureStore() {
  const std::string dir = StoreDir();
  if (fs::exists(dir + "/BENCH_COMPLETE")) return;
  fs::remove_all(dir);
  auto store = Store::Open(BenchOptions(), dir);
  if (!store.ok()) std::abort();
  GeneratorOptions g;
  g.traces = TargetSpans() / 19 + 1;
  CheckoutGenerator gen(g);
  std::vector<Span> trace, batch;
  uint64_t spans = 0;
  while (spans < TargetSpans() && gen.NextTrace(&trace)) {
    batch.insert(batch.end(), trace.begin(), trace.end());
    spans += trace.size();
    if (batch.size() >= 5000) {
      if (!(*store)->Append(batch).ok()) std::abort();
      batch.clear();
    }
  }
  if (!batch.empty() && !(*store)->Append(batch).ok()) std::abort();
  if (!(*store)->CompactAll().ok() || !(*store)->Close().ok()) std::abort();
  std::FILE* f = std::fopen((dir + "/BENCH_COMPLETE").c_str(), "w");
  if (f != nullptr) std::fclose(f);
}

void DropFromPageCache(const std::string& dir) {
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const int fd = ::open(entry.path().c_str(), O_RDONLY);
    if (fd < 0) continue;
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

std::unique_ptr<Store> OpenBenchStore() {
  EnsureStore();
  auto store = Store::Open(BenchOptions(), StoreDir());
  if (!store.ok()) std::abort();
  return std::move(*store);
}

template <typename Fn>
void Run(benchmark::State& state, bool cold, Fn analyse) {
  std::unique_ptr<Store> store = OpenBenchStore();
  uint64_t spans = cold ? 0 : analyse(*store);  // warm: the page cache and the allocator
  for (auto _ : state) {
    if (cold) {
      state.PauseTiming();
      if (!store->Close().ok()) std::abort();
      store.reset();
      DropFromPageCache(StoreDir());
      store = OpenBenchStore();
      state.ResumeTiming();
    }
    spans = analyse(*store);
  }
  state.counters["spans"] = static_cast<double>(spans);
  state.counters["spans_per_s"] =
      benchmark::Counter(static_cast<double>(spans) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
  if (!store->Close().ok()) std::abort();
}

uint64_t Graph(Store& store) {
  auto graph = ComputeServiceGraph(store, AnalysisWindow());
  if (!graph.ok() || graph->edges.empty()) std::abort();
  benchmark::DoNotOptimize(graph->edges.data());
  return graph->spans;
}

uint64_t Red(Store& store) {
  auto red = ComputeRed(store, AnalysisWindow(), RedGrouping::kService);
  if (!red.ok() || red->rows.empty()) std::abort();
  benchmark::DoNotOptimize(red->rows.data());
  return red->spans;
}

void BM_GraphWarm(benchmark::State& state) { Run(state, false, Graph); }
void BM_GraphCold(benchmark::State& state) { Run(state, true, Graph); }
void BM_RedWarm(benchmark::State& state) { Run(state, false, Red); }
void BM_RedCold(benchmark::State& state) { Run(state, true, Red); }

BENCHMARK(BM_GraphCold)->Unit(benchmark::kMillisecond)->Iterations(2)->UseRealTime();
BENCHMARK(BM_GraphWarm)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();
BENCHMARK(BM_RedCold)->Unit(benchmark::kMillisecond)->Iterations(2)->UseRealTime();
BENCHMARK(BM_RedWarm)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

}  // namespace
}  // namespace spanstore
