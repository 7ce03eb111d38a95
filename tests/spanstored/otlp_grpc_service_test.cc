// OTLP/gRPC Export against an in-process daemon, with gRPC's own C++ client.

#include <grpcpp/grpcpp.h>

#include "gmock/gmock.h"
#include "google/rpc/retry_info.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "tests/spanstored/test_support.h"

namespace spanstore::spanstored::testing {
namespace {

using ::testing::HasSubstr;
namespace otlp = opentelemetry::proto::collector::trace::v1;

constexpr uint64_t kStart = 1700000000000000000ull;

std::unique_ptr<otlp::TraceService::Stub> Stub(const InProcessServer& s) {
  return otlp::TraceService::NewStub(
      grpc::CreateChannel(s.Address("otlp-grpc"), grpc::InsecureChannelCredentials()));
}

otlp::ExportTraceServiceRequest Request(const std::vector<Span>& spans) {
  otlp::ExportTraceServiceRequest request;
  EXPECT_TRUE(request.ParseFromString(ProtoRequest(spans)));
  return request;
}

TEST(OtlpGrpcServiceTest, ExportIsAcknowledgedAndVisible) {
  InProcessServer s;
  const std::vector<Span> spans = SampleTrace("grpc", kStart, 1);
  grpc::ClientContext context;
  otlp::ExportTraceServiceResponse response;
  grpc::Status status = Stub(s)->Export(&context, Request(spans), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(response.has_partial_success());
  EXPECT_EQ(s.store().GetTrace(spans[0].trace_id)->spans, spans);
}

TEST(OtlpGrpcServiceTest, GzipCompressedExportIsStored) {
  InProcessServer s;
  const std::vector<Span> spans = SampleTrace("gzip", kStart, 2);
  grpc::ClientContext context;
  context.set_compression_algorithm(GRPC_COMPRESS_GZIP);
  otlp::ExportTraceServiceResponse response;
  ASSERT_TRUE(Stub(s)->Export(&context, Request(spans), &response).ok());
  EXPECT_EQ(s.store().GetTrace(spans[0].trace_id)->spans, spans);
}

TEST(OtlpGrpcServiceTest, InvalidSpansArePartialSuccess) {
  InProcessServer s;
  std::vector<Span> spans = SampleTrace("partial", kStart, 3);
  spans.push_back(spans[0]);
  spans.back().span_id = SpanId();
  grpc::ClientContext context;
  otlp::ExportTraceServiceResponse response;
  ASSERT_TRUE(Stub(s)->Export(&context, Request(spans), &response).ok());
  EXPECT_EQ(response.partial_success().rejected_spans(), 1);
  EXPECT_EQ(s.store().GetTrace(spans[0].trace_id)->spans.size(), 2u);
}

TEST(OtlpGrpcServiceTest, UndecodableRequestIsInvalidArgumentAndStoresNothing) {
  InProcessServer s;
  otlp::ExportTraceServiceRequest request = Request(SampleTrace("bad", kStart, 4));
  request.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->set_trace_id(
      "abc");  // 3 bytes: not an id
  grpc::ClientContext context;
  otlp::ExportTraceServiceResponse response;
  grpc::Status status = Stub(s)->Export(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.store().Stats().appended_spans, 0u);
}

TEST(OtlpGrpcServiceTest, MessagesOverTheLimitAreRefusedEvenCompressed) {
  ServerConfig config;
  config.max_request_bytes = 64 << 10;
  InProcessServer s(config);
  std::vector<Span> spans = SampleTrace("big", kStart, 5);
  spans[0].attributes.push_back({"blob", AnyValue::String(std::string(200 << 10, 'q'))});
  for (bool compressed : {false, true}) {
    grpc::ClientContext context;
    if (compressed) context.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    otlp::ExportTraceServiceResponse response;
    grpc::Status status = Stub(s)->Export(&context, Request(spans), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << compressed;
  }
  EXPECT_EQ(s.store().Stats().appended_spans, 0u);
}

TEST(OtlpGrpcServiceTest, BackPressureIsUnavailableWithRetryInfo) {
  ServerConfig config;
  config.test_refuse_ingest = 1;
  InProcessServer s(config);
  const std::vector<Span> spans = SampleTrace("retry", kStart, 6);
  grpc::ClientContext context;
  otlp::ExportTraceServiceResponse response;
  grpc::Status status = Stub(s)->Export(&context, Request(spans), &response);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  EXPECT_EQ(details.code(), grpc::StatusCode::UNAVAILABLE);
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(details.details(0).UnpackTo(&retry));
  EXPECT_EQ(retry.retry_delay().seconds(), 1);
  // The retry goes through.
  grpc::ClientContext again;
  EXPECT_TRUE(Stub(s)->Export(&again, Request(spans), &response).ok());
  EXPECT_EQ(s.store().GetTrace(spans[0].trace_id)->spans, spans);
}

}  // namespace
}  // namespace spanstore::spanstored::testing
