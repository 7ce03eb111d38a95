// POST /v1/traces against an in-process daemon: the OTLP/HTTP status contract, request by
// request (OTLP specification, "OTLP/HTTP Response").

#include <errno.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "tests/spanstored/test_support.h"
#include "tests/util/fault_injection_env.h"

namespace spanstore::spanstored::testing {
namespace {

using ::testing::HasSubstr;
namespace otlp = opentelemetry::proto::collector::trace::v1;

constexpr uint64_t kStart = 1700000000000000000ull;

HttpResult Post(InProcessServer& s, const std::string& body, const std::string& type,
                const std::string& encoding = "") {
  Headers h = {{"Content-Type", type}};
  if (!encoding.empty()) h.emplace_back("Content-Encoding", encoding);
  return HttpFetch(s.Address("otlp-http"), "POST", "/v1/traces", h, body);
}

TEST(OtlpHttpHandlerTest, ProtobufExportIsAcknowledgedDurableAndVisible) {
  InProcessServer s;
  const std::vector<Span> spans = SampleTrace("orders", kStart, 1);
  HttpResult r = Post(s, ProtoRequest(spans), "application/x-protobuf");
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/x-protobuf");
  otlp::ExportTraceServiceResponse response;
  ASSERT_TRUE(response.ParseFromString(r.body));
  EXPECT_FALSE(response.has_partial_success());
  auto trace = s.store().GetTrace(spans[0].trace_id);
  ASSERT_TRUE(trace.ok()) << trace.status();
  EXPECT_EQ(trace->spans, spans);              // every field, as sent
  EXPECT_GE(s.store().Stats().wal_syncs, 1u);  // --sync every-batch: synced before the 200
}

TEST(OtlpHttpHandlerTest, JsonAndGzipExportsAreStored) {
  InProcessServer s;
  const std::vector<Span> a = SampleTrace("json", kStart, 2);
  const std::vector<Span> b = SampleTrace("gzip", kStart, 3);
  HttpResult r = Post(s, JsonRequest(a), "application/json; charset=utf-8");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{}");
  EXPECT_EQ(r.Header("content-type"), "application/json");
  r = Post(s, Gzip(ProtoRequest(b)), "application/x-protobuf", "gzip");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(s.store().GetTrace(a[0].trace_id)->spans, a);
  EXPECT_EQ(s.store().GetTrace(b[0].trace_id)->spans, b);
}

TEST(OtlpHttpHandlerTest, InvalidSpansAreDroppedAndCountedInPartialSuccess) {
  InProcessServer s;
  std::vector<Span> spans = SampleTrace("partial", kStart, 4);
  spans.push_back(spans[1]);
  spans.back().span_id = SpanId();  // all-zero span id: invalid
  HttpResult r = Post(s, ProtoRequest(spans), "application/x-protobuf");
  ASSERT_EQ(r.status, 200) << r.body;
  otlp::ExportTraceServiceResponse response;
  ASSERT_TRUE(response.ParseFromString(r.body));
  EXPECT_EQ(response.partial_success().rejected_spans(), 1);
  EXPECT_THAT(response.partial_success().error_message(), HasSubstr("span id is all zeros"));
  EXPECT_EQ(s.store().GetTrace(spans[0].trace_id)->spans.size(), 2u);

  r = Post(s, JsonRequest(spans), "application/json");
  ASSERT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("\"partialSuccess\":{\"rejectedSpans\":\"1\""));
}

TEST(OtlpHttpHandlerTest, UndecodableBodiesAre400AndStoreNothing) {
  InProcessServer s;
  const std::string good = ProtoRequest(SampleTrace("bad", kStart, 5));
  const std::string truncated = good.substr(0, good.size() - 7);
  HttpResult r = Post(s, truncated, "application/x-protobuf");
  EXPECT_EQ(r.status, 400);
  otlp::ExportTraceServiceResponse ignored;
  // The error body is a google.rpc.Status: code 3 (INVALID_ARGUMENT).
  EXPECT_EQ(r.body[0], 0x08);
  EXPECT_EQ(r.body[1], 3);

  r = Post(s, "{\"resourceSpans\": [", "application/json");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("\"code\":3"));
  r = Post(s, "[1,2,3]", "application/json");
  EXPECT_EQ(r.status, 400);
  r = Post(s, "not gzip at all", "application/x-protobuf", "gzip");
  EXPECT_EQ(r.status, 400);
  r = Post(s, Gzip(good).substr(0, 20), "application/x-protobuf", "gzip");  // truncated stream
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(s.store().Stats().appended_spans, 0u);
}

