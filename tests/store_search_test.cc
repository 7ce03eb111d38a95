// Store::Search (engine/store_search.cc, query/traceql_eval.cc): every TraceQL operator and scope
// on generated traces -- random trees (with parents that are missing from the store), random
// attributes on spans, resources, instrumentation scopes, events and links -- compared with a
// naive reference evaluator written here, over the WAL (memtables), over blocks and over a mix
// (a trace's spans split between a block and the memtable).

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "spanstore/spanstore.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

// --- Generated traces ---------------------------------------------------------------------

AnyValue SmallValue(std::mt19937_64& rng) {
  switch (rng() % 4) {
    case 0:
      return AnyValue::String(std::string(1, static_cast<char>('a' + rng() % 3)));
    case 1:
      return AnyValue::Int(static_cast<int64_t>(rng() % 5));
    case 2:
      return AnyValue::Bool(rng() % 2 == 0);
    default:
      return AnyValue::Double(static_cast<double>(rng() % 3) + 0.5);
  }
}

Attributes SmallAttributes(std::mt19937_64& rng) {
  Attributes out;
  for (const char* key : {"k1", "k2", "k3"}) {
    if (rng() % 2 == 0) out.push_back({key, SmallValue(rng)});
  }
  return out;
}

std::vector<Span> GenerateTraces(uint64_t seed, int traces) {
  std::mt19937_64 rng(seed);
  std::vector<Span> spans;
  const char* kServices[] = {"api", "db", "web"};
  const char* kNames[] = {"GET", "POST", "query"};
  uint64_t next_span = 1;
  for (int t = 0; t < traces; ++t) {
    TraceId trace;
    trace.bytes[0] = 7;
    trace.bytes[14] = static_cast<uint8_t>(t >> 8);
    trace.bytes[15] = static_cast<uint8_t>(t + 1);
    const int n = 1 + static_cast<int>(rng() % 10);
    std::vector<SpanId> ids;
    const uint64_t base = 1'700'000'000'000'000'000 + static_cast<uint64_t>(t) * 10'000'000'000;
    for (int i = 0; i < n; ++i) {
      Span s;
      s.trace_id = trace;
      SpanId id;
      const uint64_t v = next_span++;
      for (int b = 0; b < 8; ++b) id.bytes[7 - b] = static_cast<uint8_t>(v >> (8 * b));
      s.span_id = id;
      if (i > 0) {
        const uint64_t r = rng() % 10;
        if (r == 0) {
          s.parent_span_id.bytes[0] = 0xEE;  // a parent the store never gets
          s.parent_span_id.bytes[7] = static_cast<uint8_t>(rng());
        } else if (r != 1) {
          s.parent_span_id = ids[rng() % ids.size()];
        }
      }
      ids.push_back(id);
      s.service_name = kServices[rng() % 3];
      s.name = kNames[rng() % 3];
      s.kind = static_cast<SpanKind>(rng() % 6);
      s.status_code = static_cast<StatusCode>(rng() % 3);
      if (s.status_code == StatusCode::kError) s.status_message = rng() % 2 ? "boom" : "oops";
      s.start_time_unix_nano = base + (rng() % 1000) * 1'000'000;
      s.end_time_unix_nano = s.start_time_unix_nano + (1 + rng() % 100) * 1'000'000;
      s.attributes = SmallAttributes(rng);
      s.resource_attributes = SmallAttributes(rng);
      s.resource_attributes.push_back({"service.name", AnyValue::String(s.service_name)});
      s.scope_name = rng() % 2 ? "lib-a" : "lib-b";
      s.scope_version = rng() % 2 ? "1.0" : "2.0";
      s.scope_attributes = SmallAttributes(rng);
      for (int e = static_cast<int>(rng() % 3); e > 0; --e) {
        SpanEvent ev;
        ev.time_unix_nano = s.start_time_unix_nano + 1;
        ev.name = rng() % 2 ? "exception" : "retry";
        ev.attributes = SmallAttributes(rng);
        s.events.push_back(std::move(ev));
      }
      for (int l = static_cast<int>(rng() % 2); l > 0; --l) {
        SpanLink link;
        link.trace_id.bytes[15] = 9;
        link.span_id.bytes[7] = static_cast<uint8_t>(1 + rng() % 3);
        link.attributes = SmallAttributes(rng);
        s.links.push_back(std::move(link));
      }
      spans.push_back(std::move(s));
    }
  }
  return spans;
}

