// The Store: an embeddable, durable store of spans with trace lookup and span search.
//
// Thread safety: every method may be called concurrently from many threads. A query sees a
// consistent snapshot: every span acknowledged before the query started, and none twice, even
// while compaction replaces files underneath it.

#ifndef SPANSTORE_STORE_H_
#define SPANSTORE_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "spanstore/export.h"
#include "spanstore/options.h"
#include "spanstore/query.h"
#include "spanstore/span.h"
#include "spanstore/stats.h"
#include "spanstore/traceql.h"

namespace spanstore {

// Internal (query/analysis_summary.h): per-block partial results of the service graph and RED,
// read only by the analyses of spanstore/analysis.h.
class AnalysisSummary;

struct SPANSTORE_EXPORT Trace {
  TraceId trace_id;
  std::vector<Span> spans;  // ordered by start time, then span id
  // True when the trace had more than Options::max_trace_spans spans and `spans` holds only
  // the first max_trace_spans of them.
  bool truncated = false;
  uint64_t total_spans = 0;  // spans the store holds for this trace
};

class SPANSTORE_EXPORT Store {
 public:
  // Opens (creating if needed) the store in `dir`, takes its lock and replays its WAL per
  // options.recovery. Errors: FailedPrecondition if another process holds the store;
  // DataLoss naming file and offset for damage the recovery mode does not tolerate.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const Options& options,
                                                     const std::string& dir);

  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  // Closes the store (see Close) if the caller did not.
  virtual ~Store() = default;

  // Appends spans as one atomic batch: after a crash either all of them or none are present.
  // When it returns OK the spans are durable per Options::sync and visible to every query
  // started afterwards. Errors: InvalidArgument for an invalid span (zero ids, over a limit);
  // ResourceExhausted when the disk is full (nothing of the batch is kept; later Appends may
  // succeed once space is freed); FailedPrecondition once the store is read-only.
  virtual absl::Status Append(absl::Span<const Span> spans) = 0;

  // Every span of the trace, ordered by start time. NotFound if the store has none.
  virtual absl::StatusOr<Trace> GetTrace(const TraceId& trace_id) = 0;

  // Calls `visitor` for every span matching `query` (at most query.limit when non-zero) until it
  // returns false. Order: unspecified.
  virtual absl::Status Scan(const SpanQuery& query,
                            absl::FunctionRef<bool(const Span&)> visitor) = 0;

  // For ComputeServiceGraph and ComputeRed (spanstore/analysis.h; an embedder has no use for
  // it): the spans matching `query` -- which may bound only start times and set a deadline or
  // cancel flag; anything else is answered by Scan alone -- split in two parts whose union is
  // exactly what Scan would visit: `summary` is called with (a pointer to) the compaction
  // summary of each block answered that way, and `visitor` with every other span (until it
  // returns false). A summary's cells hold only traces that no other part holds; its open rows
  // (traces it cannot close alone) are to be paired with the visited spans. So merging the
  // cells, and pairing the open rows and visited spans together, gives the answer a full scan
  // would. Visited spans may be built with only what the analyses read: ids, parent, times,
  // service, name, kind, status and the peer.service and db.system attributes. The default has
  // no summaries and scans.
  virtual absl::Status ScanForAnalysis(const SpanQuery& query,
                                       absl::FunctionRef<void(const AnalysisSummary*)> summary,
                                       absl::FunctionRef<bool(const Span&)> visitor) {
    (void)summary;
    return Scan(query, visitor);
  }

  // Traces with at least one span matching `query`: the `limit` (0: all) that started last, in
  // Tempo's search order -- by trace start (the earliest stored span), latest first, ties by
  // trace id.
  virtual absl::StatusOr<std::vector<TraceSummary>> FindTraces(const SpanQuery& query,
                                                               size_t limit) = 0;

  // Runs a TraceQL query (ParseTraceQuery): the traces it matches, in FindTraces' order (the
  // options.limit that started last, latest first, ties by trace id), each with its spansets.
  // Errors:
  // DeadlineExceeded / Cancelled per options.
  virtual absl::StatusOr<std::vector<TraceSearchResult>> Search(const TraceQuery& query,
                                                                const SearchOptions& options) = 0;

  // Distinct service names, sorted; distinct span names of one service, sorted.
  virtual absl::StatusOr<std::vector<std::string>> Services() = 0;
  virtual absl::StatusOr<std::vector<std::string>> Operations(const std::string& service) = 0;

  // Makes everything appended so far durable (fdatasync), whatever the sync policy.
  virtual absl::Status Flush() = 0;
  // Seals the active segment and compacts everything into blocks; returns when done.
  virtual absl::Status CompactAll() = 0;
  virtual StoreStats Stats() = 0;
  // Recompresses the columns of the blocks' row groups (every group, or about `max_groups`
  // spread over the blocks when non-zero) with LZ4 and with Zstd at Options::zstd_level (with
  // the block's trained dictionary for the column where it has one, as its writer did), to
  // show which codec each column pays for and which bytes are the next target. Reads and
  // decompresses what it measures; writes nothing. One entry per row-group column, in file
  // order.
  virtual absl::StatusOr<std::vector<ColumnCodecBytes>> MeasureColumnCodecs(uint64_t max_groups) {
    (void)max_groups;
    return absl::UnimplementedError("MeasureColumnCodecs");
  }
  // Flushes, stops background work and releases the lock. Further calls fail with
  // FailedPrecondition. Idempotent.
  virtual absl::Status Close() = 0;
};

}  // namespace spanstore

#endif  // SPANSTORE_STORE_H_
