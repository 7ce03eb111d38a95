// Insight from stored spans: a mergeable quantile sketch, the service graph, RED metrics, a
// propagation doctor and the critical path in aggregate (issue 17).
//
// A result is the same whether the spans sit in the WAL, in blocks or both, and after
// compaction merges blocks. The window selects spans by start time; pairs (client/server,
// parent/child) are formed among the spans of the window, so a call whose two halves straddle
// a window edge is not counted.
//
// Cost. The service graph and RED (and spanstored's dependencies) read, for each block in the
// window, the summary compaction kept beside it (blocks/NNNNNN.sum: calls, errors and
// sketches per (service, operation, kind), per service and per edge, also split into time
// sections of 1 to 60 minutes, plus the rows of the traces the block cannot close alone, which
// are paired at query time), and scan only the rest: the spans of the sections the window's
// edges cut (about one bucket's worth at each edge), the memtables, the traces of a block a
// memtable span shares, and -- when a block in the window has no usable summary -- the whole
// window (see Store::ScanForAnalysis). A 24-hour window over settled blocks reads a few
// thousand spans. Scanning costs about 80 bytes of memory per scanned span (the spans are
// grouped by trace to pair them). The propagation doctor, the critical path and TraceQL
// metrics need trace ids, whole traces or time steps, which no summary keeps: they always scan.
//
// Thread safety: QuantileSketch is a value type (one writer, or external locking); the
// functions are reentrant and call the Store under its own rules.

#ifndef SPANSTORE_ANALYSIS_H_
#define SPANSTORE_ANALYSIS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "spanstore/export.h"
#include "spanstore/query.h"
#include "spanstore/span.h"

namespace spanstore {

class Store;

// A DDSketch-style quantile sketch over non-negative integers (nanoseconds). Values go into
// logarithmic buckets: bucket i holds (gamma^(i-1), gamma^i] with gamma = (1 + a) / (1 - a),
// and a quantile is answered with its bucket's midpoint 2 gamma^i / (gamma + 1), which is
// within relative error a of every value in the bucket. So Quantile(q) is within a relative
// error of kRelativeAccuracy (1%) of the exact value x[floor(q * (n - 1))] of the sorted
// inputs (plus the rounding to a whole nanosecond); zero, the minimum and the maximum are
// exact. Merge is a bucket-wise add, so sketches of blocks, windows or
// threads combine without loss: merging then asking equals asking the sketch of all values.
// Memory: about 8 bytes per bucket between the smallest and largest value, at most ~1,400
// buckets for 1 ns .. 1 hour.
class SPANSTORE_EXPORT QuantileSketch {
 public:
  static constexpr double kRelativeAccuracy = 0.01;

  void Add(uint64_t value, uint64_t count = 1);
  void Merge(const QuantileSketch& other);
  // q in [0, 1]; 0 for an empty sketch.
  uint64_t Quantile(double q) const;
  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  // A compact byte form (varints: count, zeros, min, max, first bucket, bucket counts), for
  // the per-block summaries kept on disk. DecodeFrom consumes one sketch from the front of
  // *in and returns false, leaving *out unspecified, for bytes EncodeTo could not have
  // written (counts that do not add up, a bucket range beyond 1 ns .. 2^64 ns).
  void EncodeTo(std::string* out) const;
  static bool DecodeFrom(std::string_view* in, QuantileSketch* out);
  friend bool operator==(const QuantileSketch&, const QuantileSketch&) = default;

