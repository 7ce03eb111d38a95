// query/tempo_search.cc: Tempo's search parameters and results with span sets.

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/store.h"
#include "spanstore/tempo.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kSecond = 1000000000;

TEST(TempoSearchTest, Parameters) {
  TempoSearchParams p;
  auto r = ParseTempoSearch(p);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->limit, 20u);
  EXPECT_EQ(r->spans_per_spanset, 3u);
  EXPECT_EQ(r->query.start_min, 0u);
  EXPECT_EQ(r->query.start_max, UINT64_MAX);
  p.q = " { status = error } ";
  p.start = "100";
  p.end = "200";
  p.limit = "5";
  p.spss = "10";
  p.min_duration = "1.5s";
  p.max_duration = "1m";
  r = ParseTempoSearch(p);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->query.status, StatusCode::kError);
  EXPECT_EQ(r->query.start_min, 100 * kSecond);
  EXPECT_EQ(r->query.start_max, 201 * kSecond - 1);
  EXPECT_EQ(r->limit, 5u);
  EXPECT_EQ(r->spans_per_spanset, 10u);
  EXPECT_EQ(r->query.min_duration_nanos, 1500000000u);
  EXPECT_EQ(r->query.max_duration_nanos, 60 * kSecond);
  TempoSearchParams bad;
  bad.q = "{ duration > }";
  EXPECT_THAT(ParseTempoSearch(bad).status().message(), HasSubstr("invalid TraceQL query"));
  bad = TempoSearchParams();
  bad.start = "300";
  bad.end = "200";
  EXPECT_FALSE(ParseTempoSearch(bad).ok());
  bad = TempoSearchParams();
  bad.limit = "-1";
  EXPECT_FALSE(ParseTempoSearch(bad).ok());
  bad = TempoSearchParams();
  bad.tags = "novalue";
  EXPECT_FALSE(ParseTempoSearch(bad).ok());
  bad.tags = "k=\"unterminated";
  EXPECT_FALSE(ParseTempoSearch(bad).ok());
}

TEST(TempoSearchTest, LogfmtTagsAreCaseInsensitiveSubstrings) {
  TempoSearchParams p;
  p.tags = R"(service.name=Check  http.url="a b\"c")";
  auto r = ParseTempoSearch(p);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->query.attributes.size(), 2u);
  Span s;
  s.resource_attributes = {{"service.name", AnyValue::String("my-checkout-svc")}};
  s.attributes = {{"http.url", AnyValue::String("/x/a b\"c/y")}};
  EXPECT_TRUE(SpanMatches(r->query, s));
  s.attributes[0].value = AnyValue::String("/x/a b/y");
  EXPECT_FALSE(SpanMatches(r->query, s));
}

TEST(TempoSearchTest, SpanSetsHoldTheMatchingSpans) {
  test::TempDir dir;
  auto store = *Store::Open(Options(), dir.Sub("db"));
  std::vector<Span> trace;
  for (int i = 0; i < 6; ++i) {
    Span s;
    s.trace_id.bytes[15] = 1;
    s.span_id.bytes[7] = static_cast<uint8_t>(i + 1);
    if (i > 0) s.parent_span_id.bytes[7] = 1;
    s.service_name = "svc";
    s.name = i % 2 == 0 ? "even" : "odd";
    s.start_time_unix_nano = 10 * kSecond + i;
    s.end_time_unix_nano = s.start_time_unix_nano + 100;
    trace.push_back(s);
  }
  ASSERT_TRUE(store->Append(trace).ok());
  TempoSearchParams p;
  p.q = R"({ name = "even" })";
  p.spss = "2";
  auto request = ParseTempoSearch(p);
  auto results = TempoSearch(*store, *request);
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ((*results)[0].matched, 3u);
  ASSERT_EQ((*results)[0].matched_spans.size(), 2u);
  EXPECT_EQ((*results)[0].matched_spans[0].span_id, trace[0].span_id);
  EXPECT_EQ((*results)[0].matched_spans[1].span_id, trace[2].span_id);
  EXPECT_EQ((*results)[0].summary.root_name, "even");
  ASSERT_TRUE(store->Close().ok());
}

