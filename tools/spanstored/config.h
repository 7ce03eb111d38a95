// spanstored's configuration and its command line (DESIGN section 9).

#ifndef SPANSTORE_TOOLS_SPANSTORED_CONFIG_H_
#define SPANSTORE_TOOLS_SPANSTORED_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "spanstore/options.h"

namespace spanstore::spanstored {

// Where one listener binds. Disabled when the flag said "off".
struct ListenAddress {
  bool enabled = true;
  std::string host;   // "127.0.0.1", "::1", "0.0.0.0", a name...
  uint16_t port = 0;  // 0: the kernel picks a free one
};

// "host:port", "[v6]:port", ":port" (all interfaces) or "off". InvalidArgument otherwise.
absl::StatusOr<ListenAddress> ParseListenAddress(std::string_view text);

// "host:port" (IPv6 hosts in brackets), as the daemon prints it.
std::string FormatHostPort(const std::string& host, uint16_t port);

struct ServerConfig {
  std::string db;

  // The listeners, in the order the daemon prints them.
  ListenAddress otlp_http{true, "127.0.0.1", 4318};
  ListenAddress otlp_grpc{true, "127.0.0.1", 4317};
  ListenAddress tempo{true, "127.0.0.1", 3200};
  ListenAddress jaeger_query{true, "127.0.0.1", 16686};
  ListenAddress jaeger_storage{true, "127.0.0.1", 17271};

  SyncPolicy sync = SyncPolicy::kEveryBatch;
  uint64_t max_memtable_bytes = Options().max_memtable_bytes;

  // A request body larger than this after decompression is refused (413 / RESOURCE_EXHAUSTED).
  uint64_t max_request_bytes = 20ull << 20;
  // Request bodies held in memory at once, over all connections; beyond it new requests get
  // 503 + Retry-After instead of being read (back-pressure that bounds memory).
  uint64_t max_inflight_bytes = 512ull << 20;
  // Threads that run request handlers (decoding, Store calls). Appends from concurrent
  // requests share one write and fdatasync (group commit), so more than cores pays off.
  int workers = 16;
  // Threads doing socket I/O for the HTTP listeners.
  int io_threads = 2;
  int max_connections = 1024;
  size_t max_header_bytes = 16 << 10;
  absl::Duration read_timeout = absl::Seconds(30);   // a request's header and body
  absl::Duration idle_timeout = absl::Seconds(120);  // a keep-alive connection between requests
  absl::Duration shutdown_grace = absl::Seconds(30);
  // Retry-After (HTTP) and RetryInfo (gRPC) under back-pressure.
  absl::Duration retry_after = absl::Seconds(1);
  // Scans for tags, tag values, dependencies and Jaeger tag searches stop after this many spans.
  uint64_t max_scanned_spans = 2000000;
  // A search, tag or dependency query gives up after this long (504 / DEADLINE_EXCEEDED), so a
  // hostile or mistaken query cannot hold a worker for minutes.
  absl::Duration query_timeout = absl::Seconds(30);

  // Testing: the first N ingest requests are answered as under back-pressure.
  uint64_t test_refuse_ingest = 0;
};

// Parses argv. Returns the config, or nullopt after printing --help to stdout. Usage errors are
// InvalidArgument with a message for stderr (exit code 2).
absl::StatusOr<std::optional<ServerConfig>> ParseCommandLine(int argc, char** argv);

std::string UsageText();

}  // namespace spanstore::spanstored

#endif  // SPANSTORE_TOOLS_SPANSTORED_CONFIG_H_
