// StoreImpl::ScanForAnalysis: a window split into block summaries and spans to scan, so that
// the service graph and RED over a long window read a few kilobytes per block instead of every
// span, and give the answer a full scan would.
//
// A block's summary pairs spans only within the block, and a scan pairs only the spans it
// visits. Both are exact as long as no trace has its spans in two parts. Compaction keeps a
// trace open -- its rows in the summary as they are, not folded in -- in every block when two
// blocks may hold it (StoreImpl::WriteSummaries), so the open rows of the summarized blocks go
// to the visitor's side and are paired with the scanned spans. What is left:
//   - a block is answered by its summary only if it lies wholly inside the window (every span
//     of it is in the window, so its pairs are exactly the window's) and its summary reads
//     back intact; a block cut by the window's edges is scanned;
//   - a memtable's spans are not in any summary: a block that may hold one of their traces
//     and keeps it closed is scanned instead (its trace index answers from memory). Late spans
//     of recent traces make this the newest block or two.
// A block that overlaps the window but has no usable summary may share traces nobody marked
// open, so then the whole window is scanned (still exact, just slower; `verify` warns and
// `spanctl repair` writes the summary again).

#include "absl/container/flat_hash_set.h"
#include "engine/store_impl.h"

namespace spanstore {
namespace {

// Only the start-time window and the deadline: anything else is not what a summary holds.
bool WindowOnly(const SpanQuery& q) {
  return q.services.empty() && q.names.empty() && q.kinds.empty() && q.min_duration_nanos == 0 &&
         q.max_duration_nanos == UINT64_MAX && !q.status.has_value() && q.attributes.empty() &&
         !q.filter.has_value() && q.limit == 0;
}

}  // namespace

absl::Status StoreImpl::ScanForAnalysis(const SpanQuery& query,
                                        absl::FunctionRef<void(const AnalysisSummary*)> summary,
                                        absl::FunctionRef<bool(const Span&)> visitor) {
  if (!WindowOnly(query)) return Scan(query, visitor);
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  if (absl::Status s = CheckQueryInterrupted(query); !s.ok()) return s;
  const Snapshot snap = TakeSnapshot();
  const auto& blocks = snap.blocks->blocks;
  const size_t n = blocks.size();

  enum class Use : uint8_t { kSkip, kSummary, kScan };
  std::vector<Use> use(n, Use::kSkip);
  std::vector<std::shared_ptr<const AnalysisSummary>> sums(n);
  for (size_t i = 0; i < n; ++i) {
    const ZoneMap& zone = blocks[i]->reader().zone();
    if (blocks[i]->reader().rows() == 0 || zone.max_start() < query.start_min ||
        zone.min_start() > query.start_max) {
      continue;  // no span of it is in the window
    }
    sums[i] = blocks[i]->summary();
    if (sums[i] == nullptr) return ScanSnapshot(snap, query, visitor);
    const bool inside = query.start_min <= zone.min_start() && zone.max_start() <= query.start_max;
    use[i] = inside ? Use::kSummary : Use::kScan;
  }

  // The memtables first: their window's traces decide which blocks must be scanned with them.
  // Their spans are checked against every earlier source, as Scan does.
  absl::flat_hash_set<TraceId> memtable_traces;
  bool stopped = false;
  for (size_t i = snap.disjoint(); i < snap.size() && !stopped; ++i) {
    absl::Status s = snap.source(i).Scan(query, [&](const Span& span) {
      if (AppearsEarlier(snap, i, span)) return true;
      memtable_traces.insert(span.trace_id);
      stopped = !visitor(span);
      return !stopped;
    });
    if (!s.ok()) return s;
  }
  if (stopped) return absl::OkStatus();
  const std::vector<TraceIndex::Filter>& filters = snap.blocks->filters;
  for (const TraceId& trace : memtable_traces) {
    const uint64_t hash = TraceIndex::Hash(trace);
    for (size_t i = 0; i < n; ++i) {
      if (use[i] == Use::kSummary && filters[i].MayHold(hash) && !sums[i]->IsOpen(trace)) {
        use[i] = Use::kScan;
      }
    }
  }

  for (size_t i = 0; i < n && !stopped; ++i) {
    if (use[i] == Use::kSummary) {
      summary(sums[i].get());
    } else if (use[i] == Use::kScan) {
      // Blocks share no span: no de-duplication among them.
      absl::Status s = blocks[i]->Scan(query, [&](const Span& span) {
        stopped = !visitor(span);
        return !stopped;
      });
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace spanstore