// --- The reference evaluator: naive loops over a trace's spans ------------------------------

using SpanSet = std::set<size_t>;  // indexes into the trace's spans

struct RefTrace {
  std::vector<Span> spans;
  TraceSummary summary;

  // The index of the span with this id, or -1.
  int Find(const SpanId& id) const {
    for (size_t i = 0; i < spans.size(); ++i) {
      if (spans[i].span_id == id) return static_cast<int>(i);
    }
    return -1;
  }
  int Parent(size_t i) const { return spans[i].is_root() ? -1 : Find(spans[i].parent_span_id); }
  bool IsAncestor(size_t anc, size_t of) const {
    int p = Parent(of);
    for (size_t steps = 0; p >= 0 && steps <= spans.size(); ++steps, p = Parent(p)) {
      if (static_cast<size_t>(p) == anc) return true;
    }
    return false;
  }
};

// Whether `rel` holds between an A span a and a B span b.
bool Related(const RefTrace& t, SpansetOp op, size_t a, size_t b) {
  switch (op) {
    case SpansetOp::kChild:
      return t.Parent(b) == static_cast<int>(a);
    case SpansetOp::kDescendant:
      return t.IsAncestor(a, b);
    case SpansetOp::kParent:
      return t.Parent(a) == static_cast<int>(b);
    case SpansetOp::kAncestor:
      return t.IsAncestor(b, a);
    case SpansetOp::kSibling:
      return a != b && !t.spans[a].is_root() && !t.spans[b].is_root() &&
             t.spans[a].parent_span_id == t.spans[b].parent_span_id;
    default:
      return false;
  }
}

SpanSet RefEval(const RefTrace& t, const SpansetExpr& e) {
  SpanSet out;
  if (e.op == SpansetOp::kFilter) {
    for (size_t i = 0; i < t.spans.size(); ++i) {
      if (SpanMatches(e.filter, t.spans[i], &t.summary)) out.insert(i);
    }
    return out;
  }
  const SpanSet a = RefEval(t, e.children[0]);
  const SpanSet b = RefEval(t, e.children[1]);
  if (e.op == SpansetOp::kOr || e.op == SpansetOp::kAnd) {
    if (e.op == SpansetOp::kAnd && (a.empty() || b.empty())) return out;
    out = a;
    out.insert(b.begin(), b.end());
    return out;
  }
  for (size_t j : b) {
    bool holds = false;
    for (size_t i : a) {
      if (Related(t, e.op, i, j)) {
        holds = true;
        if (e.both) out.insert(i);
      }
    }
    if (holds != e.negated) out.insert(j);
  }
  return out;
}

// The spansets after the pipeline, each as a sorted list of span indexes.
std::vector<SpanSet> RefQuery(const RefTrace& t, const TraceQuery& q) {
  std::vector<SpanSet> sets = {RefEval(t, q.spansets)};
  if (sets[0].empty()) return {};
  for (const PipelineStage& st : q.pipeline) {
    std::vector<SpanSet> next;
    for (const SpanSet& set : sets) {
      if (st.kind == PipelineStage::Kind::kSelect) {
        next.push_back(set);
      } else if (st.kind == PipelineStage::Kind::kFilter) {
        SpanSet kept;
        for (size_t i : set) {
          if (SpanMatches(st.filter, t.spans[i], &t.summary)) kept.insert(i);
        }
        if (!kept.empty()) next.push_back(kept);
      } else if (st.kind == PipelineStage::Kind::kBy) {
        std::vector<std::pair<std::vector<AnyValue>, SpanSet>> groups;
        for (size_t i : set) {
          std::vector<AnyValue> key;
          for (const TraceQLField& f : st.fields)
            key.push_back(FieldValue(f, t.spans[i], t.summary));
          auto it = std::find_if(groups.begin(), groups.end(),
                                 [&](const auto& g) { return g.first == key; });
          if (it == groups.end()) {
            groups.push_back({key, {}});
            it = groups.end() - 1;
          }
          it->second.insert(i);
        }
        for (auto& g : groups) next.push_back(g.second);
      } else {
        std::vector<double> xs;
        for (size_t i : set) {
          if (st.fn == AggregateFn::kCount) {
            xs.push_back(1);
            continue;
          }
          const AnyValue v = FieldValue(st.field, t.spans[i], t.summary);
          if (v.type() == AnyValue::Type::kInt) xs.push_back(static_cast<double>(v.int_value()));
          if (v.type() == AnyValue::Type::kDouble) xs.push_back(v.double_value());
        }
        if (xs.empty()) continue;
        double agg = 0;
        for (double x : xs) agg += x;
        if (st.fn == AggregateFn::kAvg) agg /= static_cast<double>(xs.size());
        if (st.fn == AggregateFn::kMin) agg = *std::min_element(xs.begin(), xs.end());
        if (st.fn == AggregateFn::kMax) agg = *std::max_element(xs.begin(), xs.end());
        const double lit = st.value.type() == AnyValue::Type::kInt
                               ? static_cast<double>(st.value.int_value())
                               : st.value.double_value();
        const bool keep = st.op == CompareOp::kEq   ? agg == lit
                          : st.op == CompareOp::kNe ? agg != lit
                          : st.op == CompareOp::kLt ? agg < lit
                          : st.op == CompareOp::kLe ? agg <= lit
                          : st.op == CompareOp::kGt ? agg > lit
                                                    : agg >= lit;
        if (keep) next.push_back(set);
      }
    }
    sets = std::move(next);
    if (sets.empty()) return {};
  }
  return sets;
}

