// StoreImpl::ScanForAnalysis: a window split into block summaries and spans to scan, so that
// the service graph and RED over a long window read a few kilobytes per block instead of every
// span, and give the answer a full scan would.
//
// A block's summary pairs spans only within the block, and a scan pairs only the spans it
// visits. Both are exact as long as no trace has its spans in two parts. Compaction keeps a
// trace open -- its rows in the summary as they are, not folded in -- in every block when two
// blocks may hold it (StoreImpl::WriteSummaries), so the open rows of the summarized blocks go
// to the visitor's side and are paired with the scanned spans. Per block:
//   - wholly inside the window (every span of it is in the window, so its pairs are exactly
//     the window's): its summary as it is;
//   - cut by a window edge: its time sections (query/analysis_summary.h). A section lying
//     wholly inside the window gives its cells, one wholly outside nothing; the spans of the
//     sections the edges cut are scanned -- only those rows of the block whose start is in the
//     window and in a cut section's time range, and whose trace is in a cut section (each
//     folded trace is in exactly one section, so its pairs are formed whole, on one side) --
//     and the open rows are handed over restricted to the window. A cut block whose summary
//     has no sections (file version 1) is scanned within the window, as before sections;
//   - a memtable's spans are not in any summary: a trace a block may hold and keeps closed
//     while a memtable holds spans of it must be paired on the scan side, so its section is
//     treated as cut (the trace's bucket is read from the block: late spans of recent traces
//     make this a handful of traces in the newest block or two).
// A block that overlaps the window but has no usable summary may share traces nobody marked
// open, so then the whole window is scanned (still exact, just slower; `verify` warns and
// `spanctl repair` writes the summary again).

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "engine/block_scan.h"
#include "engine/store_impl.h"
#include "query/span_table.h"

namespace spanstore {
namespace {

// Only the start-time window and the deadline: anything else is not what a summary holds.
bool WindowOnly(const SpanQuery& q) {
  return q.services.empty() && q.names.empty() && q.kinds.empty() && q.min_duration_nanos == 0 &&
         q.max_duration_nanos == UINT64_MAX && !q.status.has_value() && q.attributes.empty() &&
         !q.filter.has_value() && q.limit == 0;
}

// Closed traces of one block that a memtable also holds, beyond which the block is scanned
// within the window rather than each looked up (a lookup reads a row group, ~50 µs warm). The
// newest block closes the traces running at its end (summary_file.h), so at a high span rate
// the memtable shares some dozens with it.
constexpr size_t kMaxTracesLookedUp = 256;

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

// The part of a block a window cuts: what its summary answers (`answered`: the cells of the
// sections inside the window, the open rows in it) and what must be scanned (`ranges` of
// start times, and `cut`: per section, whether its spans are scanned). False when the summary
// cannot say (a section that does not decode, a trace it should know it does not): then the
// block is scanned within the window.
bool PlanCutBlock(const BlockReader& block, const AnalysisSummary& sum, const SpanQuery& q,
                  const std::vector<TraceId>& shared, AnalysisSummary* answered,
                  std::vector<bool>* cut, Ranges* ranges) {
  const size_t n = sum.sections.size();
  cut->assign(n, false);
  auto overlaps = [&](const SummarySection& s) {
    return s.max_start >= q.start_min && s.min_start <= q.start_max;
  };
  for (size_t k = 0; k < n; ++k) {
    const SummarySection& s = sum.sections[k];
    (*cut)[k] = overlaps(s) && (s.min_start < q.start_min || s.max_start > q.start_max);
  }
  std::vector<Span> spans;
  for (const TraceId& trace : shared) {
    spans.clear();
    if (!block.ReadTrace(trace, &spans).ok()) return false;
    if (spans.empty()) continue;  // the trace-index filter's false positive
    const ptrdiff_t k = sum.SectionOf(trace, spans.front().start_time_unix_nano);
    if (k < 0) return false;
    if (overlaps(sum.sections[k])) (*cut)[k] = true;
  }
  for (size_t k = 0; k < n; ++k) {
    const SummarySection& s = sum.sections[k];
    if (!overlaps(s)) continue;
    if ((*cut)[k]) {
      ranges->emplace_back(std::max(s.min_start, q.start_min), std::min(s.max_start, q.start_max));
      continue;
    }
    auto cells = sum.DecodeSection(k);
    if (!cells.ok()) return false;
    answered->Merge(*cells);
  }
  answered->open_strings = sum.open_strings;
  for (const SpanRow& r : sum.open_rows) {
    if (r.start >= q.start_min && r.start <= q.start_max) answered->open_rows.push_back(r);
  }
  // One pass over the block's rows per run of overlapping or touching ranges.
  std::sort(ranges->begin(), ranges->end());
  Ranges merged;
  for (const auto& r : *ranges) {
    if (!merged.empty() && r.first <= merged.back().second + 1) {
      merged.back().second = std::max(merged.back().second, r.second);
    } else {
      merged.push_back(r);
    }
  }
  *ranges = std::move(merged);
  return true;
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

  enum class Use : uint8_t { kSkip, kSummary, kSections, kScan };
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
    use[i] = inside ? Use::kSummary : sums[i]->sectioned ? Use::kSections : Use::kScan;
  }

