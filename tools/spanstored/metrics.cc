#include "tools/spanstored/metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/spanstored/strings.h"

namespace spanstore::spanstored {
namespace {

void Header(std::string* out, std::string_view name, std::string_view type, std::string_view help) {
  absl::StrAppend(out, "# HELP ", AsAbsl(name), " ", AsAbsl(help), "\n# TYPE ", AsAbsl(name), " ",
                  AsAbsl(type), "\n");
}

void Gauge(std::string* out, std::string_view name, std::string_view help, double value) {
  Header(out, name, "gauge", help);
  absl::StrAppend(out, AsAbsl(name), " ", value, "\n");
}

}  // namespace

void Metrics::AddSpans(std::string_view protocol, uint64_t received, uint64_t accepted,
                       uint64_t rejected) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = spans_.find(protocol);
  if (it == spans_.end()) it = spans_.emplace(std::string(protocol), SpanCounts()).first;
  it->second.received += received;
  it->second.accepted += accepted;
  it->second.rejected += rejected;
}

void Metrics::CountRequest(std::string_view listener, int code) {
  std::lock_guard<std::mutex> l(mu_);
  ++requests_[{std::string(listener), code}];
}

void Metrics::ObserveAppend(absl::Duration latency) {
  const double seconds = absl::ToDoubleSeconds(latency);
  size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  append_buckets_[b].fetch_add(1, std::memory_order_relaxed);
  append_count_.fetch_add(1, std::memory_order_relaxed);
  append_sum_micros_.fetch_add(static_cast<uint64_t>(absl::ToInt64Microseconds(latency)),
                               std::memory_order_relaxed);
}

std::string Metrics::Render(const StoreStats& store) const {
  std::string out;
  {
    std::lock_guard<std::mutex> l(mu_);
    const std::pair<const char*, uint64_t SpanCounts::*> span_metrics[] = {
        {"received", &SpanCounts::received},
        {"accepted", &SpanCounts::accepted},
        {"rejected", &SpanCounts::rejected}};
    for (const auto& [what, field] : span_metrics) {
      const std::string name = absl::StrCat("spanstored_spans_", what, "_total");
      Header(&out, name, "counter",
             absl::StrCat("Spans ", what, " in ingest requests, by protocol."));
      for (const auto& [protocol, counts] : spans_) {
        absl::StrAppend(&out, name, "{protocol=\"", protocol, "\"} ", counts.*field, "\n");
      }
    }
    Header(&out, "spanstored_requests_total", "counter",
           "Requests answered, by listener and status code (HTTP status, or gRPC code).");
    for (const auto& [key, count] : requests_) {
      absl::StrAppend(&out, "spanstored_requests_total{listener=\"", key.first, "\",code=\"",
                      key.second, "\"} ", count, "\n");
    }
  }
  Header(&out, "spanstored_append_duration_seconds", "histogram",
         "Time to append one request's spans to the store (durable per --sync).");
  uint64_t cumulative = 0;
  for (size_t b = 0; b <= kBuckets.size(); ++b) {
    cumulative += append_buckets_[b].load(std::memory_order_relaxed);
    const std::string le = b < kBuckets.size() ? absl::StrCat(kBuckets[b]) : "+Inf";
    absl::StrAppend(&out, "spanstored_append_duration_seconds_bucket{le=\"", le, "\"} ", cumulative,
                    "\n");
  }
  absl::StrAppend(&out, "spanstored_append_duration_seconds_sum ",
                  absl::StrFormat("%.6f", append_sum_micros_.load() / 1e6), "\n",
                  "spanstored_append_duration_seconds_count ", append_count_.load(), "\n");

  Gauge(&out, "spanstore_spans", "Spans held (memtables and blocks).", store.spans);
  Gauge(&out, "spanstore_memtable_spans", "Spans in memtables.", store.memtable_spans);
  Gauge(&out, "spanstore_memtable_bytes", "Bytes of spans in memtables.", store.memtable_bytes);
  Gauge(&out, "spanstore_blocks", "Live column blocks.", store.blocks);
  Gauge(&out, "spanstore_block_bytes", "Bytes of live blocks.", store.block_bytes);
  Gauge(&out, "spanstore_wal_segments", "WAL segments on disk.", store.wal_segments);
  Gauge(&out, "spanstore_wal_bytes", "Bytes of WAL segments.", store.wal_bytes);
  Gauge(&out, "spanstore_disk_bytes", "Bytes of every file of the store.", store.disk_bytes);
  Gauge(&out, "spanstore_page_cache_bytes", "Bytes held by the cache of decompressed pages.",
        store.page_cache_bytes);
  Gauge(&out, "spanstore_page_cache_hits", "Page cache lookups answered since open.",
        store.page_cache_hits);
  Gauge(&out, "spanstore_page_cache_misses", "Page cache lookups missed since open.",
        store.page_cache_misses);
  Gauge(&out, "spanstore_value_filter_cache_bytes",
        "Bytes of row-group value filters held for attribute searches.",
        store.value_filter_cache_bytes);
  Gauge(&out, "spanstore_trace_index_cache_bytes", "Bytes of block trace indexes held for lookups.",
        store.trace_index_cache_bytes);
  Gauge(&out, "spanstore_appends", "Successful appends since open.", store.appends);
  Gauge(&out, "spanstore_appended_spans", "Spans appended since open.", store.appended_spans);
  Gauge(&out, "spanstore_wal_writes", "WAL writes (group commits) since open.", store.wal_writes);
  Gauge(&out, "spanstore_wal_syncs", "WAL fdatasyncs since open.", store.wal_syncs);
  Gauge(&out, "spanstore_write_stalls", "Appends that waited for compaction.", store.write_stalls);
  Gauge(&out, "spanstore_compactions", "Compactions since open.", store.compactions);
  Gauge(&out, "spanstore_merges", "Block merges since open (in compactions too).", store.merges);
  Gauge(&out, "spanstore_compaction_bytes_written",
        "Block bytes written by flushes and merges since open.", store.compaction_bytes_written);
  Gauge(&out, "spanstore_compaction_backlog_bytes", "Sealed WAL bytes not yet compacted.",
        store.compaction_backlog_bytes);
  Gauge(&out, "spanstore_compaction_behind", "1 while ingest outruns compaction.",
        store.compaction_behind ? 1 : 0);
  Gauge(&out, "spanstore_read_only", "1 after an unrecoverable write error.",
        store.read_only ? 1 : 0);
  return out;
}

}  // namespace spanstore::spanstored