// --- The suite ----------------------------------------------------------------------------

// Every operator and every scope, alone and combined.
const char* const kQueries[] = {
    "{ }",
    "{ span.k1 = \"a\" }",
    "{ resource.k2 = 3 }",
    "{ .k1 = \"b\" }",
    "{ .k3 >= 2 }",
    "{ event.k1 = \"a\" }",
    "{ link.k2 != nil }",
    "{ instrumentation.k3 = true }",
    "{ span.k1 = nil }",
    "{ span.k2 != nil && resource.k1 = nil }",
    "{ event:name = \"exception\" }",
    "{ instrumentation:name = \"lib-a\" && instrumentation:version = \"2.0\" }",
    "{ link:spanID = \"0000000000000002\" }",
    "{ name = \"GET\" && kind = server }",
    "{ span:name =~ \"G.*\" }",
    "{ name =~ \"ET\" }",
    "{ status = error && statusMessage = \"boom\" }",
    "{ span:status != ok }",
    "{ duration > 50ms }",
    "{ trace:duration > 900ms }",
    "{ trace:rootService = \"api\" }",
    "{ trace:rootName = \"GET\" && name = \"query\" }",
    "{ span:parentID = \"\" }",
    "{ resource.service.name = \"db\" } && { resource.service.name = \"web\" }",
    "{ name = \"GET\" } || { status = error }",
    "{ resource.service.name = \"api\" } > { resource.service.name = \"db\" }",
    "{ name = \"GET\" } >> { name = \"query\" }",
    "{ kind = client } < { kind = server }",
    "{ status = error } << { resource.service.name = \"api\" }",
    "{ name = \"POST\" } ~ { name = \"GET\" }",
    "{ resource.service.name = \"api\" } !> { resource.service.name = \"db\" }",
    "{ name = \"GET\" } !>> { name = \"query\" }",
    "{ kind = client } !< { }",
    "{ status = error } !<< { }",
    "{ name = \"POST\" } !~ { name = \"GET\" }",
    "{ name = \"GET\" } &> { }",
    "{ span.k1 = \"a\" } &>> { span.k2 = 1 }",
    "{ } &< { status = error }",
    "{ } &<< { name = \"query\" }",
    "{ .k1 = \"c\" } &~ { .k1 = \"c\" }",
    "{ } > { } > { }",
    "({ name = \"GET\" } || { name = \"POST\" }) >> { status = error }",
    "{ name = \"GET\" } && { status = error } || { kind = producer }",
    "{ } | count() > 3",
    "{ status = error } | count() >= 2",
    "{ } | avg(duration) > 40ms",
    "{ } | min(duration) < 10ms",
    "{ } | max(span.k2) >= 3",
    "{ } | sum(.k3) > 4",
    "{ } | by(resource.service.name) | count() > 1",
    "{ } | by(name, kind)",
    "{ status = error } | select(span.k1, name)",
    "{ } | { name = \"GET\" }",
    "{ } >> { } | by(span.k1) | avg(duration) < 60ms",
};