 private:
  static int BucketOf(uint64_t value);
  std::vector<uint64_t> buckets_;  // buckets_[i] counts bucket offset_ + i
  int offset_ = 0;
  uint64_t zeros_ = 0;
  uint64_t count_ = 0;
  uint64_t min_ = 0;
  uint64_t max_ = 0;
};

// The window of an analysis: spans that start in [start_unix_nano, end_unix_nano).
struct SPANSTORE_EXPORT AnalysisWindow {
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = UINT64_MAX;
  // Stop after this many spans (0: no bound) and report the result as truncated: a server's
  // guard against a window too large for memory.
  uint64_t max_spans = 0;
  // The scan gives up with DeadlineExceeded past this (SpanQuery::deadline): a server's guard
  // against a window too large for its time budget.
  absl::Time deadline = absl::InfiniteFuture();
  // ComputeServiceGraph and ComputeRed answer the blocks in the window from the summaries (and
  // their time sections) kept at compaction (Store::ScanForAnalysis) and scan only the rest;
  // the result is the same as with false, which scans every span (tests compare the two).
  // max_spans bounds only the spans scanned. The doctor and the critical path always scan.
  bool use_summaries = true;
};

// ---- Service graph ----
//
// Edges as Tempo's service graphs and Jaeger's dependencies define them: a client span and its
// server child (a call), a producer span and its consumer child (a message), each pair across
// two services; and, where the kinds do not form such a pair (unset, internal, ...), a parent
// and child span of different services (Jaeger's rule). Calls within one service are not
// edges. Per edge: calls, errors (either side has status error, as Tempo counts a failed
// request) and the latency: the client span's duration for a call (what the caller waits),
// the consumer's duration for a message, the child's duration otherwise.
struct SPANSTORE_EXPORT ServiceEdge {
  std::string client;
  std::string server;
  uint64_t calls = 0;
  uint64_t errors = 0;
  QuantileSketch latency;
  // The server is a virtual node (a peer.service or db.system no span answered for). Jaeger's
  // dependencies leave these out.
  bool virtual_server = false;
};

struct SPANSTORE_EXPORT ServiceGraph {
  std::vector<std::string> services;  // every service with a span in the window, sorted
  std::vector<ServiceEdge> edges;     // sorted by client, then server
  uint64_t spans = 0;                 // spans scanned
  bool truncated = false;             // AnalysisWindow::max_spans was reached
};

SPANSTORE_EXPORT absl::StatusOr<ServiceGraph> ComputeServiceGraph(Store& store,
                                                                  const AnalysisWindow& window);

// {"nodes":[{"service":...}],"edges":[{"client","server","calls","errors","p50_ns","p99_ns"}]}
SPANSTORE_EXPORT std::string ServiceGraphJson(const ServiceGraph& graph);
// Graphviz: one node per service, one labelled edge per call path; error edges drawn red.
SPANSTORE_EXPORT std::string ServiceGraphDot(const ServiceGraph& graph);

// ---- RED metrics ----
enum class RedGrouping : uint8_t {
  // One row per service over the requests it serves: its server and consumer spans, its root
  // spans, and spans of unset or internal kind whose parent is in another service or absent.
  kService,
  // One row per (service, operation, kind) over every span.
  kOperation,
};

struct SPANSTORE_EXPORT RedRow {
  std::string service;
  std::string operation;  // empty when grouped by service
  SpanKind kind = SpanKind::kUnspecified;
  uint64_t calls = 0;   // exact
  uint64_t errors = 0;  // exact: spans with status error
  double rate_per_s = 0;
  QuantileSketch duration;
  uint64_t p50_ns = 0, p90_ns = 0, p99_ns = 0;
};

struct SPANSTORE_EXPORT RedReport {
  std::vector<RedRow> rows;  // sorted by service, operation, kind
  // The seconds the rates are over: the window, or where it is unbounded, the span of start
  // times found (at least one second).
  double window_seconds = 0;
  uint64_t spans = 0;
  bool truncated = false;
};

SPANSTORE_EXPORT absl::StatusOr<RedReport> ComputeRed(Store& store, const AnalysisWindow& window,
                                                      RedGrouping grouping);
// [{"service","operation","kind","calls","errors","rate_per_s","p50_ns","p90_ns","p99_ns"}]
SPANSTORE_EXPORT std::string RedJson(const RedReport& report);

// ---- Propagation doctor ----
enum class FindingKind : uint8_t {
  // Client (or producer) spans of `service` with no child, on an operation whose calls
  // elsewhere reach `peer`, while `peer` has server (or consumer) spans that start new traces:
  // the trace context did not cross from service to peer.
  kDroppedContext,
  kOrphanSpan,          // parent span id not in the trace; service: the orphan's
  kMultipleRoots,       // a trace with several roots; service: an extra root's
  kClockSkew,           // service's clock is off by value_ns against its peers (signed)
  kChildOutsideParent,  // child outside its parent's interval not explained by a skewed clock
  kNegativeDuration,    // spans of service whose end is before their start
  kGap,  // idle time in a parent (service) before a child (peer) started; value_ns: the largest
};

SPANSTORE_EXPORT const char* FindingKindName(FindingKind kind);

struct SPANSTORE_EXPORT Finding {
  FindingKind kind;
  std::string service;
  std::string peer;
  uint64_t count = 0;    // traces broken
  double fraction = 0;   // of the traces (or calls, for dropped context) it could break
  int64_t value_ns = 0;  // the skew or the largest gap; 0 where it has no meaning
  std::vector<TraceId> example_trace_ids;  // at most 3
  std::string detail;                      // one sentence a person can act on
};

struct SPANSTORE_EXPORT DoctorOptions {
  // A gap shorter than this is ordinary scheduling and network time, not reported.
  uint64_t min_gap_nanos = 100'000'000;
  // A service pair whose median clock offset is below this is not called skewed: a network
  // hop's asymmetry alone gives offsets of a few hundred microseconds.
  uint64_t min_skew_nanos = 1'000'000;
  // An orphan's parent may still be on its way: orphans of traces that have a span this close
  // to the newest start time in the window are not reported yet.
  uint64_t late_span_window_nanos = 30'000'000'000;
};

struct SPANSTORE_EXPORT DoctorReport {
  std::vector<Finding> findings;  // most traces broken first
  uint64_t traces = 0;
  uint64_t spans = 0;
  bool truncated = false;
};

SPANSTORE_EXPORT absl::StatusOr<DoctorReport> RunDoctor(Store& store, const AnalysisWindow& window,
                                                        const DoctorOptions& options = {});
// [{"kind","service","peer","count","fraction","value_ns","example_trace_ids","detail"}]
SPANSTORE_EXPORT std::string DoctorJson(const DoctorReport& report);

// ---- Critical path in aggregate ----
//
// For each trace, the critical path is the chain of spans that determines when the root
// finishes (from the end backwards: the last child to finish before the cursor is what its
// parent waited for). Every nanosecond of the trace's duration is owned by exactly one span on
// it: its self time on the path. Aggregated over the traces per (service, operation).
struct SPANSTORE_EXPORT CriticalPathRow {
  std::string service;
  std::string operation;
  uint64_t total_ns = 0;     // critical-path time owned, summed over the traces
  double share = 0;          // of all traces' critical-path time
  double tail_share = 0;     // of the critical-path time of the traces at or above p99 duration
  QuantileSketch per_trace;  // its critical-path time per trace (0 where absent)
  uint64_t p50_ns = 0, p99_ns = 0;
};

struct SPANSTORE_EXPORT CriticalPathReport {
  std::vector<CriticalPathRow> rows;  // most total time first
  uint64_t traces = 0;
  uint64_t p50_trace_ns = 0, p99_trace_ns = 0;
};

// The self time of each span of `trace` on its critical path, indexed like trace.spans
// (zero for spans off the path). The values sum to the duration of the latest-ending root.
SPANSTORE_EXPORT std::vector<uint64_t> CriticalPathSelfTimes(absl::Span<const Span> spans);

// Over the traces with a span matching `query` (at most max_traces of them, most recent first;
// 0: all).
SPANSTORE_EXPORT absl::StatusOr<CriticalPathReport> ComputeCriticalPaths(Store& store,
                                                                         const SpanQuery& query,
                                                                         size_t max_traces);
SPANSTORE_EXPORT std::string CriticalPathJson(const CriticalPathReport& report);

}  // namespace spanstore

#endif  // SPANSTORE_ANALYSIS_H_
