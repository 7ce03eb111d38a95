// query/jaeger_search.cc: Jaeger's tag semantics and searches over a Store.

#include <cmath>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/jaeger.h"
#include "spanstore/store.h"
#include "spanstore/traceql.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

using ::testing::ElementsAre;

constexpr uint64_t kStart = 1700000000000000000ull;

TEST(JaegerSearchTest, ValuesCompareAsStrings) {
  EXPECT_EQ(JaegerValueString(AnyValue::String("x")), "x");
  EXPECT_EQ(JaegerValueString(AnyValue::Int(-42)), "-42");
  EXPECT_EQ(JaegerValueString(AnyValue::Bool(true)), "true");
  EXPECT_EQ(JaegerValueString(AnyValue::Double(0.5)), "0.5");
  EXPECT_EQ(JaegerValueString(AnyValue::Double(3)), "3");
  EXPECT_EQ(JaegerValueString(AnyValue::Double(1e21)), "1e+21");
  EXPECT_EQ(JaegerValueString(AnyValue::Double(1.5e-7)), "1.5e-7");
  EXPECT_EQ(JaegerValueString(AnyValue::Double(123456.789)), "123456.789");
  EXPECT_EQ(JaegerValueString(AnyValue::Double(std::nan(""))), "NaN");
  EXPECT_EQ(JaegerValueString(AnyValue::BytesValue("\x01\x02")), "AQI=");
  EXPECT_EQ(JaegerValueString(AnyValue::ArrayValue({AnyValue::String("a"), AnyValue::Int(1)})),
            R"(["a",1])");
  EXPECT_EQ(JaegerValueString(AnyValue::MapValue({{"k", AnyValue::Bool(false)}})),
            R"({"k":false})");
}

Span Fixture() {
  Span s;
  s.trace_id.bytes[15] = 1;
  s.span_id.bytes[7] = 1;
  s.service_name = "svc";
  s.name = "op";
  s.kind = SpanKind::kServer;
  s.status_code = StatusCode::kError;
  s.status_message = "boom";
  s.scope_name = "lib";
  s.scope_version = "1.0";
  s.attributes = {{"http.status_code", AnyValue::Int(503)}, {"ok", AnyValue::Bool(false)}};
  s.resource_attributes = {{"service.name", AnyValue::String("svc")},
                           {"region", AnyValue::String("eu")}};
  s.scope_attributes = {{"lib.attr", AnyValue::String("l")}};
  s.events = {{1, "exception", {{"exception.type", AnyValue::String("IOError")}}, 0}};
  SpanLink link;
  link.attributes = {{"link.kind", AnyValue::String("batch")}};
  s.links = {link};
  return s;
}

TEST(JaegerSearchTest, TagsMatchInEverySpot) {
  const Span s = Fixture();
  auto m = [&](std::string k, std::string v) { return JaegerTagMatches({k, v}, s); };
  EXPECT_TRUE(m("http.status_code", "503"));
  EXPECT_FALSE(m("http.status_code", "500"));
  EXPECT_TRUE(m("ok", "false"));
  EXPECT_TRUE(m("region", "eu"));               // resource
  EXPECT_TRUE(m("lib.attr", "l"));              // scope
  EXPECT_TRUE(m("exception.type", "IOError"));  // event
  EXPECT_TRUE(m("link.kind", "batch"));         // link
  EXPECT_TRUE(m("resource.region", "eu"));
  EXPECT_FALSE(m("resource.http.status_code", "503"));  // resource only
  EXPECT_TRUE(m("error", "true"));
  EXPECT_FALSE(m("error", "false"));
  EXPECT_FALSE(m("error", "maybe"));
  EXPECT_TRUE(m("span.kind", "SERVER"));
  EXPECT_TRUE(m("otel.status_code", "ERROR"));
  EXPECT_TRUE(m("span.status", "error"));
  EXPECT_TRUE(m("otel.status_description", "boom"));
  EXPECT_TRUE(m("otel.scope.name", "lib"));
  EXPECT_TRUE(m("scope.version", "1.0"));
  EXPECT_TRUE(m("event", "exception"));
  EXPECT_FALSE(m("missing", ""));
  EXPECT_TRUE(JaegerTagsMatch({{"region", "eu"}, {"ok", "false"}}, s));
  EXPECT_FALSE(JaegerTagsMatch({{"region", "eu"}, {"ok", "true"}}, s));
  EXPECT_TRUE(JaegerTagsMatch({}, s));
}

class JaegerStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = *Store::Open(Options(), dir_.Sub("db")); }
  void TearDown() override { ASSERT_TRUE(store_->Close().ok()); }
  // Trace i: service svc<i%2>, root "op" (server) and child "child" (client), tag "n"=i.
  void Add(int i) {
    Span root = Fixture();
    root.trace_id.bytes[0] = static_cast<uint8_t>(i);
    root.service_name = "svc" + std::to_string(i % 2);
    root.resource_attributes = {{"service.name", AnyValue::String(root.service_name)}};
    root.start_time_unix_nano = kStart + i * 1000000000ull;
    root.end_time_unix_nano = root.start_time_unix_nano + (i + 1) * 1000000ull;
    root.attributes = {{"n", AnyValue::Int(i)}};
    Span child = root;
    child.span_id.bytes[7] = 2;
    child.parent_span_id = root.span_id;
    child.name = "child";
    child.kind = SpanKind::kClient;
    child.attributes = {{"side", AnyValue::String("client")}};
    ASSERT_TRUE(store_->Append({root, child}).ok());
  }
  std::vector<int> Find(JaegerQuery q) {
    std::vector<int> out;
    auto found = FindJaegerTraces(*store_, q);
    EXPECT_TRUE(found.ok()) << found.status();
    for (const JaegerFoundTrace& f : *found) out.push_back(f.trace_id.bytes[0]);
    return out;
  }
  test::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(JaegerStoreTest, FindsWithAndWithoutTagsMostRecentFirst) {
  for (int i = 0; i < 10; ++i) Add(i);
  JaegerQuery q;
  EXPECT_THAT(Find(q), ElementsAre(9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
  q.service = "svc1";
  EXPECT_THAT(Find(q), ElementsAre(9, 7, 5, 3, 1));
  q.limit = 2;
  EXPECT_THAT(Find(q), ElementsAre(9, 7));
  q.limit = 100;
  q.tags = {{"n", "3"}};
  EXPECT_THAT(Find(q), ElementsAre(3));
  q.tags = {{"side", "client"}, {"span.kind", "client"}};
  EXPECT_THAT(Find(q), ElementsAre(9, 7, 5, 3, 1));
  q.tags = {{"side", "client"}, {"n", "3"}};  // on different spans of trace 3
  EXPECT_THAT(Find(q), ElementsAre());
  q.tags = {{"side", "client"}};
  q.limit = 2;
  EXPECT_THAT(Find(q), ElementsAre(9, 7));
  q.limit = 100;
  q.start_min = kStart + 4000000000ull;
  q.start_max = kStart + 7000000000ull;
  EXPECT_THAT(Find(q), ElementsAre(7, 5));
  q = JaegerQuery();
  q.min_duration_nanos = 8000000;  // trace i's spans last i+1 ms
  EXPECT_THAT(Find(q), ElementsAre(9, 8, 7));
  q.max_duration_nanos = 9000000;
  q.tags = {{"side", "client"}};
  EXPECT_THAT(Find(q), ElementsAre(8, 7));
  auto found = FindJaegerTraces(*store_, q);
  EXPECT_EQ((*found)[0].start_unix_nano, kStart + 8000000000ull);
  EXPECT_EQ((*found)[0].end_unix_nano, kStart + 8000000000ull + 9000000);
}

// Jaeger's storage-integration FindTraces cases, in every spot a tag can sit: one span carries
// a tag on itself, its resource, its scope, an event and a link; the tags of a query are AND-ed
// and must all hold on that one span (Jaeger's memory store: validSpan checks every tag on one
// span), whatever spots they come from; values compare as strings.
TEST_F(JaegerStoreTest, FindTracesWithTagsInEverySpot) {
  Span root = Fixture();  // span: http.status_code=503, ok=false; resource: region=eu; ...
  root.trace_id.bytes[0] = 42;
  root.start_time_unix_nano = kStart;
  root.end_time_unix_nano = kStart + 1000;
  Span other = root;
  other.span_id.bytes[7] = 9;
  other.parent_span_id = root.span_id;
  other.name = "query";
  other.attributes = {{"db.system", AnyValue::String("postgresql")}};
  other.events.clear();
  other.links.clear();
  other.scope_attributes.clear();
  other.status_code = StatusCode::kOk;
  ASSERT_TRUE(store_->Append({root, other}).ok());
  for (bool blocks : {false, true}) {
    SCOPED_TRACE(blocks);
    if (blocks) {
      ASSERT_TRUE(store_->CompactAll().ok());
    }
    auto find = [&](std::vector<JaegerTag> tags) {
      JaegerQuery q;
      q.service = "svc";
      q.tags = std::move(tags);
      return Find(q);
    };
    EXPECT_THAT(find({{"http.status_code", "503"}}), ElementsAre(42));    // span, an int
    EXPECT_THAT(find({{"region", "eu"}}), ElementsAre(42));               // resource
    EXPECT_THAT(find({{"lib.attr", "l"}}), ElementsAre(42));              // scope
    EXPECT_THAT(find({{"exception.type", "IOError"}}), ElementsAre(42));  // event
    EXPECT_THAT(find({{"link.kind", "batch"}}), ElementsAre(42));         // link
    EXPECT_THAT(find({{"ok", "false"}}), ElementsAre(42));                // a bool
    EXPECT_THAT(find({{"http.status_code", "500"}}), ElementsAre());
    // All spots at once on the one span, and the span fields.
    EXPECT_THAT(find({{"http.status_code", "503"},
                      {"region", "eu"},
                      {"lib.attr", "l"},
                      {"exception.type", "IOError"},
                      {"link.kind", "batch"},
                      {"error", "true"},
                      {"span.kind", "server"}}),
                ElementsAre(42));
    // Each tag holds on some span of the trace, but not both on one span.
    EXPECT_THAT(find({{"db.system", "postgresql"}}), ElementsAre(42));
    EXPECT_THAT(find({{"db.system", "postgresql"}, {"link.kind", "batch"}}), ElementsAre());
    EXPECT_THAT(find({{"db.system", "postgresql"}, {"error", "true"}}), ElementsAre());
    EXPECT_THAT(find({{"db.system", "postgresql"}, {"error", "false"}}), ElementsAre(42));
    // A resource tag is shared by both spans; the operation narrows to one.
    JaegerQuery q;
    q.service = "svc";
    q.operation = "op";
    q.tags = {{"resource.region", "eu"}, {"db.system", "postgresql"}};
    EXPECT_THAT(Find(q), ElementsAre());  // db.system is on the other span, not on "op"
    q.tags = {{"resource.region", "eu"}, {"event", "exception"}};
    EXPECT_THAT(Find(q), ElementsAre(42));
  }
}

// The plan a Jaeger search runs: one filter, the service and operation as structured fields,
// each tag an `||` over its spots, the tags `&&`-ed.
TEST(JaegerSearchTest, TraceQueryPlan) {
  JaegerQuery q;
  q.service = "svc";
  q.operation = "op";
  q.min_duration_nanos = 5;
  q.tags = {{"http.status_code", "500"}, {"resource.region", "eu"}};
  const TraceQuery plan = JaegerTraceQuery(q);
  EXPECT_EQ(plan.spansets.op, SpansetOp::kFilter);
  EXPECT_TRUE(plan.pipeline.empty());
  const SpanQuery& f = plan.spansets.filter;
  EXPECT_THAT(f.services, ElementsAre("svc"));
  EXPECT_THAT(f.names, ElementsAre("op"));
  EXPECT_EQ(f.min_duration_nanos, 5u);
  EXPECT_EQ(f.max_duration_nanos, UINT64_MAX);
  ASSERT_TRUE(f.filter.has_value());
  ASSERT_EQ(f.filter->kind, FilterExpr::Kind::kAnd);
  ASSERT_EQ(f.filter->children.size(), 2u);
  const FilterExpr& any = f.filter->children[0];
  EXPECT_EQ(any.kind, FilterExpr::Kind::kOr);
  for (const FilterExpr& c : any.children) {
    ASSERT_EQ(c.kind, FilterExpr::Kind::kAttribute);
    EXPECT_TRUE(c.attribute.as_string);
  }
  const FilterExpr& resource = f.filter->children[1];
  ASSERT_EQ(resource.kind, FilterExpr::Kind::kAttribute);
  EXPECT_EQ(resource.attribute.scope, AttributeScope::kResource);
  EXPECT_EQ(resource.attribute.key, "region");
  // Without tags, no filter expression: the search scans only the columns.
  q.tags.clear();
  EXPECT_FALSE(JaegerTraceQuery(q).spansets.filter.filter.has_value());
}

TEST_F(JaegerStoreTest, MaxScannedSpansBoundsTheSearch) {
  for (int i = 0; i < 10; ++i) Add(i);
  JaegerQuery q;
  q.tags = {{"side", "client"}};
  EXPECT_EQ(Find(q).size(), 10u);
  q.max_scanned_spans = 3;
  EXPECT_LE(Find(q).size(), 3u);
}

TEST_F(JaegerStoreTest, OperationsByKind) {
  Add(1);
  EXPECT_THAT(*JaegerOperations(*store_, "svc1", "", 0), ElementsAre("child", "op"));
  EXPECT_THAT(*JaegerOperations(*store_, "svc1", "server", 0), ElementsAre("op"));
  EXPECT_THAT(*JaegerOperations(*store_, "svc1", "Client", 0), ElementsAre("child"));
  EXPECT_THAT(*JaegerOperations(*store_, "svc1", "consumer", 0), ElementsAre());
  EXPECT_EQ(JaegerOperations(*store_, "svc1", "sideways", 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace spanstore