// kBlocksNoFilterCache: in blocks, with Options::value_filter_cache_bytes 0, so every search
// reads the value filters it probes.
enum class Where { kWal, kBlocks, kMix, kBlocksNoFilterCache };

bool InBlocks(Where where) {
  return where == Where::kBlocks || where == Where::kBlocksNoFilterCache;
}

class StoreSearchTest : public ::testing::TestWithParam<Where> {
 protected:
  void SetUp() override {
    Options o;
    o.sync = SyncPolicy::kNone;
    o.background_compaction = false;
    if (GetParam() == Where::kBlocksNoFilterCache) o.value_filter_cache_bytes = 0;
    auto store = Store::Open(o, dir_.path());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    spans_ = GenerateTraces(42, 300);
    // Mix: every other span goes in first and into a block, the rest stays in the memtable, so
    // most traces are split between the two.
    std::vector<Span> first, second;
    for (size_t i = 0; i < spans_.size(); ++i) {
      (GetParam() == Where::kMix && i % 2 ? second : first).push_back(spans_[i]);
    }
    ASSERT_TRUE(store_->Append(first).ok());
    if (GetParam() != Where::kWal) {
      ASSERT_TRUE(store_->CompactAll().ok());
    }
    if (!second.empty()) {
      ASSERT_TRUE(store_->Append(second).ok());
    }
    std::map<TraceId, RefTrace> by_trace;
    for (const Span& s : spans_) by_trace[s.trace_id].spans.push_back(s);
    for (auto& [id, t] : by_trace) {
      std::stable_sort(t.spans.begin(), t.spans.end(), [](const Span& a, const Span& b) {
        if (a.start_time_unix_nano != b.start_time_unix_nano) {
          return a.start_time_unix_nano < b.start_time_unix_nano;
        }
        return a.span_id < b.span_id;
      });
      t.summary = SummarizeTrace(id, t.spans);
      traces_.push_back(std::move(t));
    }
  }

  const Span* ReferenceSpan(const TraceId& trace, const SpanId& id) const {
    for (const Span& s : spans_) {
      if (s.trace_id == trace && s.span_id == id) return &s;
    }
    return nullptr;
  }

  test::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::vector<Span> spans_;
  std::vector<RefTrace> traces_;
};

// A spanset as the sorted span ids it holds.
std::vector<std::string> Ids(const std::vector<Span>& spans) {
  std::vector<std::string> out;
  for (const Span& s : spans) out.push_back(s.span_id.ToHex());
  std::sort(out.begin(), out.end());
  return out;
}

TEST_P(StoreSearchTest, EveryOperatorAndScopeAgreesWithTheReference) {
  int matched_somewhere = 0;
  for (const char* text : kQueries) {
    SCOPED_TRACE(text);
    auto q = ParseTraceQuery(text);
    ASSERT_TRUE(q.ok()) << q.status();
    SearchOptions options;
    options.limit = 0;
    auto got = store_->Search(*q, options);
    ASSERT_TRUE(got.ok()) << got.status();
    std::map<TraceId, std::vector<std::vector<std::string>>> actual;
    for (const TraceSearchResult& r : *got) {
      auto& sets = actual[r.summary.trace_id];
      for (const Spanset& s : r.spansets) {
        sets.push_back(Ids(s.spans));
        // Candidates are evaluated on spans built in part; the spansets hold them whole.
        for (const Span& span : s.spans) {
          const Span* want = ReferenceSpan(span.trace_id, span.span_id);
          ASSERT_NE(want, nullptr);
          EXPECT_EQ(span, *want) << "span " << span.span_id.ToHex() << " is not whole";
        }
      }
    }
    std::map<TraceId, std::vector<std::vector<std::string>>> expected;
    for (const RefTrace& t : traces_) {
      for (const SpanSet& set : RefQuery(t, *q)) {
        std::vector<Span> spans;
        for (size_t i : set) spans.push_back(t.spans[i]);
        expected[t.summary.trace_id].push_back(Ids(spans));
      }
    }
    EXPECT_EQ(actual.size(), expected.size());
    for (const auto& [id, sets] : expected) {
      auto it = actual.find(id);
      ASSERT_NE(it, actual.end()) << "missing trace " << id.ToHex();
      EXPECT_EQ(it->second, sets) << "trace " << id.ToHex();
    }
    if (!expected.empty() && expected.size() < traces_.size()) ++matched_somewhere;
  }
  // The generated data exercises the queries: most select some traces but not all.
  EXPECT_GT(matched_somewhere, static_cast<int>(std::size(kQueries)) * 2 / 3);
}