  // The memtables first: their window's traces decide which blocks' traces must be scanned
  // with them. Their spans are checked against every earlier source, as Scan does.
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
  // Per block, the closed traces a memtable shares with it.
  std::vector<std::vector<TraceId>> shared(n);
  const std::vector<const BlockReader*>& readers = snap.blocks->readers;
  for (const TraceId& trace : memtable_traces) {
    const uint64_t hash = TraceIndex::Hash(trace);
    for (size_t i = 0; i < n; ++i) {
      // The filter first (MayHoldTrace), so that the exact check that may read the block's
      // trace index runs only for traces the summary has closed.
      if ((use[i] == Use::kSummary || use[i] == Use::kSections) && readers[i]->MayHoldTrace(hash) &&
          !sums[i]->IsOpen(trace) && readers[i]->MayContainTrace(trace, hash)) {
        shared[i].push_back(trace);
      }
    }
  }

  static constexpr std::string_view kKeys[] = {kSpanTablePeerKeys[0], kSpanTablePeerKeys[1]};
  auto visit = [&](const Span& span) {
    stopped = !visitor(span);
    return !stopped;
  };
  const Ranges window = {{query.start_min, query.start_max}};
  for (size_t i = 0; i < n && !stopped; ++i) {
    if (use[i] == Use::kSkip) continue;
    const BlockReader& block = blocks[i]->reader();
    if (use[i] == Use::kSummary && shared[i].empty()) {
      summary(sums[i].get());
      continue;
    }
    // Blocks share no span: no de-duplication among them.
    absl::Status s;
    AnalysisSummary answered;
    std::vector<bool> cut;
    Ranges ranges;
    if (use[i] != Use::kScan && sums[i]->sectioned && shared[i].size() <= kMaxTracesLookedUp &&
        PlanCutBlock(block, *sums[i], query, shared[i], &answered, &cut, &ranges)) {
      summary(&answered);
      const AnalysisSummary& sum = *sums[i];
      // Rows come trace by trace: whether a trace is open or spread is asked once per trace.
      TraceId last{};
      bool have_last = false, last_open = false;
      s = ScanBlockForAnalysis(
          block, ranges, kKeys, query,
          [&](const TraceId& trace, uint64_t start) {
            if (!have_last || !(trace == last)) {
              last = trace;
              have_last = true;
              last_open = sum.IsOpen(trace);
            }
            if (last_open) return false;  // its rows came with `answered`
            const ptrdiff_t k = sum.SectionOf(trace, start);
            return k >= 0 && cut[k];
          },
          visit);
    } else {
      s = ScanBlockForAnalysis(
          block, window, kKeys, query, [](const TraceId&, uint64_t) { return true; }, visit);
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace spanstore
