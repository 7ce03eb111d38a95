// formats/jaeger_ui_writer.cc: spans in Jaeger UI's JSON model.

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/jaeger.h"

namespace spanstore {
namespace {

TEST(JaegerUiWriterTest, OneSpanWithEveryMappedField) {
  Span s;
  s.trace_id = *TraceId::FromHex("0af7651916cd43dd8448eb211c80319c");
  s.span_id = *SpanId::FromHex("b7ad6b7169203331");
  s.parent_span_id = *SpanId::FromHex("00f067aa0ba902b7");
  s.flags = 0x301;
  s.trace_state = "k=v";
  s.service_name = "cart";
  s.resource_attributes = {{"service.name", AnyValue::String("cart")}, {"pod", AnyValue::Int(7)}};
  s.scope_name = "lib";
  s.name = "GET /cart";
  s.kind = SpanKind::kServer;
  s.start_time_unix_nano = 1000001999;
  s.end_time_unix_nano = 1003002999;
  s.status_code = StatusCode::kError;
  s.status_message = "bad";
  s.attributes = {{"s", AnyValue::String("v\"")},
                  {"i", AnyValue::Int(9007199254740993)},  // beyond 2^53: a string
                  {"d", AnyValue::Double(0.25)},
                  {"b", AnyValue::Bool(false)},
                  {"x", AnyValue::BytesValue("\xff")},
                  {"a", AnyValue::ArrayValue({AnyValue::Int(1)})}};
  s.events = {{2000000000, "boom", {{"k", AnyValue::String("v")}}, 0}};
  SpanLink link;
  link.trace_id = s.trace_id;
  link.span_id = *SpanId::FromHex("0000000000000001");
  s.links = {link};
  std::string out;
  AppendJaegerUiTrace({s}, &out);
  EXPECT_EQ(
      out,
      R"({"traceID":"0af7651916cd43dd8448eb211c80319c","spans":[{"traceID":"0af7651916cd43dd8448eb211c80319c",)"
      R"("spanID":"b7ad6b7169203331","flags":1,"operationName":"GET /cart","references":[)"
      R"({"refType":"CHILD_OF","traceID":"0af7651916cd43dd8448eb211c80319c","spanID":"00f067aa0ba902b7"},)"
      R"({"refType":"FOLLOWS_FROM","traceID":"0af7651916cd43dd8448eb211c80319c","spanID":"0000000000000001"}],)"
      R"("startTime":1000001,"duration":3001,"tags":[)"
      R"({"key":"otel.scope.name","type":"string","value":"lib"},)"
      R"({"key":"s","type":"string","value":"v\""},)"
      R"({"key":"i","type":"int64","value":"9007199254740993"},)"
      R"({"key":"d","type":"float64","value":0.25},)"
      R"({"key":"b","type":"bool","value":false},)"
      R"({"key":"x","type":"binary","value":"/w=="},)"
      R"({"key":"a","type":"string","value":"[1]"},)"
      R"({"key":"span.kind","type":"string","value":"server"},)"
      R"({"key":"otel.status_code","type":"string","value":"ERROR"},)"
      R"({"key":"error","type":"bool","value":true},)"
      R"({"key":"otel.status_description","type":"string","value":"bad"},)"
      R"({"key":"w3c.tracestate","type":"string","value":"k=v"}],)"
      R"("logs":[{"timestamp":2000000,"fields":[{"key":"event","type":"string","value":"boom"},)"
      R"({"key":"k","type":"string","value":"v"}]}],"processID":"p1","warnings":null}],)"
      R"("processes":{"p1":{"serviceName":"cart","tags":[{"key":"pod","type":"int64","value":7}]}},)"
      R"("warnings":null})");
}

TEST(JaegerUiWriterTest, ProcessesAreNumberedByResource) {
  Span a, b, c;
  a.service_name = "a";
  b.service_name = "b";
  c.service_name = "a";  // same process as a
  Span d;                // no service: Jaeger's translator's name
  std::string out;
  AppendJaegerUiTrace({a, b, c, d}, &out);
  EXPECT_THAT(
      out, ::testing::HasSubstr(R"("processes":{"p1":{"serviceName":"a","tags":[]},)"
                                R"("p2":{"serviceName":"b","tags":[]},)"
                                R"("p3":{"serviceName":"OTLPResourceNoServiceName","tags":[]}})"));
  EXPECT_EQ(out.find(R"("processID":"p4")"), std::string::npos);
}

}  // namespace
}  // namespace spanstore