// The value filters an attribute search read stay in the filter cache (Stats reports them),
// unless its budget is 0; either way the answer is right (and the reference test above runs
// with no filter cache too).
TEST_P(StoreSearchTest, ValueFiltersStayInTheFilterCacheWithinItsBudget) {
  // One value per span of one operation: none but the first is the operation's template, so a
  // search for a later one asks the filters.
  std::vector<Span> spans;
  for (int i = 0; i < 50; ++i) {
    Span s;
    s.trace_id.bytes[0] = 9;
    s.span_id.bytes[7] = static_cast<uint8_t>(i + 1);
    s.service_name = "needles";
    s.name = "pick";
    s.start_time_unix_nano = 1'700'000'000'000'000'000 + static_cast<uint64_t>(i);
    s.end_time_unix_nano = s.start_time_unix_nano + 1000;
    s.attributes.push_back({"req.id", AnyValue::String(absl::StrCat("r-", i))});
    spans.push_back(std::move(s));
  }
  ASSERT_TRUE(store_->Append(spans).ok());
  if (InBlocks(GetParam())) {
    ASSERT_TRUE(store_->CompactAll().ok());
  }
  EXPECT_EQ(store_->Stats().value_filter_cache_bytes, 0u);
  auto q = ParseTraceQuery("{ span.req.id = \"r-37\" }");
  ASSERT_TRUE(q.ok()) << q.status();
  SearchOptions options;
  options.limit = 0;
  auto got = store_->Search(*q, options);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(got->front().summary.trace_id, spans.front().trace_id);
  const uint64_t held = store_->Stats().value_filter_cache_bytes;
  // (Mix: the needles are in the memtable, and the block lacks their key.)
  if (GetParam() != Where::kBlocks) {
    EXPECT_EQ(held, 0u);
  } else {
    EXPECT_GT(held, 0u);
    EXPECT_LE(held, Options().value_filter_cache_bytes);
  }
}

TEST_P(StoreSearchTest, LimitTakesTheMostRecentTraces) {
  auto q = ParseTraceQuery("{ status = error } | count() > 0");
  ASSERT_TRUE(q.ok());
  SearchOptions all;
  all.limit = 0;
  auto every = store_->Search(*q, all);
  ASSERT_TRUE(every.ok());
  ASSERT_GT(every->size(), 5u);
  SearchOptions five;
  five.limit = 5;
  auto some = store_->Search(*q, five);
  ASSERT_TRUE(some.ok());
  ASSERT_EQ(some->size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ((*some)[i].summary.trace_id, (*every)[i].summary.trace_id);
  }
}

// Tempo's order (its search combiner sorts by the trace's StartTimeUnixNano, latest first): the
// `limit` matching traces that started last, ties by trace id -- checked against the reference
// for every query and several limits.
TEST_P(StoreSearchTest, ResultsInTempoOrder) {
  auto before = [](const TraceSummary& a, const TraceSummary& b) {
    if (a.start_time_unix_nano != b.start_time_unix_nano) {
      return a.start_time_unix_nano > b.start_time_unix_nano;
    }
    return a.trace_id < b.trace_id;
  };
  // Besides the suite's queries, intersections whose left side is rare or never holds: with a
  // limit, Search first reads the right side's traces and falls back to scanning the left side
  // once too many reads fail; the answer must not change.
  std::vector<const char*> texts(std::begin(kQueries), std::end(kQueries));
  for (const char* extra :
       {"{ name = \"nope\" } > { }", "{ span.k1 = \"zz\" } && { }",
        "{ span.k1 = \"a\" && kind = server } >> { status = error }",
        "({ name = \"nope\" } > { }) || ({ kind = client } ~ { kind = server })",
        "{ span.k2 = 3 } << { } | count() > 1"}) {
    texts.push_back(extra);
  }
  for (const char* text : texts) {
    SCOPED_TRACE(text);
    auto q = ParseTraceQuery(text);
    ASSERT_TRUE(q.ok()) << q.status();
    std::vector<TraceSummary> expected;
    for (const RefTrace& t : traces_) {
      if (!RefQuery(t, *q).empty()) expected.push_back(t.summary);
    }
    std::sort(expected.begin(), expected.end(), before);
    for (size_t limit : {size_t{1}, size_t{3}, size_t{20}, size_t{0}}) {
      SCOPED_TRACE(limit);
      SearchOptions options;
      options.limit = limit;
      auto got = store_->Search(*q, options);
      ASSERT_TRUE(got.ok()) << got.status();
      const size_t n = limit == 0 ? expected.size() : std::min(limit, expected.size());
      ASSERT_EQ(got->size(), n);
      for (size_t i = 0; i < n; ++i) {
        EXPECT_EQ((*got)[i].summary.trace_id, expected[i].trace_id) << i;
      }
    }
  }
}

