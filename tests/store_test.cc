#include "spanstore/store.h"

#include <algorithm>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/spanstore.h"
#include "tests/util/random_spans.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Options TestOptions() {
  Options o;
  o.sync = SyncPolicy::kNone;
  return o;
}

Span MakeSpan(const TraceId& trace, uint8_t id, const std::string& service,
              const std::string& name, uint64_t start, uint64_t duration,
              StatusCode status = StatusCode::kUnset, SpanKind kind = SpanKind::kServer) {
  Span s;
  s.trace_id = trace;
  s.span_id.bytes[7] = id;
  s.service_name = service;
  s.name = name;
  s.start_time_unix_nano = start;
  s.end_time_unix_nano = start + duration;
  s.status_code = status;
  s.kind = kind;
  s.resource_attributes.push_back({"service.name", AnyValue::String(service)});
  return s;
}

TraceId Tid(uint8_t n) {
  TraceId t;
  t.bytes[15] = n;
  return t;
}

class StoreTest : public ::testing::Test {
 protected:
  void Open(Options options = TestOptions()) {
    auto store = Store::Open(options, dir_.path());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  void Reopen(Options options = TestOptions()) {
    ASSERT_TRUE(store_->Close().ok());
    store_.reset();
    Open(options);
  }
  std::vector<Span> ScanAll(const SpanQuery& q) {
    std::vector<Span> out;
    absl::Status s = store_->Scan(q, [&](const Span& sp) {
      out.push_back(sp);
      return true;
    });
    EXPECT_TRUE(s.ok()) << s;
    std::sort(out.begin(), out.end(), [](const Span& a, const Span& b) {
      return std::tie(a.trace_id, a.span_id) < std::tie(b.trace_id, b.span_id);
    });
    return out;
  }

  test::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, AppendGetTraceAndReopen) {
  Open();
  test::RandomSpans gen(1);
  std::vector<Span> trace = gen.NextTrace(20);
  ASSERT_TRUE(store_->Append(trace).ok());
  auto got = store_->GetTrace(trace[0].trace_id);
  ASSERT_TRUE(got.ok()) << got.status();
  std::vector<Span> expected = trace;
  std::sort(expected.begin(), expected.end(), [](const Span& a, const Span& b) {
    return std::tie(a.start_time_unix_nano, a.span_id) < std::tie(b.start_time_unix_nano, b.span_id);
  });
  EXPECT_EQ(got->spans, expected);
  EXPECT_FALSE(got->truncated);

  Reopen();
  got = store_->GetTrace(trace[0].trace_id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->spans, expected);
  EXPECT_EQ(store_->Stats().recovered_spans, 20u);
}

// Options::trace_index_cache_bytes: opening reads no trace index, a lookup keeps its block's,
// and under a budget smaller than one index every lookup reads it again and answers the same.
TEST_F(StoreTest, TraceIndexesStayWithinTheirBudget) {
  Options o = TestOptions();
  o.background_compaction = false;
  Open(o);
  test::RandomSpans gen(5);
  std::vector<std::vector<Span>> traces;
  for (int block = 0; block < 3; ++block) {
    for (int t = 0; t < 20; ++t) {
      traces.push_back(gen.NextTrace(1 + t % 4));
      ASSERT_TRUE(store_->Append(traces.back()).ok());
    }
    ASSERT_TRUE(store_->CompactAll().ok());
  }
  for (const uint64_t budget : {o.trace_index_cache_bytes, uint64_t{64}}) {
    SCOPED_TRACE(budget);
    o.trace_index_cache_bytes = budget;
    Reopen(o);
    ASSERT_GT(store_->Stats().blocks, 0u);
    EXPECT_EQ(store_->Stats().trace_index_cache_bytes, 0u);
    for (const std::vector<Span>& trace : traces) {
      auto got = store_->GetTrace(trace[0].trace_id);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(got->spans.size(), trace.size());
    }
    const uint64_t held = store_->Stats().trace_index_cache_bytes;
    if (budget == 64) {
      EXPECT_EQ(held, 0u);
    } else {
      EXPECT_GT(held, 0u);
    }
  }
}

TEST_F(StoreTest, MissingTraceIsNotFound) {
  Open();
  EXPECT_EQ(store_->GetTrace(Tid(9)).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(StoreTest, RejectsInvalidSpans) {
  Open();
  Span s = MakeSpan(TraceId(), 1, "a", "b", 1, 1);
  absl::Status st = store_->Append({s});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(st.message()), HasSubstr("trace id is all zeros"));

  Options o = TestOptions();
  o.max_attributes = 2;
  o.max_string_bytes = 10;
  Reopen(o);
  Span many = MakeSpan(Tid(1), 1, "a", "b", 1, 1);
  for (int i = 0; i < 3; ++i) many.attributes.push_back({"k", AnyValue::Int(i)});
  EXPECT_THAT(std::string(store_->Append({many}).message()), HasSubstr("max_attributes"));
  Span long_string = MakeSpan(Tid(1), 1, "a", std::string(11, 'x'), 1, 1);
  EXPECT_THAT(std::string(store_->Append({long_string}).message()), HasSubstr("max_string_bytes"));
  // A rejected batch leaves nothing behind.
  EXPECT_EQ(store_->GetTrace(Tid(1)).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(StoreTest, DuplicateAppendIsReturnedOnce) {
  Open();
  Span s = MakeSpan(Tid(1), 1, "svc", "op", 100, 5);
  ASSERT_TRUE(store_->Append({s}).ok());
  ASSERT_TRUE(store_->Append({s}).ok());
  EXPECT_EQ(store_->GetTrace(Tid(1))->spans.size(), 1u);
  EXPECT_EQ(ScanAll(SpanQuery()).size(), 1u);
  // Across segments and reopens too.
  Reopen();
  ASSERT_TRUE(store_->Append({s}).ok());
  EXPECT_EQ(store_->GetTrace(Tid(1))->spans.size(), 1u);
  EXPECT_EQ(ScanAll(SpanQuery()).size(), 1u);
  EXPECT_EQ((*store_->FindTraces(SpanQuery(), 10))[0].matched_spans, 1u);
  // Same ids, different content: both kept.
  Span changed = s;
  changed.name = "other";
  ASSERT_TRUE(store_->Append({changed}).ok());
  EXPECT_EQ(store_->GetTrace(Tid(1))->spans.size(), 2u);
}

TEST_F(StoreTest, ScanHonoursEveryQueryField) {
  Open();
  std::vector<Span> spans = {
      MakeSpan(Tid(1), 1, "checkout", "POST /checkout", 1000, 300, StatusCode::kOk),
      MakeSpan(Tid(1), 2, "payment", "charge", 1100, 5000, StatusCode::kError,
               SpanKind::kClient),
      MakeSpan(Tid(2), 3, "checkout", "GET /cart", 2000, 10),
      MakeSpan(Tid(3), 4, "cart", "redis GET", 3000, 1, StatusCode::kUnset, SpanKind::kClient),
  };
  spans[1].attributes.push_back({"http.host", AnyValue::String("payments.staging.internal")});
  spans[2].attributes.push_back({"http.status_code", AnyValue::Int(503)});
  ASSERT_TRUE(store_->Append(spans).ok());

  auto ids = [&](const SpanQuery& q) {
    std::vector<int> out;
    for (const Span& s : ScanAll(q)) out.push_back(s.span_id.bytes[7]);
    std::sort(out.begin(), out.end());
    return out;
  };
  SpanQuery q;
  EXPECT_THAT(ids(q), ElementsAre(1, 2, 3, 4));
  q.start_min = 1100;
  q.start_max = 2000;
  EXPECT_THAT(ids(q), ElementsAre(2, 3));
  q = SpanQuery();
  q.services = {"checkout"};
  EXPECT_THAT(ids(q), ElementsAre(1, 3));
  q.names = {"GET /cart"};
  EXPECT_THAT(ids(q), ElementsAre(3));
  q = SpanQuery();
  q.kinds = {SpanKind::kClient};
  EXPECT_THAT(ids(q), ElementsAre(2, 4));
  q = SpanQuery();
  q.min_duration_nanos = 300;
  EXPECT_THAT(ids(q), ElementsAre(1, 2));
  q.max_duration_nanos = 300;
  EXPECT_THAT(ids(q), ElementsAre(1));
  q = SpanQuery();
  q.status = StatusCode::kError;
  EXPECT_THAT(ids(q), ElementsAre(2));
  q = SpanQuery();
  AttributePredicate p;
  p.key = "http.host";
  p.op = CompareOp::kRegex;
  p.regex = *Regex::Compile(".*staging.*");
  q.attributes.push_back(p);
  EXPECT_THAT(ids(q), ElementsAre(2));
  q = SpanQuery();
  AttributePredicate code;
  code.scope = AttributeScope::kSpan;
  code.key = "http.status_code";
  code.op = CompareOp::kGe;
  code.value = AnyValue::Int(500);
  q.attributes.push_back(code);
  EXPECT_THAT(ids(q), ElementsAre(3));
  code.scope = AttributeScope::kResource;
  q.attributes = {code};
  EXPECT_THAT(ids(q), ElementsAre());
  // filter: status = error || name = "redis GET"
  q = SpanQuery();
  FilterExpr err;
  err.kind = FilterExpr::Kind::kIntrinsic;
  err.intrinsic = Intrinsic::kStatus;
  err.value = AnyValue::Int(static_cast<int64_t>(StatusCode::kError));
  FilterExpr redis;
  redis.kind = FilterExpr::Kind::kIntrinsic;
  redis.intrinsic = Intrinsic::kName;
  redis.value = AnyValue::String("redis GET");
  FilterExpr any;
  any.kind = FilterExpr::Kind::kOr;
  any.children = {err, redis};
  q.filter = any;
  EXPECT_THAT(ids(q), ElementsAre(2, 4));
  q = SpanQuery();
  q.limit = 2;
  EXPECT_EQ(ScanAll(q).size(), 2u);
}

TEST_F(StoreTest, FindTracesSummarisesWholeTraces) {
  Open();
  std::vector<Span> spans = {
      MakeSpan(Tid(1), 1, "frontend", "GET /", 1000, 6000),
      MakeSpan(Tid(1), 2, "payment", "charge", 2000, 5000, StatusCode::kError),
      MakeSpan(Tid(2), 3, "frontend", "GET /", 5000, 10),
  };
  spans[1].parent_span_id.bytes[7] = 1;
  ASSERT_TRUE(store_->Append(spans).ok());
  SpanQuery q;
  q.status = StatusCode::kError;
  auto found = store_->FindTraces(q, 10);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  const TraceSummary& t = (*found)[0];
  EXPECT_EQ(t.trace_id, Tid(1));
  EXPECT_EQ(t.root_service, "frontend");
  EXPECT_EQ(t.root_name, "GET /");
  EXPECT_EQ(t.start_time_unix_nano, 1000u);
  EXPECT_EQ(t.duration_nanos, 6000u);
  EXPECT_EQ(t.span_count, 2u);
  EXPECT_EQ(t.error_count, 1u);
  EXPECT_EQ(t.matched_spans, 1u);
  EXPECT_THAT(t.services, ElementsAre("frontend", "payment"));

  auto all = store_->FindTraces(SpanQuery(), 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].trace_id, Tid(2));  // most recent first
  EXPECT_EQ(store_->FindTraces(SpanQuery(), 1)->size(), 1u);
}

// FindTraces reads blocks newest first and stops once `limit` traces start after every span
// of the blocks left. Blocks whose time ranges overlap, traces whose late spans went into a
// later block, and spans still in the memtable must not change what a limited search returns:
// it is the head of the unlimited ranking, summaries and match counts included.
TEST_F(StoreTest, LimitedFindTracesIsTheHeadOfTheFullRanking) {
  Options o = TestOptions();
  o.background_compaction = false;
  Open(o);
  uint8_t trace = 1;  // an all-zero trace id is invalid
  for (int block = 0; block < 6; ++block) {
    std::vector<Span> spans;
    for (int t = 0; t < 8; ++t, ++trace) {
      const uint64_t start = 1'000'000 * (block * 5 + t + 1);  // consecutive blocks overlap
      spans.push_back(MakeSpan(Tid(trace), 1, "frontend", "GET /", start, 50'000));
      Span child = MakeSpan(Tid(trace), 2, "payment", "charge", start + 10, 20'000,
                            t % 3 == 0 ? StatusCode::kError : StatusCode::kUnset);
      child.parent_span_id.bytes[7] = 1;
      spans.push_back(child);
    }
    if (block > 0) {  // a late span of a trace of the block before, in this block
      Span late = MakeSpan(Tid(trace - 9), 3, "payment", "charge", 1'000'000 * (block * 5 + 2), 10,
                           StatusCode::kError);
      late.parent_span_id.bytes[7] = 1;
      spans.push_back(late);
    }
    ASSERT_TRUE(store_->Append(spans).ok());
    if (block < 5) {
      ASSERT_TRUE(store_->CompactAll().ok());  // the last stays in the memtable
    }
  }
  std::vector<SpanQuery> queries(3);
  queries[1].status = StatusCode::kError;
  queries[2].services = {"payment"};
  queries[2].start_max = 1'000'000 * 20;
  for (const SpanQuery& q : queries) {
    auto all = store_->FindTraces(q, 0);
    ASSERT_TRUE(all.ok());
    ASSERT_GT(all->size(), 6u);
    for (size_t limit : {1, 3, 5, 9}) {
      auto some = store_->FindTraces(q, limit);
      ASSERT_TRUE(some.ok());
      ASSERT_EQ(some->size(), std::min(limit, all->size()));
      for (size_t i = 0; i < some->size(); ++i) {
        const TraceSummary& a = (*some)[i];
        const TraceSummary& b = (*all)[i];
        EXPECT_EQ(a.trace_id, b.trace_id) << "limit " << limit << " rank " << i;
        EXPECT_EQ(a.start_time_unix_nano, b.start_time_unix_nano);
        EXPECT_EQ(a.span_count, b.span_count);
        EXPECT_EQ(a.error_count, b.error_count);
        EXPECT_EQ(a.matched_spans, b.matched_spans);
      }
    }
  }
}

TEST_F(StoreTest, ServicesAndOperations) {
  Open();
  ASSERT_TRUE(store_->Append({MakeSpan(Tid(1), 1, "b", "op2", 1, 1),
                              MakeSpan(Tid(1), 2, "a", "op1", 1, 1),
                              MakeSpan(Tid(1), 3, "b", "op1", 1, 1)})
                  .ok());
  EXPECT_THAT(*store_->Services(), ElementsAre("a", "b"));
  EXPECT_THAT(*store_->Operations("b"), ElementsAre("op1", "op2"));
  EXPECT_THAT(*store_->Operations("zzz"), ElementsAre());
  Reopen();
  EXPECT_THAT(*store_->Services(), ElementsAre("a", "b"));
}

TEST_F(StoreTest, RotationAcrossManySegments) {
  Options o = TestOptions();
  o.segment_bytes = 4096;
  o.background_compaction = false;  // this test is about WAL segments
  Open(o);
  test::RandomSpanOptions ro;
  ro.awkward = 0;
  test::RandomSpans gen(5, ro);
  std::vector<std::vector<Span>> traces;
  for (int i = 0; i < 200; ++i) {
    traces.push_back(gen.NextTrace(3));
    ASSERT_TRUE(store_->Append(traces.back()).ok());
  }
  EXPECT_GT(store_->Stats().wal_segments, 10u);
  Reopen(o);
  for (const auto& t : traces) {
    auto got = store_->GetTrace(t[0].trace_id);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->spans.size(), t.size());
  }
  EXPECT_EQ(ScanAll(SpanQuery()).size(), 600u);
}

TEST_F(StoreTest, TraceTruncation) {
  Options o = TestOptions();
  o.max_trace_spans = 5;
  Open(o);
  test::RandomSpans gen(2);
  ASSERT_TRUE(store_->Append(gen.NextTrace(8)).ok());
  auto ids = store_->FindTraces(SpanQuery(), 1);
  auto got = store_->GetTrace((*ids)[0].trace_id);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->truncated);
  EXPECT_EQ(got->spans.size(), 5u);
  EXPECT_EQ(got->total_spans, 8u);
}

TEST_F(StoreTest, SecondOpenIsRefused) {
  Open();
  auto second = Store::Open(TestOptions(), dir_.path());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("locked"));
}

TEST_F(StoreTest, ClosedStoreRefusesWork) {
  Open();
  ASSERT_TRUE(store_->Close().ok());
  EXPECT_TRUE(store_->Close().ok());
  EXPECT_EQ(store_->Append({MakeSpan(Tid(1), 1, "a", "b", 1, 1)}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->GetTrace(Tid(1)).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(StoreTest, EverySyncPolicyIsDurableAcrossClose) {
  for (SyncPolicy policy : {SyncPolicy::kEveryBatch, SyncPolicy::kInterval, SyncPolicy::kNone}) {
    test::TempDir dir;
    Options o;
    o.sync = policy;
    o.sync_interval = absl::Milliseconds(1);
    {
      auto store = Store::Open(o, dir.path());
      ASSERT_TRUE(store.ok());
      for (uint8_t i = 1; i <= 50; ++i) {
        ASSERT_TRUE((*store)->Append({MakeSpan(Tid(i), i, "s", "n", i, 1)}).ok());
      }
      StoreStats st = (*store)->Stats();
      if (policy == SyncPolicy::kEveryBatch) {
        EXPECT_EQ(st.wal_syncs, st.wal_writes);
      } else if (policy == SyncPolicy::kNone) {
        EXPECT_EQ(st.wal_syncs, 0u);
      }
      EXPECT_EQ(st.appended_spans, 50u);
    }
    auto store = Store::Open(o, dir.path());
    ASSERT_TRUE(store.ok());
    EXPECT_EQ((*store)->Stats().recovered_spans, 50u);
  }
}

TEST_F(StoreTest, ConcurrentAppendersShareWrites) {
  Options o;
  o.sync = SyncPolicy::kEveryBatch;
  Open(o);
  constexpr int kThreads = 8, kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Span s = MakeSpan(Tid(static_cast<uint8_t>(t + 1)), static_cast<uint8_t>(i + 1), "s",
                          "n", i, 1);
        ASSERT_TRUE(store_->Append({s}).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  StoreStats st = store_->Stats();
  EXPECT_EQ(st.appended_spans, kThreads * kPerThread);
  EXPECT_EQ(st.appends, kThreads * kPerThread);
  EXPECT_LE(st.wal_writes, st.appends);
  EXPECT_EQ(ScanAll(SpanQuery()).size(), static_cast<size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace spanstore