// Tempo's order, both paths (one filter: FindTraces; more: Search): the `limit` matching traces
// that started last, latest first, equal starts by trace id -- not the order of the matching
// spans. Trace 1 starts first but matches last; traces 3 and 4 start together.
TEST(TempoSearchTest, ResultsByTraceStartLatestFirst) {
  test::TempDir dir;
  auto store = *Store::Open(Options(), dir.Sub("db"));
  auto span = [](uint8_t trace, uint8_t id, uint64_t start, const char* name) {
    Span s;
    s.trace_id.bytes[15] = trace;
    s.span_id.bytes[6] = trace;
    s.span_id.bytes[7] = id;
    s.service_name = "svc";
    s.name = name;
    s.start_time_unix_nano = 10 * kSecond + start;
    s.end_time_unix_nano = s.start_time_unix_nano + 10;
    return s;
  };
  ASSERT_TRUE(store
                  ->Append({span(1, 1, 100, "root"), span(1, 2, 500, "hit"), span(2, 1, 200, "hit"),
                            span(3, 1, 150, "root"), span(3, 2, 400, "hit"),
                            span(4, 1, 150, "root"), span(4, 2, 160, "hit")})
                  .ok());
  for (const char* q : {R"({ name = "hit" })", R"({ name = "hit" } | count() > 0)"}) {
    SCOPED_TRACE(q);
    for (const char* limit : {"2", "20"}) {
      TempoSearchParams p;
      p.q = q;
      p.limit = limit;
      auto request = ParseTempoSearch(p);
      ASSERT_TRUE(request.ok()) << request.status();
      auto results = TempoSearch(*store, *request);
      ASSERT_TRUE(results.ok()) << results.status();
      std::vector<int> order;
      for (const TempoTraceResult& r : *results) order.push_back(r.summary.trace_id.bytes[15]);
      EXPECT_EQ(order, (std::string(limit) == "2" ? std::vector<int>{2, 3}
                                                  : std::vector<int>{2, 3, 4, 1}));
    }
  }
}

// q beyond one filter: the structural operator's right-hand spans form the span set, and by()
// gives one span set per group in spanSets.
TEST(TempoSearchTest, TraceQLSpanSets) {
  test::TempDir dir;
  auto store = *Store::Open(Options(), dir.Sub("db"));
  std::vector<Span> trace;
  for (int i = 0; i < 6; ++i) {
    Span s;
    s.trace_id.bytes[15] = 1;
    s.span_id.bytes[7] = static_cast<uint8_t>(i + 1);
    if (i > 0) s.parent_span_id.bytes[7] = 1;  // span 1 is every other span's parent
    s.service_name = i < 3 ? "front" : "back";
    s.name = i % 2 == 0 ? "even" : "odd";
    s.start_time_unix_nano = 10 * kSecond + i;
    s.end_time_unix_nano = s.start_time_unix_nano + 100;
    s.resource_attributes.push_back({"service.name", AnyValue::String(s.service_name)});
    trace.push_back(s);
  }
  ASSERT_TRUE(store->Append(trace).ok());
  TempoSearchParams p;
  p.q = R"({ span:parentID = "" } > { name = "odd" })";
  auto request = ParseTempoSearch(p);
  ASSERT_TRUE(request.ok()) << request.status();
  ASSERT_TRUE(request->traceql.has_value());
  auto results = TempoSearch(*store, *request);
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ((*results)[0].matched, 3u);  // spans 2, 4 and 6
  EXPECT_EQ((*results)[0].matched_spans[0].span_id, trace[1].span_id);

  p.q = R"({ } | by(resource.service.name))";
  request = ParseTempoSearch(p);
  ASSERT_TRUE(request.ok()) << request.status();
  results = TempoSearch(*store, *request);
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  ASSERT_EQ((*results)[0].more_spansets.size(), 1u);
  std::string json;
  AppendTempoSearchResponse(*results, request->mentions, &json);
  EXPECT_THAT(json, HasSubstr(R"("matched":3},{"spans":)"));  // two span sets of three

  // select() puts the fields it names on each span of the response.
  trace[0].attributes.push_back({"http.url", AnyValue::String("/x")});
  ASSERT_TRUE(store->Append({trace[0]}).ok());
  p.q = R"({ span:parentID = "" } | select(span.http.url, status))";
  request = ParseTempoSearch(p);
  ASSERT_TRUE(request.ok()) << request.status();
  results = TempoSearch(*store, *request);
  ASSERT_TRUE(results.ok());
  json.clear();
  AppendTempoSearchResponse(*results, request->mentions, &json);
  EXPECT_THAT(json, HasSubstr(R"({"key":"http.url","value":{"stringValue":"/x"}})"));
  EXPECT_THAT(json, HasSubstr(R"("key":"status")"));

  p.q = "{ } >> { name = }";
  EXPECT_THAT(ParseTempoSearch(p).status().message(),
              HasSubstr("invalid TraceQL query: column 17: expected a quoted string"));
  ASSERT_TRUE(store->Close().ok());
}

}  // namespace
}  // namespace spanstore
