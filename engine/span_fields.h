// What a query reads of a span beyond what every built span has (SpanFields, format/
// group_data.h), so that blocks build only those parts: a scan tests its predicates on such
// partial spans, and a search evaluates a candidate trace on them before it builds the spans
// of the result whole.
//
// Thread safety: pure functions.

#ifndef SPANSTORE_ENGINE_SPAN_FIELDS_H_
#define SPANSTORE_ENGINE_SPAN_FIELDS_H_

#include <string_view>
#include <vector>

#include "format/group_data.h"
#include "spanstore/query.h"
#include "spanstore/traceql.h"

namespace spanstore {

// Adds to *f what SpanMatches(query, span) reads, and to *keys the span attribute keys it
// names (views into `query`). False when it may read something this does not know of: then
// only whole spans will do.
bool QueryFields(const SpanQuery& query, SpanFields* f, std::vector<std::string_view>* keys);

// The same for EvaluateTraceQuery(query, ...): every filter, pipeline stage and selected field.
bool TraceQueryFields(const TraceQuery& query, SpanFields* f, std::vector<std::string_view>* keys);

}  // namespace spanstore

#endif  // SPANSTORE_ENGINE_SPAN_FIELDS_H_
