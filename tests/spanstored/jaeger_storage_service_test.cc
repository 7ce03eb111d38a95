// Jaeger v2 remote storage (jaeger.storage.v2) against an in-process daemon, in the style of
// Jaeger's storage integration tests: a fixed set of traces, then one FindTraces query per
// case with the traces it must return -- services, operations, tags in every spot, durations,
// time windows and limits.

#include <grpcpp/grpcpp.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jaeger/storage/v2/capabilities.grpc.pb.h"
#include "jaeger/storage/v2/dependency_storage.grpc.pb.h"
#include "jaeger/storage/v2/trace_storage.grpc.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "spanstore/otlp_proto.h"
#include "tests/spanstored/test_support.h"

namespace spanstore::spanstored::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAreArray;
namespace pb = jaeger::storage::v2;

constexpr uint64_t kSecond = 1000000000;
constexpr uint64_t kStart = 1700000000 * kSecond;

google::protobuf::Timestamp Ts(uint64_t nanos) {
  google::protobuf::Timestamp t;
  t.set_seconds(static_cast<int64_t>(nanos / kSecond));
  t.set_nanos(static_cast<int32_t>(nanos % kSecond));
  return t;
}

google::protobuf::Duration Dur(uint64_t nanos) {
  google::protobuf::Duration d;
  d.set_seconds(static_cast<int64_t>(nanos / kSecond));
  d.set_nanos(static_cast<int32_t>(nanos % kSecond));
  return d;
}

std::string Bytes(const TraceId& id) {
  return std::string(reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size());
}

// Decodes streamed TracesData chunks back into spans, per chunk.
std::vector<std::vector<Span>> Chunks(
    grpc::ClientReader<opentelemetry::proto::trace::v1::TracesData>* reader) {
  std::vector<std::vector<Span>> chunks;
  opentelemetry::proto::trace::v1::TracesData chunk;
  while (reader->Read(&chunk)) {
    std::vector<Span> spans;
    EXPECT_TRUE(DecodeOtlpTraces(chunk.SerializeAsString(), &spans).ok());
    chunks.push_back(std::move(spans));
  }
  EXPECT_TRUE(reader->Finish().ok());
  return chunks;
}

class JaegerStorageServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    channel_ =
        grpc::CreateChannel(s_.Address("jaeger-storage"), grpc::InsecureChannelCredentials());
    reader_ = pb::TraceReader::NewStub(channel_);
    // Four traces, a second apart: the integration tests' "tags in every spot" fixtures.
    a_ = SampleTrace("orders", kStart, 1);  // all the SampleTrace fields
    b_ = SampleTrace("orders", kStart + kSecond, 2);
    b_[1].attributes[0].value = AnyValue::String("mysql");
    b_[1].events.clear();
    c_ = SampleTrace("payments", kStart + 2 * kSecond, 3);
    c_[0].end_time_unix_nano = c_[0].start_time_unix_nano + 5 * kSecond;  // slow root
    d_ = SampleTrace("frontend", kStart + 3 * kSecond, 4);
    d_[1].service_name = "backend";
    d_[1].resource_attributes = {{"service.name", AnyValue::String("backend")}};
    for (const auto* t : {&a_, &b_, &c_, &d_}) ASSERT_TRUE(s_.store().Append(*t).ok());
  }

  pb::TraceQueryParameters Query(const std::string& service) {
    pb::TraceQueryParameters q;
    q.set_service_name(service);
    *q.mutable_start_time_min() = Ts(kStart - 60 * kSecond);
    *q.mutable_start_time_max() = Ts(kStart + 60 * kSecond);
    q.set_search_depth(20);
    return q;
  }
  static void Tag(pb::TraceQueryParameters* q, const std::string& key, const std::string& value) {
    pb::KeyValue* kv = q->add_attributes();
    kv->set_key(key);
    kv->mutable_value()->set_string_value(value);
  }
  // The trace ids FindTraces streams (checking the chunking rules on the way).
  std::vector<std::string> Find(const pb::TraceQueryParameters& q) {
    grpc::ClientContext context;
    pb::FindTracesRequest request;
    *request.mutable_query() = q;
    auto reader = reader_->FindTraces(&context, request);
    std::vector<std::string> ids;
    for (const std::vector<Span>& chunk : Chunks(reader.get())) {
      EXPECT_FALSE(chunk.empty());
      for (const Span& s : chunk) EXPECT_EQ(s.trace_id, chunk[0].trace_id);  // one trace per chunk
      if (ids.empty() || ids.back() != chunk[0].trace_id.ToHex())
        ids.push_back(chunk[0].trace_id.ToHex());
    }
    return ids;
  }
  static std::string Id(const std::vector<Span>& t) { return t[0].trace_id.ToHex(); }

  InProcessServer s_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::TraceReader::Stub> reader_;
  std::vector<Span> a_, b_, c_, d_;
};

