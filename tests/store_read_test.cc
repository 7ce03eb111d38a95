// The read path's stopping rules (engine/store_read.cc and the scans under it): a scan gives up
// at SpanQuery::deadline and when SpanQuery::cancel is set, over blocks and over memtables.

#include <atomic>
#include <memory>
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
