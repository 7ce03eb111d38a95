// query/jaeger_search.cc: Jaeger's tag semantics and searches over a Store.

#include <cmath>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/jaeger.h"
#include "spanstore/store.h"
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