// The order is the trace's start, not that of its matching spans: a trace that started earlier
// but matched later comes after one that started later; equal starts go by trace id. Store::
// FindTraces and the Jaeger search answer in the same order.
TEST_P(StoreSearchTest, OrderIsTraceStartNotLatestMatch) {
  const uint64_t t0 = 1'900'000'000'000'000'000;
  auto span = [&](uint8_t trace, uint8_t id, uint64_t start, bool match) {
    Span s;
    s.trace_id.bytes[0] = 0x66;
    s.trace_id.bytes[15] = trace;
    s.span_id.bytes[0] = 0x66;
    s.span_id.bytes[6] = trace;
    s.span_id.bytes[7] = id;
    s.service_name = "order-svc";
    s.name = match ? "hit" : "other";
    s.start_time_unix_nano = t0 + start;
    s.end_time_unix_nano = s.start_time_unix_nano + 10;
    return s;
  };
  // Trace 1 starts first (100) and matches last (500); trace 2 starts at 200 and matches at
  // 300; traces 3 and 4 both start at 150, 4 matching at 160, 3 at 400.
  std::vector<Span> spans = {span(1, 1, 100, false), span(1, 2, 500, true), span(2, 1, 200, true),
                             span(3, 1, 150, false), span(3, 2, 400, true), span(4, 1, 150, false),
                             span(4, 2, 160, true)};
  ASSERT_TRUE(store_->Append(spans).ok());
  if (InBlocks(GetParam())) {
    ASSERT_TRUE(store_->CompactAll().ok());
  }
  auto q = ParseTraceQuery("{ name = \"hit\" } | count() > 0");
  ASSERT_TRUE(q.ok());
  auto order = [](const std::vector<TraceId>& ids) {
    std::vector<int> out;
    for (const TraceId& id : ids) out.push_back(id.bytes[15]);
    return out;
  };
  for (size_t limit : {size_t{1}, size_t{2}, size_t{3}, size_t{0}}) {
    SCOPED_TRACE(limit);
    const std::vector<int> all = {2, 3, 4, 1};
    const std::vector<int> want(all.begin(), all.begin() + (limit == 0 ? 4 : limit));
    SearchOptions options;
    options.limit = limit;
    auto got = store_->Search(*q, options);
    ASSERT_TRUE(got.ok()) << got.status();
    std::vector<TraceId> ids;
    for (const TraceSearchResult& r : *got) ids.push_back(r.summary.trace_id);
    EXPECT_EQ(order(ids), want);

    auto one = ParseQuery("{ name = \"hit\" }");
    ASSERT_TRUE(one.ok());
    auto summaries = store_->FindTraces(*one, limit);
    ASSERT_TRUE(summaries.ok()) << summaries.status();
    ids.clear();
    for (const TraceSummary& t : *summaries) ids.push_back(t.trace_id);
    EXPECT_EQ(order(ids), want);

    JaegerQuery jq;
    jq.service = "order-svc";
    jq.operation = "hit";
    jq.limit = limit == 0 ? 100 : limit;
    auto found = FindJaegerTraces(*store_, jq);
    ASSERT_TRUE(found.ok()) << found.status();
    ids.clear();
    for (const JaegerFoundTrace& f : *found) ids.push_back(f.trace_id);
    EXPECT_EQ(order(ids), want);
  }
}

