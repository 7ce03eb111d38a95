// Jaeger compatibility: the semantics of Jaeger's trace search (service, operation, tags,
// durations, time window, limit) evaluated over a Store, the parameters of Jaeger's query HTTP
// API, and the JSON model Jaeger UI reads. With these an embedder serves Jaeger UI, or Jaeger v2
// through its remote-storage API, from its own server.
//
// Tag semantics are Jaeger's (its v2 in-memory store is the reference): a tag matches a span
// when the key is on the span's attributes, its instrumentation scope's attributes, its
// resource's attributes, one of its events' attributes or one of its links' attributes, with a
// value equal *as a string* (JaegerValueString: 200 matches "200", true matches "true"). A few
// keys mean a span field instead (see JaegerTagMatches). All tags of a query must match one
// span, which must also satisfy the service, operation, window and duration conditions.
//
// Thread safety: the functions are reentrant; Store calls follow Store's rules.

#ifndef SPANSTORE_JAEGER_H_
#define SPANSTORE_JAEGER_H_

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
#include "spanstore/traceql.h"

namespace spanstore {

class Store;

struct SPANSTORE_EXPORT JaegerTag {
  std::string key;
  std::string value;
  friend bool operator==(const JaegerTag&, const JaegerTag&) = default;
};

// A trace search as Jaeger asks for one (query API /api/traces, or remote storage FindTraces).
struct SPANSTORE_EXPORT JaegerQuery {
  std::string service;          // empty: any service
  std::string operation;        // span name; empty: any
  std::vector<JaegerTag> tags;  // every one must match the same span
  uint64_t start_min = 0;       // span start window, unix nanos, inclusive
  uint64_t start_max = UINT64_MAX;
  uint64_t min_duration_nanos = 0;  // span duration bounds, inclusive; 0 = none
  uint64_t max_duration_nanos = 0;
  size_t limit = 100;  // traces to return (Jaeger's default)
  // The search's column scans stop after handing over this many matching spans (0: no bound;
  // SearchOptions::max_scanned_spans), so one search over a huge window cannot run for minutes.
  uint64_t max_scanned_spans = 0;
  // The search fails with DeadlineExceeded past this (SpanQuery::deadline).
  absl::Time deadline = absl::InfiniteFuture();
};

// A trace found by FindJaegerTraces, with the time range of its matching spans (a hint for a
// later GetTrace, as Jaeger's FoundTraceID carries).
struct SPANSTORE_EXPORT JaegerFoundTrace {
  TraceId trace_id;
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = 0;
};

// The string a tag value is compared as: strings as they are; ints in decimal; doubles in the
// shortest form that reads back the same, in the notation JavaScript (and Go's pdata) uses
// ("0.5", "1e+21", "1e-7"); bools as "true"/"false"; bytes as base64; arrays and maps as JSON.
SPANSTORE_EXPORT std::string JaegerValueString(const AnyValue& value);

// The filter that means "a span carries `tag`": an `||` of AttributePredicate::as_string
// comparisons (JaegerValueString) on the span's and its resource's attributes, its scope's,
// its events' and its links', and of the span field the key names (below). A key "resource.X"
// is only the resource attribute X.
SPANSTORE_EXPORT FilterExpr JaegerTagFilter(const JaegerTag& tag);

// A Jaeger search as a TraceQL plan for Store::Search: one span filter with the service and
// operation as its structured fields, the duration bounds, and the tags' filters `&&`-ed, so
// every tag must hold on the same span (as in Jaeger's stores). The window and the limit are
// the SearchOptions'.
SPANSTORE_EXPORT TraceQuery JaegerTraceQuery(const JaegerQuery& query);

// Whether `span` carries `tag` (FilterMatches of JaegerTagFilter). Besides the attribute spots
// named above, these keys match a
// span field: "error" (true: status error; false: status ok), "span.kind" (server, client...),
// "span.status" and "otel.status_code" (OK, ERROR, UNSET), "otel.status_description" (the
// status message), "scope.name"/"otel.scope.name"/"otel.library.name" and "scope.version"/
// "otel.scope.version" (the instrumentation scope), "event" (an event's name, the log field
// Jaeger UI shows); a key "resource.X" matches only the resource attribute X. Keyword values
// compare case-insensitively. A field key also matches an attribute of that name.
SPANSTORE_EXPORT bool JaegerTagMatches(const JaegerTag& tag, const Span& span);

// Every tag matches `span`.
SPANSTORE_EXPORT bool JaegerTagsMatch(absl::Span<const JaegerTag> tags, const Span& span);

// The traces with at least one span satisfying `query`: Store::Search of JaegerTraceQuery, so
// the query.limit traces that started last, latest first (ties by trace id), each with the
// whole trace's time range.
SPANSTORE_EXPORT absl::StatusOr<std::vector<JaegerFoundTrace>> FindJaegerTraces(
    Store& store, const JaegerQuery& query);

// The operations (span names) of `service`, sorted. An empty `span_kind` means any kind and asks
// Store::Operations; otherwise ("server", "client", "internal", "producer", "consumer",
// "unspecified", any case) the service's spans of that kind are scanned, at most
// max_scanned_spans of them (0: no bound). InvalidArgument for an unknown kind.
SPANSTORE_EXPORT absl::StatusOr<std::vector<std::string>> JaegerOperations(
    Store& store, const std::string& service, std::string_view span_kind,
    uint64_t max_scanned_spans);

// Go's time.ParseDuration, which Jaeger's minDuration/maxDuration use: a sequence of decimal
// numbers with optional fractions and units ns, us (µs, μs), ms, s, m, h, e.g. "1.5s",
// "1h2m3.5s", "250ms"; "0" alone. Negative durations are refused. InvalidArgument otherwise.
SPANSTORE_EXPORT absl::StatusOr<uint64_t> ParseGoDuration(std::string_view text);

// The tags of a query API request: `tag_params` are the values of repeated tag=key:value
// parameters (split at the first ':'), `tags_json` the values of tags={"key":"value",...}
// (a JSON object of strings). A later key replaces an earlier one. InvalidArgument names the
// malformed parameter.
SPANSTORE_EXPORT absl::StatusOr<std::vector<JaegerTag>> ParseJaegerTags(
    absl::Span<const std::string> tag_params, absl::Span<const std::string> tags_json);

// Appends one trace in Jaeger UI's JSON model (the objects of the query API's "data" array):
// {"traceID", "spans": [{traceID, spanID, operationName, references, startTime, duration, tags,
// logs, processID, warnings}], "processes": {"p1": {serviceName, tags}}, "warnings"}. Times
// and durations are microseconds. OTLP fields map as Jaeger's own OTLP translator maps them:
// the parent is the first CHILD_OF reference and links are FOLLOWS_FROM references; events are
// logs whose first field is "event"; kind, status and scope become the tags span.kind,
// otel.status_code, error, otel.status_description, otel.scope.name and otel.scope.version;
// resource attributes other than service.name are process tags. Processes are numbered in order
// of first appearance; spans are written in the order given.
SPANSTORE_EXPORT void AppendJaegerUiTrace(absl::Span<const Span> spans, std::string* out);

}  // namespace spanstore

#endif  // SPANSTORE_JAEGER_H_
