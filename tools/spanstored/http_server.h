// An HTTP/1.1 listener on Boost.Beast: keep-alive connections, bounded headers and bodies,
// read and idle timeouts, a connection limit, a shared budget for request bodies held in
// memory, and handlers run on a WorkerPool so that a handler blocked in the store never stalls
// socket I/O. The protocol parsing is Beast's; this file only sets its limits and moves
// requests between the network threads and the workers.
//
// Status codes the listener produces itself: 400 (malformed request or target), 413 (body over
// max_body_bytes, checked against Content-Length before reading and while reading chunked
// bodies), 431 (header over max_header_bytes), 503 + Retry-After (the body budget is spent).
// After an error answered before the request was read whole, the connection is closed after
// draining what the client still sends (bounded), so that the client sees the response rather
// than a reset.
//
// Thread safety: Listen and Shutdown are called from one thread; handlers run concurrently on
// the pool.

#ifndef SPANSTORE_TOOLS_SPANSTORED_HTTP_SERVER_H_
#define SPANSTORE_TOOLS_SPANSTORED_HTTP_SERVER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/spanstored/http_types.h"
#include "tools/spanstored/metrics.h"
#include "tools/spanstored/worker_pool.h"

namespace spanstore::spanstored {

// Bytes of request bodies in memory, shared by all listeners.
class InflightBudget {
 public:
  explicit InflightBudget(uint64_t limit) : limit_(limit) {}
  // Reserves `bytes` when they fit (one request is always let through when none is in flight,
  // so a body larger than the whole budget is still served, one at a time).
  bool TryAcquire(uint64_t bytes);
  void Release(uint64_t bytes) { used_.fetch_sub(bytes); }
  uint64_t used() const { return used_.load(); }

 private:
  const uint64_t limit_;
  std::atomic<uint64_t> used_{0};
};

struct HttpServerOptions {
  std::string name;  // the listener's name, for metrics
  size_t max_header_bytes = 16 << 10;
  uint64_t max_body_bytes = 20ull << 20;
  absl::Duration read_timeout = absl::Seconds(30);
  absl::Duration idle_timeout = absl::Seconds(120);
  int max_connections = 1024;
  int io_threads = 1;
  absl::Duration retry_after = absl::Seconds(1);
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler, WorkerPool* pool,
             InflightBudget* budget, Metrics* metrics);
  // REQUIRES: Shutdown has returned, and the worker pool has been joined (a handler still
  // running holds its connection, which refers to this server).
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port (port 0: any free port), starts accepting and the I/O threads. Returns the
  // bound port. Unavailable with the system's message when binding fails.
  absl::StatusOr<uint16_t> Listen(const std::string& host, uint16_t port);

  // Stops accepting and closes connections waiting for (or reading) a request; requests being
  // handled go on. Returns at once. Idempotent.
  void StopAccepting();

  // StopAccepting, then waits: requests being
  // handled finish and their responses are written, until `deadline`, after which everything
  // is closed. Then stops the I/O threads. Idempotent.
  void Shutdown(absl::Time deadline);

  // Open connections.
  int connections() const;

 private:
  friend class Session;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spanstore::spanstored

#endif  // SPANSTORE_TOOLS_SPANSTORED_HTTP_SERVER_H_