TEST_P(StoreSearchTest, WindowAndDeadline) {
  auto q = ParseTraceQuery("{ } >> { }");
  ASSERT_TRUE(q.ok());
  SearchOptions options;
  options.limit = 0;
  options.start_min = traces_[10].summary.start_time_unix_nano;
  options.start_max = traces_[20].summary.start_time_unix_nano;
  auto got = store_->Search(*q, options);
  ASSERT_TRUE(got.ok());
  for (const TraceSearchResult& r : *got) {
    for (const Spanset& s : r.spansets) {
      for (const Span& span : s.spans) {
        EXPECT_GE(span.start_time_unix_nano, options.start_min);
        EXPECT_LE(span.start_time_unix_nano, options.start_max);
      }
    }
  }
  options.deadline = absl::Now() - absl::Seconds(1);
  EXPECT_TRUE(absl::IsDeadlineExceeded(store_->Search(*q, options).status()));
}

// Jaeger's tag search: a tag may sit on the span, its resource, its instrumentation scope, one of
// its events or one of its links, and values compare as strings (500 finds an int 500).
TEST_P(StoreSearchTest, JaegerStyleTagsInEverySpot) {
  const AttributeScope kSpots[] = {AttributeScope::kSpan, AttributeScope::kResource,
                                   AttributeScope::kInstrumentation, AttributeScope::kEvent,
                                   AttributeScope::kLink};
  std::vector<Span> spans;
  for (int i = 0; i < 5; ++i) {
    Span s;
    s.trace_id.bytes[0] = 0x55;
    s.trace_id.bytes[15] = static_cast<uint8_t>(i + 1);
    s.span_id.bytes[0] = 0x55;
    s.span_id.bytes[7] = static_cast<uint8_t>(i + 1);
    s.service_name = "jaeger-svc";
    s.name = "op";
    s.start_time_unix_nano = 1'800'000'000'000'000'000 + static_cast<uint64_t>(i) * 1000;
    s.end_time_unix_nano = s.start_time_unix_nano + 10;
    s.resource_attributes.push_back({"service.name", AnyValue::String(s.service_name)});
    const KeyValue tag{"http.status_code", AnyValue::Int(500)};
    switch (kSpots[i]) {
      case AttributeScope::kSpan:
        s.attributes.push_back(tag);
        break;
      case AttributeScope::kResource:
        s.resource_attributes.push_back(tag);
        break;
      case AttributeScope::kInstrumentation:
        s.scope_name = "lib";
        s.scope_attributes.push_back(tag);
        break;
      case AttributeScope::kEvent:
        s.events.push_back({s.start_time_unix_nano + 1, "log", {tag}, 0});
        break;
      default:
        s.links.push_back({});
        s.links.back().trace_id.bytes[0] = 1;
        s.links.back().span_id.bytes[0] = 1;
        s.links.back().attributes.push_back(tag);
        break;
    }
    spans.push_back(std::move(s));
  }
  ASSERT_TRUE(store_->Append(spans).ok());
  if (InBlocks(GetParam())) {
    ASSERT_TRUE(store_->CompactAll().ok());
  }
  JaegerQuery jq;
  jq.service = "jaeger-svc";
  jq.tags.push_back({"http.status_code", "500"});
  auto found = FindJaegerTraces(*store_, jq);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->size(), 5u);
  jq.tags[0].value = "501";
  found = FindJaegerTraces(*store_, jq);
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->empty());

  // The same through Store::Search with the string form, one spot at a time.
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE(i);
    TraceQuery q;
    AttributePredicate p;
    p.scope = kSpots[i];
    p.key = "http.status_code";
    p.value = AnyValue::String("500");
    p.as_string = true;
    q.spansets.filter.attributes.push_back(p);
    q.spansets.filter.services.push_back("jaeger-svc");
    SearchOptions options;
    options.limit = 0;
    auto got = store_->Search(q, options);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->size(), 1u);
    EXPECT_EQ((*got)[0].summary.trace_id, spans[i].trace_id);
    // Typed, as TraceQL text is: the string "500" does not equal the int 500.
    q.spansets.filter.attributes[0].as_string = false;
    got = store_->Search(q, options);
    ASSERT_TRUE(got.ok());
    EXPECT_TRUE(got->empty());
  }
}

INSTANTIATE_TEST_SUITE_P(WalBlocksMix, StoreSearchTest,
                         ::testing::Values(Where::kWal, Where::kBlocks, Where::kMix,
                                           Where::kBlocksNoFilterCache),
                         [](const auto& info) {
                           return info.param == Where::kWal      ? "Wal"
                                  : info.param == Where::kBlocks ? "Blocks"
                                  : info.param == Where::kMix    ? "Mix"
                                                                 : "BlocksNoFilterCache";
                         });

}  // namespace
}  // namespace spanstore
