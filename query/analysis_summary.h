// AnalysisSummary: the service graph and RED metrics of a set of spans, as partial results that
// merge exactly. ComputeServiceGraph and ComputeRed build one from a scan; compaction builds one
// per block and keeps it beside the block (engine/summary_file.h), so a long window is
// answered by merging the summaries of the blocks wholly inside it.
//
// Exactness: pairs (client/server, parent/child) are formed inside the spans summarized, so
// merging two summaries equals summarizing the union only when no trace has spans in both. A
// block's summary therefore keeps some traces *open*: their rows are stored as they are
// (`open_rows`), not folded into the cells, and a query pairs them together with every other
// open or scanned span. Which traces are open is the builder's choice (engine/summary_file.h):
// at least every trace with a span whose parent is not in the block and every trace another
// block also holds. Sketches merge bucket-wise, so a merged sketch equals the sketch of all
// the values (QuantileSketch::operator==).
//
// Time sections. A window's edge may cut a block, and a block may cover hours (merges), so a
// block's summary also keeps its cells split by start time: each trace folded into the cells
// belongs to exactly one section, the one of (first, last) bucket of its spans' start times,
// buckets being section_nanos wide and aligned to the Unix epoch. A window answers a section
// lying wholly inside it from the section's cells, skips one wholly outside, and scans only
// the spans of the sections its edges cut (engine/store_analysis.cc). The trace -> section map
// is kept only for the traces spread over more than one bucket (a few percent): any other
// folded trace is in the section of its span's bucket alone. Sections are kept encoded and
// decoded only when a window cuts the block.
//
// Thread safety: a value type; const methods may be called concurrently.

#ifndef SPANSTORE_QUERY_ANALYSIS_SUMMARY_H_
#define SPANSTORE_QUERY_ANALYSIS_SUMMARY_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "query/span_table.h"
#include "spanstore/analysis.h"
#include "spanstore/span.h"

namespace spanstore {

// Calls, errors and a duration (or latency) sketch: one RED row or one graph edge.
struct SummaryCell {
  uint64_t calls = 0;
  uint64_t errors = 0;
  QuantileSketch sketch;

  void Add(bool error, uint64_t nanos) {
    ++calls;
    if (error) ++errors;
    sketch.Add(nanos);
  }
  void Merge(const SummaryCell& o) {
    calls += o.calls;
    errors += o.errors;
    sketch.Merge(o.sketch);
  }
  friend bool operator==(const SummaryCell&, const SummaryCell&) = default;
};

// The narrowest bucket of time sections, and the bucket widths a block's summary chooses from
// (engine/summary_file.cc picks per block, from its span rate). Why these: an edge costs a
// scan of the spans of about one bucket, while every section costs its cells, whose sketches
// take ~20 KB once a section holds some tens of thousands of spans; so a bucket should hold
// about that many spans -- a minute at 100M spans a day, five at 10M a day.
inline constexpr uint64_t kSectionBucketNanos = 60'000'000'000;
inline constexpr uint64_t kSectionBucketMinutes[] = {1, 2, 5, 10, 15, 30, 60};

// One time section of a block summary: the cells of the folded traces whose spans start in
// buckets first..last (and no other), kept encoded.
struct SummarySection {
  uint64_t first = 0, last = 0;           // buckets: start / section_nanos
  uint64_t min_start = 0, max_start = 0;  // of its spans
  uint64_t spans = 0;
  std::string cells;  // operations, services, edges and nodes, ids into section_strings
  friend bool operator==(const SummarySection&, const SummarySection&) = default;
};

class AnalysisSummary {
 public:
  // (service, operation, kind) -> every span.
  using OperationKey = std::tuple<std::string, std::string, uint8_t>;
  // (client, server, server is virtual) -> the pairs and virtual calls of the service graph.
  using EdgeKey = std::tuple<std::string, std::string, bool>;

  // Adds the spans of a finished table; pairs are formed within each of its traces (the rules
  // of spanstore/analysis.h: ComputeServiceGraph, RedGrouping). With `is_open`, the traces it
  // holds true for are kept as open rows instead.
  using IsOpenFn = absl::FunctionRef<bool(absl::Span<const SpanRow>)>;
  // (first, last) bucket of a section.
  using SectionKey = std::pair<uint64_t, uint64_t>;
  struct SectionBuild;

