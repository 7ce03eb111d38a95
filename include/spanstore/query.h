// Span queries: the structured filter (`SpanQuery`), trace summaries, and the TraceQL
// span-filter parser.
//
// A SpanQuery is a conjunction: a span matches when it satisfies every populated field *and*
// the optional boolean `filter` expression. The structured fields exist so the engine can skip
// blocks and row groups by zone maps and indexes; `filter` carries what a conjunction cannot say
// (`||`, `!`). ParseQuery lifts the top-level conjuncts it can into the structured fields.
//
// Thread safety: plain values; a SpanQuery may be shared by concurrent readers.

#ifndef SPANSTORE_QUERY_H_
#define SPANSTORE_QUERY_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "spanstore/export.h"
#include "spanstore/span.h"

namespace re2 {
class RE2;
}

namespace spanstore {

// Where an attribute is looked up: `span.x`, `resource.x`, or `.x` (span first, then resource);
// `event.x` / `link.x` (any one of the span's events / links carries a matching x) and
// `instrumentation.x` (the instrumentation scope's attributes).
enum class AttributeScope : uint8_t {
  kAny = 0,
  kSpan = 1,
  kResource = 2,
  kEvent = 3,
  kLink = 4,
  kInstrumentation = 5,
};

enum class CompareOp : uint8_t {
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kExists,    // the attribute is present (any type); `value` unused
  kRegex,     // `=~`: full match of an RE2 pattern against a string value
  kNotRegex,  // `!~`
};

// A compiled regular expression, shared between copies of a query.
class SPANSTORE_EXPORT Regex {
 public:
  // InvalidArgument with RE2's message when the pattern does not compile.
  static absl::StatusOr<std::shared_ptr<const Regex>> Compile(std::string_view pattern);
  ~Regex();
  bool FullMatch(std::string_view text) const;
  const std::string& pattern() const { return pattern_; }
  // The size of the compiled program (RE2's measure of a pattern's cost: roughly its states).
  int ProgramSize() const;

 private:
  explicit Regex(std::string pattern);
  std::string pattern_;
  std::unique_ptr<re2::RE2> re_;
};

// `key op value` on an attribute. Comparison semantics follow TraceQL: ints and doubles compare
// numerically with each other; strings compare lexicographically; bools only with = and !=;
// a comparison between incompatible types is false (and so `!=` on a missing key is false).
struct SPANSTORE_EXPORT AttributePredicate {
  AttributeScope scope = AttributeScope::kAny;
  std::string key;
  CompareOp op = CompareOp::kEq;
  AnyValue value;                       // unused for kExists; the pattern string for regexes
  std::shared_ptr<const Regex> regex;   // set for kRegex / kNotRegex
  // Jaeger's tag search: compare the attribute's value rendered as a string (ints in decimal,
  // bools as true/false, as JaegerValueString does) with the string `value`, so that
  // `http.status_code=500` finds an int 500. Only kEq / kNe.
  bool as_string = false;
};

// The things a TraceQL filter can compare besides attributes.
enum class Intrinsic : uint8_t {
  kName,           // string
  kStatus,         // StatusCode, compared as an enum: = and !=
  kKind,           // SpanKind: = and !=
  kDuration,       // nanoseconds, int
  kStatusMessage,  // string
  kServiceName,    // resource.service.name, the dedicated column
  kTraceId,        // hex string
  kSpanId,         // hex string
  kParentSpanId,   // hex string, empty for roots
  kStartTime,      // unix nanos, int
  // TraceQL intrinsics beyond the span's own columns.
  kEventName,         // event:name: any event of the span has this name
  kScopeName,         // instrumentation:name
  kScopeVersion,      // instrumentation:version
  kLinkTraceId,       // link:traceID: any link's trace id (hex)
  kLinkSpanId,        // link:spanID
  kTraceDuration,     // trace:duration: the trace's latest end - earliest start, ns
  kTraceRootService,  // trace:rootService
  kTraceRootName,     // trace:rootName
  // Tempo's nested-set numbers of a span in its trace's tree (a depth-first walk from each root
  // in trace order: left on the way down, right on the way up; a span's parent number is its
  // parent's left, -1 for a root, 0 for a span no root reaches). Computed per trace at search
  // for select(); a filter may compare nestedSetParent only where root-ness decides it.
  kNestedSetLeft,
  kNestedSetRight,
  kNestedSetParent,
};

// True for the intrinsics that depend on the whole trace (trace:duration, trace:rootName,
// trace:rootService): a span alone cannot decide them.
SPANSTORE_EXPORT bool IsTraceIntrinsic(Intrinsic intrinsic);

// A boolean expression tree over span fields.
struct SPANSTORE_EXPORT FilterExpr {
  enum class Kind : uint8_t { kTrue, kAnd, kOr, kNot, kAttribute, kIntrinsic };
  Kind kind = Kind::kTrue;
  std::vector<FilterExpr> children;  // kAnd/kOr: two or more; kNot: exactly one

  AttributePredicate attribute;  // kAttribute

