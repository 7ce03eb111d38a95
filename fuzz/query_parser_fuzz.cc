// ParseQuery, ParseTraceQuery and ParseMetricsQuery on arbitrary text; a query that parses is
// evaluated against a few spans (ParseQuery) or a three-span trace with a missing parent
// (ParseTraceQuery, with the nested-set numbers a select() may ask for).

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "query/nested_set.h"
#include "spanstore/query.h"
#include "spanstore/traceql.h"
#include "spanstore/traceql_metrics.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  spanstore::Span span;
  span.name = "GET /";
  span.service_name = "frontend";
  span.end_time_unix_nano = 5'000'000'000;
  span.attributes = {{"http.status_code", spanstore::AnyValue::Int(500)},
                     {"http.host", spanstore::AnyValue::String("staging")},
                     {"ratio", spanstore::AnyValue::Double(0.5)}};
  auto q = spanstore::ParseQuery(text);
  if (q.ok()) {
    (void)spanstore::SpanMatches(*q, span);
    (void)spanstore::SpanMatches(*q, spanstore::Span());
  }
  (void)spanstore::ParseMetricsQuery(text);
  auto tq = spanstore::ParseTraceQuery(text);
  if (!tq.ok()) return 0;
  std::vector<spanstore::Span> trace(3, span);
  for (int i = 0; i < 3; ++i) trace[i].span_id.bytes[7] = static_cast<uint8_t>(i + 1);
  trace[1].parent_span_id.bytes[7] = 1;
  trace[2].parent_span_id.bytes[7] = 9;  // not in the trace
  trace[2].events.push_back({1, "exception", {{"k", spanstore::AnyValue::Int(1)}}, 0});
  const spanstore::TraceSummary summary = spanstore::SummarizeTrace(trace[0].trace_id, trace);
  std::vector<spanstore::Spanset> sets = spanstore::EvaluateTraceQuery(*tq, trace, summary);
  spanstore::AddSelectedNestedSet(*tq, trace, &sets);
  return 0;
}
