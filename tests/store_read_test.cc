// The read path's stopping rules (engine/store_read.cc and the scans under it): a scan gives up
// at SpanQuery::deadline and when SpanQuery::cancel is set, over blocks and over memtables; a
// FindTraces with a limit stops early with the same answer.

#include <algorithm>
#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "spanstore/spanstore.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

constexpr int kSpans = 60000;

class StoreReadTest : public ::testing::TestWithParam<bool> {
 protected:
  // GetParam(): the spans are compacted into blocks (true) or left in the memtable (false).
  void SetUp() override {
    Options o;
    o.sync = SyncPolicy::kNone;
    o.background_compaction = false;
    auto store = Store::Open(o, dir_.path());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    std::vector<Span> batch;
    for (int i = 0; i < kSpans; ++i) {
      Span s;
      const int trace = i / 4;  // four spans a trace
      s.trace_id.bytes[0] = 1;
      s.trace_id.bytes[14] = static_cast<uint8_t>(trace >> 8);
      s.trace_id.bytes[15] = static_cast<uint8_t>(trace);
      s.span_id.bytes[0] = 1;
      s.span_id.bytes[7] = static_cast<uint8_t>(i);
      s.span_id.bytes[6] = static_cast<uint8_t>(i >> 8);
      s.span_id.bytes[5] = static_cast<uint8_t>(i >> 16);
      s.service_name = "svc";
      s.name = "op";
      s.start_time_unix_nano = 1'700'000'000'000'000'000 + static_cast<uint64_t>(i) * 1000;
      s.end_time_unix_nano = s.start_time_unix_nano + 500;
      s.attributes.push_back({"http.url", AnyValue::String(absl::StrCat("/api/v1/item/", i))});
      batch.push_back(std::move(s));
      if (batch.size() == 1000) {
        ASSERT_TRUE(store_->Append(batch).ok());
        batch.clear();
      }
    }
    if (GetParam()) {
      ASSERT_TRUE(store_->CompactAll().ok());
    }
  }

  // A query whose every one of `terms` regular expressions matches every span, so each span
  // costs all of them: hours of work without a deadline.
  static SpanQuery CostlyQuery(int terms) {
    SpanQuery q;
    for (int i = 0; i < terms; ++i) {
      AttributePredicate p;
      p.scope = AttributeScope::kSpan;
      p.key = "http.url";
      p.op = CompareOp::kRegex;
      p.regex = *Regex::Compile(absl::StrCat("(/[a-z0-9]*)*/(item|", i, ")/[0-9]+"));
      p.value = AnyValue::String(p.regex->pattern());
      q.attributes.push_back(std::move(p));
    }
    return q;
  }

  test::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreReadTest, DeadlineStopsAScanWithThousandsOfRegexTerms) {
  SpanQuery q = CostlyQuery(5000);
  q.deadline = absl::Now() + absl::Milliseconds(200);
  const absl::Time start = absl::Now();
  size_t seen = 0;
  absl::Status s = store_->Scan(q, [&](const Span&) {
    ++seen;
    return true;
  });
  const absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(absl::IsDeadlineExceeded(s)) << s;
  EXPECT_LT(seen, static_cast<size_t>(kSpans));  // a partial answer, marked by the status
  EXPECT_LT(took, absl::Seconds(3)) << "the scan ran well past its deadline";

  // Without a limit (a search for the latest 20 traces may stop well before the deadline:
  // it reads a block's newest row groups first).
  q.deadline = absl::Now() + absl::Milliseconds(200);
  auto found = store_->FindTraces(q, 0);
  EXPECT_TRUE(absl::IsDeadlineExceeded(found.status())) << found.status();
}

TEST_P(StoreReadTest, CancelledScanStops) {
  std::atomic<bool> cancel{false};
  SpanQuery q;
  q.cancel = &cancel;
  size_t seen = 0;
  absl::Status s = store_->Scan(q, [&](const Span&) {
    if (++seen == 10) cancel.store(true);
    return true;
  });
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
  // It stops at the next check: within 16 spans.
  EXPECT_LE(seen, 10u + 16u);

  // Cancelled before it starts: nothing is read.
  seen = 0;
  s = store_->Scan(q, [&](const Span&) { return ++seen > 0; });
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
  EXPECT_EQ(seen, 0u);
  EXPECT_TRUE(absl::IsCancelled(store_->FindTraces(q, 10).status()));
}

