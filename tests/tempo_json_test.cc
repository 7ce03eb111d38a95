// formats/tempo_json.cc: Tempo's response bodies.

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/otlp_proto.h"
#include "spanstore/tempo.h"

namespace spanstore {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

Span OneSpan() {
  Span s;
  s.trace_id.bytes[15] = 1;
  s.span_id.bytes[7] = 2;
  s.service_name = "svc";
  s.resource_attributes = {{"service.name", AnyValue::String("svc")}};
  s.name = "op";
  s.start_time_unix_nano = 5000000000;
  s.end_time_unix_nano = 5002500000;
  s.status_code = StatusCode::kError;
  s.attributes = {{"http.status_code", AnyValue::Int(500)}};
  return s;
}

TEST(TempoJsonTest, SearchResponse) {
  TempoTraceResult t;
  t.summary.trace_id = OneSpan().trace_id;
  t.summary.root_service = "svc";
  t.summary.root_name = "op";
  t.summary.start_time_unix_nano = 5000000000;
  t.summary.duration_nanos = 2500000;
  t.matched = 1;
  t.matched_spans = {OneSpan()};
  auto q = ParseQuery("{ span.http.status_code >= 500 && status = error }");
  ASSERT_TRUE(q.ok());
  std::string out;
  AppendTempoSearchResponse({t}, *q, &out);
  const std::string set =
      R"({"spans":[{"spanID":"0000000000000002","name":"op","startTimeUnixNano":"5000000000",)"
      R"("durationNanos":"2500000","attributes":[{"key":"status","value":{"stringValue":"error"}},)"
      R"({"key":"http.status_code","value":{"intValue":"500"}}]}],"matched":1})";
  EXPECT_EQ(
      out,
      R"({"traces":[{"traceID":"00000000000000000000000000000001","rootServiceName":"svc",)"
      R"("rootTraceName":"op","startTimeUnixNano":"5000000000","durationMs":2,"spanSet":)" +
          set + R"(,"spanSets":[)" + set +
          R"(]}],"metrics":{"inspectedTraces":1,"inspectedBytes":"0","completedJobs":1,"totalJobs":1}})");
  // A trace whose root has not arrived.
  t.summary.root_service.clear();
  t.summary.root_name.clear();
  out.clear();
  AppendTempoSearchResponse({t}, SpanQuery(), &out);
  EXPECT_THAT(out, HasSubstr(R"("rootServiceName":"<root span not yet received>")"));
}

TEST(TempoJsonTest, TraceById) {
  std::string v1, v2, proto1, proto2;
  AppendTempoTraceJson({OneSpan()}, 1, &v1);
  AppendTempoTraceJson({OneSpan()}, 2, &v2);
  EXPECT_THAT(v1, StartsWith(R"({"batches":[{"resource":)"));
  EXPECT_THAT(v2, StartsWith(R"({"trace":{"resourceSpans":[{"resource":)"));
  AppendTempoTraceProto({OneSpan()}, 1, &proto1);
  AppendTempoTraceProto({OneSpan()}, 2, &proto2);
  std::vector<Span> decoded;
  ASSERT_TRUE(DecodeOtlpTraces(proto1, &decoded).ok());
  EXPECT_EQ(decoded, std::vector<Span>{OneSpan()});
  ASSERT_EQ(proto2.size(), proto1.size() + 2);  // tag and a one-byte length
  EXPECT_EQ(proto2[0], 0x0a);
  EXPECT_EQ(static_cast<size_t>(proto2[1]), proto1.size());
  EXPECT_EQ(proto2.substr(2), proto1);
}

TEST(TempoJsonTest, TagNamesAndValues) {
  TagNames names;
  names.span = {"b", "http.method"};
  names.resource = {"service.name"};
  names.event = {"exception.type"};
  std::string out;
  AppendTempoTagNames(names, 1, "", &out);
  EXPECT_EQ(out,
            R"({"tagNames":["b","http.method","service.name"],"metrics":{"inspectedBytes":"0"}})");
  out.clear();
  AppendTempoTagNames(names, 2, "resource", &out);
  EXPECT_EQ(
      out,
      R"({"scopes":[{"name":"resource","tags":["service.name"]}],"metrics":{"inspectedBytes":"0"}})");
  out.clear();
  AppendTempoTagNames(names, 2, "", &out);
  EXPECT_THAT(out, HasSubstr(R"({"name":"span","tags":["b","http.method"]})"));
  EXPECT_THAT(out, HasSubstr(R"({"name":"event","tags":["exception.type"]})"));
  EXPECT_THAT(out, HasSubstr(R"({"name":"intrinsic","tags":["duration",)"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr(R"("name":"link")")));  // empty scopes are left out
  out.clear();
  AppendTempoTagValues({{"string", "a\"b"}, {"int", "5"}}, 2, &out);
  EXPECT_EQ(
      out,
      R"({"tagValues":[{"type":"string","value":"a\"b"},{"type":"int","value":"5"}],"metrics":{"inspectedBytes":"0"}})");
  out.clear();
  AppendTempoTagValues({{"string", "x"}}, 1, &out);
  EXPECT_EQ(out, R"({"tagValues":["x"],"metrics":{"inspectedBytes":"0"}})");
}

}  // namespace
}  // namespace spanstore
