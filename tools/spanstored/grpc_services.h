// The gRPC side: OTLP TraceService/Export, and Jaeger v2 remote storage (TraceReader,
// DependencyReader, Capabilities). They use generated protobuf/gRPC classes, which is why they
// live with the daemon and not in the library (the library has no protobuf dependency; its
// hand-written OTLP codec does the decoding and encoding of spans, see DESIGN section 9).
//
// Export is a raw callback method: the request bytes go straight to the library's OTLP decoder
// (faster than libprotobuf's parser plus a conversion, benchmarks/server/otlp_decode_bench.cc)
// and the work runs on the daemon's worker pool. The Jaeger services are synchronous; gRPC's
// own thread pool (bounded by a resource quota) runs them.

#ifndef SPANSTORE_TOOLS_SPANSTORED_GRPC_SERVICES_H_
#define SPANSTORE_TOOLS_SPANSTORED_GRPC_SERVICES_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "spanstore/store.h"
#include "tools/spanstored/config.h"
#include "tools/spanstored/ingest.h"
#include "tools/spanstored/metrics.h"
#include "tools/spanstored/worker_pool.h"

namespace spanstore::spanstored {

// opentelemetry.proto.collector.trace.v1.TraceService.
std::unique_ptr<grpc::Service> MakeOtlpTraceService(IngestService* ingest, WorkerPool* pool,
                                                    Metrics* metrics);

// jaeger.storage.v2.TraceReader, DependencyReader and Capabilities.
std::vector<std::unique_ptr<grpc::Service>> MakeJaegerStorageServices(Store* store,
                                                                      const ServerConfig& config,
                                                                      Metrics* metrics);

// Builds and starts a server on host:port (0: a free port) for `services` (not owned; they
// must outlive the server). Returns the server and the bound port in *port. Unavailable when
// the port cannot be bound.
absl::StatusOr<std::unique_ptr<grpc::Server>> StartGrpcServer(
    const std::string& host, uint16_t port, const std::vector<grpc::Service*>& services,
    uint64_t max_message_bytes, int max_threads, int* bound_port);

// The google.rpc.Status details that carry a RetryInfo: what an OTLP/gRPC server under
// back-pressure attaches to UNAVAILABLE so that clients know when to retry.
std::string RetryInfoDetails(int grpc_code, const std::string& message, absl::Duration delay);

}  // namespace spanstore::spanstored

#endif  // SPANSTORE_TOOLS_SPANSTORED_GRPC_SERVICES_H_
