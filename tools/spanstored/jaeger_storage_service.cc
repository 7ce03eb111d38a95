// Jaeger v2 remote storage (jaeger.storage.v2): how an unmodified Jaeger v2 reads traces from an
// external store. The semantics are the library's (spanstore/jaeger.h); this file maps messages.

#include "absl/strings/str_cat.h"
#include "jaeger/storage/v2/capabilities.grpc.pb.h"
#include "jaeger/storage/v2/dependency_storage.grpc.pb.h"
#include "jaeger/storage/v2/trace_storage.grpc.pb.h"
#include "spanstore/dependencies.h"
#include "spanstore/jaeger.h"
#include "spanstore/otlp_proto.h"
#include "tools/spanstored/grpc_services.h"

namespace spanstore::spanstored {
namespace {

namespace pb = jaeger::storage::v2;
using opentelemetry::proto::trace::v1::TracesData;

// A chunk of GetTraces/FindTraces stays under this many bytes: Jaeger's client accepts 4 MiB
// messages by default.
constexpr size_t kChunkBytes = 2 << 20;
constexpr size_t kDefaultDepth = 100;

grpc::Status ToGrpc(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kOk:
      return grpc::Status::OK;
    case absl::StatusCode::kInvalidArgument:
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(s.message()));
    case absl::StatusCode::kNotFound:
      return grpc::Status(grpc::StatusCode::NOT_FOUND, std::string(s.message()));
    case absl::StatusCode::kUnavailable:
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(s.message()));
    case absl::StatusCode::kDeadlineExceeded:
      return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, std::string(s.message()));
    default:
      return grpc::Status(grpc::StatusCode::INTERNAL, std::string(s.message()));
  }
}

uint64_t Nanos(const google::protobuf::Timestamp& t) {
  if (t.seconds() < 0) return 0;
  return static_cast<uint64_t>(t.seconds()) * 1000000000 + static_cast<uint64_t>(t.nanos());
}

uint64_t Nanos(const google::protobuf::Duration& d) {
  if (d.seconds() < 0) return 0;
  return static_cast<uint64_t>(d.seconds()) * 1000000000 + static_cast<uint64_t>(d.nanos());
}

