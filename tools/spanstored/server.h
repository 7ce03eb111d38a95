// The daemon minus its process concerns: every listener of DESIGN section 9 around one Store.
// main.cc adds flags, signals and the store's lifetime; tests run a Server in-process.
//
// Thread safety: Start and Shutdown from one thread.

#ifndef SPANSTORE_TOOLS_SPANSTORED_SERVER_H_
#define SPANSTORE_TOOLS_SPANSTORED_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "spanstore/store.h"
#include "tools/spanstored/config.h"
#include "tools/spanstored/ingest.h"
#include "tools/spanstored/metrics.h"

namespace grpc {
class Server;
class Service;
}  // namespace grpc

namespace spanstore::spanstored {

class HttpServer;
class InflightBudget;
class WorkerPool;

struct Listener {
  std::string name;  // "otlp-http", "otlp-grpc", "tempo", "jaeger-query", "jaeger-storage"
  std::string host;
  uint16_t port = 0;
};

class Server {
 public:
  // `store` is not owned and must outlive the Server.
  Server(Store* store, ServerConfig config);
  ~Server();  // Shutdown()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts every enabled listener, in DESIGN order. On error nothing is left running.
  absl::StatusOr<std::vector<Listener>> Start();

  // Graceful stop: no new connections or requests; requests in flight finish (until the
  // configured grace period) and are answered; then the worker threads end. The store stays
  // open: flushing and closing it is the caller's. Idempotent.
  void Shutdown();

  Metrics& metrics() { return metrics_; }
  IngestService& ingest() { return *ingest_; }

 private:
  Store* const store_;
  const ServerConfig config_;
  Metrics metrics_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<IngestService> ingest_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<InflightBudget> budget_;
  std::vector<std::unique_ptr<HttpServer>> http_;
  std::vector<std::unique_ptr<grpc::Service>> grpc_services_;
  std::vector<std::unique_ptr<grpc::Server>> grpc_servers_;
  bool stopped_ = false;
};

}  // namespace spanstore::spanstored

#endif  // SPANSTORE_TOOLS_SPANSTORED_SERVER_H_
