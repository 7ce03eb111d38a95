// Ingest shared by OTLP/HTTP and OTLP/gRPC: admission under back-pressure, decompression and
// decoding within the request limit, dropping invalid spans, the Store append and its metrics.
// The protocol front ends only map IngestOutcome to status codes.
//
// Thread safety: Export and Overloaded may be called concurrently (each worker thread keeps its
// own decoder and buffers).

#ifndef SPANSTORE_TOOLS_SPANSTORED_INGEST_H_
#define SPANSTORE_TOOLS_SPANSTORED_INGEST_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "spanstore/otlp_http.h"
#include "spanstore/store.h"
#include "tools/spanstored/config.h"
#include "tools/spanstored/metrics.h"

namespace spanstore::spanstored {

struct IngestOutcome {
  enum class Kind {
    kOk,                   // appended (some spans may have been rejected: see result)
    kInvalid,              // undecodable request; nothing stored (400, INVALID_ARGUMENT)
    kTooLarge,             // over --max-request-bytes after decompression (413)
    kUnsupportedEncoding,  // unknown Content-Encoding (415)
    kUnavailable,          // back-pressure or a store error worth retrying (503, UNAVAILABLE)
    kInternal,             // anything else (500, INTERNAL)
  };
  Kind kind = Kind::kOk;
  OtlpExportResult result;
  std::string message;
};

// True when the store is close to making Append wait for compaction (memtables at 90% of
// their budget), or cannot write at all: new requests should be refused with a retry hint
// rather than pile up on blocked worker threads.
bool StoreIsBehind(const StoreStats& stats, uint64_t max_memtable_bytes);

class IngestService {
 public:
  // `stats_interval`: how old the cached store statistics behind Overloaded may be.
  IngestService(Store* store, const ServerConfig& config, Metrics* metrics,
                absl::Duration stats_interval = absl::Milliseconds(50));

  // One export request. `protocol` labels the metrics ("otlp_http", "otlp_grpc").
  IngestOutcome Export(std::string_view protocol, OtlpEncoding encoding,
                       std::string_view content_encoding, std::string_view body);

  bool Overloaded();
  absl::Duration retry_after() const { return config_.retry_after; }

 private:
  Store* const store_;
  const ServerConfig config_;
  Options limits_;
  Metrics* const metrics_;
  const absl::Duration stats_interval_;
  std::atomic<uint64_t> refuse_left_;  // --test-refuse-ingest

  std::mutex stats_mu_;
  absl::Time stats_time_ = absl::InfinitePast();  // guarded by stats_mu_
  bool behind_ = false;                           // guarded by stats_mu_
  std::string behind_message_;                    // guarded by stats_mu_
};

}  // namespace spanstore::spanstored

#endif  // SPANSTORE_TOOLS_SPANSTORED_INGEST_H_
