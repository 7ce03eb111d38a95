// SpanTable: the spans of a time window in a compact form (ids, times, interned service and
// operation, kind, status), grouped by trace, so the analyses (service graph, RED, doctor) can
// pair spans within a trace without holding whole Span objects.
//
// Thread safety: built by one thread, then read-only.

#ifndef SPANSTORE_QUERY_SPAN_TABLE_H_
#define SPANSTORE_QUERY_SPAN_TABLE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/types/span.h"
#include "spanstore/analysis.h"
#include "spanstore/span.h"

namespace spanstore {

struct SpanRow {
  TraceId trace;
  SpanId id;
  SpanId parent;
  uint64_t start = 0;
  uint64_t end = 0;
  uint32_t service = 0;  // index into SpanTable::strings
  uint32_t operation = 0;
  // For client and producer spans: the peer.service or else db.system attribute, the name of
  // the uninstrumented service a call goes to (Tempo's virtual nodes); 0 (the empty string)
  // when neither is set.
  uint32_t peer = 0;
  SpanKind kind = SpanKind::kUnspecified;
  StatusCode status = StatusCode::kUnset;

  bool is_root() const { return !parent.IsValid(); }
  bool error() const { return status == StatusCode::kError; }
  // A span that ends before it starts counts as taking no time (SummarizeTrace's rule).
  uint64_t duration() const { return end > start ? end - start : 0; }
  uint64_t clamped_end() const { return end > start ? end : start; }
  friend bool operator==(const SpanRow&, const SpanRow&) = default;
};

// The span attributes SpanTable::Add reads (a client's or producer's peer, in this order of
// preference): a scan for a table need build no others.
inline constexpr std::string_view kSpanTablePeerKeys[] = {"peer.service", "db.system"};

class SpanTable {
 public:
  // Scans the window's spans. Exact duplicates of (trace, span id) keep the first in
  // (start, span id) order, so the table is the same whichever files the spans sit in.
  absl::Status Load(Store& store, const AnalysisWindow& window);

  // Building a table from spans in hand (a block at compaction, the scanned part of a
  // window): Add each span, then Finish once (sort by trace, drop repeats as Load does).
  // Returns false when the table has reached `max_spans` (0: no bound) and is truncated.
  bool Add(const Span& span, uint64_t max_spans = 0);
  // Rows whose string fields index `strings` (a summary's open rows): each string is interned
  // once, not per row (a block's open rows share a few dozen strings).
  void AddRows(absl::Span<const SpanRow> rows, const std::vector<std::string>& strings);
  void Finish();

  const std::string& str(uint32_t i) const { return strings_[i]; }
  uint32_t Intern(const std::string& s);
  size_t size() const { return rows_.size(); }
  bool truncated() const { return truncated_; }
  uint64_t min_start() const { return min_start_; }
  uint64_t max_start() const { return max_start_; }

  // Calls fn with each trace's rows, ordered by start time then span id; traces by trace id.
  void ForEachTrace(absl::FunctionRef<void(absl::Span<const SpanRow>)> fn) const;

 private:
  std::vector<SpanRow> rows_;
  std::vector<std::string> strings_;
  absl::flat_hash_map<std::string, uint32_t> index_;
  bool truncated_ = false;
  uint64_t min_start_ = UINT64_MAX;
  uint64_t max_start_ = 0;
};

// Finds a span of one trace by id: the rows sorted by id once, then binary search.
class SpanLookup {
 public:
  explicit SpanLookup(absl::Span<const SpanRow> rows);
  // Position in rows of the span with this id, or -1.
  ptrdiff_t Find(const SpanId& id) const;
  // For each row, the position of its parent in rows, or -1 (root or parent absent).
  const std::vector<ptrdiff_t>& parents() const { return parents_; }

 private:
  absl::Span<const SpanRow> rows_;
  std::vector<uint32_t> by_id_;
  std::vector<ptrdiff_t> parents_;
};

// The Store query of a window's spans (start times in [start, end), the deadline).
SpanQuery WindowQuery(const AnalysisWindow& window);

// The seconds a rate is over: the window, or where it is unbounded, the start times found.
double WindowSeconds(const AnalysisWindow& window, const SpanTable& table);

}  // namespace spanstore

#endif  // SPANSTORE_QUERY_SPAN_TABLE_H_
