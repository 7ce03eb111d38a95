// The daemon's Prometheus metrics: spans received, accepted and rejected per protocol, requests
// by listener and status code, the latency of Store appends, and the store's own statistics.
//
// Thread safety: every method may be called concurrently.

#ifndef SPANSTORE_TOOLS_SPANSTORED_METRICS_H_
#define SPANSTORE_TOOLS_SPANSTORED_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "absl/time/time.h"
#include "spanstore/store.h"

namespace spanstore::spanstored {

class Metrics {
 public:
  // Spans of ingest requests, by protocol ("otlp_http", "otlp_grpc"): received in decodable
  // requests, accepted (appended, acknowledged), rejected (invalid: partial_success).
  void AddSpans(std::string_view protocol, uint64_t received, uint64_t accepted, uint64_t rejected);
  // A finished request: listener name and HTTP status (gRPC listeners count gRPC codes).
  void CountRequest(std::string_view listener, int code);
  void ObserveAppend(absl::Duration latency);

  // The exposition text (format 0.0.4) including `store`'s statistics.
  std::string Render(const StoreStats& store) const;

  // Upper bounds of the append latency buckets, in seconds (+Inf implied).
  static constexpr std::array<double, 14> kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

 private:
  struct SpanCounts {
    uint64_t received = 0, accepted = 0, rejected = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, SpanCounts, std::less<>> spans_;      // guarded by mu_
  std::map<std::pair<std::string, int>, uint64_t> requests_;  // guarded by mu_
  std::array<std::atomic<uint64_t>, kBuckets.size() + 1> append_buckets_{};
  std::atomic<uint64_t> append_count_{0};
  std::atomic<uint64_t> append_sum_micros_{0};
};

}  // namespace spanstore::spanstored

#endif  // SPANSTORE_TOOLS_SPANSTORED_METRICS_H_