TEST(OtlpHttpHandlerTest, BodiesOverTheLimitAre413BeforeAndAfterDecompression) {
  ServerConfig config;
  config.max_request_bytes = 256 << 10;
  InProcessServer s(config);
  // Over the limit on the wire: the HTTP layer refuses it from Content-Length.
  HttpResult r = Post(s, std::string(300 << 10, 'x'), "application/x-protobuf");
  EXPECT_EQ(r.status, 413);
  // A gzip bomb: 64 MiB of zeros in ~64 KiB; decompression stops at the limit.
  const std::string bomb = Gzip(std::string(64 << 20, '\0'));
  ASSERT_LT(bomb.size(), config.max_request_bytes);
  r = Post(s, bomb, "application/x-protobuf", "gzip");
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body[1], 8);  // RESOURCE_EXHAUSTED
  // The connection-level refusal did not hurt the server.
  r = Post(s, ProtoRequest(SampleTrace("after", kStart, 6)), "application/x-protobuf");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(s.store().Stats().appended_spans, 2u);
}

TEST(OtlpHttpHandlerTest, UnknownMediaTypesAndEncodingsAre415) {
  InProcessServer s;
  const std::string body = ProtoRequest(SampleTrace("x", kStart, 7));
  EXPECT_EQ(Post(s, body, "text/plain").status, 415);
  EXPECT_EQ(Post(s, body, "").status, 415);
  EXPECT_EQ(Post(s, body, "application/x-protobuf", "br").status, 415);
  EXPECT_EQ(s.store().Stats().appended_spans, 0u);
}

TEST(OtlpHttpHandlerTest, DiskFullIs503WithRetryAfterAndRecovers) {
  spanstore::test::FaultInjectionEnv env;
  Options options;
  options.env = &env;
  InProcessServer s(ServerConfig(), options);
  const std::vector<Span> spans = SampleTrace("full", kStart, 8);
  env.Fail(spanstore::test::FaultOp::kWrite, ENOSPC);
  HttpResult r = Post(s, ProtoRequest(spans), "application/x-protobuf");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Header("retry-after"), "1");
  EXPECT_EQ(r.body[1], 14);  // UNAVAILABLE: the exporter keeps the data and retries
  env.ClearAll();
  r = Post(s, ProtoRequest(spans), "application/x-protobuf");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(s.store().GetTrace(spans[0].trace_id)->spans, spans);
}

TEST(OtlpHttpHandlerTest, RefusedRequestsAre503UntilTheHookIsSpent) {
  ServerConfig config;
  config.test_refuse_ingest = 2;
  InProcessServer s(config);
  const std::string body = ProtoRequest(SampleTrace("hook", kStart, 9));
  EXPECT_EQ(Post(s, body, "application/x-protobuf").status, 503);
  EXPECT_EQ(Post(s, body, "application/x-protobuf").status, 503);
  EXPECT_EQ(Post(s, body, "application/x-protobuf").status, 200);
}

TEST(OtlpHttpHandlerTest, OtherMethodsAndPaths) {
  InProcessServer s;
  HttpResult r = HttpFetch(s.Address("otlp-http"), "GET", "/v1/traces");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("allow"), "POST");
  EXPECT_EQ(HttpFetch(s.Address("otlp-http"), "POST", "/v1/logs").status, 404);
}

TEST(OtlpHttpHandlerTest, ReadyAndMetricsOnEveryHttpListener) {
  InProcessServer s;
  ASSERT_EQ(Post(s, ProtoRequest(SampleTrace("m", kStart, 10)), "application/x-protobuf").status,
            200);
  ASSERT_EQ(Post(s, "garbage", "application/x-protobuf").status, 400);
  for (const char* listener : {"otlp-http", "tempo", "jaeger-query"}) {
    EXPECT_EQ(HttpFetch(s.Address(listener), "GET", "/ready").status, 200) << listener;
    HttpResult m = HttpFetch(s.Address(listener), "GET", "/metrics");
    ASSERT_EQ(m.status, 200);
    EXPECT_THAT(m.Header("content-type"), HasSubstr("text/plain; version=0.0.4"));
    EXPECT_THAT(m.body, HasSubstr("spanstored_spans_received_total{protocol=\"otlp_http\"} 2\n"));
    EXPECT_THAT(m.body, HasSubstr("spanstored_spans_accepted_total{protocol=\"otlp_http\"} 2\n"));
    EXPECT_THAT(m.body,
                HasSubstr("spanstored_requests_total{listener=\"otlp-http\",code=\"400\"} 1\n"));
    EXPECT_THAT(m.body, HasSubstr("spanstored_append_duration_seconds_count 1\n"));
    EXPECT_THAT(m.body, HasSubstr("spanstore_spans 2\n"));
  }
}

}  // namespace
}  // namespace spanstore::spanstored::testing
