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
// Thread safety: a value type; const methods may be called concurrently.

#ifndef SPANSTORE_QUERY_ANALYSIS_SUMMARY_H_
#define SPANSTORE_QUERY_ANALYSIS_SUMMARY_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
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

class AnalysisSummary {
 public:
  // (service, operation, kind) -> every span.
  using OperationKey = std::tuple<std::string, std::string, uint8_t>;
  // (client, server, server is virtual) -> the pairs and virtual calls of the service graph.
  using EdgeKey = std::tuple<std::string, std::string, bool>;

  // Adds the spans of a finished table; pairs are formed within each of its traces (the rules
  // of spanstore/analysis.h: ComputeServiceGraph, RedGrouping). With `is_open`, the traces it
  // holds true for are kept as open rows instead.
  void AddTable(const SpanTable& table,
                absl::FunctionRef<bool(absl::Span<const SpanRow>)>* is_open = nullptr);
  // Adds the cells of another summary of spans disjoint from these (no trace in both). Open
  // rows are not merged: the caller pairs them (AddOpenRowsTo).
  void Merge(const AnalysisSummary& other);
  // Adds the open rows to a table (before table->Finish()).
  void AddOpenRowsTo(SpanTable* table) const;
  // True if the trace's rows are open here (open_traces is sorted).
  bool IsOpen(const TraceId& trace) const;

  // The byte form (versioned by the file that holds it); Decode returns DataLoss for bytes
  // Encode could not have written, never crashes.
  void EncodeTo(std::string* out) const;
  static absl::StatusOr<AnalysisSummary> Decode(std::string_view in);

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

  friend bool operator==(const AnalysisSummary&, const AnalysisSummary&) = default;
};

}  // namespace spanstore

#endif  // SPANSTORE_QUERY_ANALYSIS_SUMMARY_H_
