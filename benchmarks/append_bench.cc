// Ingest: Store::Append spans/s and WAL MB/s by batch size, sync policy and appender threads.
//
//   build-release/benchmarks/append_bench --benchmark_min_time=1
//
// The spans come from the checkout generator (10-15 attributes, ~20 resource attributes). The
// store lives in a fresh directory under $TMPDIR (default /tmp): run it on the disk you care about.

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <new>

#include "format/span_codec.h"
#include "spanstore/spanstore.h"
#include "workload/checkout_generator.h"

// Every operator new of this binary is counted (counter allocs_per_span): the issue's "no
// per-span heap allocation on the hot path". Each form forwards to malloc/free, which is
// tcmalloc's when the binary links it, so the timings are those of the real allocator.
namespace {
std::atomic<uint64_t> g_news{0};
void* CountedNew(size_t n) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
// Out of line, as in tests/block_reader_crafted_test.cc: g++ would flag a free() it sees
// inlined next to the operator new of the same pointer.
[[gnu::noinline]] void CountedFree(void* p) noexcept { std::free(p); }
}  // namespace

void* operator new(size_t n) { return CountedNew(n); }
void* operator new[](size_t n) { return CountedNew(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  g_news.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { CountedFree(p); }
void operator delete[](void* p) noexcept { CountedFree(p); }
void operator delete(void* p, size_t) noexcept { CountedFree(p); }
void operator delete[](void* p, size_t) noexcept { CountedFree(p); }

namespace spanstore {
namespace {

const std::vector<Span>& Spans() {
  static const std::vector<Span>* spans = [] {
    auto* out = new std::vector<Span>;
    GeneratorOptions o;
    o.traces = 20000;
    CheckoutGenerator gen(o);
    std::vector<Span> trace;
    while (gen.NextTrace(&trace)) out->insert(out->end(), trace.begin(), trace.end());
    return out;
  }();
  return *spans;
}

double EncodedBytesPerSpan() {
  static const double bytes = [] {
    // WAL bytes as Append writes them: batches of 1000 with their context tables.
    std::string buf;
    for (size_t i = 0; i < 10; ++i) {
      EncodeSpanBatch(absl::MakeConstSpan(Spans().data() + i * 1000, 1000), &buf);
    }
    return static_cast<double>(buf.size()) / 10000;
  }();
  return bytes;
}

std::unique_ptr<Store> g_store;
std::string g_dir;
std::atomic<size_t> g_cursor{0};

void BM_Append(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  const auto policy = static_cast<SyncPolicy>(state.range(1));
  const std::vector<Span>& spans = Spans();
  if (state.thread_index() == 0) {
    g_dir = (std::filesystem::temp_directory_path() / "spanstore_append_bench").string();
    std::filesystem::remove_all(g_dir);
    Options o;
    o.sync = policy;
    o.background_compaction = false;
    auto store = Store::Open(o, g_dir);
    if (!store.ok()) {
      state.SkipWithError(std::string(store.status().message()).c_str());
      return;
    }
    g_store = std::move(*store);
    g_cursor = 0;
  }
  const uint64_t news_before = g_news.load();
  for (auto _ : state) {
    // Threads take disjoint slices, so group commit merges different spans.
    size_t at = g_cursor.fetch_add(batch) % (spans.size() - batch);
    absl::Status s = g_store->Append(absl::MakeConstSpan(spans.data() + at, batch));
    if (!s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
  // Every thread's allocations (and the group commit's) over this thread's spans: with N
  // threads, each reports about the same ratio.
  state.counters["allocs_per_span"] =
      benchmark::Counter(static_cast<double>(g_news.load() - news_before) /
                             static_cast<double>(state.threads() * state.iterations() * batch),
                         benchmark::Counter::kAvgThreads);
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * batch * EncodedBytesPerSpan()));
  if (state.thread_index() == 0) {
    const StoreStats st = g_store->Stats();
    state.counters["spans_per_write"] =
        st.wal_writes ? static_cast<double>(st.appended_spans) / st.wal_writes : 0;
    state.counters["syncs"] = static_cast<double>(st.wal_syncs);
    state.counters["wal_bytes_per_span"] = EncodedBytesPerSpan();
    g_store.reset();
    std::filesystem::remove_all(g_dir);
  }
}

void Args(benchmark::internal::Benchmark* b) {
  for (int policy : {0, 1, 2}) {
    for (int batch : {1, 100, 1000}) b->Args({batch, policy});
  }
  b->ArgNames({"batch", "sync"});
}

// One thread, every batch size x policy (sync: 0 kEveryBatch, 1 kInterval, 2 kNone).
BENCHMARK(BM_Append)->Apply(Args)->UseRealTime()->Unit(benchmark::kMicrosecond);
// Group commit: single-span batches with kEveryBatch from 1..16 appenders.
BENCHMARK(BM_Append)
    ->Args({1, 0})
    ->ArgNames({"batch", "sync"})
    ->ThreadRange(1, 16)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
// Bulk ingest from two threads.
BENCHMARK(BM_Append)
    ->Args({1000, 2})
    ->ArgNames({"batch", "sync"})
    ->Threads(2)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace spanstore