  Intrinsic intrinsic = Intrinsic::kName;  // kIntrinsic
  CompareOp op = CompareOp::kEq;
  AnyValue value;  // string / int (durations in ns, enums as their integer value)
  std::shared_ptr<const Regex> regex;
};

struct SPANSTORE_EXPORT SpanQuery {
  // Span start time window, unix nanos, inclusive. Zero start_min and UINT64_MAX start_max
  // mean unbounded.
  uint64_t start_min = 0;
  uint64_t start_max = UINT64_MAX;

  // Each non-empty list is a disjunction: the span's field must equal one of the entries.
  std::vector<std::string> services;
  std::vector<std::string> names;
  std::vector<SpanKind> kinds;

  // Duration bounds in nanoseconds, inclusive.
  uint64_t min_duration_nanos = 0;
  uint64_t max_duration_nanos = UINT64_MAX;

  std::optional<StatusCode> status;  // unset: any

  std::vector<AttributePredicate> attributes;  // all must hold

  std::optional<FilterExpr> filter;  // must also hold when present

  // At most this many spans from Scan (0: no limit). FindTraces takes its own limit.
  size_t limit = 0;

  // A scan gives up at `deadline` with DeadlineExceeded, or with Cancelled once `*cancel` is
  // true (the flag is the caller's and must outlive the call). Both are checked before each
  // row group of a block and every 16 spans a scan evaluates, so a query stops within 16 spans'
  // work of either. Scan has by then handed the visitor some matching spans: they are a partial
  // answer, which the error status marks. FindTraces and Search return only the error. These
  // are not part of the query's meaning: SpanMatches ignores them.
  absl::Time deadline = absl::InfiniteFuture();
  const std::atomic<bool>* cancel = nullptr;
};

// OK while `query` may go on; DeadlineExceeded past query.deadline, Cancelled once
// *query.cancel is set. Engines call it between units of work; a long-running caller may too.
SPANSTORE_EXPORT absl::Status CheckQueryInterrupted(const SpanQuery& query);

// One trace in a search result: what Tempo's search shows per trace.
struct SPANSTORE_EXPORT TraceSummary {
  TraceId trace_id;
  std::string root_service;  // empty when the root span is not (yet) in the store
  std::string root_name;
  uint64_t start_time_unix_nano = 0;  // earliest span start
  uint64_t duration_nanos = 0;        // latest span end - earliest span start
  uint32_t span_count = 0;
  uint32_t error_count = 0;
  std::vector<std::string> services;  // distinct, sorted
  uint32_t matched_spans = 0;         // spans that satisfied the query
};

// The summary of one trace from its spans, given in trace order (start time, then span id, as
// Store::GetTrace returns them): the root is the first root span in that order, and a span that
// ends before it starts counts as ending at its start. matched_spans is left 0: it depends on a
// query, and the caller sets it (Store::FindTraces does).
SPANSTORE_EXPORT TraceSummary SummarizeTrace(const TraceId& trace_id, absl::Span<const Span> spans);

// True when `span` satisfies every part of `query` (the time window, lists, durations, status,
// attribute predicates and filter). `limit` is ignored. This is the reference semantics that
// every storage path must agree with.
SPANSTORE_EXPORT bool SpanMatches(const SpanQuery& query, const Span& span);

// Evaluates one expression tree against a span. The trace-level intrinsics (IsTraceIntrinsic)
// are taken from `trace`; without one they are false.
SPANSTORE_EXPORT bool FilterMatches(const FilterExpr& expr, const Span& span);
SPANSTORE_EXPORT bool FilterMatches(const FilterExpr& expr, const Span& span,
                                    const TraceSummary* trace);
// SpanMatches with the trace's summary for the trace-level intrinsics.
SPANSTORE_EXPORT bool SpanMatches(const SpanQuery& query, const Span& span,
                                  const TraceSummary* trace);

// What a query may cost, so that hostile input gets a clear error instead of minutes of CPU and
// gigabytes of compiled patterns. The defaults are far above what a person types or a UI
// builds: the longest real filters are a few hundred bytes with a dozen comparisons.
struct SPANSTORE_EXPORT QueryLimits {
  size_t max_query_bytes = 64 << 10;         // the query text
  size_t max_terms = 256;                    // comparisons (each `field op value`)
  int max_regex_program_size = 10000;        // one pattern's compiled size (Regex::ProgramSize)
  int max_total_regex_program_size = 50000;  // all patterns of the query together
};

// Parses the TraceQL span filter `{ ... }` (docs/query_language.md). Errors are
// InvalidArgument with the 1-based column of the problem: "column 17: expected a value after
// '>', found end of input", or naming the limit a query exceeds.
SPANSTORE_EXPORT absl::StatusOr<SpanQuery> ParseQuery(std::string_view text);
SPANSTORE_EXPORT absl::StatusOr<SpanQuery> ParseQuery(std::string_view text,
                                                      const QueryLimits& limits);

// Parses a TraceQL duration literal such as "250ms" or "1.5s" into nanoseconds.
SPANSTORE_EXPORT absl::StatusOr<uint64_t> ParseDuration(std::string_view text);

}  // namespace spanstore

#endif  // SPANSTORE_QUERY_H_
