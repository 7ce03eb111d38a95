#include "tools/spanstored/server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/service_type.h>

#include "absl/time/clock.h"
#include "tools/spanstored/grpc_services.h"
#include "tools/spanstored/handlers.h"
#include "tools/spanstored/http_server.h"
#include "tools/spanstored/worker_pool.h"

namespace spanstore::spanstored {

Server::Server(Store* store, ServerConfig config) : store_(store), config_(std::move(config)) {}

Server::~Server() { Shutdown(); }

absl::StatusOr<std::vector<Listener>> Server::Start() {
  ingest_ = std::make_unique<IngestService>(store_, config_, &metrics_);
  pool_ = std::make_unique<WorkerPool>(config_.workers);
  budget_ = std::make_unique<InflightBudget>(config_.max_inflight_bytes);
  std::vector<Listener> listeners;

  auto common = [this](HttpHandler handler) {
    return WithCommonRoutes(
        std::move(handler), [this] { return ready_.load(); },
        [this] { return metrics_.Render(store_->Stats()); });
  };
  auto http = [&](const std::string& name, const ListenAddress& address, HttpHandler handler,
                  int io_threads) -> absl::Status {
    if (!address.enabled) return absl::OkStatus();
    HttpServerOptions o;
    o.name = name;
    o.max_header_bytes = config_.max_header_bytes;
    o.max_body_bytes = config_.max_request_bytes;
    o.read_timeout = config_.read_timeout;
    o.idle_timeout = config_.idle_timeout;
    o.max_connections = config_.max_connections;
    o.io_threads = io_threads;
    o.retry_after = config_.retry_after;
    auto server = std::make_unique<HttpServer>(o, common(std::move(handler)), pool_.get(),
                                               budget_.get(), &metrics_);
    absl::StatusOr<uint16_t> port = server->Listen(address.host, address.port);
    if (!port.ok()) return port.status();
    http_.push_back(std::move(server));
    listeners.push_back({name, address.host, *port});
    return absl::OkStatus();
  };
  auto grpc_listener = [&](const std::string& name, const ListenAddress& address,
                           std::vector<std::unique_ptr<grpc::Service>> services) -> absl::Status {
    if (!address.enabled) return absl::OkStatus();
    std::vector<grpc::Service*> raw;
    for (auto& s : services) {
      raw.push_back(s.get());
      grpc_services_.push_back(std::move(s));
    }
    int port = 0;
    absl::StatusOr<std::unique_ptr<grpc::Server>> server = StartGrpcServer(
        address.host, address.port, raw, config_.max_request_bytes, config_.workers + 4, &port);
    if (!server.ok()) return server.status();
    grpc_servers_.push_back(*std::move(server));
    listeners.push_back({name, address.host, static_cast<uint16_t>(port)});
    return absl::OkStatus();
  };

  absl::Status s =
      http("otlp-http", config_.otlp_http, MakeOtlpHttpHandler(ingest_.get()), config_.io_threads);
  if (s.ok()) {
    std::vector<std::unique_ptr<grpc::Service>> otlp;
    otlp.push_back(MakeOtlpTraceService(ingest_.get(), pool_.get(), &metrics_));
    s = grpc_listener("otlp-grpc", config_.otlp_grpc, std::move(otlp));
  }
  if (s.ok()) s = http("tempo", config_.tempo, MakeTempoHandler(store_, config_), 1);
  if (s.ok()) {
    s = http("jaeger-query", config_.jaeger_query, MakeJaegerQueryHandler(store_, config_), 1);
  }
  if (s.ok()) {
    // Jaeger v2's gRPC storage writes through OTLP TraceService on the same endpoint unless its
    // `writer` is set elsewhere: serve it here too.
    std::vector<std::unique_ptr<grpc::Service>> jaeger =
        MakeJaegerStorageServices(store_, config_, &metrics_);
    jaeger.push_back(MakeOtlpTraceService(ingest_.get(), pool_.get(), &metrics_));
    s = grpc_listener("jaeger-storage", config_.jaeger_storage, std::move(jaeger));
  }
  if (!s.ok()) {
    Shutdown();
    return s;
  }
  ready_ = true;
  return listeners;
}

void Server::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  ready_ = false;
  const absl::Time deadline = absl::Now() + config_.shutdown_grace;
  for (auto& h : http_) h->StopAccepting();
  // gRPC's Shutdown stops accepting and waits for the calls in flight (their store work
  // runs on the pool, which is still up).
  for (auto& g : grpc_servers_) g->Shutdown(absl::ToChronoTime(deadline));
  for (auto& h : http_) h->Shutdown(deadline);
  if (pool_) pool_->Join();
  for (auto& g : grpc_servers_) g->Wait();
  // Only now may the listeners go: a handler that was still running held its connection.
  http_.clear();
  grpc_servers_.clear();
  grpc_services_.clear();
}

}  // namespace spanstore::spanstored