void SetTimestamp(uint64_t nanos, google::protobuf::Timestamp* t) {
  t->set_seconds(static_cast<int64_t>(nanos / 1000000000));
  t->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

AnyValue FromProto(const pb::AnyValue& v, int depth = 0) {
  if (depth > 32) return AnyValue();
  switch (v.value_case()) {
    case pb::AnyValue::kStringValue:
      return AnyValue::String(v.string_value());
    case pb::AnyValue::kBoolValue:
      return AnyValue::Bool(v.bool_value());
    case pb::AnyValue::kIntValue:
      return AnyValue::Int(v.int_value());
    case pb::AnyValue::kDoubleValue:
      return AnyValue::Double(v.double_value());
    case pb::AnyValue::kBytesValue:
      return AnyValue::BytesValue(v.bytes_value());
    case pb::AnyValue::kArrayValue: {
      AnyValue::Array a;
      for (const pb::AnyValue& e : v.array_value().values()) a.push_back(FromProto(e, depth + 1));
      return AnyValue::ArrayValue(std::move(a));
    }
    case pb::AnyValue::kKvlistValue: {
      AnyValue::Map m;
      for (const pb::KeyValue& kv : v.kvlist_value().values()) {
        m.push_back({kv.key(), FromProto(kv.value(), depth + 1)});
      }
      return AnyValue::MapValue(std::move(m));
    }
    default:
      return AnyValue();
  }
}

JaegerQuery FromProto(const pb::TraceQueryParameters& p, const ServerConfig& config) {
  JaegerQuery q;
  q.service = p.service_name();
  q.operation = p.operation_name();
  for (const pb::KeyValue& kv : p.attributes()) {
    // Jaeger compares tag values as strings, whatever type the query sent them as.
    q.tags.push_back({kv.key(), JaegerValueString(FromProto(kv.value()))});
  }
  if (p.has_start_time_min()) q.start_min = Nanos(p.start_time_min());
  if (p.has_start_time_max()) q.start_max = Nanos(p.start_time_max());
  if (p.has_duration_min()) q.min_duration_nanos = Nanos(p.duration_min());
  if (p.has_duration_max()) q.max_duration_nanos = Nanos(p.duration_max());
  q.limit = p.search_depth() > 0 ? static_cast<size_t>(p.search_depth()) : kDefaultDepth;
  q.max_scanned_spans = config.max_scanned_spans;
  q.deadline = absl::Now() + config.query_timeout;
  return q;
}

// Streams one trace: consecutive chunks of at most kChunkBytes, none empty, none mixing traces.
bool WriteTrace(const std::vector<Span>& spans, grpc::ServerWriter<TracesData>* writer) {
  std::string bytes;
  EncodeOtlpTraces(spans, &bytes);
  size_t parts = 1;
  if (bytes.size() > kChunkBytes) parts = bytes.size() / kChunkBytes + 1;
  const size_t per_part = (spans.size() + parts - 1) / parts;
  for (size_t i = 0; i < spans.size(); i += per_part) {
    if (parts > 1) {
      bytes.clear();
      EncodeOtlpTraces(absl::MakeConstSpan(spans).subspan(i, per_part), &bytes);
    }
    // The library's encoder writes the bytes; the generated class only carries them.
    TracesData chunk;
    if (!chunk.ParseFromString(bytes)) return false;
    if (!writer->Write(chunk)) return false;  // the client went away
  }
  return true;
}

class TraceReaderService final : public pb::TraceReader::Service {
 public:
  TraceReaderService(Store* store, const ServerConfig& config, Metrics* metrics)
      : store_(store), config_(config), metrics_(metrics) {}

  grpc::Status GetTraces(grpc::ServerContext* context, const pb::GetTracesRequest* request,
                         grpc::ServerWriter<TracesData>* writer) override {
    for (const pb::GetTraceParams& params : request->query()) {
      if (context->IsCancelled()) return Done(grpc::Status::CANCELLED);
      absl::StatusOr<TraceId> id = TraceId::FromBytes(params.trace_id());
      if (!id.ok()) return Done(ToGrpc(id.status()));
      absl::StatusOr<Trace> trace = store_->GetTrace(*id);
      if (absl::IsNotFound(trace.status())) continue;  // unknown ids are skipped
      if (!trace.ok()) return Done(ToGrpc(trace.status()));
      if (!WriteTrace(trace->spans, writer)) break;
    }
    return Done(grpc::Status::OK);
  }

  grpc::Status GetServices(grpc::ServerContext*, const pb::GetServicesRequest*,
                           pb::GetServicesResponse* response) override {
    absl::StatusOr<std::vector<std::string>> services = store_->Services();
    if (!services.ok()) return Done(ToGrpc(services.status()));
    for (std::string& s : *services) response->add_services(std::move(s));
    return Done(grpc::Status::OK);
  }

  grpc::Status GetOperations(grpc::ServerContext*, const pb::GetOperationsRequest* request,
                             pb::GetOperationsResponse* response) override {
    absl::StatusOr<std::vector<std::string>> names = JaegerOperations(
        *store_, request->service(), request->span_kind(), config_.max_scanned_spans);
    if (!names.ok()) return Done(ToGrpc(names.status()));
    for (std::string& name : *names) {
      pb::Operation* op = response->add_operations();
      op->set_name(std::move(name));
      op->set_span_kind(request->span_kind());
    }
    return Done(grpc::Status::OK);
  }

  grpc::Status FindTraces(grpc::ServerContext* context, const pb::FindTracesRequest* request,
                          grpc::ServerWriter<TracesData>* writer) override {
    absl::StatusOr<std::vector<JaegerFoundTrace>> found =
        FindJaegerTraces(*store_, FromProto(request->query(), config_));
    if (!found.ok()) return Done(ToGrpc(found.status()));
    for (const JaegerFoundTrace& f : *found) {
      if (context->IsCancelled()) return Done(grpc::Status::CANCELLED);
      absl::StatusOr<Trace> trace = store_->GetTrace(f.trace_id);
      if (absl::IsNotFound(trace.status())) continue;
      if (!trace.ok()) return Done(ToGrpc(trace.status()));
      if (!WriteTrace(trace->spans, writer)) break;
    }
    return Done(grpc::Status::OK);
  }

  grpc::Status FindTraceIDs(grpc::ServerContext*, const pb::FindTraceIDsRequest* request,
                            pb::FindTraceIDsResponse* response) override {
    absl::StatusOr<std::vector<JaegerFoundTrace>> found =
        FindJaegerTraces(*store_, FromProto(request->query(), config_));
    if (!found.ok()) return Done(ToGrpc(found.status()));
    for (const JaegerFoundTrace& f : *found) {
      pb::FoundTraceID* id = response->add_trace_ids();
      id->set_trace_id(std::string(reinterpret_cast<const char*>(f.trace_id.bytes.data()),
                                   f.trace_id.bytes.size()));
      SetTimestamp(f.start_unix_nano, id->mutable_start());
      SetTimestamp(f.end_unix_nano, id->mutable_end());
    }
    return Done(grpc::Status::OK);
  }

 private:
  grpc::Status Done(grpc::Status status) {
    metrics_->CountRequest("jaeger-storage", status.error_code());
    return status;
  }

  Store* const store_;
  const ServerConfig config_;
  Metrics* const metrics_;
};

class DependencyReaderService final : public pb::DependencyReader::Service {
 public:
  DependencyReaderService(Store* store, const ServerConfig& config, Metrics* metrics)
      : store_(store), config_(config), metrics_(metrics) {}

  grpc::Status GetDependencies(grpc::ServerContext*, const pb::GetDependenciesRequest* request,
                               pb::GetDependenciesResponse* response) override {
    const uint64_t start = request->has_start_time() ? Nanos(request->start_time()) : 0;
    const uint64_t end = request->has_end_time() ? Nanos(request->end_time()) : UINT64_MAX;
    absl::StatusOr<std::vector<DependencyLink>> links =
        ComputeDependencies(*store_, start, end, config_.max_scanned_spans,
                            /*truncated=*/nullptr, absl::Now() + config_.query_timeout);
    grpc::Status status = ToGrpc(links.status());
    if (links.ok()) {
      for (DependencyLink& l : *links) {
        pb::Dependency* d = response->add_dependencies();
        d->set_parent(std::move(l.parent));
        d->set_child(std::move(l.child));
        d->set_call_count(l.call_count);
      }
    }
    metrics_->CountRequest("jaeger-storage", status.error_code());
    return status;
  }

 private:
  Store* const store_;
  const ServerConfig config_;
  Metrics* const metrics_;
};

class CapabilitiesService final : public pb::Capabilities::Service {
 public:
  grpc::Status GetCapabilities(grpc::ServerContext*, const pb::GetCapabilitiesRequest*,
                               pb::GetCapabilitiesResponse* response) override {
    // A search may leave the service out, and all tags of a query match within one span
    // (JaegerTraceQuery). No structured filters: Jaeger down-converts them.
    response->mutable_search()->set_without_service_name(true);
    response->mutable_search()->set_same_span_conjunction(true);
    return grpc::Status::OK;
  }
};

}  // namespace

std::vector<std::unique_ptr<grpc::Service>> MakeJaegerStorageServices(Store* store,
                                                                      const ServerConfig& config,
                                                                      Metrics* metrics) {
  std::vector<std::unique_ptr<grpc::Service>> services;
  services.push_back(std::make_unique<TraceReaderService>(store, config, metrics));
  services.push_back(std::make_unique<DependencyReaderService>(store, config, metrics));
  services.push_back(std::make_unique<CapabilitiesService>());
  return services;
}

}  // namespace spanstore::spanstored
