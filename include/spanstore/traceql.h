// TraceQL beyond one span filter: spanset operators (&&, ||), structural operators (> >> < << ~,
// their negations !> !>> !< !<< !~ and unions &> &>> &< &<< &~) and pipelines (count(),
// avg/min/max/sum(field) compared with a value, by(...), select(...), `| { filter }`). The
// semantics are Grafana Tempo's, written down point by point in docs/traceql.md.
//
// ParseTraceQuery turns the text into a TraceQuery; Store::Search runs it (engine) and
// EvaluateTraceQuery is its meaning on one trace's spans, which every storage path must agree
// with.
//
// Thread safety: plain values; a TraceQuery may be shared by concurrent readers.

#ifndef SPANSTORE_TRACEQL_H_
#define SPANSTORE_TRACEQL_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "spanstore/export.h"
#include "spanstore/query.h"
#include "spanstore/span.h"

namespace spanstore {

// How two spansets combine. The structural operators relate spans of one trace by parent ids.
enum class SpansetOp : uint8_t {
  kFilter,      // a leaf: one `{ ... }` span filter
  kAnd,         // {A} && {B}: both non-empty; the spans of both
  kOr,          // {A} || {B}: the spans of either
  kChild,       // {A} > {B}: B spans whose parent is an A span
  kDescendant,  // {A} >> {B}: B spans with an A span among their ancestors
  kParent,      // {A} < {B}: B spans that are the parent of an A span
  kAncestor,    // {A} << {B}: B spans that are an ancestor of an A span
  kSibling,     // {A} ~ {B}: B spans with another span of the same parent in A
};

struct SPANSTORE_EXPORT SpansetExpr {
  SpansetOp op = SpansetOp::kFilter;
  // Structural only. negated (`!>` ...): the B spans for which the relation does NOT hold.
  // both (`&>` ...): the B spans for which it holds and the A spans they relate to.
  bool negated = false;
  bool both = false;
  // kFilter: the span filter, as ParseQuery returns it (its window, limit and deadline are
  // unused: Search's options give them).
  SpanQuery filter;
  std::vector<SpansetExpr> children;  // two for every operator
};

// A field a pipeline names: an intrinsic or a scoped attribute, as in a filter.
struct SPANSTORE_EXPORT TraceQLField {
  bool is_attribute = false;
  Intrinsic intrinsic = Intrinsic::kName;
  AttributeScope scope = AttributeScope::kAny;
  std::string key;
  std::string text;  // as written, for output (`span.http.method`, `duration`)
};

// The value of `field` on `span` (in its trace), or an empty AnyValue when it has none.
// Durations are ints in nanoseconds; status and kind their names ("error", "server").
SPANSTORE_EXPORT AnyValue FieldValue(const TraceQLField& field, const Span& span,
                                     const TraceSummary& trace);

enum class AggregateFn : uint8_t { kCount, kAvg, kMin, kMax, kSum };

struct SPANSTORE_EXPORT PipelineStage {
  enum class Kind : uint8_t {
    kAggregate,  // fn(field) op value: keeps the spansets for which it holds
    kBy,         // by(field, ...): splits each spanset by the fields' values
    kSelect,     // select(field, ...): names fields to show with each span; filters nothing
    kFilter,     // `| { ... }`: keeps the spans of each spanset that match; drops empty sets
  };
  Kind kind = Kind::kAggregate;
  AggregateFn fn = AggregateFn::kCount;
  TraceQLField field;  // kAggregate, except count()
  CompareOp op = CompareOp::kGt;
  AnyValue value;                    // kAggregate: int or double (durations: int nanoseconds)
  std::vector<TraceQLField> fields;  // kBy, kSelect
  SpanQuery filter;                  // kFilter
};

struct SPANSTORE_EXPORT TraceQuery {
  SpansetExpr spansets;
  std::vector<PipelineStage> pipeline;
  // Every field a select() names, in order, for the caller to show.
  std::vector<TraceQLField> selected;
};

// Parses a TraceQL query (docs/traceql.md). Errors are InvalidArgument naming the 1-based column,
// as ParseQuery's; QueryLimits bound the whole query (the terms and regexes of all its filters).
SPANSTORE_EXPORT absl::StatusOr<TraceQuery> ParseTraceQuery(std::string_view text);
SPANSTORE_EXPORT absl::StatusOr<TraceQuery> ParseTraceQuery(std::string_view text,
                                                            const QueryLimits& limits);

// One spanset of a trace: the spans it holds (trace order) and, after by(), the grouping values.
struct SPANSTORE_EXPORT Spanset {
  std::vector<Span> spans;
  std::vector<std::pair<std::string, AnyValue>> by;  // field text -> value (empty: nil)
  // The aggregate values the pipeline computed, by the stage's text ("count()", "avg(duration)").
  std::vector<std::pair<std::string, AnyValue>> aggregates;
};

// The spansets `query` yields on one trace, given all its spans in trace order (start time,
// then span id) and its summary. Empty: the trace does not match. Spans whose start lies
// outside [start_min, start_max] match no filter.
SPANSTORE_EXPORT std::vector<Spanset> EvaluateTraceQuery(const TraceQuery& query,
                                                         absl::Span<const Span> spans,
                                                         const TraceSummary& summary,
                                                         uint64_t start_min = 0,
                                                         uint64_t start_max = UINT64_MAX);

struct SPANSTORE_EXPORT SearchOptions {
  // Span start window, unix nanos, inclusive: a filter matches only spans that start in it.
  uint64_t start_min = 0;
  uint64_t start_max = UINT64_MAX;
  // Traces, most recent first as Tempo orders them: by the trace's start (its earliest stored
  // span), latest first, ties by trace id; the `limit` latest matching traces (0: all).
  size_t limit = 20;
  // The candidate scans stop after handing over this many matching spans (0: no bound), so one
  // search over a huge window cannot run for minutes; the answer then comes from the traces
  // found so far.
  uint64_t max_scanned_spans = 0;
  // As SpanQuery::deadline / cancel: Search returns only the error.
  absl::Time deadline = absl::InfiniteFuture();
  const std::atomic<bool>* cancel = nullptr;
};

struct SPANSTORE_EXPORT TraceSearchResult {
  TraceSummary summary;  // matched_spans: the spans of all its spansets
  std::vector<Spanset> spansets;
};

}  // namespace spanstore

#endif  // SPANSTORE_TRACEQL_H_