TEST_F(JaegerStorageServiceTest, FindTracesCases) {
  struct Case {
    std::string name;
    std::function<void(pb::TraceQueryParameters*)> edit;
    std::string service;
    std::vector<std::string> want;
  };
  const std::vector<Case> cases = {
      {"service", [](auto*) {}, "orders", {Id(b_), Id(a_)}},
      {"other service", [](auto*) {}, "payments", {Id(c_)}},
      {"no service (without_service_name)", [](auto*) {}, "", {Id(d_), Id(c_), Id(b_), Id(a_)}},
      {"operation",
       [](auto* q) { q->set_operation_name("SELECT orders"); },
       "orders",
       {Id(b_), Id(a_)}},
      {"unknown operation", [](auto* q) { q->set_operation_name("nope"); }, "orders", {}},
      {"span tag", [](auto* q) { Tag(q, "db.system", "postgresql"); }, "orders", {Id(a_)}},
      {"span tag int as string",
       [](auto* q) { Tag(q, "http.status_code", "200"); },
       "payments",
       {Id(c_)}},
      {"typed int value",
       [](auto* q) {
         pb::KeyValue* kv = q->add_attributes();
         kv->set_key("db.rows");
         kv->mutable_value()->set_int_value(42);
       },
       "orders",
       {Id(b_), Id(a_)}},
      {"resource tag", [](auto* q) { Tag(q, "host.name", "node-1"); }, "orders", {Id(b_), Id(a_)}},
      {"resource. prefix",
       [](auto* q) { Tag(q, "resource.k8s.pod.restarts", "3"); },
       "orders",
       {Id(b_), Id(a_)}},
      {"resource. prefix is resource only",
       [](auto* q) { Tag(q, "resource.db.system", "mysql"); },
       "orders",
       {}},
      {"scope tag", [](auto* q) { Tag(q, "scope.attr", "s1"); }, "payments", {Id(c_)}},
      {"scope name",
       [](auto* q) { Tag(q, "otel.scope.name", "io.example.http"); },
       "orders",
       {Id(b_), Id(a_)}},
      {"event tag", [](auto* q) { Tag(q, "attempt", "2"); }, "orders", {Id(a_)}},
      {"link tag", [](auto* q) { Tag(q, "link.reason", "batch"); }, "orders", {Id(b_), Id(a_)}},
      {"error", [](auto* q) { Tag(q, "error", "true"); }, "payments", {Id(c_)}},
      {"span.kind", [](auto* q) { Tag(q, "span.kind", "client"); }, "orders", {Id(b_), Id(a_)}},
      {"two tags on one span",
       [](auto* q) {
         Tag(q, "db.system", "mysql");
         Tag(q, "db.rows", "42");
       },
       "orders",
       {Id(b_)}},
      {"two tags on different spans",
       [](auto* q) {
         Tag(q, "db.system", "mysql");
         Tag(q, "http.method", "GET");
       },
       "orders",
       {}},
      {"min duration",
       [](auto* q) { *q->mutable_duration_min() = Dur(kSecond); },
       "payments",
       {Id(c_)}},
      {"min duration excludes",
       [](auto* q) { *q->mutable_duration_min() = Dur(kSecond); },
       "orders",
       {}},
      {"duration range",
       [](auto* q) {
         *q->mutable_duration_min() = Dur(150000000);
         *q->mutable_duration_max() = Dur(210000000);
       },
       "orders",
       {Id(b_), Id(a_)}},
      {"window",
       [](auto* q) { *q->mutable_start_time_min() = Ts(kStart + kSecond / 2); },
       "orders",
       {Id(b_)}},
      {"window before everything",
       [](auto* q) { *q->mutable_start_time_max() = Ts(kStart - 1); },
       "",
       {}},
      {"limit", [](auto* q) { q->set_search_depth(1); }, "", {Id(d_)}},
  };
  for (const Case& c : cases) {
    pb::TraceQueryParameters q = Query(c.service);
    c.edit(&q);
    EXPECT_EQ(Find(q), c.want) << c.name;
  }
}

TEST_F(JaegerStorageServiceTest, FindTraceIdsCarriesTimeHints) {
  grpc::ClientContext context;
  pb::FindTraceIDsRequest request;
  *request.mutable_query() = Query("payments");
  pb::FindTraceIDsResponse response;
  ASSERT_TRUE(reader_->FindTraceIDs(&context, request, &response).ok());
  ASSERT_EQ(response.trace_ids_size(), 1);
  EXPECT_EQ(response.trace_ids(0).trace_id(), Bytes(c_[0].trace_id));
  EXPECT_EQ(response.trace_ids(0).start().seconds(),
            static_cast<int64_t>((kStart + 2 * kSecond) / kSecond));
}

