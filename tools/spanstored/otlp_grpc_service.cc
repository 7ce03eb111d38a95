// OTLP/gRPC Export, and the server plumbing shared by the gRPC listeners.

#include "absl/strings/str_cat.h"
#include "google/rpc/retry_info.pb.h"
#include "google/rpc/status.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "tools/spanstored/grpc_services.h"

namespace spanstore::spanstored {
namespace {

namespace otlp = opentelemetry::proto::collector::trace::v1;

class OtlpTraceService final
    : public otlp::TraceService::WithRawCallbackMethod_Export<otlp::TraceService::Service> {
 public:
  OtlpTraceService(IngestService* ingest, WorkerPool* pool, Metrics* metrics)
      : ingest_(ingest), pool_(pool), metrics_(metrics) {}

  grpc::ServerUnaryReactor* Export(grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    // gRPC has already undone any message compression and enforced the size limit.
    std::string body;
    std::vector<grpc::Slice> slices;
    if (!request->Dump(&slices).ok()) {
      Finish(reactor, grpc::Status(grpc::StatusCode::INTERNAL, "cannot read the request"));
      return reactor;
    }
    body.reserve(request->Length());
    for (const grpc::Slice& s : slices) {
      body.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    // The store append blocks (it waits for its group's fdatasync): not on gRPC's threads.
    pool_->Post([this, reactor, response, body = std::move(body)] {
      const IngestOutcome outcome = ingest_->Export("otlp_grpc", OtlpEncoding::kProtobuf, "", body);
      switch (outcome.kind) {
        case IngestOutcome::Kind::kOk: {
          const std::string bytes =
              EncodeOtlpExportResponse(OtlpEncoding::kProtobuf, outcome.result);
          grpc::Slice slice(bytes);
          *response = grpc::ByteBuffer(&slice, 1);
          Finish(reactor, grpc::Status::OK);
          return;
        }
        case IngestOutcome::Kind::kUnavailable:
          Finish(reactor, grpc::Status(grpc::StatusCode::UNAVAILABLE, outcome.message,
                                       RetryInfoDetails(grpc::StatusCode::UNAVAILABLE,
                                                        outcome.message, ingest_->retry_after())));
          return;
        case IngestOutcome::Kind::kTooLarge:
          Finish(reactor, grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, outcome.message));
          return;
        case IngestOutcome::Kind::kInvalid:
        case IngestOutcome::Kind::kUnsupportedEncoding:
          Finish(reactor, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, outcome.message));
          return;
        case IngestOutcome::Kind::kInternal:
          Finish(reactor, grpc::Status(grpc::StatusCode::INTERNAL, outcome.message));
          return;
      }
    });
    return reactor;
  }

 private:
  void Finish(grpc::ServerUnaryReactor* reactor, const grpc::Status& status) {
    metrics_->CountRequest("otlp-grpc", status.error_code());
    reactor->Finish(status);
  }

  IngestService* const ingest_;
  WorkerPool* const pool_;
  Metrics* const metrics_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeOtlpTraceService(IngestService* ingest, WorkerPool* pool,
                                                    Metrics* metrics) {
  return std::make_unique<OtlpTraceService>(ingest, pool, metrics);
}

std::string RetryInfoDetails(int grpc_code, const std::string& message, absl::Duration delay) {
  google::rpc::RetryInfo retry;
  retry.mutable_retry_delay()->set_seconds(absl::ToInt64Seconds(delay));
  retry.mutable_retry_delay()->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(delay % absl::Seconds(1))));
  google::rpc::Status status;
  status.set_code(grpc_code);
  status.set_message(message);
  status.add_details()->PackFrom(retry);
  return status.SerializeAsString();
}

absl::StatusOr<std::unique_ptr<grpc::Server>> StartGrpcServer(
    const std::string& host, uint16_t port, const std::vector<grpc::Service*>& services,
    uint64_t max_message_bytes, int max_threads, int* bound_port) {
  grpc::ServerBuilder builder;
  const std::string address = FormatHostPort(host, port);
  *bound_port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), bound_port);
  for (grpc::Service* s : services) builder.RegisterService(s);
  // gRPC checks this on the decompressed message, so a compressed bomb is refused too.
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<uint64_t>(max_message_bytes, INT32_MAX)));
  grpc::ResourceQuota quota(absl::StrCat("spanstored-", port));
  quota.SetMaxThreads(max_threads);
  builder.SetResourceQuota(quota);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || *bound_port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address, " (gRPC)"));
  }
  return server;
}

}  // namespace spanstore::spanstored