  // Adds the spans of a finished table; pairs are formed within each of its traces (the rules
  // of spanstore/analysis.h: ComputeServiceGraph, RedGrouping). With `is_open`, the traces it
  // holds true for are kept as open rows instead. With `sections`, the cells of the traces
  // folded in go to their time sections there instead of to this summary's cells.
  void AddTable(const SpanTable& table, IsOpenFn* is_open = nullptr,
                SectionBuild* sections = nullptr);
  // After the last AddTable with `build`: adds every section's cells to this summary's cells
  // and keeps the sections (encoded), so that sectioned is true.
  void FinishSections(SectionBuild build);
  // Adds the cells of another summary of spans disjoint from these (no trace in both). Open
  // rows are not merged: the caller pairs them (AddOpenRowsTo).
  void Merge(const AnalysisSummary& other);
  // Adds the open rows to a table (before table->Finish()).
  void AddOpenRowsTo(SpanTable* table) const;
  // True if the trace's rows are open here (open_traces is sorted).
  bool IsOpen(const TraceId& trace) const;

  // The section of a trace folded into the cells with a span starting at `start`, or -1
  // (no such section: the trace is not folded in here). REQUIRES: sectioned, !IsOpen(trace).
  ptrdiff_t SectionOf(const TraceId& trace, uint64_t start) const;
  // The cells of sections[i] (spans, min_start, max_start and the keyed cells; no open rows).
  // DataLoss for cells Encode could not have written, never crashes.
  absl::StatusOr<AnalysisSummary> DecodeSection(size_t i) const;

  // For each (i, cells): makes the cells of sections[i] those of `cells` (a summary of the
  // section's folded traces, unsectioned: spans, start range and keyed cells); then the
  // summary's cells the sum of its sections again. For taking traces out of sections
  // (engine/summary_file.h, ReopenTraces). InvalidArgument, and the summary unchanged, when a
  // replacement names a string the section strings lack or a section does not decode.
  absl::Status ReplaceSections(absl::Span<const std::pair<size_t, AnalysisSummary>> replacements);

  // The byte form (versioned by the file that holds it); Decode returns DataLoss for bytes
  // Encode could not have written, never crashes. `with_sections`: the bytes end with the
  // sections part (summary file version 2; version 1 has none, and decodes unsectioned).
  void EncodeTo(std::string* out) const;
  static absl::StatusOr<AnalysisSummary> Decode(std::string_view in, bool with_sections = true);

  // The cells: spans folded in, and their start-time range (UINT64_MAX / 0 when none).
  uint64_t spans = 0;
  uint64_t min_start = UINT64_MAX;
  uint64_t max_start = 0;
  std::map<OperationKey, SummaryCell> operations;
  std::map<std::string, SummaryCell> services;  // requests served (RedGrouping::kService)
  std::map<EdgeKey, SummaryCell> edges;
  std::set<std::string> nodes;  // every service with a span, and the virtual nodes called
  // The open traces (sorted, distinct) and their rows, whose string fields index
  // open_strings.
  std::vector<TraceId> open_traces;
  std::vector<SpanRow> open_rows;
  std::vector<std::string> open_strings;
  // Time sections: kept by a block's summary (FinishSections), not by a scan's, nor by a
  // summary file of version 1. Only a sectioned summary can answer a window that cuts its
  // block. sections: sorted by (first, last), distinct; their cells add up to the cells above.
  // spread_traces (sorted) are the folded traces with spans in more than one bucket, and
  // spread_sections[i] the index of spread_traces[i]'s section.
  bool sectioned = false;
  uint64_t section_nanos = kSectionBucketNanos;  // the buckets' width
  std::vector<SummarySection> sections;
  std::vector<std::string> section_strings;
  std::vector<TraceId> spread_traces;
  std::vector<uint32_t> spread_sections;

  friend bool operator==(const AnalysisSummary&, const AnalysisSummary&) = default;
};

// Sections while a block's summary is built, decoded: AddTable adds to them, FinishSections
// turns them into the summary's cells and sections.
struct AnalysisSummary::SectionBuild {
  uint64_t bucket_nanos = kSectionBucketNanos;  // REQUIRES: > 0
  std::map<SectionKey, AnalysisSummary> cells;
  std::vector<std::pair<TraceId, SectionKey>> spread;  // traces over more than one bucket
};

}  // namespace spanstore

#endif  // SPANSTORE_QUERY_ANALYSIS_SUMMARY_H_
