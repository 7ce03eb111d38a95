// query/critical_path.cc: the self time of each span on the critical path, and its aggregate
// per (service, operation) over the traces a filter selects.

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/analysis.h"
#include "spanstore/store.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

Span MakeSpan(int trace, int id, int parent, const std::string& service, const std::string& name,
              uint64_t start, uint64_t end) {
  Span s;
  s.trace_id.bytes[0] = static_cast<uint8_t>(trace);
  s.trace_id.bytes[15] = 1;
  s.span_id.bytes[7] = static_cast<uint8_t>(id);
  if (parent != 0) s.parent_span_id.bytes[7] = static_cast<uint8_t>(parent);
  s.service_name = service;
  s.name = name;
  s.start_time_unix_nano = start;
  s.end_time_unix_nano = end;
  return s;
}

TEST(CriticalPathTest, SelfTimesSumToTheRoot) {
  // root [0,100): a [10,40), b [20,90) in parallel, c [50,60) inside b, d [95,99) after.
  // From the end backwards: root 99..100, d 95..99, root 90..95, b 60..90, c 50..60, b 20..50,
  // then a, which the path reaches at 20, owns 10..20, and the root 0..10.
  std::vector<Span> spans = {
      MakeSpan(1, 1, 0, "web", "root", 0, 100), MakeSpan(1, 2, 1, "a", "a", 10, 40),
      MakeSpan(1, 3, 1, "b", "b", 20, 90),      MakeSpan(1, 4, 3, "c", "c", 50, 60),
      MakeSpan(1, 5, 1, "d", "d", 95, 99),
  };
  const std::vector<uint64_t> self = CriticalPathSelfTimes(spans);
  EXPECT_THAT(self, ::testing::ElementsAre(1 + 5 + 10, 10, 30 + 30, 10, 4));
  uint64_t sum = 0;
  for (uint64_t v : self) sum += v;
  EXPECT_EQ(sum, 100u);
}

TEST(CriticalPathTest, OrphansAndSkewedChildren) {
  // A child that starts before and ends after its parent is clipped to the parent's interval;
  // an orphan whose parent is missing is a root of its own, and the later-ending root wins.
  std::vector<Span> spans = {
      MakeSpan(1, 1, 0, "web", "root", 100, 200),
      MakeSpan(1, 2, 1, "skewed", "x", 50, 250),
      MakeSpan(1, 3, 9, "orphan", "y", 300, 310),
  };
  EXPECT_THAT(CriticalPathSelfTimes(spans), ::testing::ElementsAre(0, 0, 10));
  spans.pop_back();
  EXPECT_THAT(CriticalPathSelfTimes(spans), ::testing::ElementsAre(0, 100));
  EXPECT_TRUE(CriticalPathSelfTimes({}).empty());
}

TEST(CriticalPathTest, AggregateOverAFilter) {
  test::TempDir dir;
  auto store = *Store::Open(Options(), dir.Sub("db"));
  std::vector<Span> spans;
  // 100 traces: web (10 own) -> db (90); two slow traces where db takes 10,000.
  for (int t = 1; t <= 100; ++t) {
    const uint64_t base = static_cast<uint64_t>(t) * 100'000;
    const uint64_t db = t == 50 || t == 60 ? 10'000 : 90;
    spans.push_back(MakeSpan(t, 1, 0, "web", "GET", base, base + 10 + db));
    spans.push_back(MakeSpan(t, 2, 1, "db", "SELECT", base + 5, base + 5 + db));
  }
  ASSERT_TRUE(store->Append(spans).ok());
  auto report = ComputeCriticalPaths(*store, *ParseQuery("{ resource.service.name = \"web\" }"), 0);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->traces, 100u);
  EXPECT_EQ(report->p50_trace_ns, 100u);
  ASSERT_EQ(report->rows.size(), 2u);
  EXPECT_EQ(report->rows[0].service, "db");
  EXPECT_EQ(report->rows[0].total_ns, 98u * 90 + 2 * 10'000);
  EXPECT_NEAR(static_cast<double>(report->rows[0].p50_ns), 90, 1);
  EXPECT_EQ(report->rows[1].service, "web");
  EXPECT_EQ(report->rows[1].total_ns, 100u * 10);
  // The tail (traces at or above p99 duration) is the slow traces: db owns 10000 of 10010.
  EXPECT_NEAR(report->rows[0].tail_share, 10000.0 / 10010.0, 1e-3);
  EXPECT_THAT(CriticalPathJson(*report), ::testing::HasSubstr("\"service\":\"db\""));
  report = ComputeCriticalPaths(*store, *ParseQuery("{ name = \"nothing\" }"), 0);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->traces, 0u);
  ASSERT_TRUE(store->Close().ok());
}

}  // namespace
}  // namespace spanstore