TEST_F(JaegerStorageServiceTest, GetTracesSkipsUnknownIdsAndChunksLargeTraces) {
  // A trace too large for one 4 MiB message.
  std::vector<Span> big;
  for (int i = 0; i < 12000; ++i) {
    Span s = a_[1];
    s.trace_id.bytes[0] = 0xbb;
    s.span_id.bytes[0] = static_cast<uint8_t>(i);
    s.span_id.bytes[1] = static_cast<uint8_t>(i >> 8);
    s.span_id.bytes[2] = 0x77;
    s.start_time_unix_nano += i;
    s.end_time_unix_nano += i;
    s.attributes.push_back({"payload", AnyValue::String(std::string(400, 'p'))});
    big.push_back(std::move(s));
  }
  ASSERT_TRUE(s_.store().Append(big).ok());
  grpc::ClientContext context;
  pb::GetTracesRequest request;
  request.add_query()->set_trace_id(Bytes(a_[0].trace_id));
  request.add_query()->set_trace_id(std::string(16, '\x7f'));  // unknown: skipped
  request.add_query()->set_trace_id(Bytes(big[0].trace_id));
  auto chunks = Chunks(reader_->GetTraces(&context, request).get());
  ASSERT_GE(chunks.size(), 3u);
  EXPECT_EQ(chunks[0], a_);
  size_t big_spans = 0;
  for (size_t i = 1; i < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i][0].trace_id, big[0].trace_id);
    std::string bytes;
    EncodeOtlpTraces(chunks[i], &bytes);
    EXPECT_LE(bytes.size(), 4u << 20);
    big_spans += chunks[i].size();
  }
  EXPECT_EQ(big_spans, big.size());
}

TEST_F(JaegerStorageServiceTest, ServicesOperationsDependenciesCapabilities) {
  {
    grpc::ClientContext context;
    pb::GetServicesResponse response;
    ASSERT_TRUE(reader_->GetServices(&context, pb::GetServicesRequest(), &response).ok());
    EXPECT_THAT(response.services(), ElementsAre("backend", "frontend", "orders", "payments"));
  }
  {
    grpc::ClientContext context;
    pb::GetOperationsRequest request;
    request.set_service("orders");
    request.set_span_kind("server");
    pb::GetOperationsResponse response;
    ASSERT_TRUE(reader_->GetOperations(&context, request, &response).ok());
    ASSERT_EQ(response.operations_size(), 1);
    EXPECT_EQ(response.operations(0).name(), "GET /orders");
    EXPECT_EQ(response.operations(0).span_kind(), "server");
  }
  {
    grpc::ClientContext context;
    pb::GetDependenciesRequest request;
    *request.mutable_start_time() = Ts(kStart - kSecond);
    *request.mutable_end_time() = Ts(kStart + 60 * kSecond);
    pb::GetDependenciesResponse response;
    auto deps = pb::DependencyReader::NewStub(channel_);
    ASSERT_TRUE(deps->GetDependencies(&context, request, &response).ok());
    ASSERT_EQ(response.dependencies_size(), 1);
    EXPECT_EQ(response.dependencies(0).parent(), "frontend");
    EXPECT_EQ(response.dependencies(0).child(), "backend");
    EXPECT_EQ(response.dependencies(0).call_count(), 1u);
  }
  {
    grpc::ClientContext context;
    pb::GetCapabilitiesResponse response;
    auto caps = pb::Capabilities::NewStub(channel_);
    ASSERT_TRUE(caps->GetCapabilities(&context, pb::GetCapabilitiesRequest(), &response).ok());
    EXPECT_TRUE(response.search().without_service_name());
    EXPECT_TRUE(response.search().same_span_conjunction());
  }
  {
    grpc::ClientContext context;
    pb::FindTraceSummariesRequest request;
    pb::FindTraceSummariesResponse response;
    auto reader = reader_->FindTraceSummaries(&context, request);
    EXPECT_FALSE(reader->Read(&response));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNIMPLEMENTED);  // Jaeger falls back
  }
}

TEST_F(JaegerStorageServiceTest, WritesGoThroughOtlpOnTheSameEndpoint) {
  // What Jaeger v2's gRPC storage does when its `writer` endpoint is left unset.
  namespace otlp = opentelemetry::proto::collector::trace::v1;
  const std::vector<Span> spans = SampleTrace("written", kStart + 10 * kSecond, 9);
  otlp::ExportTraceServiceRequest request;
  ASSERT_TRUE(request.ParseFromString(ProtoRequest(spans)));
  grpc::ClientContext context;
  otlp::ExportTraceServiceResponse response;
  ASSERT_TRUE(otlp::TraceService::NewStub(channel_)->Export(&context, request, &response).ok());
  EXPECT_THAT(Find(Query("written")), ElementsAre(Id(spans)));
}

TEST_F(JaegerStorageServiceTest, MalformedIdsAreInvalidArgument) {
  grpc::ClientContext context;
  pb::GetTracesRequest request;
  request.add_query()->set_trace_id("short");
  auto reader = reader_->GetTraces(&context, request);
  opentelemetry::proto::trace::v1::TracesData chunk;
  EXPECT_FALSE(reader->Read(&chunk));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace spanstore::spanstored::testing
