// Grafana Tempo compatibility: the search, trace-by-id and tag APIs that Grafana's Tempo data
// source calls, as functions over a Store and writers of Tempo's response bodies, so that an
// embedder serves Grafana from its own HTTP server.
//
// Queries are TraceQL span filters (ParseQuery); a search returns, per trace, Tempo's "span
// set": the spans that matched (up to spans_per_spanset) with the attributes the query names.
//
// Tag names and values are not indexed by the store yet: CollectTagNames and CollectTagValues
// scan the spans of the window (at most TagSearchOptions::max_scanned_spans). They belong in
// the engine (per-block key and value dictionaries already exist there) and should move once a
// public API for them exists.
//
// Thread safety: the functions are reentrant; Store calls follow Store's rules.

#ifndef SPANSTORE_TEMPO_H_
#define SPANSTORE_TEMPO_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "spanstore/export.h"
#include "spanstore/query.h"
#include "spanstore/span.h"
#include "spanstore/traceql.h"

namespace spanstore {

class Store;

// The raw parameters of GET /api/search (empty when absent).
struct SPANSTORE_EXPORT TempoSearchParams {
  std::string_view q;             // a TraceQL span filter, e.g. { status = error }
  std::string_view tags;          // legacy search: logfmt key=value pairs
  std::string_view min_duration;  // legacy search: Go durations
  std::string_view max_duration;
  std::string_view start;  // unix seconds
  std::string_view end;
  std::string_view limit;  // traces; default 20
  std::string_view spss;   // spans per span set; default 3
};

struct SPANSTORE_EXPORT TempoSearchRequest {
  SpanQuery query;  // filter and window
  size_t limit = 20;
  size_t spans_per_spanset = 3;
  // Set when q is TraceQL beyond one span filter (spanset or structural operators, a
  // pipeline): TempoSearch runs it with Store::Search, taking only the window and deadline from
  // `query`; `mentions` holds the fields its filters name, for the spans' attributes.
  std::optional<TraceQuery> traceql;
  SpanQuery mentions;
};

// Builds the request. `q` goes through ParseQuery ("" and "{}" match every span), or when it
// is more than one span filter through ParseTraceQuery. `tags`
// matches each value as a case-insensitive substring of the attribute (span or resource), as
// Tempo's tag search does; min/max duration bound the span duration. InvalidArgument names the
// bad parameter (for q, with ParseQuery's column).
SPANSTORE_EXPORT absl::StatusOr<TempoSearchRequest> ParseTempoSearch(
    const TempoSearchParams& params);

// One trace of a search result.
struct SPANSTORE_EXPORT TempoTraceResult {
  TraceSummary summary;
  std::vector<Span> matched_spans;  // the first spans_per_spanset matching spans, by start
  uint32_t matched = 0;             // how many spans of the trace matched
  // TraceQL with by(): the spansets after the first, each as the first spans_per_spanset of its
  // spans and how many it holds.
  struct Spanset {
    std::vector<Span> spans;
    uint32_t matched = 0;
  };
  std::vector<Spanset> more_spansets;
};

// The traces with a span matching the request, most recent first.
SPANSTORE_EXPORT absl::StatusOr<std::vector<TempoTraceResult>> TempoSearch(
    Store& store, const TempoSearchRequest& request);

// Appends Tempo's search response: {"traces":[{traceID, rootServiceName, rootTraceName,
// startTimeUnixNano, durationMs, spanSet, spanSets:[{spans:[{spanID, name, startTimeUnixNano,
// durationNanos, attributes}], matched}]}], "metrics":{...}}. A span's attributes are the ones
// `query` refers to (its predicates' keys), with OTLP/JSON values.
SPANSTORE_EXPORT void AppendTempoSearchResponse(absl::Span<const TempoTraceResult> traces,
                                                const SpanQuery& query, std::string* out);

// Trace by id, as JSON: version 1 ({"batches":[ResourceSpans...]}, GET /api/traces/{id}) or
// version 2 ({"trace":{"resourceSpans":[...]}}, GET /api/v2/traces/{id}).
SPANSTORE_EXPORT void AppendTempoTraceJson(absl::Span<const Span> spans, int api_version,
                                           std::string* out);

// Trace by id, as protobuf for "Accept: application/protobuf": version 1 is tempopb.Trace
// (the layout of OTLP TracesData), version 2 a tempopb.TraceByIDResponse holding it (field 1).
SPANSTORE_EXPORT void AppendTempoTraceProto(absl::Span<const Span> spans, int api_version,
                                            std::string* out);

// Where a tag lives, as TraceQL scopes it.
enum class TagScope : uint8_t { kSpan, kResource, kEvent, kLink, kInstrumentation };

struct SPANSTORE_EXPORT TagSearchOptions {
  // Spans examined at most; a larger store answers from the spans seen until then.
  uint64_t max_scanned_spans = 1000000;
  // Names per scope, values per tag, at most.
  size_t limit = 5000;
};

struct SPANSTORE_EXPORT TagNames {
  std::vector<std::string> span, resource, event, link, instrumentation;  // sorted, distinct
  bool truncated = false;  // the scan or a list stopped at a limit
};

// Attribute keys of the spans matching `query` (window and filter), per scope.
SPANSTORE_EXPORT absl::StatusOr<TagNames> CollectTagNames(Store& store, const SpanQuery& query,
                                                          const TagSearchOptions& options);

// The intrinsics TraceQL knows (name, status, kind, duration, ...), for scope=intrinsic.
SPANSTORE_EXPORT std::vector<std::string> TempoIntrinsicTags();

struct SPANSTORE_EXPORT TagValue {
  std::string type;  // Tempo's: "string", "int", "float", "bool", "keyword"
  std::string value;
  friend bool operator==(const TagValue&, const TagValue&) = default;
};

// Distinct values, sorted, of a tag spelled as TraceQL spells it ("resource.service.name",
// "span.http.method", ".http.method" for span or resource, "event.x", "link.x",
// "instrumentation.x", or an intrinsic: "name", "status", "kind", "statusMessage",
// "rootServiceName", "rootName", "event:name", "instrumentation:name", ...), over the spans
// matching `query`. An unscoped name that is no intrinsic is InvalidArgument, as in Tempo.
// With `unscoped_legacy` (GET /api/search/tag/{tag}/values) the name is a bare attribute key
// looked up on span and resource, and every value is returned as a string.
SPANSTORE_EXPORT absl::StatusOr<std::vector<TagValue>> CollectTagValues(
    Store& store, std::string_view tag, bool unscoped_legacy, const SpanQuery& query,
    const TagSearchOptions& options);

// Response bodies of the tag APIs.
//   v1 names:  {"tagNames":[...]}         (span and resource keys, merged)
//   v2 names:  {"scopes":[{"name":"span","tags":[...]}, ...]} (only non-empty scopes)
//   v1 values: {"tagValues":["a","b"]}
//   v2 values: {"tagValues":[{"type":"string","value":"a"}]}
// `scope` filters the names: "", "all" (every scope and intrinsics) or one scope name
// ("span", "resource", "event", "link", "instrumentation", "intrinsic").
SPANSTORE_EXPORT void AppendTempoTagNames(const TagNames& names, int api_version,
                                          std::string_view scope, std::string* out);
SPANSTORE_EXPORT void AppendTempoTagValues(absl::Span<const TagValue> values, int api_version,
                                           std::string* out);

}  // namespace spanstore

#endif  // SPANSTORE_TEMPO_H_
