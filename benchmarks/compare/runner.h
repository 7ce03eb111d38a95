// The measurements, run inside one child process per engine (so peak RSS is the engine's own)
// and reported back to the parent as "key value" lines.

#ifndef SPANSTORE_BENCHMARKS_COMPARE_RUNNER_H_
#define SPANSTORE_BENCHMARKS_COMPARE_RUNNER_H_

#include <cstdint>
#include <map>
#include <string>

#include "benchmarks/compare/workload.h"

namespace spanstore::compare {

// Measurement name -> value (numbers as text). "error" holds the first failure, if any.
using Results = std::map<std::string, std::string>;

void SetNumber(Results* results, const std::string& key, double value);
// NaN when absent or not a number.
double GetNumber(const Results& results, const std::string& key);
std::string SerializeResults(const Results& results);
Results ParseResults(const std::string& text);

struct RunConfig {
  Workload workload;
  size_t batch = 1000;
  size_t lookups = 10000;
};

// Ingest, compaction, bytes on disk, reopen, GetTrace lookups, FindTraces searches (service +
// duration, and attribute equality) and the attribute scan for engine `name` in the (new)
// directory `dir`.
//
// Keys: ingest_spans_per_s, ingest_seconds, ingest_cpu_seconds, disk_after_ingest,
// compact_seconds, disk_bytes, open_seconds, get_median_us, get_p99_us, get_digest,
// get_spans, search_median_ms, search_max_ms, search_traces, search_digest,
// attr_{needle,common}_{median_ms,max_ms,first_ms,traces,digest}, scan_seconds, scan_spans_per_s,
// scan_matches, scan_digest, and "error".
Results RunEngine(const std::string& name, const RunConfig& config, const std::string& dir);

// The machine's physical limits, measured in `dir` (on the disk the stores use): sequential
// write bandwidth with and without fdatasync, fdatasync latency, memcpy bandwidth, and LZ4 and
// Zstd speed on the workload's spans as OTLP protobuf.
//
// Keys: memcpy_gbps, write_mbps, write_sync_mbps, sync_4k_median_us, write_test_mb,
// otlp_bytes_per_span, {lz4,zstd}_{compress_mbps,decompress_mbps,ratio}, codec_test_spans.
Results RunPhysical(const RunConfig& config, const std::string& dir);

}  // namespace spanstore::compare

#endif  // SPANSTORE_BENCHMARKS_COMPARE_RUNNER_H_
