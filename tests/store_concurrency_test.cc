// Appenders, readers (GetTrace, Scan, FindTraces) and segment rotation at once; every answer is
// checked against what was acknowledged. Run under ThreadSanitizer by scripts/test.sh.

#include <atomic>
#include <map>
#include <thread>

#include "gtest/gtest.h"
#include "spanstore/spanstore.h"
#include "tests/util/random_spans.h"
#include "tests/util/temp_dir.h"
#include "util/port_mutex.h"

namespace spanstore {
namespace {

// The parameter is Options::trace_index_cache_bytes: the default, and a budget of a few KB
// under which the blocks' trace indexes evict each other while lookups, scans and merges use
// them.
class StoreConcurrencyTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(StoreConcurrencyTest, ReadersSeeEveryAcknowledgedSpanExactlyOnce) {
  test::TempDir dir;
  Options o;
  o.trace_index_cache_bytes = GetParam();
  o.sync = SyncPolicy::kInterval;
  o.sync_interval = absl::Milliseconds(2);
  o.segment_bytes = 64 << 10;  // rotate often while readers run
  auto opened = Store::Open(o, dir.path());
  ASSERT_TRUE(opened.ok());
  Store* store = opened->get();

  port::Mutex mu;
  std::map<TraceId, size_t> acked;  // guarded by mu
  std::atomic<bool> stop{false};
  std::atomic<int> checks{0};

  std::vector<std::thread> threads;
  for (int a = 0; a < 3; ++a) {
    threads.emplace_back([&, a] {
      test::RandomSpanOptions ro;
      ro.huge_string_bytes = 500;
      test::RandomSpans gen(100 + a, ro);
      for (int i = 0; i < 150; ++i) {
        std::vector<Span> trace = gen.NextTrace(1 + i % 5);
        ASSERT_TRUE(store->Append(trace).ok());
        port::MutexLock l(&mu);
        acked[trace[0].trace_id] = trace.size();
      }
    });
  }
  for (int r = 0; r < 3; ++r) {
    threads.emplace_back([&, r] {
      while (!stop) {
        std::map<TraceId, size_t> snapshot;
        {
          port::MutexLock l(&mu);
          snapshot = acked;
        }
        if (snapshot.empty()) continue;
        // Everything acknowledged before we looked must be there, complete.
        auto it = snapshot.begin();
        std::advance(it, checks.load() % snapshot.size());
        auto trace = store->GetTrace(it->first);
        ASSERT_TRUE(trace.ok()) << trace.status();
        ASSERT_EQ(trace->spans.size(), it->second);
        if (r == 0) {
          std::map<TraceId, size_t> seen;
          ASSERT_TRUE(store->Scan(SpanQuery(), [&](const Span& s) {
            ++seen[s.trace_id];
            return true;
          }).ok());
          for (const auto& [id, n] : snapshot) ASSERT_EQ(seen[id], n);
        } else if (r == 1) {
          auto found = store->FindTraces(SpanQuery(), 0);
          ASSERT_TRUE(found.ok());
          ASSERT_GE(found->size(), snapshot.size());
        }
        ++checks;
      }
    });
  }
  for (int i = 0; i < 3; ++i) threads[i].join();
  stop = true;
  for (size_t i = 3; i < threads.size(); ++i) threads[i].join();
  EXPECT_GT(checks.load(), 0);
  // Segments rotated during the run (and, with background compaction, became blocks).
  const StoreStats st = store->Stats();
  EXPECT_GT(st.wal_segments + st.compactions, 3u);
}

INSTANTIATE_TEST_SUITE_P(TraceIndexBudgets, StoreConcurrencyTest,
                         ::testing::Values(Options().trace_index_cache_bytes, uint64_t{4096}));

}  // namespace
}  // namespace spanstore