TEST_P(StoreReadTest, DeadlineInTheFutureChangesNothing) {
  SpanQuery q;
  q.deadline = absl::Now() + absl::Hours(1);
  size_t seen = 0;
  ASSERT_TRUE(store_->Scan(q, [&](const Span&) { return ++seen > 0; }).ok());
  EXPECT_EQ(seen, static_cast<size_t>(kSpans));
  auto found = store_->FindTraces(q, 0);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->size(), static_cast<size_t>(kSpans / 4));
}

INSTANTIATE_TEST_SUITE_P(BlocksAndMemtable, StoreReadTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Blocks" : "Memtable"; });

}  // namespace
}  // namespace spanstore

namespace spanstore {
namespace {

// FindTraces with a limit reads blocks, and the row groups within each, newest first and stops
// once nothing older can enter the result: its answer must be the first `limit` traces of the
// unlimited answer, whole (matched_spans included). Traces straddle blocks (late spans flushed
// with a later batch) and row groups (16 rows each), with long traces whose spans lie far apart.
TEST(StoreReadStopTest, FindTracesWithALimitIsTheHeadOfTheFullAnswer) {
  test::TempDir dir;
  Options o;
  o.sync = SyncPolicy::kNone;
  o.background_compaction = false;
  o.rows_per_group = 16;
  auto opened = Store::Open(o, dir.path());
  ASSERT_TRUE(opened.ok()) << opened.status();
  Store& store = **opened;
  std::mt19937_64 rng(7);
  constexpr uint64_t kBase = 1'700'000'000'000'000'000;
  constexpr uint64_t kMinute = 60'000'000'000;
  std::vector<std::vector<Span>> batches(4);
  for (int t = 0; t < 3000; ++t) {
    const uint64_t start = kBase + rng() % (60 * kMinute);
    const int spans = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < spans; ++i) {
      Span s;
      s.trace_id.bytes[0] = 2;
      s.trace_id.bytes[14] = static_cast<uint8_t>(t >> 8);
      s.trace_id.bytes[15] = static_cast<uint8_t>(t);
      s.span_id.bytes[6] = static_cast<uint8_t>(i);
      s.span_id.bytes[7] = 1;
      s.service_name = rng() % 3 == 0 ? "a" : "b";
      s.name = "op";
      // One span in 8 starts up to 40 minutes after its trace (a late or long child).
      s.start_time_unix_nano = start + (rng() % 8 == 0 ? rng() % (40 * kMinute) : i * 1000);
      s.end_time_unix_nano = s.start_time_unix_nano + rng() % 2'000'000'000;
      if (i > 0) s.parent_span_id.bytes[7] = 1;  // the first span, the root
      // Mostly in the batch of its start's quarter of the hour; some a quarter later.
      size_t batch = (s.start_time_unix_nano - kBase) / (15 * kMinute);
      if (rng() % 10 == 0) ++batch;
      batches[std::min<size_t>(batch, batches.size() - 1)].push_back(std::move(s));
    }
  }
  for (const std::vector<Span>& batch : batches) {
    ASSERT_TRUE(store.Append(batch).ok());
    ASSERT_TRUE(store.CompactAll().ok());  // one block per batch (merged as the policy says)
  }
  int compared = 0;
  for (uint64_t window : {uint64_t{0}, 5 * kMinute, 20 * kMinute}) {
    for (const char* service : {"a", "b"}) {
      for (uint64_t min_duration : {uint64_t{0}, uint64_t{1'500'000'000}}) {
        SpanQuery q;
        q.services = {service};
        q.min_duration_nanos = min_duration;
        if (window != 0) {
          q.start_min = kBase + 30 * kMinute;
          q.start_max = q.start_min + window;
        }
        auto all = store.FindTraces(q, 0);
        ASSERT_TRUE(all.ok()) << all.status();
        for (size_t limit : {1, 5, 20, 100}) {
          SCOPED_TRACE(
              absl::StrCat(service, " window ", window, " min ", min_duration, " limit ", limit));
          auto some = store.FindTraces(q, limit);
          ASSERT_TRUE(some.ok()) << some.status();
          ASSERT_EQ(some->size(), std::min(limit, all->size()));
          for (size_t i = 0; i < some->size(); ++i) {
            const TraceSummary& want = (*all)[i];
            const TraceSummary& got = (*some)[i];
            EXPECT_EQ(got.trace_id, want.trace_id) << i;
            EXPECT_EQ(got.start_time_unix_nano, want.start_time_unix_nano) << i;
            EXPECT_EQ(got.span_count, want.span_count) << i;
            EXPECT_EQ(got.matched_spans, want.matched_spans) << i;
          }
          compared += some->size();
        }
      }
    }
  }
  EXPECT_GT(compared, 500);
}

}  // namespace
}  // namespace spanstore
